package layout

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/windows"
)

// HoldInUse reports whether v is installed. Windows itself keeps the files
// of a running app from being moved or deleted, so no lock is needed.
func (d Dir) HoldInUse(v string) (release func(), installed bool, err error) {
	_, err = d.versionInfo(v)
	return func() {}, err == nil, nil
}

// lockForRemoval reports ErrInUse when another process holds a file of v's
// folder open: the executable or a DLL of a version still running, a
// document the app has open, a virus scanner at work. Windows refuses to
// rename a folder holding such a file anyway; Wine does not, and would let
// Remove move a running version into the trash and delete its other files
// under it, so each file is asked first. The probe opens for writing and
// shares nothing, which Windows refuses while any other handle or an image
// mapping (a running .exe or .dll) exists; it never writes.
func (d Dir) lockForRemoval(v string) (unlock func(), err error) {
	if err := checkName(v); err != nil {
		return nil, err
	}
	err = filepath.WalkDir(d.Version(v), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.Type().IsRegular() {
			return nil
		}
		name, err := windows.UTF16PtrFromString(longPath(p))
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		h, err := windows.CreateFile(name, windows.FILE_WRITE_DATA, 0, nil, windows.OPEN_EXISTING,
			windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
		if err == nil {
			windows.CloseHandle(h)
			return nil
		}
		if errors.Is(err, windows.ERROR_SHARING_VIOLATION) || errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
			return fmt.Errorf("version %s: %s: %w", v, p, ErrInUse)
		}
		// Anything else (a read-only file, say) says nothing about use:
		// the rename decides.
		return nil
	})
	if err != nil {
		return nil, err
	}
	return func() {}, nil
}

// removeAll is os.RemoveAll, falling back to deleting entry by entry when
// the system lacks the POSIX-semantics delete os.RemoveAll uses: Wine 8's
// ntdll answers it with "invalid function", so no folder could ever be
// deleted there. The fallback uses DeleteFile and RemoveDirectory, which
// every Windows and Wine has.
func removeAll(path string) error {
	err := os.RemoveAll(path)
	if err == nil || !errors.Is(err, windows.ERROR_INVALID_FUNCTION) {
		return err
	}
	return removeTree(path)
}

func removeTree(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		var errs []error
		for _, e := range entries {
			if err := removeTree(filepath.Join(path, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// retryBusy runs op, and runs it again for up to two seconds while Windows
// reports the file in use. Replacing a file with MoveFileEx fails while any
// process has it open without FILE_SHARE_DELETE, as Go's os.ReadFile does:
// another launcher reading the current pointer or the state at that
// moment, a virus scanner or the search indexer looking at the new file.
// Such readers let go within milliseconds.
func retryBusy(op func() error) error {
	const patience = 2 * time.Second
	deadline := time.Now().Add(patience)
	delay := time.Millisecond
	for {
		err := op()
		if err == nil || time.Now().After(deadline) || !isBusy(err) {
			return err
		}
		time.Sleep(delay)
		delay = min(2*delay, 100*time.Millisecond)
	}
}

func isBusy(err error) bool {
	return errors.Is(err, windows.ERROR_ACCESS_DENIED) ||
		errors.Is(err, windows.ERROR_SHARING_VIOLATION) ||
		errors.Is(err, windows.ERROR_LOCK_VIOLATION)
}

// longPath lets a Windows API call that takes a path reach past MAX_PATH
// (260 characters), as the os package does for its own calls.
func longPath(p string) string {
	if len(p) < 248 || !filepath.IsAbs(p) || strings.HasPrefix(p, `\\?\`) {
		return p
	}
	p = filepath.Clean(p)
	if strings.HasPrefix(p, `\\`) {
		return `\\?\UNC\` + p[2:]
	}
	return `\\?\` + p
}
