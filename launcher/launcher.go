package launcher

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/internal/fsutil"
	"github.com/tufup-go/tufup/layout"
	"github.com/tufup-go/tufup/versions"
)

// Options configure a Launcher beyond launcher.json.
type Options struct {
	// ConfigDir holds launcher.json and root.json: normally the folder of
	// the launcher's executable.
	ConfigDir string
	// Version is the launcher's own version (User-Agent, self-update).
	Version string
	// Channel, when set, overrides launcher.json's channel.
	Channel string
	// Progress, when set, receives download progress, per file.
	Progress func(fetch.Progress)
	// Events, when set, receives the phases and the overall progress of
	// an update (a progress window, launcher --update-only --json).
	Events func(Event)
	// Stderr, when set, also receives the log (besides launcher.log).
	Stderr io.Writer
}

// Launcher manages one installed app.
type Launcher struct {
	cfg     Config
	opts    Options
	dir     layout.Dir
	fs      fsutil.FS // the update's flushes and renames: the disk, or a test's recorder
	root    []byte
	log     *slog.Logger
	logFile io.Closer
	events  *events
}

// Open reads launcher.json and root.json from opts.ConfigDir and opens the
// install directory they describe. It creates nothing on disk.
func Open(opts Options) (*Launcher, error) {
	cfg, err := LoadConfig(filepath.Join(opts.ConfigDir, ConfigFile))
	if err != nil {
		return nil, err
	}
	if opts.Channel != "" {
		ch, err := versions.ParseChannel(opts.Channel)
		if err != nil {
			return nil, fmt.Errorf("channel: %w", err)
		}
		cfg.Channel = string(ch)
	}
	root, err := readRoot(filepath.Join(opts.ConfigDir, RootFile))
	if err != nil {
		return nil, err
	}
	dataDir, err := ResolveDataDir(cfg.DataDir, opts.ConfigDir, runtime.GOOS, os.Getenv)
	if err != nil {
		return nil, err
	}
	l := &Launcher{cfg: cfg, opts: opts, dir: layout.New(dataDir), fs: fsutil.OS{}, root: root, events: newEvents(opts)}
	l.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	return l, nil
}

// Config is the launcher's configuration, defaults filled in.
func (l *Launcher) Config() Config { return l.cfg }

// Dir is the install directory.
func (l *Launcher) Dir() layout.Dir { return l.dir }

// StartLog opens .tufup/launcher.log for appending (creating the layout if
// needed) and sends the launcher's log there, and to Options.Stderr.
func (l *Launcher) StartLog() error {
	if err := l.dir.Create(); err != nil {
		return err
	}
	f, err := openLog(l.dir.Log())
	if err != nil {
		return err
	}
	var w io.Writer = f
	if l.opts.Stderr != nil {
		w = io.MultiWriter(f, l.opts.Stderr)
	}
	l.logFile = f
	l.log = slog.New(slog.NewTextHandler(w, nil)).With("pid", os.Getpid())
	return nil
}

// Close closes the log.
func (l *Launcher) Close() error {
	if l.logFile != nil {
		return l.logFile.Close()
	}
	return nil
}

// App is an installed version ready to start.
type App struct {
	Version string
	Dir     string // the version folder
	Path    string // the entry point
}

// Prepare brings the install up to date as far as the configured time budget
// and the network allow, and returns the app to start. Once a version is
// installed, no update problem makes Prepare fail: problems are logged and
// the installed version is returned.
func (l *Launcher) Prepare(ctx context.Context) (App, error) {
	installed := l.hasInstalled()
	switch {
	case l.cfg.Update == UpdateNever && !installed:
		return App{}, errors.New(`nothing is installed yet and updates are off (--no-update, or "update": "never" in ` + ConfigFile + `): start the launcher once without --no-update, with "update" set to "on-start" or "background", to install the app`)
	case l.cfg.Update == UpdateNever:
	case l.cfg.Update == UpdateBackground && installed:
		if err := l.startBackgroundUpdate(); err != nil {
			l.log.Warn("cannot start the background update", "error", err)
		}
	default:
		err := l.updateOnStart(ctx, installed)
		if err != nil && !l.hasInstalled() {
			return App{}, fmt.Errorf("nothing installed yet and the first install failed: %w", err)
		}
	}
	current, err := l.currentOrRecover()
	if err != nil {
		return App{}, err
	}
	return l.app(current)
}

// updateOnStart runs the update under the lock. With a version installed, a
// launcher that finds the lock taken starts the installed version at once;
// without one, it waits for the other launcher's install to finish.
func (l *Launcher) updateOnStart(ctx context.Context, installed bool) error {
	var lock *layout.Lock
	if installed {
		var ok bool
		var err error
		lock, ok, err = l.dir.TryLock()
		if err != nil {
			l.log.Warn("cannot take the updater lock; starting the installed version", "error", err)
			return err
		}
		if !ok {
			l.log.Info("another launcher is updating; starting the installed version")
			return nil
		}
	} else {
		var err error
		if lock, err = l.dir.WaitLock(ctx); err != nil {
			return err
		}
		if _, err := l.dir.Current(); err == nil {
			l.log.Info("another launcher installed the app meanwhile")
			return lock.Unlock()
		}
	}
	defer lock.Unlock()
	return l.updateLocked(ctx, true)
}

// updateLocked is one update attempt; the caller holds the lock. bounded
// limits the downloads of an update to download_timeout when a version is
// installed, so the app's start is not held up for long: past it, the
// update goes on in a detached "launcher --update-only" while the installed
// version starts.
func (l *Launcher) updateLocked(ctx context.Context, bounded bool) error {
	if err := l.dir.CleanLeftovers(); err != nil {
		l.log.Warn("leftovers not cleaned up yet", "error", err)
	}
	if _, err := l.dir.Current(); err != nil && !errors.Is(err, layout.ErrNoCurrent) {
		l.log.Warn("current pointer unusable", "error", err)
		if v, err := l.currentOrRecover(); err == nil {
			if err := l.dir.SetCurrent(v); err == nil {
				l.log.Info("current pointer repaired", "version", v)
			}
		}
	}
	if l.cfg.SelfUpdate {
		l.removeLauncherLeftovers()
	}
	state := l.loadState()
	start := time.Now()
	if _, err := l.dir.Current(); errors.Is(err, layout.ErrNoCurrent) {
		if err := l.installSeed(ctx, &state); err != nil {
			l.log.Warn("seed not installed; installing from the repository", "error", err)
		}
	}
	installed, _ := l.dir.Current()
	l.events.phase(PhaseCheck, installed, "", 0)
	plan, client, err := l.check(ctx, &state)
	background := false
	if err == nil && plan != nil {
		installCtx := ctx
		if bounded && plan.From != "" {
			var cancel context.CancelFunc
			installCtx, cancel = context.WithTimeout(ctx, time.Duration(l.cfg.DownloadTimeout))
			defer cancel()
		}
		err = l.install(installCtx, client, plan, &state)
		if err != nil && installCtx.Err() != nil && ctx.Err() == nil {
			background = true
			err = fmt.Errorf("the update to %s did not finish within download_timeout (%s): %w", plan.To, time.Duration(l.cfg.DownloadTimeout), err)
		}
	}
	if client != nil && l.cfg.SelfUpdate {
		if err := l.selfUpdate(ctx, client, &state); err != nil {
			l.log.Error("launcher self-update failed", "error", err)
		}
	}
	check := &layout.Check{Time: start.UTC()}
	switch {
	case background:
		check.Result, check.Error = "continuing in the background", err.Error()
		l.log.Info("the update takes longer than download_timeout; starting the installed version and finishing the update in the background",
			"download_timeout", time.Duration(l.cfg.DownloadTimeout), "error", err)
		if err := l.startBackgroundUpdate(); err != nil {
			l.log.Warn("cannot start the background update; the download resumes at the next start", "error", err)
		}
	case err != nil:
		check.Result, check.Error = "failed", err.Error()
		if installed != "" {
			l.log.Error("update failed; starting the installed version", "version", installed, "error", err)
		} else {
			l.log.Error("first install failed; nothing is installed to start", "error", err)
		}
	case plan == nil:
		check.Result = "up to date"
		l.log.Info("up to date", "took", time.Since(start).Round(time.Millisecond))
		// Versions an earlier cleanup had to leave because they were in
		// use go now, not only at the next update.
		l.cleanup(&state)
	default:
		check.Result = "updated to " + plan.To.String()
	}
	state.LastCheck = check
	if records, _ := l.dir.ReadRecords(); records != nil {
		// Carried over into the version records (versions.json).
		state.HeldBack, state.Probation = nil, nil
	}
	if err := l.dir.SaveState(state); err != nil {
		l.log.Error("cannot save state", "error", err)
	}
	return err
}

// check refreshes the metadata (bounded by the check timeout) and plans.
func (l *Launcher) check(ctx context.Context, state *layout.State) (*Plan, *fetch.Client, error) {
	client, err := l.newClient()
	if err != nil {
		return nil, nil, err
	}
	checkCtx, cancel := context.WithTimeout(ctx, time.Duration(l.cfg.CheckTimeout))
	defer cancel()
	if err := client.Refresh(checkCtx); err != nil {
		return nil, nil, l.explainRefresh(ctx, checkCtx, err)
	}
	if err := checkAppListed(l.cfg.AppName, l.cfg.MetadataURL, client.Targets()); err != nil {
		return nil, client, err
	}
	in := planInput{
		app:           l.cfg.AppName,
		goos:          runtime.GOOS,
		goarch:        runtime.GOARCH,
		targets:       client.Targets(),
		channel:       versions.Channel(l.cfg.Channel),
		failedPatches: state.FailedPatches,
		bucket:        l.bucket(state),
	}
	if lc, err := l.readLifecycle(); err != nil {
		l.log.Warn("version records unreadable: planning without them", "error", err)
	} else {
		in.lifecycle = lc
		l.logNotes(lc.HashChanged(publishedHashes(platformApp(in.app, in.goos, in.goarch, in.targets), in.targets)))
	}
	if cur, err := l.dir.Current(); err == nil {
		v, err := versions.Parse(cur)
		if err != nil {
			return nil, nil, fmt.Errorf("installed version %q: %w", cur, err)
		}
		in.current = &v
		in.haveBase = l.haveBase(cur)
	}
	plan := planUpdate(in, l.log.Warn)
	preferDirect(plan, in, l.log.Warn)
	if plan != nil {
		l.log.Info("update available", "from", plan.From, "to", plan.To.String(),
			"patches", len(plan.Patches), "download_bytes", plan.DownloadSize(), "why_full", plan.WhyFull)
	}
	return plan, client, nil
}

func (l *Launcher) newClient() (*fetch.Client, error) {
	return fetch.New(fetch.Options{
		MetadataURL: l.cfg.MetadataURL,
		TargetsURL:  l.cfg.TargetsURL,
		MetadataDir: l.dir.Metadata(),
		TrustedRoot: l.root,
		UserAgent:   l.cfg.AppName + "-launcher/" + l.opts.Version,
		Headers:     l.cfg.Headers,
		IdleTimeout: time.Duration(l.cfg.IdleTimeout),
		Logger:      l.log,
		Progress:    l.events.download,
	})
}

// bucket returns this install's rollout bucket, drawing it on first use.
func (l *Launcher) bucket(state *layout.State) float64 {
	if state.RolloutBucket == nil {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return 0
		}
		f := float64(binary.LittleEndian.Uint64(b[:])>>11) / (1 << 53)
		state.RolloutBucket = &f
	}
	return *state.RolloutBucket
}

func (l *Launcher) loadState() layout.State {
	s, err := l.dir.LoadState()
	if err != nil {
		l.log.Warn("state unreadable", "error", err)
	}
	return s
}

func (l *Launcher) hasInstalled() bool {
	v, _ := l.dir.Installed()
	return len(v) > 0
}

// currentOrRecover returns the current version or, when the pointer is
// missing or broken, the newest installed version not held back.
func (l *Launcher) currentOrRecover() (string, error) {
	if v, err := l.dir.Current(); err == nil {
		return v, nil
	}
	installed, err := l.dir.Installed()
	if err != nil {
		return "", err
	}
	if len(installed) == 0 {
		return "", fmt.Errorf("no version is installed in %s: start the launcher with a network connection to install the app", l.dir.Versions())
	}
	// The newest known-good one; Start then checks what the records say.
	if lc, err := l.readLifecycle(); err == nil {
		if v := lc.KnownGood(""); v != "" {
			return v, nil
		}
	}
	return installed[len(installed)-1], nil
}

func (l *Launcher) app(v string) (App, error) {
	entry, err := l.cfg.Entry.For(runtime.GOOS, runtime.GOARCH)
	if err != nil {
		return App{}, err
	}
	dir := l.dir.Version(v)
	return App{Version: v, Dir: dir, Path: filepath.Join(dir, filepath.FromSlash(entry))}, nil
}

// DisableUpdate makes Prepare start the installed version without checking
// for updates (launcher --no-update).
func (l *Launcher) DisableUpdate() { l.cfg.Update = UpdateNever }

// UpdateNow checks for an update and installs it, waiting for another
// launcher's update to finish first. Unlike Prepare it reports every failure
// (launcher --update-only, and apps with their own "update now" button).
func (l *Launcher) UpdateNow(ctx context.Context) error {
	lock, err := l.dir.WaitLock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	return l.updateLocked(ctx, false)
}

// startBackgroundUpdate starts "launcher --update-only" detached from this
// start, which goes on to start the installed version at once. The update
// is installed side by side meanwhile and runs from the next start.
func (l *Launcher) startBackgroundUpdate() error {
	exe, err := Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe, "--update-only")
	if l.opts.Channel != "" {
		cmd.Args = append(cmd.Args, "--channel", l.opts.Channel)
	}
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s --update-only: %w", exe, err)
	}
	l.log.Info("updating in the background", "pid", cmd.Process.Pid)
	return cmd.Process.Release()
}
