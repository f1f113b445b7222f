package launcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tufup-go/tufup/launcher/lifecycle"
	"github.com/tufup-go/tufup/layout"
)

// ErrNoPrevious means there is no known-good version other than the
// current one to roll back to.
var ErrNoPrevious = lifecycle.ErrNoPrevious

// Rollback points current at the newest known-good version other than the
// current one and holds the current one back: it is not installed again
// until a newer release appears (or `launcher --unhold`). It acts on the
// version current named when it was called: if another launcher changed
// current meanwhile, it refuses and changes nothing. It returns the version
// rolled back to.
func (l *Launcher) Rollback(ctx context.Context) (string, error) {
	ran, err := l.dir.Current()
	if errors.Is(err, layout.ErrNoCurrent) {
		return "", fmt.Errorf("rollback: nothing is installed yet, so there is nothing to roll back: start the launcher without --rollback to install the app")
	}
	if err != nil {
		return "", fmt.Errorf("rollback: %w", err)
	}
	lock, ok, err := l.dir.TryLock()
	if err != nil {
		return "", fmt.Errorf("rollback: %w", err)
	}
	if !ok {
		l.log.Info("rollback: waiting for another launcher to finish", "from", ran)
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if lock, err = l.dir.WaitLock(ctx); err != nil {
			if ctx.Err() != nil {
				return "", fmt.Errorf("rollback: another launcher is still updating after 30s; nothing was changed: try --rollback again once it has finished")
			}
			return "", fmt.Errorf("rollback: %w", err)
		}
	}
	defer lock.Unlock()
	var to string
	err = l.withLifecycle(func(lc *lifecycle.Lifecycle) error {
		d, err := lc.Rollback(ran, time.Now())
		if err != nil {
			return err
		}
		to = d.Current
		return l.carryOut(d)
	})
	if err != nil {
		return "", err
	}
	return to, nil
}

// Unhold undoes the hold of version v (`launcher --unhold`): an installed
// version is known-good again if it was before the hold, otherwise it is
// on probation again; a removed one may be installed again. It changes
// only the version records, so it does not wait for the updater lock: an
// update running meanwhile (a background one can take minutes) planned
// without v, and the next check may install it.
func (l *Launcher) Unhold(v string) error {
	return l.withLifecycle(func(lc *lifecycle.Lifecycle) error {
		d, err := lc.Unhold(v, time.Now())
		if err != nil {
			return fmt.Errorf("unhold: %w (see launcher --status)", err)
		}
		return l.carryOut(d)
	})
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
	Probation       *StatusProbation           `json:"probation,omitempty"`
	UserMeta        map[string]json.RawMessage `json:"user_meta,omitempty"`
	// Versions is every version the launcher keeps a record of, newest
	// first, with why it is kept, held back or on probation.
	Versions []lifecycle.VersionInfo `json:"versions"`
	// LastRollback is the newest rollback, by the user or by probation.
	LastRollback *lifecycle.Rollback `json:"last_rollback,omitempty"`
}

// StatusProbation describes the current version's probation.
type StatusProbation struct {
	Version string `json:"version"`
	// Previous is the known-good version it falls back to.
	Previous string `json:"previous"`
	Starts   int    `json:"starts"`
	Failures int    `json:"failures"`
}

// Status reads the install's state without touching the network. It is
// derived from the same records the launcher's decisions are made from.
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
	s.LastCheck, s.UserMeta = state.LastCheck, state.UserMeta
	lc, err := l.readLifecycle()
	if err != nil {
		return s, err
	}
	s.Versions = lc.Describe()
	if s.Versions == nil {
		s.Versions = []lifecycle.VersionInfo{}
	}
	s.LastRollback = lc.Records().LastRollback
	for _, info := range s.Versions {
		r := lc.Record(info.Version)
		switch {
		case r.Phase == lifecycle.Held || r.Phase == lifecycle.NoEntry:
			if s.HeldBack == nil {
				s.HeldBack = map[string]string{}
			}
			s.HeldBack[info.Version] = r.Reason
		case r.Phase == lifecycle.Probation && info.Current:
			s.Probation = &StatusProbation{Version: info.Version, Previous: lc.KnownGood(info.Version),
				Starts: r.Starts, Failures: r.Failures}
		}
	}
	// "updated to X" is not the truth any more once current went back.
	if c := s.LastCheck; c != nil && s.Current != "" {
		if to, ok := strings.CutPrefix(c.Result, "updated to "); ok && to != s.Current {
			amended := *c
			amended.Result = fmt.Sprintf("updated to %s, since rolled back to %s", to, s.Current)
			s.LastCheck = &amended
		}
	}
	return s, nil
}
