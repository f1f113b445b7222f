package patch

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/tufup-go/tufup/internal/fsutil"
)

// On macOS, fsync(2) hands data to the drive but does not flush the drive's
// cache; F_FULLFSYNC (what os.File.Sync does) does, for the whole drive, and
// is slow. So: plain fsync for each file and folder, in parallel, then one
// F_FULLFSYNC as a barrier.
const defaultFlush = flushParallel

func syncFile(_ fsutil.FS, f *os.File) error { return unix.Fsync(int(f.Fd())) }

func syncPath(_ fsutil.FS, dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	defer d.Close()
	if err := unix.Fsync(int(d.Fd())); err != nil {
		return fmt.Errorf("flush %s: %w", dir, err)
	}
	return nil
}

// barrier is the one flush that goes through fsys: os.File.Sync is
// F_FULLFSYNC on macOS.
func barrier(fsys fsutil.FS, root string) error {
	d, err := os.Open(root)
	if err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	defer d.Close()
	if err := fsys.Sync(d); err != nil {
		return fmt.Errorf("flush drive cache under %s: %w", root, err)
	}
	return nil
}

// syncfs is Linux only; the mode falls back to serial for benchmarks.
func newSyncfsFlusher(fsys fsutil.FS, _ string) (flusher, error) { return serialFlusher{fsys}, nil }
