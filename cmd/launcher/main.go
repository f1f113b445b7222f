// Command launcher keeps an installed app up to date and starts it. The
// desktop shortcut points here. Each start it checks the app's TUF
// repository (within a short time budget), installs a newer release side by
// side, atomically switches to it, and starts the app with the arguments it
// was given.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/tufup-go/tufup/internal/flagusage"
	"github.com/tufup-go/tufup/launcher"
	"github.com/tufup-go/tufup/versions"
)

// version is set at build time: go build -ldflags "-X main.version=1.2.3".
var version = "dev"

// Exit codes of the launcher itself; once the app runs, the app's own exit
// code is passed on.
const (
	exitError = 1 // the launcher could not do what was asked
	exitUsage = 2 // bad flags or config
)

func main() {
	// Build for Windows with -ldflags -H=windowsgui, so that no console
	// window flashes when a shortcut starts the launcher; Output then finds
	// the terminal's console for messages when started from one.
	stdout, stderr := launcher.Output()
	os.Exit(run(os.Args[1:], stdout, stderr))
}

type options struct {
	version, help, rollback, status, paths, noUpdate, updateOnly, verbose, json, check bool
	channel, unhold                                                                    string
}

func newFlagSet(o *options) *pflag.FlagSet {
	fs := pflag.NewFlagSet("launcher", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.BoolVar(&o.version, "version", false, "print the launcher's version and exit")
	fs.BoolVar(&o.help, "help", false, "print this help and exit")
	fs.BoolVar(&o.status, "status", false, "print installed versions, current, held back, last check, channel and URLs, then exit")
	fs.BoolVar(&o.json, "json", false, "with --status, --paths or --check: print JSON; with --update-only: progress and result as JSON lines")
	fs.BoolVar(&o.paths, "paths", false, "print where the launcher's files, versions and state live, then exit")
	fs.BoolVar(&o.rollback, "rollback", false, "switch back to the newest known-good version, hold the current one back, and start the app")
	fs.StringVar(&o.unhold, "unhold", "", "undo the hold of version `VERSION` (see --status), then exit")
	fs.StringVar(&o.channel, "channel", "", "install pre-releases up to level `NAME`: stable, rc, beta or alpha (overrides launcher.json)")
	fs.BoolVar(&o.noUpdate, "no-update", false, "start the installed version without checking for updates")
	fs.BoolVar(&o.updateOnly, "update-only", false, "check for updates and install them, without starting the app")
	fs.BoolVar(&o.check, "check", false, "tell whether an update is available (version, bytes to download, release notes), installing nothing")
	fs.BoolVar(&o.verbose, "verbose", false, "also print the log on stderr")
	return fs
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := newFlagSet(&o)
	fs.SetOutput(io.Discard)
	own, appArgs := splitArgs(fs, args)
	if err := fs.Parse(own); err != nil {
		fmt.Fprintf(stderr, "launcher: %v\nRun 'launcher --help' for usage.\n", err)
		return exitUsage
	}
	switch {
	case o.help:
		usage(stdout, fs)
		return 0
	case o.version:
		fmt.Fprintf(stdout, "launcher %s\n", version)
		return 0
	}
	if o.channel != "" {
		if _, err := versions.ParseChannel(o.channel); err != nil {
			fmt.Fprintf(stderr, "launcher: --channel: %v\nRun 'launcher --help' for usage.\n", err)
			return exitUsage
		}
	}

	exe, err := launcher.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "launcher: %v\n", err)
		return exitError
	}
	lopts := launcher.Options{ConfigDir: launcher.ConfigDir(exe), Version: version, Channel: o.channel}
	if o.verbose {
		lopts.Stderr = stderr
	}
	var lines *jsonLines
	var show display
	if o.updateOnly && o.json {
		lines = newJSONLines(stdout)
		lopts.Events = func(e launcher.Event) { lines.write(e) }
	} else {
		lopts.Progress, lopts.Events = show.progress, show.event
	}
	l, err := launcher.Open(lopts)
	if err != nil {
		fmt.Fprintf(stderr, "launcher: %v\n", err)
		return exitUsage
	}
	defer l.Close()
	show.configure(l.Config(), stderr, o, l.Dir().Log())

	switch {
	case o.paths:
		return printPaths(stdout, l, exe, o.json)
	case o.status:
		return printStatus(stdout, stderr, l, o.json)
	}

	if err := l.StartLog(); err != nil {
		// A log that cannot be written must not keep the app from starting.
		fmt.Fprintf(stderr, "launcher: %v (continuing without a log)\n", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	if o.check {
		return runCheck(ctx, l, stdout, stderr, o.json)
	}
	if o.unhold != "" {
		if err := l.Unhold(o.unhold); err != nil {
			fmt.Fprintf(stderr, "launcher: %v\n", err)
			return exitError
		}
		fmt.Fprintf(stderr, "launcher: %s is no longer held back\n", o.unhold)
		return 0
	}
	if o.rollback {
		to, err := l.Rollback(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "launcher: %v\n", err)
			return exitError
		}
		fmt.Fprintf(stderr, "launcher: rolled back to %s\n", to)
	}
	if o.noUpdate || o.rollback {
		l.DisableUpdate()
	}
	if lines != nil {
		return runUpdateJSON(ctx, l, lines, stderr)
	}
	if o.updateOnly {
		if err := l.UpdateNow(ctx); err != nil {
			fmt.Fprintf(stderr, "launcher: %v\n", err)
			return exitError
		}
		return 0
	}
	app, err := show.prepare(ctx, l)
	if err != nil {
		fmt.Fprintf(stderr, "launcher: %v\n", err)
		return exitError
	}
	stop()
	code, err := l.Start(context.Background(), app, appArgs)
	if err != nil {
		fmt.Fprintf(stderr, "launcher: %v\n", err)
	}
	return code
}

// splitArgs separates the launcher's own flags from the app's arguments.
// The launcher's flags are recognised anywhere before "--"; everything else
// goes to the app unchanged and in order, and everything after "--" goes to
// the app even if it looks like a launcher flag.
func splitArgs(fs *pflag.FlagSet, args []string) (own, app []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return own, append(app, args[i+1:]...)
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		f := fs.Lookup(name)
		if !strings.HasPrefix(a, "--") || f == nil {
			app = append(app, a)
			continue
		}
		own = append(own, a)
		if f.Value.Type() != "bool" && !hasValue && i+1 < len(args) {
			i++
			own = append(own, args[i])
		}
	}
	return own, app
}

func usage(w io.Writer, fs *pflag.FlagSet) {
	fmt.Fprintf(w, `Usage: launcher [launcher flags] [app arguments]

Keeps the app installed next to it up to date and starts it. Each start it
checks the app's update repository (TUF-verified, within check_timeout),
installs a newer release into versions/<version>/ side by side, switches the
"current" pointer atomically, and starts the app. Arguments that are not the
launcher's own flags are passed to the app unchanged; put them after "--" to
pass flags with the same names as the launcher's.

Launcher flags:
%s
Configuration: launcher.json and root.json, next to the launcher's executable.
  app_name, metadata_url, targets_url, entry (required); channel, keep_versions,
  update, check_timeout, idle_timeout, download_timeout, headers, data_dir, probation_starts,
  probation_failures, probation_window, self_update, console, ui,
  display_name (optional).
  See docs/launcher-json.md for every key.

Log: .tufup/launcher.log in the install dir (next to the launcher, or where
  data_dir says); "launcher --paths" prints its exact path. --verbose also
  prints it on stderr.

Exit codes: the app's own exit code once it runs; 1 when the launcher fails
at run time (nothing installed and the first install failed, --update-only
failed, --rollback without a known-good version to go to, --unhold of a
version not held back, the app cannot be started);
2 for a configuration mistake (bad flags, a missing or bad launcher.json or
root.json). See docs/launcher-cli.md.
`, flagusage.Format(fs))
}

func printPaths(w io.Writer, l *launcher.Launcher, exe string, asJSON bool) int {
	d := l.Dir()
	paths := []struct{ Name, Path string }{
		{"launcher", exe},
		{"config", filepath.Join(launcher.ConfigDir(exe), launcher.ConfigFile)},
		{"trusted root", filepath.Join(launcher.ConfigDir(exe), launcher.RootFile)},
		{"install dir", d.Root()},
		{"current pointer", filepath.Join(d.Root(), "current")},
		{"versions", d.Versions()},
		{"state", d.State()},
		{"metadata cache", d.Metadata()},
		{"downloads", d.Downloads()},
		{"log", d.Log()},
	}
	if asJSON {
		m := map[string]string{}
		for _, p := range paths {
			m[strings.ReplaceAll(p.Name, " ", "_")] = p.Path
		}
		return writeJSON(w, m)
	}
	for _, p := range paths {
		fmt.Fprintf(w, "%-16s %s\n", p.Name+":", p.Path)
	}
	return 0
}

func printStatus(stdout, stderr io.Writer, l *launcher.Launcher, asJSON bool) int {
	s, err := l.Status()
	if err != nil {
		fmt.Fprintf(stderr, "launcher: %v\n", err)
		return exitError
	}
	if asJSON {
		return writeJSON(stdout, s)
	}
	fmt.Fprintf(stdout, "app:          %s (launcher %s)\n", s.App, s.LauncherVersion)
	fmt.Fprintf(stdout, "install dir:  %s\n", s.InstallDir)
	fmt.Fprintf(stdout, "channel:      %s\n", s.Channel)
	fmt.Fprintf(stdout, "metadata url: %s\n", s.MetadataURL)
	fmt.Fprintf(stdout, "targets url:  %s\n", s.TargetsURL)
	cur := s.Current
	if s.CurrentError != "" {
		cur = "(" + s.CurrentError + ")"
	}
	fmt.Fprintf(stdout, "current:      %s\n", cur)
	fmt.Fprintf(stdout, "installed:    %s\n", strings.Join(s.Installed, ", "))
	for _, v := range s.Versions {
		if why, ok := s.HeldBack[v.Version]; ok {
			fmt.Fprintf(stdout, "held back:    %s (%s)\n", v.Version, why)
		}
	}
	if s.LastCheck != nil {
		line := s.LastCheck.Result
		if s.LastCheck.Error != "" {
			line += ": " + s.LastCheck.Error
		}
		fmt.Fprintf(stdout, "last check:   %s, %s\n", s.LastCheck.Time.Local().Format("2006-01-02 15:04:05"), line)
	} else {
		fmt.Fprintf(stdout, "last check:   never\n")
	}
	if p := s.Probation; p != nil {
		fmt.Fprintf(stdout, "probation:    %s, %d starts, %d failed, falls back to %s\n", p.Version, p.Starts, p.Failures, p.Previous)
	}
	if r := s.LastRollback; r != nil {
		fmt.Fprintf(stdout, "rolled back:  %s -> %s, %s (%s)\n", r.From, r.To, r.Time.Local().Format("2006-01-02 15:04:05"), r.Why)
	}
	for _, v := range s.Versions {
		fmt.Fprintf(stdout, "version:      %-10s %-9s %s\n", v.Version, v.Phase, v.Why)
	}
	if meta, ok := s.UserMeta[s.Current]; ok {
		// One line, as every other field: the stored JSON keeps the
		// layout of targets.json and state.json.
		var line bytes.Buffer
		if err := json.Compact(&line, meta); err == nil {
			meta = line.Bytes()
		}
		fmt.Fprintf(stdout, "release info: %s\n", meta)
	}
	return 0
}

func writeJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return exitError
	}
	return 0
}
