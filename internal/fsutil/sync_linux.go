package fsutil

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

func isUnsupported(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP)
}

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
