package patch

import (
	"errors"
	"fmt"
	"os"

	"github.com/tufup-go/tufup/internal/fsutil"
)

// See flushMode for the measurements behind this choice.
const defaultFlush = flushSyncfs

// syncfsFlusher holds the root folder open from the start: syncfs reports
// writeback errors (Linux 5.8+) only if they happened while the descriptor
// it is called on was open, and background writeback of our files can fail
// long before the end.
type syncfsFlusher struct {
	fsys fsutil.FS
	root *os.File
}

func newSyncfsFlusher(fsys fsutil.FS, root string) (flusher, error) {
	d, err := os.Open(root)
	if err != nil {
		return nil, fmt.Errorf("flush: %w", err)
	}
	return syncfsFlusher{fsys: fsys, root: d}, nil
}

func (syncfsFlusher) file(f *os.File) error { return f.Close() }

func (s syncfsFlusher) abort() { s.root.Close() }

func (s syncfsFlusher) finish(root string, kinds map[string]entryKind) error {
	defer s.root.Close()
	err := s.fsys.SyncFS(s.root)
	if errors.Is(err, errors.ErrUnsupported) {
		// Some sandboxes refuse syncfs: fsync every file instead.
		return flushPaths(s.fsys, root, kinds)
	}
	if err != nil {
		return fmt.Errorf("flush filesystem of %s: %w", root, err)
	}
	return nil
}

func syncFile(fsys fsutil.FS, f *os.File) error { return fsys.Sync(f) }

func syncPath(fsys fsutil.FS, dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	defer d.Close()
	if err := fsys.Sync(d); err != nil {
		return fmt.Errorf("flush %s: %w", dir, err)
	}
	return nil
}

func barrier(fsutil.FS, string) error { return nil }
