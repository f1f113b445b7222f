package launcher

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/tufup-go/tufup/launcher/lifecycle"
)

// Environment variables the app receives, so it can find the launcher (to
// restart through it) and know its own version and install folder.
const (
	EnvLauncher   = "TUFUP_LAUNCHER"
	EnvVersion    = "TUFUP_VERSION"
	EnvInstallDir = "TUFUP_INSTALL_DIR"
)

// Start runs the app with args: the version the lifecycle chooses (the
// current one unless it cannot run or is held back). On Unix, when the start
// is not watched (no probation), the launcher's process becomes the app
// (exec), so signals and the exit code are the app's own and Start does not
// return unless exec fails. Otherwise the app runs as a child, its end is
// recorded, and Start returns its exit code.
func (l *Launcher) Start(ctx context.Context, app App, args []string) (int, error) {
	d, started, ok, err := l.decideStart()
	if err != nil {
		return 1, err
	}
	if ok {
		next, err := l.app(d.Start)
		if err != nil {
			return 1, err
		}
		app = next
	}
	for {
		var release func()
		app, release = l.hold(app)
		defer release()
		env := l.appEnv(app)
		if !d.Watch && canExec {
			l.Close()
			err := execApp(app.Path, args, env)
			return 1, fmt.Errorf("start %s: %w", app.Path, err)
		}
		run := l.runChild(ctx, app, args, env)
		if !d.Watch {
			return run.code, run.err
		}
		ended := time.Now()
		var next lifecycle.Decision
		err := l.withLifecycle(func(lc *lifecycle.Lifecycle) error {
			next = lc.Exit(lifecycle.Exit{Version: app.Version, Started: started, Ended: ended,
				Code: run.code, Forwarded: run.forwarded, NotRun: run.notRun})
			return l.carryOut(next)
		})
		if err != nil {
			l.log.Error("how the app ended is not recorded", "version", app.Version, "exit_code", run.code, "error", err)
		}
		if err != nil || next.Start == "" {
			return run.code, run.err
		}
		// Rolled back: start the known-good version, so the user still
		// gets a working app from this start.
		prev, perr := l.app(next.Start)
		if perr != nil {
			return run.code, run.err
		}
		app, d, started = prev, next, ended
	}
}

// decideStart asks the lifecycle which version to start and whether to
// watch it. Most starts change nothing (a known-good current version): that
// is found out without the records lock and without writing. ok is false
// when the records cannot be used; the given app then starts unwatched.
// The error tells that no installed version has the entry point.
func (l *Launcher) decideStart() (d lifecycle.Decision, started time.Time, ok bool, err error) {
	started = time.Now()
	input := func(lc *lifecycle.Lifecycle) lifecycle.StartInput {
		return lifecycle.StartInput{Now: started, NoEntry: l.missingEntries(lc.Installed())}
	}
	if lc, err := l.readLifecycle(); err == nil {
		before, _ := json.Marshal(lc.Records())
		d, err := lc.Start(input(lc))
		after, _ := json.Marshal(lc.Records())
		if err == nil && d.Current == "" && !d.Watch && bytes.Equal(before, after) {
			return d, started, true, nil
		}
	}
	err = l.withLifecycle(func(lc *lifecycle.Lifecycle) error {
		var err error
		if d, err = lc.Start(input(lc)); err != nil {
			return err
		}
		return l.carryOut(d)
	})
	switch {
	case errors.Is(err, lifecycle.ErrNoEntry):
		l.log.Error("cannot start the app", "error", err)
		return d, started, false, fmt.Errorf("%w; fix launcher.json", err)
	case err != nil:
		l.log.Error("cannot choose the version to start from the version records; starting the current one", "error", err)
		return d, started, false, nil
	}
	return d, started, true, nil
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

// childRun is how a child run of the app ended.
type childRun struct {
	code int
	err  error
	// forwarded tells a signal was passed on to the app while it ran.
	forwarded bool
	// notRun tells the executable could not be started at all.
	notRun bool
}

// runChild runs the app as a child process and waits for it. Its working
// directory is the caller's, unless that lies inside versions/ (a folder
// that cleanup may remove), then the install folder.
func (l *Launcher) runChild(ctx context.Context, app App, args []string, env []string) childRun {
	cmd := exec.Command(app.Path, args...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if wd, err := os.Getwd(); err != nil || isInside(wd, l.dir.Versions()) {
		cmd.Dir = l.dir.Root()
	}
	configureChild(cmd, l.cfg.Console)
	if err := cmd.Start(); err != nil {
		return childRun{code: 1, err: fmt.Errorf("start %s: %w", app.Path, err), notRun: true}
	}
	stop := forwardSignals(cmd.Process)
	err := cmd.Wait()
	forwarded := stop()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return childRun{code: exitCode(exitErr), forwarded: forwarded}
	}
	if err != nil {
		return childRun{code: 1, err: fmt.Errorf("wait for %s: %w", app.Path, err), forwarded: forwarded}
	}
	return childRun{forwarded: forwarded}
}

func isInside(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
