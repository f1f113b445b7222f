package launcher

import (
	"context"
	"errors"
	"fmt"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/layout"
)

// Update is an update found by Check: what it is, what it costs, and the
// publisher's notes. Pass it to Install.
type Update struct {
	*Plan
	client *fetch.Client
}

// Check looks for an update the way a start does (channel, required
// releases, hold-backs, rollout), bounded by the check timeout, and returns
// it, or nil when the install is up to date. It changes nothing on disk
// except the metadata cache. Apps call it for a "check for updates" button;
// Update.User carries the release notes.
func (l *Launcher) Check(ctx context.Context) (*Update, error) {
	state := l.loadState()
	plan, client, err := l.check(ctx, &state)
	if err != nil {
		return nil, err
	}
	if plan == nil {
		return nil, nil
	}
	return &Update{Plan: plan, client: client}, nil
}

// ErrStale means the install changed since Check (another launcher
// updated it); check again.
var ErrStale = errors.New("the install changed since the check")

// Install installs an update found by Check side by side and switches to
// it; the app runs the new version from its next start (through the
// launcher). It waits for another launcher's update to finish first.
func (l *Launcher) Install(ctx context.Context, u *Update) error {
	lock, err := l.dir.WaitLock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	current, err := l.dir.Current()
	if err != nil && !errors.Is(err, layout.ErrNoCurrent) {
		return err
	}
	if current != u.From {
		return fmt.Errorf("install %s: planned from %q, installed is %q: %w", u.To, u.From, current, ErrStale)
	}
	state := l.loadState()
	if err := l.install(ctx, u.client, u.Plan, &state); err != nil {
		return err
	}
	return nil
}
