package launcher

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/tufup-go/tufup/layout"
)

// Environment variables the app receives, so it can find the launcher (to
// restart through it) and know its own version and install folder.
const (
	EnvLauncher   = "TUFUP_LAUNCHER"
	EnvVersion    = "TUFUP_VERSION"
	EnvInstallDir = "TUFUP_INSTALL_DIR"
)

// Start runs the app with args. On Unix, outside probation, the launcher's
// process becomes the app (exec), so signals and the exit code are the app's
// own and Start does not return unless exec fails. Otherwise the app runs as
// a child and Start returns its exit code.
func (l *Launcher) Start(ctx context.Context, app App, args []string) (int, error) {
	app, release := l.hold(app)
	defer release()
	env := l.appEnv(app)
	onProbation := l.beginProbation(app.Version)
	if !onProbation && canExec {
		l.Close()
		err := execApp(app.Path, args, env)
		return 1, fmt.Errorf("start %s: %w", app.Path, err)
	}
	started := time.Now()
	code, err := l.runChild(ctx, app, args, env)
	if onProbation {
		failed := err != nil || (code != 0 && time.Since(started) < time.Duration(l.cfg.ProbationWindow))
		if back, ok := l.endProbation(app.Version, failed, code, err); ok {
			// Rolled back: start the version that worked, so the user
			// still gets a working app from this start.
			prev, perr := l.app(back)
			if perr == nil {
				prev, releasePrev := l.hold(prev)
				defer releasePrev()
				return l.runChild(ctx, prev, args, l.appEnv(prev))
			}
		}
	}
	return code, err
}

// hold marks the app's version in use, so that no other launcher's cleanup
// removes it while it runs. If another launcher removed it between Prepare
// and now (it was neither current nor previous any more), the current
// version is started instead.
func (l *Launcher) hold(app App) (App, func()) {
	for attempt := 0; attempt < 3; attempt++ {
		release, installed, err := l.dir.HoldInUse(app.Version)
		if err != nil {
			l.log.Warn("cannot mark the version in use", "version", app.Version, "error", err)
			return app, release
		}
		if installed {
			return app, release
		}
		release()
		v, err := l.currentOrRecover()
		if err != nil {
			break
		}
		if next, err := l.app(v); err == nil {
			app = next
		}
	}
	return app, func() {}
}

func (l *Launcher) appEnv(app App) []string {
	exe, _ := Executable()
	env := os.Environ()
	env = append(env,
		EnvLauncher+"="+exe,
		EnvVersion+"="+app.Version,
		EnvInstallDir+"="+l.dir.Root(),
	)
	return env
}

// runChild runs the app as a child process and waits for it. Its working
// directory is the caller's, unless that lies inside versions/ (a folder
// that cleanup may remove), then the install folder.
func (l *Launcher) runChild(ctx context.Context, app App, args []string, env []string) (int, error) {
	cmd := exec.Command(app.Path, args...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if wd, err := os.Getwd(); err != nil || isInside(wd, l.dir.Versions()) {
		cmd.Dir = l.dir.Root()
	}
	configureChild(cmd, l.cfg.Console)
	if err := cmd.Start(); err != nil {
		return 1, fmt.Errorf("start %s: %w", app.Path, err)
	}
	stop := forwardSignals(cmd.Process)
	defer stop()
	err := cmd.Wait()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitCode(exitErr), nil
	}
	if err != nil {
		return 1, fmt.Errorf("wait for %s: %w", app.Path, err)
	}
	return 0, nil
}

// beginProbation counts a start of a version on probation and reports
// whether this start is watched.
func (l *Launcher) beginProbation(v string) bool {
	if *l.cfg.ProbationStarts == 0 {
		return false
	}
	// Most starts are not on probation: find out without taking the lock.
	if s, err := l.dir.LoadState(); err == nil && (s.Probation == nil || s.Probation.Version != v) {
		return false
	}
	watched := false
	l.withStateLock(func(s *layout.State) bool {
		p := s.Probation
		if p == nil || p.Version != v {
			return false
		}
		p.Starts++
		p.Running++
		watched = true
		l.log.Info("starting version on probation", "version", v, "start", p.Starts, "of", *l.cfg.ProbationStarts)
		return true
	})
	return watched
}

// endProbation records how a watched start ended. When too many starts have
// failed it rolls back to the previous version, holds this one back and
// returns the version rolled back to.
func (l *Launcher) endProbation(v string, failed bool, code int, runErr error) (string, bool) {
	var back string
	l.withStateLock(func(s *layout.State) bool {
		p := s.Probation
		if p == nil || p.Version != v {
			return false
		}
		p.Running = max(p.Running-1, 0)
		if failed {
			p.Failures++
			l.log.Warn("version on probation failed to run", "version", v, "exit_code", code, "error", runErr,
				"failures", p.Failures, "allowed", l.cfg.ProbationFailures-1)
		}
		switch {
		case p.Failures >= l.cfg.ProbationFailures:
			if err := l.dir.SetCurrent(p.Previous); err != nil {
				l.log.Error("probation: cannot roll back", "to", p.Previous, "error", err)
				return true
			}
			if s.HeldBack == nil {
				s.HeldBack = map[string]string{}
			}
			s.HeldBack[v] = fmt.Sprintf("failed probation: %d of %d starts failed (last exit code %d)", p.Failures, p.Starts, code)
			l.log.Error("rolled back: version failed its probation", "version", v, "to", p.Previous, "reason", s.HeldBack[v])
			back = p.Previous
			s.Probation = nil
		case p.Starts >= *l.cfg.ProbationStarts && p.Running == 0:
			l.log.Info("version passed probation", "version", v, "starts", p.Starts, "failures", p.Failures)
			s.Probation = nil
		}
		return true
	})
	return back, back != ""
}

// withStateLock runs change on the state while holding the lock, and saves
// the state when change reports it changed something. It waits at most a
// few seconds for the lock: probation bookkeeping must not hold the app up.
func (l *Launcher) withStateLock(change func(*layout.State) bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lock, err := l.dir.WaitLock(ctx)
	if err != nil {
		l.log.Warn("state not updated: lock busy", "error", err)
		return
	}
	defer lock.Unlock()
	s := l.loadState()
	if change(&s) {
		if err := l.dir.SaveState(s); err != nil {
			l.log.Warn("cannot save state", "error", err)
		}
	}
}

func isInside(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
