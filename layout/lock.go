package layout

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/gofrs/flock"
)

// Lock is the updater lock: one launcher at a time may change the install.
type Lock struct {
	f *flock.Flock
}

// TryLock takes the updater lock if it is free and reports whether it did.
func (d Dir) TryLock() (*Lock, bool, error) {
	if err := os.MkdirAll(d.State(), 0o755); err != nil {
		return nil, false, fmt.Errorf("create state folder: %w", err)
	}
	f := flock.New(d.lockFile())
	ok, err := f.TryLock()
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", d.lockFile(), err)
	}
	if !ok {
		return nil, false, nil
	}
	return &Lock{f}, true, nil
}

// WaitLock takes the updater lock, waiting until it is free or ctx is done.
func (d Dir) WaitLock(ctx context.Context) (*Lock, error) {
	if err := os.MkdirAll(d.State(), 0o755); err != nil {
		return nil, fmt.Errorf("create state folder: %w", err)
	}
	f := flock.New(d.lockFile())
	ok, err := f.TryLockContext(ctx, 50*time.Millisecond)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", d.lockFile(), err)
	}
	if !ok {
		return nil, fmt.Errorf("lock %s: %w", d.lockFile(), ctx.Err())
	}
	return &Lock{f}, nil
}

// Unlock releases the lock. The operating system releases it too when the
// process dies, so a killed launcher never leaves the install locked.
func (l *Lock) Unlock() error {
	if l == nil {
		return nil
	}
	return l.f.Unlock()
}
