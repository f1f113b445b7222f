package launcher

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/tufup-go/tufup/launcher/lifecycle"
	"github.com/tufup-go/tufup/layout"
)

// The launcher carries out what package lifecycle decides; this file loads
// and saves its records (.tufup/versions.json) and reports its notes.

// recordsWait bounds the wait for the records lock. Other launchers hold it
// only for a read-change-write, so in practice it is never reached; it
// keeps a wedged file system from hanging the launcher for good.
const recordsWait = 2 * time.Minute

func (l *Launcher) lifecycleConfig() lifecycle.Config {
	return lifecycle.Config{
		ProbationStarts:   *l.cfg.ProbationStarts,
		ProbationFailures: l.cfg.ProbationFailures,
		Window:            time.Duration(l.cfg.ProbationWindow),
		KeepVersions:      l.cfg.KeepVersions,
		Entry:             l.entryName(),
	}
}

// entryName is the configured entry point for this platform ("" when
// launcher.json has none for it).
func (l *Launcher) entryName() string {
	entry, _ := l.cfg.Entry.For(runtime.GOOS, runtime.GOARCH)
	return entry
}

// disk is what the lifecycle needs to know of the install directory.
func (l *Launcher) disk() (lifecycle.Disk, error) {
	installed, err := l.dir.Installed()
	if err != nil {
		return lifecycle.Disk{}, err
	}
	cur, err := l.dir.Current()
	if err != nil && !errors.Is(err, layout.ErrNoCurrent) {
		l.log.Warn("current pointer unusable", "error", err)
	}
	return lifecycle.Disk{Current: cur, Installed: installed}, nil
}

// parseRecords decodes the records file; with none yet (or an unreadable
// one) it builds them from what older launchers kept in state.json, so
// existing installs keep their history.
func (l *Launcher) parseRecords(b []byte, disk lifecycle.Disk, now time.Time) lifecycle.Records {
	if b != nil {
		var rec lifecycle.Records
		err := json.Unmarshal(b, &rec)
		if err == nil && rec.Versions != nil {
			return rec
		}
		l.log.Warn("version records unreadable; rebuilding them from the installed versions", "error", err)
	}
	state := l.loadState()
	var p *lifecycle.LegacyProbation
	if s := state.Probation; s != nil {
		p = &lifecycle.LegacyProbation{Version: s.Version, Starts: s.Starts, Failures: s.Failures}
	}
	return lifecycle.Migrate(state.HeldBack, p, disk.Installed, now)
}

// readLifecycle loads the records without the lock, for decisions that
// change nothing (planning, status).
func (l *Launcher) readLifecycle() (*lifecycle.Lifecycle, error) {
	disk, err := l.disk()
	if err != nil {
		return nil, err
	}
	b, err := l.dir.ReadRecords()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	return lifecycle.New(l.lifecycleConfig(), l.parseRecords(b, disk, now), disk, now), nil
}

// withLifecycle runs event on the records under the records lock and saves
// them; event carries out its decision (the pointer flip) before they are
// saved. It waits for the lock rather than drop a record.
func (l *Launcher) withLifecycle(event func(*lifecycle.Lifecycle) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), recordsWait)
	defer cancel()
	return l.dir.ChangeRecords(ctx, func(old []byte) ([]byte, error) {
		disk, err := l.disk()
		if err != nil {
			return nil, err
		}
		now := time.Now()
		lc := lifecycle.New(l.lifecycleConfig(), l.parseRecords(old, disk, now), disk, now)
		if err := event(lc); err != nil {
			return nil, err
		}
		b, err := json.MarshalIndent(lc.Records(), "", "  ")
		if err != nil {
			return nil, fmt.Errorf("encode version records: %w", err)
		}
		b = append(b, '\n')
		if bytes.Equal(b, old) {
			return nil, nil
		}
		return b, nil
	})
}

// carryOut points current where a decision says and logs its notes.
func (l *Launcher) carryOut(d lifecycle.Decision) error {
	l.logNotes(d.Notes)
	if d.Current == "" {
		return nil
	}
	if err := l.dir.SetCurrent(d.Current); err != nil {
		return fmt.Errorf("switch to %s: %w", d.Current, err)
	}
	return nil
}

func (l *Launcher) logNotes(notes []lifecycle.Note) {
	for _, n := range notes {
		switch n.Level {
		case lifecycle.Error:
			l.log.Error(n.Msg)
		case lifecycle.Warn:
			l.log.Warn(n.Msg)
		default:
			l.log.Info(n.Msg)
		}
	}
}

// missingEntries lists the installed versions whose folder lacks the
// configured entry point.
func (l *Launcher) missingEntries(installed []string) []string {
	var missing []string
	for _, v := range installed {
		app, err := l.app(v)
		if err != nil {
			missing = append(missing, v)
			continue
		}
		if fi, err := os.Stat(app.Path); err != nil || fi.IsDir() {
			missing = append(missing, v)
		}
	}
	return missing
}
