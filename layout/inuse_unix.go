//go:build unix

package layout

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// HoldInUse marks version v as running with a shared lock, and reports
// whether v is (still) installed. The lock's descriptor is inherited across
// exec: once the launcher has become the app, the app holds the lock until
// it and every process that inherited the descriptor exit. Removal takes the
// lock exclusively, so a version in use is never removed under a running app
// (Windows gets the same from its locks on running files). release drops the
// lock in this process (when the app ran as a child, or was not started).
func (d Dir) HoldInUse(v string) (release func(), installed bool, err error) {
	f, err := d.openInUse(v)
	if err != nil {
		return func() {}, false, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH); err != nil {
		f.Close()
		return func() {}, false, fmt.Errorf("mark version %s in use: %w", v, err)
	}
	// Clear close-on-exec so the app inherits the lock.
	if _, err := unix.FcntlInt(f.Fd(), unix.F_SETFD, 0); err != nil {
		f.Close()
		return func() {}, false, fmt.Errorf("mark version %s in use: %w", v, err)
	}
	fi, statErr := os.Stat(d.Version(v))
	return func() { f.Close() }, statErr == nil && fi.IsDir(), nil
}

// lockForRemoval takes v's in-use lock exclusively if no process holds it.
func (d Dir) lockForRemoval(v string) (unlock func(), err error) {
	f, err := d.openInUse(v)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("version %s: %w", v, ErrInUse)
		}
		return nil, fmt.Errorf("lock version %s for removal: %w", v, err)
	}
	return func() { f.Close() }, nil
}
