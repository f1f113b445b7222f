//go:build !windows && !linux

package fsutil

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

func isUnsupported(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP)
}

func syncFS(f *os.File) error {
	return fmt.Errorf("syncfs %s: %w", f.Name(), errors.ErrUnsupported)
}
