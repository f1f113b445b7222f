package launcher

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/launcher/lifecycle"
	"github.com/tufup-go/tufup/patch"
	"github.com/tufup-go/tufup/versions"
)

// release is one version of the app as the repository's signed targets
// describe it.
type release struct {
	version versions.Version
	archive *fetch.TargetInfo
	patch   *fetch.TargetInfo
	meta    customMeta // of the archive
	// tar describes the uncompressed tar of this version, taken from the
	// custom metadata of its patch; zero when there is no patch.
	tar patch.TarInfo
}

// customMeta is what tufup (and we) keep in a target's "custom" field.
type customMeta struct {
	Required bool
	// Rollout is the fraction of installs offered this release (0..1);
	// nil means everyone.
	Rollout *float64
	TarHash string
	TarSize int64
	// User is the publisher's own metadata (release notes and such).
	User json.RawMessage
}

// parseCustom reads tufup's custom metadata. tufup >= 0.6 writes
// {"tufup": {...}, "user": ...}; tufup 0.6 wrote the tufup keys flat, so if
// the keys are not exactly tufup and user, the whole object is both.
func parseCustom(raw json.RawMessage) (customMeta, error) {
	var m customMeta
	if len(raw) == 0 || string(raw) == "null" {
		return m, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return m, fmt.Errorf("custom metadata is not a JSON object: %w", err)
	}
	tufupPart, userPart := raw, raw
	if _, ok := top["tufup"]; ok && len(top) == 2 {
		if u, ok := top["user"]; ok {
			tufupPart, userPart = top["tufup"], u
		}
	}
	var t struct {
		Required         bool     `json:"required"`
		RolloutPercent   *float64 `json:"rollout_percent"`
		TarHash          string   `json:"tar_hash"`
		TarHashAlgorithm string   `json:"tar_hash_algorithm"`
		TarSize          int64    `json:"tar_size"`
	}
	if string(tufupPart) != "null" {
		if err := json.Unmarshal(tufupPart, &t); err != nil {
			return m, fmt.Errorf("custom metadata: %w", err)
		}
	}
	if t.TarHashAlgorithm != "" && t.TarHashAlgorithm != "sha256" {
		return m, fmt.Errorf("custom metadata: unsupported tar_hash_algorithm %q", t.TarHashAlgorithm)
	}
	m = customMeta{Required: t.Required, TarHash: t.TarHash, TarSize: t.TarSize}
	if p := t.RolloutPercent; p != nil {
		if *p < 0 || *p > 100 {
			return m, fmt.Errorf("custom metadata: rollout_percent %v is not between 0 and 100", *p)
		}
		fraction := *p / 100
		m.Rollout = &fraction
	}
	if string(userPart) != "null" {
		m.User = userPart
	}
	return m, nil
}

// releases groups the app's targets by version, oldest first. Targets of
// other apps and names that are not tufup targets are ignored; targets with
// an unparsable version or custom metadata are skipped with a warning.
func releases(app string, targets []fetch.TargetInfo, warn func(string, ...any)) []*release {
	byVersion := map[string]*release{}
	for i := range targets {
		t := &targets[i]
		name, err := versions.ParseTarget(t.Name)
		if err != nil {
			if !errors.Is(err, versions.ErrNotTarget) {
				warn("skipping target with unparsable version", "target", t.Name, "error", err)
			}
			continue
		}
		if name.App != app {
			continue
		}
		meta, err := parseCustom(t.Custom)
		if err != nil {
			warn("skipping target with bad custom metadata", "target", t.Name, "error", err)
			continue
		}
		key := name.Version.String()
		r := byVersion[key]
		if r == nil {
			r = &release{version: name.Version}
			byVersion[key] = r
		}
		switch name.Kind {
		case versions.Archive:
			r.archive, r.meta = t, meta
		case versions.Patch:
			r.patch = t
			r.tar = patch.TarInfo{Size: meta.TarSize, SHA256: meta.TarHash}
		}
	}
	out := make([]*release, 0, len(byVersion))
	for _, r := range byVersion {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version.Compare(out[j].version) < 0 })
	return out
}

// platformApp returns the app name of the targets a launcher running on
// goos/goarch installs: app's releases for goos/goarch when the repository
// has any, else its releases for goos alone (OS-wide), else the universal
// ones (versions.Fallbacks). The choice is by platform, not per version, so
// patches always chain within one platform's releases.
func platformApp(app, goos, goarch string, targets []fetch.TargetInfo) string {
	published := map[string]bool{}
	for _, t := range targets {
		if n, err := versions.ParseTarget(t.Name); err == nil && n.Kind == versions.Archive {
			published[n.App] = true
		}
	}
	for _, p := range versions.Fallbacks(goos, goarch) {
		if published[p.AppName(app)] {
			return p.AppName(app)
		}
	}
	return app
}

// planInput is everything the choice of an update depends on.
type planInput struct {
	app string
	// goos and goarch are the platform the launcher runs on (runtime.GOOS,
	// runtime.GOARCH); they choose among a multi-platform repository's
	// releases.
	goos, goarch string
	current      *versions.Version // nil on a fresh install
	targets      []fetch.TargetInfo
	channel      versions.Channel
	// lifecycle, when set, filters out releases held back, lacking the
	// entry point, or behind a held-back required release.
	lifecycle *lifecycle.Lifecycle
	// failedPatches are patch targets that failed before; as in tufup, a
	// patch that failed is not tried again.
	failedPatches []string
	// haveBase tells whether the tar of the current version can be read
	// (its index, or an older launcher's cached tar), which patches need.
	haveBase bool
	// bucket is this install's stable rollout draw in [0, 1).
	bucket float64
}

// Plan is the cheapest verified way from the installed version to the
// chosen release.
type Plan struct {
	From string // "" on a fresh install
	To   versions.Version
	// Required tells that the release is a required stepping stone.
	Required bool
	// User is the release's user metadata (release notes and such).
	User json.RawMessage
	// Archive is the full archive of the release; it is downloaded when
	// Patches is empty, and as a fall-back when a patch fails.
	Archive fetch.TargetInfo
	// Patches, oldest first, rebuild the release's tar from the cached tar
	// of the current version.
	Patches []fetch.TargetInfo
	// Tar describes the release's uncompressed tar when the repository
	// tells (from the release's patch); zero otherwise.
	Tar patch.TarInfo
	// WhyFull says why the full archive is used instead of patches.
	WhyFull string
}

// DownloadSize is the number of bytes the plan downloads.
func (p *Plan) DownloadSize() int64 {
	if len(p.Patches) == 0 {
		return p.Archive.Length
	}
	var n int64
	for _, t := range p.Patches {
		n += t.Length
	}
	return n
}

// patchRatio is tufup's threshold: patches whose total size exceeds this
// fraction of the full archive are not worth it.
const patchRatio = 0.8

// planUpdate chooses the release to install and how to get there, as tufup
// 0.10 does, plus hold-backs and staged rollout. It returns nil when there is
// nothing to install.
func planUpdate(in planInput, warn func(string, ...any)) *Plan {
	all := releases(platformApp(in.app, in.goos, in.goarch, in.targets), in.targets, warn)
	isNewer := func(r *release) bool {
		return in.current == nil || r.version.Compare(*in.current) > 0
	}
	var candidates []*release
	for _, r := range all {
		if r.archive == nil || !isNewer(r) || !in.channel.Includes(r.version) {
			continue
		}
		if !r.meta.Required && r.meta.Rollout != nil && in.bucket >= *r.meta.Rollout {
			continue
		}
		candidates = append(candidates, r)
	}
	if in.lifecycle != nil {
		candidates = eligible(in.lifecycle, candidates, warn)
	}
	if len(candidates) == 0 {
		return nil
	}
	chosen := candidates[len(candidates)-1]
	for _, r := range candidates {
		if r.meta.Required {
			chosen = r // the first (lowest) required release is a stepping stone
			break
		}
	}
	p := &Plan{
		To:       chosen.version,
		Required: chosen.meta.Required,
		User:     chosen.meta.User,
		Archive:  *chosen.archive,
		Tar:      chosen.tar,
	}
	if in.current != nil {
		p.From = in.current.String()
	}
	p.Patches, p.WhyFull = patchChain(in, all, chosen)
	return p
}

// patchChain returns the patches from the current version to chosen, or nil
// and the reason when the full archive must be used instead.
func patchChain(in planInput, all []*release, chosen *release) ([]fetch.TargetInfo, string) {
	if in.current == nil {
		return nil, "fresh install"
	}
	if !in.haveBase {
		return nil, "the current version's archive is not cached"
	}
	// Each patch is made from the release listed just below it: when the
	// current version was withdrawn (tufup-repo remove-latest) while older
	// ones stay listed, the next patch starts from one of those and cannot
	// apply to the current version.
	listed := slices.ContainsFunc(all, func(r *release) bool { return r.version.Compare(*in.current) == 0 })
	if !listed && len(all) > 0 && all[0].version.Compare(*in.current) < 0 {
		return nil, fmt.Sprintf("the installed version %s is no longer published, so no patch starts from it", in.current)
	}
	var chain []fetch.TargetInfo
	var total int64
	for _, r := range all {
		// Patches are not filtered by channel: each is made against the
		// release just below it, whatever its kind.
		if r.version.Compare(*in.current) <= 0 || r.version.Compare(chosen.version) > 0 {
			continue
		}
		if r.patch == nil {
			if r.archive != nil {
				return nil, fmt.Sprintf("no patch for %s", r.version)
			}
			continue
		}
		if r.tar.SHA256 == "" || r.tar.Size <= 0 {
			// tufup < 0.6 patched .tar.gz bytes; we lack that exact base.
			return nil, fmt.Sprintf("patch %s has no tar_hash (made by tufup < 0.6)", r.patch.Name)
		}
		for _, failed := range in.failedPatches {
			if failed == r.patch.Name {
				return nil, fmt.Sprintf("patch %s failed before", r.patch.Name)
			}
		}
		chain = append(chain, *r.patch)
		total += r.patch.Length
	}
	switch {
	case len(chain) == 0:
		return nil, "no patches"
	case float64(total) > patchRatio*float64(chosen.archive.Length):
		return nil, fmt.Sprintf("patches (%d bytes) exceed %.0f%% of the archive (%d bytes)", total, patchRatio*100, chosen.archive.Length)
	}
	return chain, ""
}

// eligible keeps the candidates the lifecycle allows (see
// lifecycle.Lifecycle.Eligible).
func eligible(lc *lifecycle.Lifecycle, candidates []*release, warn func(string, ...any)) []*release {
	cands := make([]lifecycle.Candidate, len(candidates))
	for i, r := range candidates {
		cands[i] = lifecycle.Candidate{Version: r.version, Required: r.meta.Required}
	}
	ok, blockedBy := lc.Eligible(cands)
	if blockedBy != "" {
		warn("a held-back required release blocks the releases after it until a newer required release is published",
			"required", blockedBy, "undo", "launcher --unhold "+blockedBy)
	}
	var out []*release
	for _, r := range candidates {
		if slices.ContainsFunc(ok, func(c lifecycle.Candidate) bool { return c.Version.Compare(r.version) == 0 }) {
			out = append(out, r)
		}
	}
	return out
}

// publishedHashes maps each version of app to the signed sha256 of its
// archive.
func publishedHashes(app string, targets []fetch.TargetInfo) map[string]string {
	out := map[string]string{}
	for _, t := range targets {
		if n, err := versions.ParseTarget(t.Name); err == nil && n.App == app && n.Kind == versions.Archive {
			out[n.Version.String()] = t.Hashes["sha256"]
		}
	}
	return out
}
