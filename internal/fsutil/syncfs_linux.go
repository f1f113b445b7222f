package fsutil

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func syncFS(f *os.File) error {
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
			// Some sandboxes refuse syncfs.
			return fmt.Errorf("syncfs %s: %w (%w)", f.Name(), errors.ErrUnsupported, err)
		}
		return &os.PathError{Op: "syncfs", Path: f.Name(), Err: err}
	}
	return nil
}
