package launcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tufup-go/tufup/layout"
)

// ErrNoPrevious means there is no older installed version to roll back to.
var ErrNoPrevious = errors.New("no previous version installed to roll back to")

// Rollback points current at the newest installed version older than the
// current one and holds the current one back: it is not installed again
// until a newer release appears. It returns the version rolled back to.
func (l *Launcher) Rollback(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	lock, err := l.dir.WaitLock(ctx)
	if err != nil {
		return "", fmt.Errorf("rollback: %w", err)
	}
	defer lock.Unlock()
	current, err := l.dir.Current()
	if err != nil {
		return "", fmt.Errorf("rollback: %w", err)
	}
	installed, err := l.dir.Installed()
	if err != nil {
		return "", err
	}
	i := slices.Index(installed, current)
	if i <= 0 {
		return "", fmt.Errorf("rollback from %s: %w", current, ErrNoPrevious)
	}
	previous := installed[i-1]
	if err := l.dir.SetCurrent(previous); err != nil {
		return "", err
	}
	state := l.loadState()
	if state.HeldBack == nil {
		state.HeldBack = map[string]string{}
	}
	state.HeldBack[current] = "rolled back by the user on " + time.Now().UTC().Format(time.RFC3339)
	state.Probation = nil
	if err := l.dir.SaveState(state); err != nil {
		l.log.Warn("cannot save state", "error", err)
	}
	l.log.Info("rolled back", "from", current, "to", previous)
	return previous, nil
}

// Status describes an install for `launcher --status`.
type Status struct {
	App             string                     `json:"app"`
	LauncherVersion string                     `json:"launcher_version"`
	InstallDir      string                     `json:"install_dir"`
	Channel         string                     `json:"channel"`
	MetadataURL     string                     `json:"metadata_url"`
	TargetsURL      string                     `json:"targets_url"`
	Current         string                     `json:"current"`
	CurrentError    string                     `json:"current_error,omitempty"`
	Installed       []string                   `json:"installed"`
	HeldBack        map[string]string          `json:"held_back,omitempty"`
	LastCheck       *layout.Check              `json:"last_check,omitempty"`
	Probation       *layout.Probation          `json:"probation,omitempty"`
	UserMeta        map[string]json.RawMessage `json:"user_meta,omitempty"`
}

// Status reads the install's state without touching the network.
func (l *Launcher) Status() (Status, error) {
	s := Status{
		App:             l.cfg.AppName,
		LauncherVersion: l.opts.Version,
		InstallDir:      l.dir.Root(),
		Channel:         l.cfg.Channel,
		MetadataURL:     l.cfg.MetadataURL,
		TargetsURL:      l.cfg.TargetsURL,
	}
	var err error
	if s.Current, err = l.dir.Current(); err != nil {
		s.CurrentError = err.Error()
	}
	if s.Installed, err = l.dir.Installed(); err != nil {
		return s, err
	}
	if s.Installed == nil {
		s.Installed = []string{} // "installed": [] in JSON, not null
	}
	state, err := l.dir.LoadState()
	if err != nil {
		return s, err
	}
	s.HeldBack, s.LastCheck, s.Probation, s.UserMeta = state.HeldBack, state.LastCheck, state.Probation, state.UserMeta
	return s, nil
}
