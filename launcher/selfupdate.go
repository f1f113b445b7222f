package launcher

import (
	"context"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/minio/selfupdate"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/layout"
	"github.com/tufup-go/tufup/versions"
)

// launcherTargetPrefix is how launcher releases for this platform are named
// in the repository: launcher-<goos>-<goarch>-<version> (see tufup-repo
// add-launcher).
func launcherTargetPrefix() string { return "launcher-" + runtime.GOOS + "-" + runtime.GOARCH + "-" }

// selfUpdate replaces the launcher's own executable with the newest
// launcher release for this platform. The new executable must pass a
// self-check (--version prints its version) or the old one is put back and
// that release is held back. The new launcher runs from the next start.
func (l *Launcher) selfUpdate(ctx context.Context, client *fetch.Client, state *layout.State) error {
	own, err := versions.Parse(l.opts.Version)
	if err != nil {
		l.log.Info("self-update skipped: this launcher is not a release build", "version", l.opts.Version)
		return nil
	}
	target, version := newestLauncher(client.Targets(), own, state.LauncherHeldBack)
	if target == nil {
		return nil
	}
	exe, err := Executable()
	if err != nil {
		return err
	}
	sum, err := hex.DecodeString(target.Hashes["sha256"])
	if err != nil || len(sum) == 0 {
		return fmt.Errorf("launcher target %s has no usable sha256", target.Name)
	}
	opts := selfupdate.Options{TargetPath: exe, OldSavePath: exe + ".old", Checksum: sum, Hash: crypto.SHA256}
	if err := opts.CheckPermissions(); err != nil {
		return fmt.Errorf("self-update to %s: cannot replace %s (install the launcher somewhere writable, or update it with the app's installer): %w", version, exe, err)
	}
	file, err := client.Download(ctx, *target, l.dir.Downloads())
	if err != nil {
		return fmt.Errorf("download %s: %w", target.Name, err)
	}
	defer os.Remove(file)
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	// Apply checks the checksum again, writes the new executable next to
	// the old one, then swaps them by renames (the Windows way too: a
	// running executable can be renamed, not overwritten).
	err = selfupdate.Apply(f, opts)
	f.Close()
	if err != nil {
		if rerr := selfupdate.RollbackError(err); rerr != nil {
			return fmt.Errorf("self-update to %s failed and the old launcher could not be restored (%v): %w", version, rerr, err)
		}
		return fmt.Errorf("self-update to %s: %w", version, err)
	}
	if err := selfCheck(ctx, exe, version); err != nil {
		if rerr := os.Rename(opts.OldSavePath, exe); rerr != nil {
			return fmt.Errorf("launcher %s failed its self-check (%v) and the old launcher could not be restored from %s: %w", version, err, opts.OldSavePath, rerr)
		}
		state.LauncherHeldBack = append(state.LauncherHeldBack, version.String())
		return fmt.Errorf("launcher %s failed its self-check, kept the old launcher and hold %s back: %w", version, version, err)
	}
	// On Windows the old executable is still running and cannot be
	// deleted; removeLauncherLeftovers retries at a later start.
	os.Remove(opts.OldSavePath)
	l.log.Info("launcher updated; the new launcher runs from the next start", "from", l.opts.Version, "to", version.String())
	return nil
}

// newestLauncher picks the newest launcher release for this platform newer
// than own and not held back.
func newestLauncher(targets []fetch.TargetInfo, own versions.Version, heldBack []string) (*fetch.TargetInfo, versions.Version) {
	var best *fetch.TargetInfo
	var bestV versions.Version
	for i := range targets {
		name, ok := strings.CutPrefix(targets[i].Name, launcherTargetPrefix())
		if !ok {
			continue
		}
		v, err := versions.Parse(name)
		if err != nil || v.Compare(own) <= 0 || slices.Contains(heldBack, v.String()) {
			continue
		}
		if best == nil || v.Compare(bestV) > 0 {
			best, bestV = &targets[i], v
		}
	}
	return best, bestV
}

// selfCheck runs the new launcher with --version and expects it to name
// the version it was published as.
func selfCheck(ctx context.Context, exe string, want versions.Version) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, exe, "--version").Output()
	if err != nil {
		return fmt.Errorf("%s --version: %w", exe, err)
	}
	got := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "launcher "))
	if v, err := versions.Parse(got); err != nil || v.Compare(want) != 0 {
		return fmt.Errorf("%s --version printed %q, want %s", exe, strings.TrimSpace(string(out)), want)
	}
	return nil
}

// removeLauncherLeftovers deletes the previous executable kept by a
// self-update and an interrupted one's staged file, once they are not in use.
func (l *Launcher) removeLauncherLeftovers() {
	exe, err := Executable()
	if err != nil {
		return
	}
	for _, p := range []string{exe + ".old", filepath.Join(filepath.Dir(exe), "."+filepath.Base(exe)+".new")} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			l.log.Info("launcher leftover not removed yet", "path", p, "error", err)
		}
	}
}

// Executable is the launcher's own executable with symlinks resolved: the
// file self-update replaces, next to which launcher.json is looked for.
func Executable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the launcher's executable: %w", err)
	}
	return filepath.EvalSymlinks(exe)
}
