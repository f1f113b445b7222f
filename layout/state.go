package layout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"

	"github.com/tufup-go/tufup/internal/fsutil"
)

// State is what the launcher remembers between starts (.tufup/state.json).
// Change it only while holding the lock.
type State struct {
	// HeldBack is what launchers before the version records (Records) kept
	// about versions rolled back from: read once to carry it over.
	HeldBack map[string]string `json:"held_back,omitempty"`
	// FailedPatches lists patch targets that failed to apply; as in tufup,
	// such a patch is never tried again (the full archive is used).
	FailedPatches []string `json:"failed_patches,omitempty"`
	// LastCheck is the outcome of the newest update check.
	LastCheck *Check `json:"last_check,omitempty"`
	// RolloutBucket is drawn once per install, uniformly in [0, 1); a
	// release with rollout fraction f is offered when bucket < f.
	RolloutBucket *float64 `json:"rollout_bucket,omitempty"`
	// Probation is what launchers before the version records (Records)
	// kept about a version on probation: read once to carry it over.
	Probation *Probation `json:"probation,omitempty"`
	// LauncherHeldBack lists launcher releases that failed their self-check;
	// the launcher does not update itself to them again.
	LauncherHeldBack []string `json:"launcher_held_back,omitempty"`
	// UserMeta holds the publisher's user metadata (release notes and such)
	// of installed versions, as signed in the repository.
	UserMeta map[string]json.RawMessage `json:"user_meta,omitempty"`
}

// Check is the outcome of one update check.
type Check struct {
	Time   time.Time `json:"time"`
	Result string    `json:"result"`
	Error  string    `json:"error,omitempty"`
}

// Probation is the probation record of older launchers.
type Probation struct {
	Version  string `json:"version"`
	Previous string `json:"previous"`
	Starts   int    `json:"starts"`
	Failures int    `json:"failures"`
	// Running counts starts that were recorded but whose end was not
	// (a launcher killed while watching, or a start still running).
	Running int `json:"running,omitempty"`
}

// LoadState reads the state file. A missing file is an empty state. A file
// that cannot be parsed is reported together with an empty state, so a
// corrupted state never stops the launcher.
func (d Dir) LoadState() (State, error) {
	var s State
	b, err := os.ReadFile(d.stateFile())
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("read state %s: %w", d.stateFile(), err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, fmt.Errorf("state %s is corrupted, starting afresh: %w", d.stateFile(), err)
	}
	return s, nil
}

// SaveState atomically replaces the state file.
func (d Dir) SaveState(s State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if err := os.MkdirAll(d.State(), 0o755); err != nil {
		return fmt.Errorf("create state folder: %w", err)
	}
	write := func() error { return fsutil.WriteFileFS(d.fsys(), d.stateFile(), append(b, '\n'), 0o644) }
	if err := retryBusy(write); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// The version records (which version is known-good, on probation, held
// back) live in their own file, .tufup/versions.json, guarded by their own
// lock, .tufup/versions.lock, which is only ever held for the moment of a
// read-change-write. So a crash at start is recorded even while another
// launcher holds the updater lock for a long download.
func (d Dir) recordsFile() string { return filepath.Join(d.State(), "versions.json") }
func (d Dir) recordsLock() string { return filepath.Join(d.State(), "versions.lock") }

// ReadRecords returns the content of the version records file, or nil when
// there is none yet. It takes no lock: the file is replaced atomically.
func (d Dir) ReadRecords() ([]byte, error) {
	b, err := os.ReadFile(d.recordsFile())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read version records %s: %w", d.recordsFile(), err)
	}
	return b, nil
}

// ChangeRecords reads the version records file (nil when there is none),
// passes it to change and, when change returns content, atomically replaces
// the file with it, all under the records lock. It waits for the lock until
// ctx is done; the lock is held only by other ChangeRecords calls.
func (d Dir) ChangeRecords(ctx context.Context, change func(old []byte) ([]byte, error)) error {
	if err := os.MkdirAll(d.State(), 0o755); err != nil {
		return fmt.Errorf("create state folder: %w", err)
	}
	f := flock.New(d.recordsLock())
	ok, err := f.TryLockContext(ctx, 10*time.Millisecond)
	if err != nil || !ok {
		return fmt.Errorf("lock %s: %w", d.recordsLock(), errors.Join(err, ctx.Err()))
	}
	defer f.Unlock()
	old, err := d.ReadRecords()
	if err != nil {
		return err
	}
	b, err := change(old)
	if err != nil || b == nil {
		return err
	}
	write := func() error { return fsutil.WriteFileFS(d.fsys(), d.recordsFile(), b, 0o644) }
	if err := retryBusy(write); err != nil {
		return fmt.Errorf("save version records: %w", err)
	}
	return nil
}
