//go:build !windows

package patch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

func (x *extractor) symlink(l pendingLink) error {
	if err := os.Symlink(l.target, x.full(l.path)); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return unsafef("%q clashes with an earlier member (case-insensitive filesystem?)", l.path)
		}
		return fmt.Errorf("create symlink: %w", err)
	}
	return nil
}
