package layout

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/tufup-go/tufup/internal/fsutil"
)

// State is what the launcher remembers between starts (.tufup/state.json).
// Change it only while holding the lock.
type State struct {
	// HeldBack maps versions the user or probation rolled back from to the
	// reason. A held-back version is not installed again; newer ones are.
	HeldBack map[string]string `json:"held_back,omitempty"`
	// FailedPatches lists patch targets that failed to apply; as in tufup,
	// such a patch is never tried again (the full archive is used).
	FailedPatches []string `json:"failed_patches,omitempty"`
	// LastCheck is the outcome of the newest update check.
	LastCheck *Check `json:"last_check,omitempty"`
	// RolloutBucket is drawn once per install, uniformly in [0, 1); a
	// release with rollout fraction f is offered when bucket < f.
	RolloutBucket *float64 `json:"rollout_bucket,omitempty"`
	// Probation tracks the first starts of a newly installed version.
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

// Probation counts the starts of a newly installed version that are watched
// for crashes before it is trusted.
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
