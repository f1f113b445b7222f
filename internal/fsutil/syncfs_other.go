//go:build !linux

package fsutil

import (
	"errors"
	"fmt"
	"os"
)

// syncfs(2) is Linux only.
func syncFS(f *os.File) error {
	return fmt.Errorf("syncfs %s: %w", f.Name(), errors.ErrUnsupported)
}
