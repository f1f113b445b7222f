package launcher

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/layout"
)

// SeedDir is the folder, next to launcher.json, that may hold a release
// shipped with the launcher (tufup-repo kit --seed): the release's archive
// and the repository's signed targets.json listing it. The launcher only
// reads it, so one seed in a per-machine install serves every user.
const SeedDir = "seed"

// seedTargetsFile is the signed targets metadata in the seed folder.
const seedTargetsFile = "targets.json"

// installSeed installs the newest release of this platform found in the
// seed folder, so that a first start needs no network. The archive is
// checked against targets metadata signed under the shipped root.json
// before anything is extracted. It returns nil when there is no seed.
func (l *Launcher) installSeed(ctx context.Context, state *layout.State) error {
	dir := filepath.Join(l.opts.ConfigDir, SeedDir)
	md, err := os.ReadFile(filepath.Join(dir, seedTargetsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	targets, err := fetch.OfflineTargets(l.root, md)
	if err != nil {
		return fmt.Errorf("seed %s: %w", filepath.Join(dir, seedTargetsFile), err)
	}
	app := platformApp(l.cfg.AppName, runtime.GOOS, runtime.GOARCH, targets)
	var plan *Plan
	for _, r := range releases(app, targets, l.log.Warn) {
		if r.archive == nil || l.seedArchive(*r.archive) == "" {
			continue
		}
		// releases are oldest first: the last one in the seed wins.
		plan = &Plan{To: r.version, Archive: *r.archive, User: r.meta.User, Tar: r.tar, WhyFull: "seed"}
	}
	if plan == nil {
		return fmt.Errorf("seed %s holds no archive of %s that its targets.json lists", dir, app)
	}
	l.log.Info("installing the release shipped with the launcher", "version", plan.To.String(), "archive", plan.Archive.Name)
	return l.install(ctx, nil, plan, state)
}

// seedArchive returns the path of target t in the seed folder when the
// file there is exactly t (signed length and hashes), "" otherwise.
func (l *Launcher) seedArchive(t fetch.TargetInfo) string {
	if strings.ContainsAny(t.Name, `/\:`) {
		return ""
	}
	path := filepath.Join(l.opts.ConfigDir, SeedDir, t.Name)
	if _, err := os.Stat(path); err != nil {
		return ""
	}
	if err := fetch.VerifyFile(path, t); err != nil {
		l.log.Warn("seed archive does not match its signed metadata; not using it", "path", path, "error", err)
		return ""
	}
	return path
}
