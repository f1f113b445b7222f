package repo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufup-go/tufup/versions"
)

// Direct patches (versions.DirectPatchName) go from an older release
// straight to the new one, for installs that skipped the releases between.
// Add makes one for each --patch-from version and publishes it only when it
// is smaller than the chain of adjacent patches it would replace. Python
// tufup clients ignore them (the name is not a tufup target) and take the
// chain, which is always published too.

// checkPatchFrom parses the --patch-from versions: each must be a published
// release of the platform, older than the previous one (whose adjacent
// patch is made anyway).
func checkPatchFrom(rels []Release, prev *Release, from []string) ([]*Release, error) {
	var out []*Release
	for _, s := range from {
		v, err := versions.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("--patch-from %s: %w", s, err)
		}
		var rel *Release
		for i := range rels {
			if rels[i].Version.Compare(v) == 0 {
				rel = &rels[i]
			}
		}
		switch {
		case rel == nil || rel.Archive == "":
			return nil, fmt.Errorf("--patch-from %s: no such release in the targets metadata (tufup-repo status lists them)", s)
		case prev != nil && rel.Version.Compare(prev.Version) == 0:
			return nil, fmt.Errorf("--patch-from %s: that is the previous release, whose patch is made anyway", s)
		}
		out = append(out, rel)
	}
	return out, nil
}

// addDirectPatches stages the direct patches from each of from to the new
// release v (its archive at archive), keeping those smaller than the chain.
func (r *Repo) addDirectPatches(ctx context.Context, c *change, rels []Release, from []*Release, app string, v versions.Version, archive string, opts AddOptions) error {
	adjacent := c.next.targets.Signed.Targets[versions.PatchName(app, v)]
	for _, rel := range from {
		chain, ok := chainSize(rels, rel.Version, adjacent)
		name := versions.DirectPatchName(app, rel.Version, v)
		path := filepath.Join(c.stageDir, name)
		step := opts.step("patch", rel.Archive+" -> "+filepath.Base(archive))
		info, err := makePatch(ctx, filepath.Join(r.TargetsDir(), rel.Archive), archive, path, c.stageDir, opts.MaxMemory)
		if err != nil {
			return fmt.Errorf("patch %s -> %s: %w", rel.Archive, filepath.Base(archive), err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		if ok && fi.Size() >= chain {
			r.printf("%s: %d bytes, not smaller than the chain of patches from %s (%d bytes); not published", name, fi.Size(), rel.Version, chain)
			os.Remove(path)
			continue
		}
		step.done(path)
		tufup := map[string]any{"tar_hash": info.SHA256, "tar_hash_algorithm": "sha256", "tar_size": info.Size}
		if err := r.stageTarget(c, path, name, tufup, nil); err != nil {
			return err
		}
	}
	return nil
}

// chainSize is the total size of the adjacent patches from version from to
// the new release (adjacent is the new release's own patch); ok is false
// when the chain is broken, so clients would need the full archive.
func chainSize(rels []Release, from versions.Version, adjacent *metadata.TargetFiles) (n int64, ok bool) {
	if adjacent == nil {
		return 0, false
	}
	n = adjacent.Length
	for _, rel := range rels {
		if rel.Version.Compare(from) <= 0 || rel.Archive == "" {
			continue
		}
		if rel.Patch == "" {
			return 0, false
		}
		n += rel.PatchSize
	}
	return n, true
}

// directPatchesTo lists the direct patches to version v.
func directPatchesTo(app string, targets map[string]*metadata.TargetFiles, v versions.Version) []string {
	var out []string
	for name := range targets {
		if a, _, to, ok, _ := versions.ParseDirectPatch(name); ok && a == app && to.Compare(v) == 0 {
			out = append(out, name)
		}
	}
	return out
}
