//go:build !windows

package layout

import "os"

// On Unix a file open elsewhere can be renamed and deleted: no retries and
// no fallback are needed. layout/inuse_windows.go explains the Windows side.

func removeAll(path string) error { return os.RemoveAll(path) }

func retryBusy(op func() error) error { return op() }
