package repo

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufup-go/tufup/patch"
	"github.com/tufup-go/tufup/patch/bsdiff"
	"github.com/tufup-go/tufup/versions"
)

// RolloutKey is the key, inside an archive's custom "tufup" object, holding
// the percentage (an integer 0..100) of installs a staged release is offered
// to. It sits inside "tufup" because tufup clients treat a custom object
// whose keys are not exactly {tufup, user} as all user data; Python tufup
// 0.10 ignores keys it does not know inside "tufup". It is an integer
// because TUF signs canonical JSON, which has no floating-point numbers.
// A release without the key is offered to everyone.
const RolloutKey = "rollout_percent"

// Release is one version of the app in the targets metadata.
type Release struct {
	Version versions.Version
	// Platform is what the release is for; the zero Platform (universal)
	// in a single-platform repository.
	Platform    versions.Platform
	Archive     string // target name of the full archive
	ArchiveSize int64
	Patch       string // target name of the patch to it, "" if none
	PatchSize   int64
	Required    bool
	// Rollout is the percentage of installs the release is offered to;
	// 100 when the metadata does not restrict it.
	Rollout int
	// User is the user's custom metadata (--meta), JSON null when none.
	User json.RawMessage
}

// splitCustom takes a target's custom metadata apart as tufup 0.10 does:
// {"tufup": {...}, "user": ...}, or, when the keys are not exactly those
// two (tufup 0.6 wrote patch fields flat), the whole object as both.
func splitCustom(raw *json.RawMessage) (tufup map[string]json.RawMessage, user json.RawMessage, err error) {
	if raw == nil || len(bytes.TrimSpace(*raw)) == 0 || bytes.Equal(bytes.TrimSpace(*raw), []byte("null")) {
		return map[string]json.RawMessage{}, json.RawMessage("null"), nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(*raw, &obj); err != nil {
		return nil, nil, fmt.Errorf("custom metadata is not a JSON object: %w", err)
	}
	_, hasT := obj["tufup"]
	_, hasU := obj["user"]
	if len(obj) == 2 && hasT && hasU {
		if bytes.Equal(bytes.TrimSpace(obj["tufup"]), []byte("null")) {
			return map[string]json.RawMessage{}, obj["user"], nil
		}
		if err := json.Unmarshal(obj["tufup"], &tufup); err != nil {
			return nil, nil, fmt.Errorf("custom.tufup is not a JSON object: %w", err)
		}
		return tufup, obj["user"], nil
	}
	return obj, *raw, nil
}

func joinCustom(tufup map[string]json.RawMessage, user json.RawMessage) (*json.RawMessage, error) {
	if user == nil {
		user = json.RawMessage("null")
	}
	data, err := json.Marshal(map[string]any{"tufup": tufup, "user": user})
	if err != nil {
		return nil, err
	}
	raw := json.RawMessage(data)
	return &raw, nil
}

// platformsOf lists the platforms app has targets for, universal first,
// then in the order of their names.
func platformsOf(app string, targets map[string]*metadata.TargetFiles) []versions.Platform {
	seen := map[versions.Platform]bool{}
	var out []versions.Platform
	for name := range targets {
		t, err := versions.ParseTarget(name)
		if err != nil {
			continue
		}
		if p, ok := versions.PlatformOf(app, t.App); ok && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b versions.Platform) int { return strings.Compare(a.AppName(""), b.AppName("")) })
	return out
}

// allReleases lists app's releases for every platform: platform by
// platform (as platformsOf orders them), each oldest first.
func allReleases(app string, targets map[string]*metadata.TargetFiles) ([]Release, error) {
	var out []Release
	for _, p := range platformsOf(app, targets) {
		rels, err := releasesOf(app, p, targets)
		if err != nil {
			return nil, err
		}
		out = append(out, rels...)
	}
	return out, nil
}

// releasesOf lists app's releases for platform p in targets metadata,
// oldest first. Targets of other apps and platforms, and names that are not
// tufup targets, are left out.
func releasesOf(app string, p versions.Platform, targets map[string]*metadata.TargetFiles) ([]Release, error) {
	app = p.AppName(app)
	byVersion := map[string]*Release{}
	var out []*Release
	get := func(v versions.Version) *Release {
		key := v.Canonical()
		if rel := byVersion[key]; rel != nil {
			return rel
		}
		rel := &Release{Version: v, Platform: p, Rollout: 100, User: json.RawMessage("null")}
		byVersion[key] = rel
		out = append(out, rel)
		return rel
	}
	names := make([]string, 0, len(targets))
	for name := range targets {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		t, err := versions.ParseTarget(name)
		if err != nil || t.App != app {
			continue
		}
		tf := targets[name]
		rel := get(t.Version)
		if t.Kind == versions.Patch {
			rel.Patch, rel.PatchSize = name, tf.Length
			continue
		}
		rel.Archive, rel.ArchiveSize = name, tf.Length
		tufup, user, err := splitCustom(tf.Custom)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", name, err)
		}
		rel.User = user
		if raw, ok := tufup["required"]; ok {
			if err := json.Unmarshal(raw, &rel.Required); err != nil {
				return nil, fmt.Errorf("target %s: custom.tufup.required is not true or false", name)
			}
		}
		if raw, ok := tufup[RolloutKey]; ok {
			if err := json.Unmarshal(raw, &rel.Rollout); err != nil || rel.Rollout < 0 || rel.Rollout > 100 {
				return nil, fmt.Errorf("target %s: custom.tufup.%s is not an integer from 0 to 100", name, RolloutKey)
			}
		}
	}
	slices.SortFunc(out, func(a, b *Release) int { return a.Version.Compare(b.Version) })
	res := make([]Release, len(out))
	for i, rel := range out {
		res[i] = *rel
	}
	return res, nil
}

// Releases lists the app's releases, platform by platform (universal
// first), each oldest first. An entry whose Archive is "" has a patch but no
// archive (a damaged repository).
func (r *Repo) Releases() ([]Release, error) {
	if err := r.requireMetadata(); err != nil {
		return nil, err
	}
	return allReleases(r.cfg.AppName, r.cur.targets.Signed.Targets)
}

func latestArchive(rels []Release) *Release {
	for i := len(rels) - 1; i >= 0; i-- {
		if rels[i].Archive != "" {
			return &rels[i]
		}
	}
	return nil
}

// AddOptions are the choices of one release.
type AddOptions struct {
	// Required makes the release a stepping stone clients must install
	// before anything newer.
	Required bool
	// Meta is the user's custom metadata: a JSON object, or nil for none.
	Meta json.RawMessage
	// SkipPatch publishes the archive only.
	SkipPatch bool
	// Rollout, when set, offers the release to that percentage of installs.
	Rollout *int
	// Platform is what the bundle is built for. The zero Platform
	// (universal) keeps tufup's target names, <app>-<version>.tar.gz;
	// others are named <app>-<os>[-<arch>]-<version>.tar.gz, and their
	// patches are made against the previous release of the same platform.
	Platform versions.Platform
	// Entry, when set, is the entry point the bundle must hold instead of
	// the repository's setting (SettingsFile).
	Entry Entry
	// Progress, when set, is told as each step of Add starts and ends.
	Progress func(AddStep)
	// MaxMemory bounds the patch creation's working memory, in bytes (0:
	// bsdiff.Diff's default); see bsdiff.DiffLimit.
	MaxMemory int64
	// PatchFrom lists older releases to make direct patches from (see
	// direct.go), published when smaller than the chain.
	PatchFrom []string
}

// AddStep is one step of Add (archive, patch, sign) as it starts (Done
// false) and as it ends (Done true, with the size of what it wrote).
type AddStep struct {
	Name   string // "archive", "patch" or "sign"
	Detail string // what the step works on
	Done   bool
	Size   int64         // bytes written, when Done (archive, patch)
	Took   time.Duration // when Done
}

// ParseVersion parses a release version and checks that it makes a target
// file name that tufup parses back to the same app and version.
func ParseVersion(app, s string) (versions.Version, error) {
	if rest, ok := strings.CutPrefix(strings.ToLower(s), "v"); ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
		return versions.Version{}, fmt.Errorf("version %q: leave out the leading \"v\" and publish %s: PEP 440, which Python tufup follows, reads %s as %s, so the release would go by two names", s, s[1:], s, s[1:])
	}
	v, err := versions.Parse(s)
	if err != nil {
		return versions.Version{}, err
	}
	if strings.ContainsAny(s, `/\`) || strings.ContainsFunc(s, unicode.IsSpace) {
		return versions.Version{}, fmt.Errorf("version %q cannot be part of a file name (no slashes or spaces)", s)
	}
	if v.String() != s {
		return versions.Version{}, fmt.Errorf("version %q: publish it as %s, its normal form, so that the target's file name reads back as the same version", s, v.String())
	}
	t, err := versions.ParseTarget(versions.ArchiveName(app, v))
	if err != nil || t.App != app || t.Version.Compare(v) != 0 {
		return versions.Version{}, fmt.Errorf("version %q: target name %s would not parse back as app %q version %q", s, versions.ArchiveName(app, v), app, s)
	}
	return v, nil
}

// checkMeta validates user custom metadata: a JSON object (or null) of
// integers only.
func checkMeta(meta json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(meta)) == 0 {
		return json.RawMessage("null"), nil
	}
	if err := checkIntegers(meta); err != nil {
		return nil, fmt.Errorf("--meta: %w", err)
	}
	var obj map[string]any
	if err := json.Unmarshal(meta, &obj); err != nil {
		return nil, fmt.Errorf("--meta must be a JSON object, as tufup requires: %w", err)
	}
	return meta, nil
}

func checkRollout(p *int) error {
	if p != nil && (*p < 0 || *p > 100) {
		return fmt.Errorf("rollout %d%% is not between 0 and 100", *p)
	}
	return nil
}

// Add publishes a release: the archive of bundleDir and, when an earlier
// release exists and opts.SkipPatch is false, a bsdiff patch from the
// previous release's uncompressed tar to this one's, with custom metadata as
// tufup writes it. Targets, snapshot and timestamp are re-signed.
func (r *Repo) Add(ctx context.Context, version, bundleDir string, opts AddOptions) error {
	app := opts.Platform.AppName(r.cfg.AppName)
	v, err := ParseVersion(app, version)
	if err != nil {
		return err
	}
	meta, err := checkMeta(opts.Meta)
	if err != nil {
		return err
	}
	if err := checkRollout(opts.Rollout); err != nil {
		return err
	}
	if fi, err := os.Stat(bundleDir); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("bundle folder %s does not exist: give the folder holding the built app", bundleDir)
	} else if err != nil {
		return fmt.Errorf("bundle folder: %w", err)
	} else if !fi.IsDir() {
		return fmt.Errorf("bundle %s is not a directory", bundleDir)
	}
	entry := opts.Entry
	if entry == nil {
		entry = r.settings.Entry
	}
	if err := checkBundle(bundleDir, opts.Platform, entry); err != nil {
		return err
	}
	c, err := r.begin()
	if err != nil {
		return err
	}
	defer c.done()
	rels, err := releasesOf(r.cfg.AppName, opts.Platform, c.next.targets.Signed.Targets)
	if err != nil {
		return err
	}
	// Releases published before this file existed are remembered too.
	if err := r.recordPublished(c.next.targets.Signed.Targets); err != nil {
		return err
	}
	prev := latestArchive(rels)
	if prev != nil && v.Compare(prev.Version) <= 0 {
		return fmt.Errorf("version %s is not newer than the latest release %s (%s); publish a higher version, or remove-latest first", version, prev.Version, prev.Archive)
	}
	patchFrom, err := checkPatchFrom(rels, prev, opts.PatchFrom)
	if err != nil {
		return err
	}
	if c.stageDir, err = os.MkdirTemp(r.RepoDir(), ".staging-"); err != nil {
		return fmt.Errorf("create staging directory: %w", err)
	}
	defer os.RemoveAll(c.stageDir)

	archiveName := versions.ArchiveName(app, v)
	archive := filepath.Join(c.stageDir, archiveName)
	step := opts.step("archive", r.rel(bundleDir)+" -> "+archiveName)
	if _, err := patch.WriteArchive(ctx, bundleDir, archive); err != nil {
		return fmt.Errorf("archive %s: %w", bundleDir, err)
	}
	step.done(archive)
	tufup := map[string]any{"required": opts.Required}
	if opts.Rollout != nil && *opts.Rollout < 100 {
		tufup[RolloutKey] = *opts.Rollout
	}
	if err := r.stageTarget(c, archive, archiveName, tufup, meta); err != nil {
		return err
	}
	if err := r.checkNotRepublished(archiveName, c.next.targets.Signed.Targets[archiveName]); err != nil {
		return err
	}
	if prev != nil && !opts.SkipPatch {
		patchName := versions.PatchName(app, v)
		patchPath := filepath.Join(c.stageDir, patchName)
		step := opts.step("patch", prev.Archive+" -> "+archiveName)
		info, err := makePatch(ctx, filepath.Join(r.TargetsDir(), prev.Archive), archive, patchPath, c.stageDir, opts.MaxMemory)
		if err != nil {
			return fmt.Errorf("patch %s -> %s: %w", prev.Archive, archiveName, err)
		}
		step.done(patchPath)
		tufup := map[string]any{"tar_hash": info.SHA256, "tar_hash_algorithm": "sha256", "tar_size": info.Size}
		if err := r.stageTarget(c, patchPath, patchName, tufup, nil); err != nil {
			return err
		}
	}
	if err := r.addDirectPatches(ctx, c, rels, patchFrom, app, v, archive, opts); err != nil {
		return err
	}
	step = opts.step("sign", "targets, snapshot, timestamp")
	if err := r.commit(c); err != nil {
		return err
	}
	if err := r.recordPublished(c.next.targets.Signed.Targets); err != nil {
		return err
	}
	step.done("")
	return nil
}

// runningStep reports the end of a step to AddOptions.Progress.
type runningStep struct {
	progress func(AddStep)
	s        AddStep
	began    time.Time
}

// step reports a step's start to o.Progress.
func (o AddOptions) step(name, detail string) runningStep {
	rs := runningStep{progress: o.Progress, s: AddStep{Name: name, Detail: detail}, began: time.Now()}
	if rs.progress != nil {
		rs.progress(rs.s)
	}
	return rs
}

// done reports the step's end, with the size of the file it wrote.
func (rs runningStep) done(wrote string) {
	if rs.progress == nil {
		return
	}
	rs.s.Done, rs.s.Took = true, time.Since(rs.began)
	if fi, err := os.Stat(wrote); wrote != "" && err == nil {
		rs.s.Size = fi.Size()
	}
	rs.progress(rs.s)
}

// maxTarSize bounds what an archive of the repository may decompress to.
// The archives are the publisher's own, so the bound is generous: it only
// keeps a damaged one from filling the disk.
const maxTarSize = 256 << 30

// makePatch writes the BSDIFF40 patch between the uncompressed tars of two
// archives and returns the new tar's size and hash.
func makePatch(ctx context.Context, oldArchive, newArchive, patchPath, tmpDir string, maxMemory int64) (patch.TarInfo, error) {
	if _, err := os.Stat(oldArchive); err != nil {
		return patch.TarInfo{}, fmt.Errorf("base archive missing (use --skip-patch to publish without a patch): %w", err)
	}
	oldTar := filepath.Join(tmpDir, "old.tar")
	newTar := filepath.Join(tmpDir, "new.tar")
	defer os.Remove(oldTar)
	defer os.Remove(newTar)
	if _, err := patch.Gunzip(ctx, oldArchive, oldTar, maxTarSize); err != nil {
		return patch.TarInfo{}, err
	}
	info, err := patch.Gunzip(ctx, newArchive, newTar, maxTarSize)
	if err != nil {
		return patch.TarInfo{}, err
	}
	f, err := os.Create(patchPath)
	if err != nil {
		return patch.TarInfo{}, err
	}
	if err := bsdiff.DiffLimit(ctx, oldTar, newTar, f, maxMemory); err != nil {
		f.Close()
		return patch.TarInfo{}, err
	}
	if err := f.Close(); err != nil {
		return patch.TarInfo{}, err
	}
	return info, nil
}

// stageTarget records a staged file as a target with tufup's custom
// metadata; the file goes into targets/ only when the change is published.
func (r *Repo) stageTarget(c *change, path, name string, tufup map[string]any, user json.RawMessage) error {
	info, err := patch.HashFile(path)
	if err != nil {
		return err
	}
	sum, err := hex.DecodeString(info.SHA256)
	if err != nil {
		return fmt.Errorf("hash of %s: %w", name, err)
	}
	if user == nil {
		user = json.RawMessage("null")
	}
	data, err := json.Marshal(map[string]any{"tufup": tufup, "user": user})
	if err != nil {
		return err
	}
	custom := json.RawMessage(data)
	c.next.targets.Signed.Targets[name] = &metadata.TargetFiles{
		Length: info.Size,
		Hashes: metadata.Hashes{"sha256": sum},
		Custom: &custom,
		Path:   name,
	}
	c.stage = append(c.stage, stagedTarget{path: path, name: name})
	return nil
}

// SetRollout changes the rollout percentage of a published release, on
// every platform it is published for; 100 removes the restriction (the
// metadata then is exactly what tufup writes).
func (r *Repo) SetRollout(version string, percent int) error {
	if err := checkRollout(&percent); err != nil {
		return err
	}
	v, err := versions.Parse(version)
	if err != nil {
		return err
	}
	c, err := r.begin()
	if err != nil {
		return err
	}
	defer c.done()
	rels, err := allReleases(r.cfg.AppName, c.next.targets.Signed.Targets)
	if err != nil {
		return err
	}
	found := false
	for _, rel := range rels {
		if rel.Version.Compare(v) != 0 || rel.Archive == "" {
			continue
		}
		found = true
		tf := c.next.targets.Signed.Targets[rel.Archive]
		tufup, user, err := splitCustom(tf.Custom)
		if err != nil {
			return fmt.Errorf("target %s: %w", rel.Archive, err)
		}
		if percent >= 100 {
			delete(tufup, RolloutKey)
		} else {
			tufup[RolloutKey] = json.RawMessage(fmt.Sprint(percent))
		}
		if tf.Custom, err = joinCustom(tufup, user); err != nil {
			return err
		}
		if rel.Required {
			r.printf("note: %s is required; clients install required releases whatever their rollout", rel.Archive)
		}
		r.printf("targets: rollout of %s %d%% -> %d%%", rel.Archive, rel.Rollout, percent)
	}
	if !found {
		return fmt.Errorf("no release %s in targets metadata (tufup-repo status lists the releases)", version)
	}
	return r.commit(c)
}

// RemoveLatest withdraws the newest release, on every platform it is
// published for: its archives and patches leave the targets metadata, and
// their files are deleted once it is published.
func (r *Repo) RemoveLatest() error {
	c, err := r.begin()
	if err != nil {
		return err
	}
	defer c.done()
	rels, err := allReleases(r.cfg.AppName, c.next.targets.Signed.Targets)
	if err != nil {
		return err
	}
	if len(rels) == 0 {
		return errors.New("no release to remove: the targets metadata lists none")
	}
	last := slices.MaxFunc(rels, func(a, b Release) int { return a.Version.Compare(b.Version) })
	// Its number stays used: it is never published again with other bytes.
	if err := r.recordPublished(c.next.targets.Signed.Targets); err != nil {
		return err
	}
	for _, rel := range rels {
		if rel.Version.Compare(last.Version) != 0 {
			continue
		}
		direct := directPatchesTo(rel.Platform.AppName(r.cfg.AppName), c.next.targets.Signed.Targets, rel.Version)
		for _, name := range append([]string{rel.Archive, rel.Patch}, direct...) {
			if name == "" {
				continue
			}
			delete(c.next.targets.Signed.Targets, name)
			c.remove = append(c.remove, name)
		}
	}
	r.printf("targets: removing release %s", last.Version)
	return r.commit(c)
}
