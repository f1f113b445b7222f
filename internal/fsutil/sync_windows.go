package fsutil

import (
	"errors"
	"fmt"
	"os"
)

// Syncing a directory handle is not possible on Windows; treat every error
// from it as "not supported".
func isUnsupported(error) bool { return true }

func syncFS(f *os.File) error {
	return fmt.Errorf("syncfs %s: %w", f.Name(), errors.ErrUnsupported)
}
