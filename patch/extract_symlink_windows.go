package patch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// symlink creates the link, or, where Windows does not let this user
// create symlinks (no Developer Mode, no SeCreateSymbolicLinkPrivilege),
// a copy of its target when that is a file already extracted.
func (x *extractor) symlink(l pendingLink) error {
	full := x.full(l.path)
	target := filepath.FromSlash(l.target)
	err := os.Symlink(target, full)
	if err == nil {
		return nil
	}
	if errors.Is(err, fs.ErrExist) {
		return unsafef("%q clashes with an earlier member (case-insensitive filesystem?)", l.path)
	}
	if !errors.Is(err, windows.ERROR_PRIVILEGE_NOT_HELD) {
		return fmt.Errorf("create symlink: %w", err)
	}
	// checkSymlinkTarget guarantees this stays inside the root.
	src := filepath.Join(filepath.Dir(full), target)
	if fi, serr := os.Stat(src); serr != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("create symlink to %q: %w; copying instead works only for a file that is in the archive (enable Developer Mode to allow symlinks)", l.target, err)
	}
	return x.copyFile(src, l.path)
}
