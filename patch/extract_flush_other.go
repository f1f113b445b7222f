//go:build !linux && !darwin

package patch

import (
	"os"

	"github.com/tufup-go/tufup/internal/fsutil"
)

// Elsewhere (Windows, BSDs) files are flushed in parallel while extraction
// goes on; folders through fsutil.SyncDir, which skips them on Windows,
// where NTFS journals its metadata.
const defaultFlush = flushParallel

func syncFile(fsys fsutil.FS, f *os.File) error { return fsys.Sync(f) }

func syncPath(fsys fsutil.FS, dir string) error { return fsutil.SyncDirFS(fsys, dir) }

func barrier(fsutil.FS, string) error { return nil }

// syncfs is Linux only; the mode falls back to serial for benchmarks.
func newSyncfsFlusher(fsys fsutil.FS, _ string) (flusher, error) { return serialFlusher{fsys}, nil }
