package patch

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// See flushMode for the measurements behind this choice.
const defaultFlush = flushSyncfs

// syncfsFlusher holds the root folder open from the start: syncfs reports
// writeback errors (Linux 5.8+) only if they happened while the descriptor
// it is called on was open, and background writeback of our files can fail
// long before the end.
type syncfsFlusher struct{ root *os.File }

func newSyncfsFlusher(root string) (flusher, error) {
	d, err := os.Open(root)
	if err != nil {
		return nil, fmt.Errorf("flush: %w", err)
	}
	return syncfsFlusher{root: d}, nil
}

func (syncfsFlusher) file(f *os.File) error { return f.Close() }

func (s syncfsFlusher) abort() { s.root.Close() }

func (s syncfsFlusher) finish(root string, kinds map[string]entryKind) error {
	defer s.root.Close()
	err := unix.Syncfs(int(s.root.Fd()))
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
		// Some sandboxes refuse syncfs: fsync every file instead.
		return flushPaths(root, kinds)
	}
	if err != nil {
		return fmt.Errorf("flush filesystem of %s: %w", root, err)
	}
	return nil
}

func syncFile(f *os.File) error { return f.Sync() }

func syncPath(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("flush %s: %w", dir, err)
	}
	return nil
}

func barrier(string) error { return nil }
