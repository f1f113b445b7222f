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

func syncFile(f *os.File) error { return f.Sync() }

func syncPath(dir string) error { return fsutil.SyncDir(dir) }

func barrier(string) error { return nil }

// syncfs is Linux only; the mode falls back to serial for benchmarks.
func newSyncfsFlusher(string) (flusher, error) { return serialFlusher{}, nil }
