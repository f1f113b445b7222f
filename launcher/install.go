package launcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/launcher/lifecycle"
	"github.com/tufup-go/tufup/layout"
	"github.com/tufup-go/tufup/versions"
)

// errPatch marks a failure of the patches themselves (as opposed to the
// network or the disk): the full archive is tried instead, and the patches
// are never tried again.
var errPatch = errors.New("patch failed")

// errPatchUnavailable marks a patch the server cannot give (4xx) or gives
// wrong: the full archive is tried instead, but the patch is tried again
// at a later update, since the server may be fixed by then.
var errPatchUnavailable = errors.New("patch unavailable")

// install carries out a plan: it rebuilds the release's tar (patches, or the
// full archive) and extracts it as it comes into a staging folder (see
// rebuild.go), moves that into versions/, and flips the current pointer.
// The caller holds the lock.
func (l *Launcher) install(ctx context.Context, client *fetch.Client, plan *Plan, state *layout.State) error {
	to := plan.To.String()
	if err := l.dir.Create(); err != nil {
		return err
	}
	if _, err := os.Stat(l.dir.Version(to)); err == nil {
		// A crash after the version was moved into place, before the
		// pointer flip: the folder is complete, only the flip is missing.
		l.log.Info("version already installed; finishing the update", "version", to)
		return l.activate(plan, state)
	}
	start := time.Now()
	staging, err := l.dir.NewStaging(to)
	if err != nil {
		return err
	}
	if len(plan.Patches) > 0 {
		l.events.phase(PhaseDownload, plan.From, to, plan.DownloadSize())
		err = l.rebuildFromPatches(ctx, client, plan, staging)
		if errors.Is(err, errPatch) {
			// As in tufup, a patch that failed to apply is not tried again.
			for _, p := range plan.Patches {
				if !slices.Contains(state.FailedPatches, p.Name) {
					state.FailedPatches = append(state.FailedPatches, p.Name)
				}
			}
			// Remember the failure now: if this start dies, the next one
			// must not try the same patches.
			if err := l.dir.SaveState(*state); err != nil {
				l.log.Warn("cannot save state", "error", err)
			}
		}
		if errors.Is(err, errPatch) || errors.Is(err, errPatchUnavailable) {
			l.log.Warn("patch update failed; downloading the full archive", "error", err)
			plan.Patches = nil
			plan.WhyFull = "a patch failed"
		}
	}
	if len(plan.Patches) == 0 {
		l.events.phase(PhaseDownload, plan.From, to, plan.DownloadSize())
		err = l.rebuildFromArchive(ctx, client, plan, staging)
	}
	if err != nil {
		return err
	}
	crashPoint("verify")

	l.events.phase(PhaseInstall, plan.From, to, 0)
	if err := l.checkEntry(staging, to); err != nil {
		os.RemoveAll(staging)
		os.Remove(l.tarIndex(to))
		// Retrying would only download and fail again, as long as
		// launcher.json's entry stays the same.
		if rerr := l.withLifecycle(func(lc *lifecycle.Lifecycle) error {
			return l.carryOut(lc.LacksEntry(to, time.Now()))
		}); rerr != nil {
			l.log.Warn("cannot record the missing entry point", "error", rerr)
		}
		return err
	}
	// The records are first made (from versions/ and an older launcher's
	// state.json) before the new version is there, or the first install
	// would be recorded as "installed before the launcher kept records".
	if err := l.withLifecycle(func(*lifecycle.Lifecycle) error { return nil }); err != nil {
		l.log.Warn("cannot save the version records", "error", err)
	}
	crashPoint("rename")
	if err := l.dir.Add(staging, to); err != nil {
		os.RemoveAll(staging)
		return err
	}
	if err := l.activate(plan, state); err != nil {
		return err
	}
	l.log.Info("updated", "from", plan.From, "to", to, "download_bytes", plan.DownloadSize(),
		"took", time.Since(start).Round(time.Millisecond))
	return nil
}

// checkEntry refuses a release whose folder lacks the app's entry point:
// switching to it would leave nothing to start.
func (l *Launcher) checkEntry(dir, version string) error {
	entry, err := l.cfg.Entry.For(runtime.GOOS, runtime.GOARCH)
	if err != nil {
		return err
	}
	fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(entry)))
	switch {
	case err != nil:
		return fmt.Errorf("release %s has no entry point %s (launcher.json \"entry\"): refusing to switch to it", version, entry)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("release %s: entry point %s (launcher.json \"entry\") is not a file: refusing to switch to it", version, entry)
	case runtime.GOOS != "windows" && fi.Mode()&0o111 == 0:
		return fmt.Errorf("release %s: entry point %s (launcher.json \"entry\") is not executable: refusing to switch to it; the publisher must fix the bundle (tufup-repo add --entry refuses such bundles)", version, entry)
	}
	return nil
}

// activate records the planned version as installed (known-good, or on
// probation), flips the pointer to it and removes what is no longer needed.
func (l *Launcher) activate(plan *Plan, state *layout.State) error {
	to := plan.To.String()
	crashPoint("pointer")
	err := l.withLifecycle(func(lc *lifecycle.Lifecycle) error {
		return l.carryOut(lc.Install(to, lifecycle.Release{Required: plan.Required, SHA256: plan.Archive.Hashes["sha256"]}, time.Now()))
	})
	if err != nil {
		return err
	}
	if state.UserMeta == nil {
		state.UserMeta = map[string]json.RawMessage{}
	}
	if len(plan.User) > 0 {
		state.UserMeta[to] = plan.User
	}
	if err := l.dir.SaveState(*state); err != nil {
		l.log.Warn("cannot save state", "error", err)
	}
	crashPoint("cleanup")
	l.cleanup(state)
	return nil
}

// cleanup removes the versions the lifecycle does not keep (held-back ones
// first; never the current one nor its known-good way back), what the cache
// holds for versions no longer installed, and downloads that were
// installed. Nothing here may fail the update: folders in use (Windows) are
// skipped and retried at a later start. The caller holds the updater lock,
// so no other launcher installs or rolls back meanwhile.
func (l *Launcher) cleanup(state *layout.State) {
	current, err := l.dir.Current()
	if err != nil {
		return
	}
	lc, err := l.readLifecycle()
	if err != nil {
		l.log.Warn("cleanup: cannot read the version records", "error", err)
		return
	}
	removed := false
	for _, v := range lc.Cleanup().Delete {
		if err := l.dir.Remove(v); err != nil {
			l.log.Warn("cleanup: version not removed, will retry at a later start", "version", v, "error", err)
			continue
		}
		delete(state.UserMeta, v)
		removed = true
		l.log.Info("removed old version", "version", v)
	}
	l.cleanCache()
	// Completed downloads are installed now; partial ones of newer
	// releases are kept so that they resume, those of releases no newer
	// than the current one will never be needed.
	cur, curErr := versions.Parse(current)
	l.removeStale(l.dir.Downloads(), func(name string) bool {
		target, partial := strings.CutSuffix(name, ".part")
		if !partial || curErr != nil {
			return !partial
		}
		t, err := versions.ParseTarget(target)
		return err != nil || t.Version.Compare(cur) <= 0
	})
	if !removed {
		return // an up-to-date start with nothing to remove writes nothing
	}
	if err := l.dir.SaveState(*state); err != nil {
		l.log.Warn("cannot save state", "error", err)
	}
}

func (l *Launcher) removeStale(dir string, stale func(string) bool) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if stale(e.Name()) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				l.log.Warn("cleanup: cannot remove", "path", filepath.Join(dir, e.Name()), "error", err)
			}
		}
	}
}

// unusable tells a target the server cannot give (a 4xx answer) or gives
// wrong (bytes that fail verification) from a failure of the network.
// A server that rate-limits is not "unusable": asking it for the bigger
// archive instead would be the wrong answer to "slow down".
func unusable(err error) bool {
	if fetch.RateLimited(err) {
		return false
	}
	var httpErr *metadata.ErrDownloadHTTP
	var badErr *fetch.BadContentError
	var answerErr *fetch.UnexpectedAnswerError
	return (errors.As(err, &httpErr) && httpErr.StatusCode >= 400 && httpErr.StatusCode < 500) || errors.As(err, &badErr) || errors.As(err, &answerErr)
}
