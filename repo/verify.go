package repo

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufup-go/tufup/patch"
)

// Problem is one thing wrong with a repository, found by Verify.
type Problem struct {
	File string // the file at fault, relative to the repository's directory
	Role string // the role concerned, if any
	Msg  string
}

func (p Problem) String() string {
	if p.Role != "" {
		return fmt.Sprintf("%s (%s): %s", p.File, p.Role, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Msg)
}

type verifier struct {
	r        *Repo
	ctx      context.Context
	now      time.Time
	problems []Problem
}

func (v *verifier) fail(file, role, format string, args ...any) {
	v.problems = append(v.problems, Problem{File: v.r.rel(file), Role: role, Msg: fmt.Sprintf(format, args...)})
}

func (v *verifier) note(format string, args ...any) { v.r.printf(format, args...) }

// Verify checks the whole repository offline as a client holding
// trustedRoot (nil: metadata/1.root.json) would, and more: every root
// version in the N.root.json chain signed to threshold by its predecessor
// and itself, root.json equal to the newest, signatures and thresholds of
// every role, versions and expiry, length and hashes of every target, the
// shape of tufup's custom metadata, and that every patch applied to the
// previous release's tar reproduces its tar_hash and tar_size. It returns
// every problem found; the error is only for failures to run at all.
func (r *Repo) Verify(ctx context.Context, trustedRoot []byte) ([]Problem, error) {
	v := &verifier{r: r, ctx: ctx, now: r.now()}
	meta := r.MetadataDir()
	trustedName := filepath.Join(meta, rootFileName(1))
	if trustedRoot == nil {
		data, err := readMetadataFile(trustedName)
		if err != nil {
			v.fail(trustedName, RoleRoot, "cannot read the first root version to verify from: %v", err)
			return v.problems, nil
		}
		trustedRoot = data
	} else {
		trustedName = "trusted root"
	}
	root := v.rootChain(trustedRoot, trustedName)
	if root == nil {
		return v.problems, nil
	}
	v.topLevel(root)
	if err := ctx.Err(); err != nil {
		return v.problems, err
	}
	return v.problems, nil
}

// rootChain verifies the trusted root and every newer N.root.json, and
// returns the newest root reached (nil if the trusted root is unusable).
func (v *verifier) rootChain(trustedData []byte, trustedName string) *metadata.Metadata[metadata.RootType] {
	f, err := parseRole(trustedData, RoleRoot)
	if err != nil {
		v.fail(trustedName, RoleRoot, "%v", err)
		return nil
	}
	trusted := f.(tufRole[metadata.RootType]).m
	payload, _ := f.signedBytes()
	if chk := checkSignatures(&trusted.Signed, RoleRoot, payload, trusted.Signatures); !chk.ok() {
		v.fail(trustedName, RoleRoot, "root v%d is not signed by its own root keys to threshold: %d of %d valid", trusted.Signed.Version, len(chk.valid), chk.threshold)
	}
	meta := v.r.MetadataDir()
	for n := int64(1); n < trusted.Signed.Version; n++ {
		if _, err := os.Stat(filepath.Join(meta, rootFileName(n))); err != nil {
			v.fail(filepath.Join(meta, rootFileName(n)), RoleRoot, "missing: clients holding root v%d or older cannot follow the root chain", n)
		}
	}
	cur := trusted
	var curData = trustedData
	for n := trusted.Signed.Version + 1; ; n++ {
		path := filepath.Join(meta, rootFileName(n))
		data, err := readMetadataFile(path)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			v.fail(path, RoleRoot, "%v", err)
			break
		}
		f, err := parseRole(data, RoleRoot)
		if err != nil {
			v.fail(path, RoleRoot, "%v", err)
			break
		}
		next := f.(tufRole[metadata.RootType]).m
		if next.Signed.Version != n {
			v.fail(path, RoleRoot, "holds root version %d, want %d", next.Signed.Version, n)
		}
		payload, _ := f.signedBytes()
		if chk := checkSignatures(&cur.Signed, RoleRoot, payload, next.Signatures); !chk.ok() {
			v.fail(path, RoleRoot, "not signed to threshold by the keys of root v%d: %d of %d valid (missing %s): clients holding v%d reject it",
				cur.Signed.Version, len(chk.valid), chk.threshold, shortIDs(chk.missing), cur.Signed.Version)
		}
		if chk := checkSignatures(&next.Signed, RoleRoot, payload, next.Signatures); !chk.ok() {
			v.fail(path, RoleRoot, "not signed to threshold by its own root keys: %d of %d valid (missing %s)", len(chk.valid), chk.threshold, shortIDs(chk.missing))
		}
		cur, curData = next, data
	}
	// A later N.root.json after a gap is unreachable for clients.
	if entries, err := os.ReadDir(meta); err == nil {
		for _, e := range entries {
			if m := rootFilePattern.FindStringSubmatch(e.Name()); m != nil {
				if n, _ := strconv.ParseInt(m[1], 10, 64); n > cur.Signed.Version+1 {
					v.fail(filepath.Join(meta, e.Name()), RoleRoot, "unreachable: %s is missing, so clients stop at root v%d", rootFileName(cur.Signed.Version+1), cur.Signed.Version)
				}
			}
		}
	}
	rootPath := filepath.Join(meta, roleFileName(RoleRoot))
	if data, err := readMetadataFile(rootPath); err != nil {
		v.fail(rootPath, RoleRoot, "%v", err)
	} else if !bytes.Equal(data, curData) {
		v.fail(rootPath, RoleRoot, "differs from %s, the newest root version clients reach", rootFileName(cur.Signed.Version))
	}
	if !cur.Signed.Expires.After(v.now) {
		v.fail(filepath.Join(meta, rootFileName(cur.Signed.Version)), RoleRoot, "root v%d expired at %s", cur.Signed.Version, cur.Signed.Expires.Format(time.RFC3339))
	}
	if cur.Signed.ConsistentSnapshot {
		v.fail(filepath.Join(meta, rootFileName(cur.Signed.Version)), RoleRoot, "consistent_snapshot is true, but tufup repositories serve unversioned metadata and plain target names")
	}
	v.note("root chain: v%d to v%d checked", trusted.Signed.Version, cur.Signed.Version)
	return cur
}

var rootFilePattern = regexp.MustCompile(`^([0-9]+)\.root\.json$`)

func shortIDs(ids []string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = shortID(id)
	}
	return fmt.Sprint(out)
}

// topLevel verifies timestamp, snapshot and targets against root.
func (v *verifier) topLevel(root *metadata.Metadata[metadata.RootType]) {
	meta := v.r.MetadataDir()
	files := map[string]roleFile{}
	raw := map[string][]byte{}
	for _, role := range []string{RoleTimestamp, RoleSnapshot, RoleTargets} {
		path := filepath.Join(meta, roleFileName(role))
		data, err := readMetadataFile(path)
		if err != nil {
			v.fail(path, role, "%v", err)
			continue
		}
		f, err := parseRole(data, role)
		if err != nil {
			v.fail(path, role, "%v", err)
			continue
		}
		files[role], raw[role] = f, data
		payload, _ := f.signedBytes()
		if chk := checkSignatures(&root.Signed, role, payload, f.signatures()); !chk.ok() {
			v.fail(path, role, "not signed to threshold by the keys root v%d gives %s: %d of %d valid (missing %s)",
				root.Signed.Version, role, len(chk.valid), chk.threshold, shortIDs(chk.missing))
		}
		if !f.expires().After(v.now) {
			v.fail(path, role, "%s v%d expired at %s", role, f.version(), f.expires().Format(time.RFC3339))
		}
	}
	v.checkMetaRef(files, raw, RoleTimestamp, RoleSnapshot)
	v.checkMetaRef(files, raw, RoleSnapshot, RoleTargets)
	if f, ok := files[RoleTargets]; ok {
		v.targets(f.(tufRole[metadata.TargetsType]).m.Signed.Targets)
	}
}

// checkMetaRef checks that role's meta entry for dep names dep's version
// (and length and hashes, when listed).
func (v *verifier) checkMetaRef(files map[string]roleFile, raw map[string][]byte, role, dep string) {
	f, ok := files[role]
	d, ok2 := files[dep]
	if !ok || !ok2 {
		return
	}
	path := filepath.Join(v.r.MetadataDir(), roleFileName(role))
	var metaMap map[string]*metadata.MetaFiles
	switch rf := f.(type) {
	case tufRole[metadata.TimestampType]:
		metaMap = rf.m.Signed.Meta
	case tufRole[metadata.SnapshotType]:
		metaMap = rf.m.Signed.Meta
	}
	mf := metaMap[roleFileName(dep)]
	if mf == nil {
		v.fail(path, role, "meta lists no %s", roleFileName(dep))
		return
	}
	if mf.Version != d.version() {
		v.fail(path, role, "meta says %s v%d, but %s is v%d", roleFileName(dep), mf.Version, roleFileName(dep), d.version())
	}
	if mf.Length != 0 || len(mf.Hashes) > 0 {
		if err := mf.VerifyLengthHashes(raw[dep]); err != nil {
			v.fail(path, role, "length or hashes of %s do not match: %v", roleFileName(dep), err)
		}
	}
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// targets checks every target file, the custom metadata of the app's
// releases, and every patch against its base.
func (v *verifier) targets(targets map[string]*metadata.TargetFiles) {
	tdir := v.r.TargetsDir()
	good := map[string]bool{}
	names := make([]string, 0, len(targets))
	for name := range targets {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		tf := targets[name]
		path := filepath.Join(tdir, name)
		if err := checkTargetFile(path, name, tf); err != nil {
			v.fail(path, RoleTargets, "%v", err)
			continue
		}
		if err := checkOtherHashes(path, tf); err != nil {
			v.fail(path, RoleTargets, "%v", err)
			continue
		}
		good[name] = true
	}
	v.note("targets: %d of %d files match their length and hashes", len(good), len(targets))
	if entries, err := os.ReadDir(tdir); err == nil {
		for _, e := range entries {
			if e.Type().IsRegular() && targets[e.Name()] == nil {
				v.note("note: %s is not in the targets metadata (clients never fetch it)", v.r.rel(filepath.Join(tdir, e.Name())))
			}
		}
	}
	rels, err := allReleases(v.r.cfg.AppName, targets)
	if err != nil {
		v.fail(filepath.Join(v.r.MetadataDir(), roleFileName(RoleTargets)), RoleTargets, "%v", err)
		return
	}
	v.customShapes(rels, targets)
	tmp, err := os.MkdirTemp("", "tufup-repo-verify-")
	if err != nil {
		v.fail(tdir, "", "cannot create a temporary directory to check patches: %v", err)
		return
	}
	defer os.RemoveAll(tmp)
	checked := 0
	for i, rel := range rels {
		if v.ctx.Err() != nil {
			return
		}
		if rel.Patch == "" {
			continue
		}
		ppath := filepath.Join(tdir, rel.Patch)
		var base *Release
		for j := i - 1; j >= 0 && rels[j].Platform == rel.Platform; j-- {
			if rels[j].Archive != "" {
				base = &rels[j]
				break
			}
		}
		if base == nil {
			v.fail(ppath, RoleTargets, "patch to %s has no earlier release to apply to", rel.Version)
			continue
		}
		if !good[rel.Patch] || !good[base.Archive] {
			continue // already reported
		}
		if err := v.checkPatch(tmp, base, &rel, targets, good[rel.Archive]); err != nil {
			v.fail(ppath, RoleTargets, "%v", err)
			continue
		}
		checked++
	}
	v.note("patches: %d reproduce their release's tar", checked)
}

// customShapes checks the custom metadata tufup clients rely on.
func (v *verifier) customShapes(rels []Release, targets map[string]*metadata.TargetFiles) {
	mpath := filepath.Join(v.r.MetadataDir(), roleFileName(RoleTargets))
	for _, rel := range rels {
		if rel.Archive == "" {
			v.fail(mpath, RoleTargets, "%s has a patch but no archive", rel.Version)
		}
		if rel.Patch == "" {
			continue
		}
		tufup, _, err := splitCustom(targets[rel.Patch].Custom)
		if err != nil {
			v.fail(mpath, RoleTargets, "target %s: %v", rel.Patch, err)
			continue
		}
		var hash, algo string
		var size int64
		if json.Unmarshal(tufup["tar_hash"], &hash) != nil || !hexSHA256.MatchString(hash) {
			v.fail(mpath, RoleTargets, "target %s: custom tar_hash is not a sha256 hex digest", rel.Patch)
		}
		if json.Unmarshal(tufup["tar_hash_algorithm"], &algo) != nil || algo != "sha256" {
			v.fail(mpath, RoleTargets, "target %s: custom tar_hash_algorithm is not \"sha256\"", rel.Patch)
		}
		if json.Unmarshal(tufup["tar_size"], &size) != nil || size <= 0 {
			v.fail(mpath, RoleTargets, "target %s: custom tar_size is not a positive integer", rel.Patch)
		}
	}
}

// checkPatch applies rel's patch to base's tar and checks the result
// against the patch's tar_hash/tar_size, and that rel's own archive (when
// its file matched its metadata) holds that same tar.
func (v *verifier) checkPatch(tmp string, base, rel *Release, targets map[string]*metadata.TargetFiles, archiveGood bool) error {
	tufup, _, err := splitCustom(targets[rel.Patch].Custom)
	if err != nil {
		return err
	}
	var want patch.TarInfo
	if json.Unmarshal(tufup["tar_hash"], &want.SHA256) != nil || json.Unmarshal(tufup["tar_size"], &want.Size) != nil {
		return errors.New("custom metadata lacks tar_hash or tar_size")
	}
	tdir := v.r.TargetsDir()
	baseTar := filepath.Join(tmp, "base.tar")
	out := filepath.Join(tmp, "out.tar")
	defer os.Remove(baseTar)
	defer os.Remove(out)
	if _, err := patch.Gunzip(v.ctx, filepath.Join(tdir, base.Archive), baseTar, maxTarSize); err != nil {
		return fmt.Errorf("cannot unpack base archive %s: %w", base.Archive, err)
	}
	if err := patch.ApplyChain(v.ctx, baseTar, []string{filepath.Join(tdir, rel.Patch)}, out, want); err != nil {
		return fmt.Errorf("applied to %s it does not give the tar of %s: %w", base.Archive, rel.Version, err)
	}
	if rel.Archive != "" && archiveGood { // a bad archive is reported already
		// The patch's tar_size bounds the archive's tar: more is a mismatch.
		info, err := patch.Gunzip(v.ctx, filepath.Join(tdir, rel.Archive), out, want.Size)
		if err != nil {
			return fmt.Errorf("the tar inside %s does not match tar_size/tar_hash: %w", rel.Archive, err)
		}
		if info != want {
			return fmt.Errorf("the tar inside %s does not match tar_size/tar_hash: it is %d bytes with sha256 %s, the patch gives %d bytes with sha256 %s", rel.Archive, info.Size, info.SHA256, want.Size, want.SHA256)
		}
	}
	return nil
}

// checkOtherHashes checks hash algorithms besides sha256 (which
// checkTargetFile covers). tufup lists only sha256; others may be added by
// other tools.
func checkOtherHashes(path string, tf *metadata.TargetFiles) error {
	for algo, want := range tf.Hashes {
		switch algo {
		case "sha256":
		case "sha512":
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			h := sha512.New()
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
			if got := h.Sum(nil); !bytes.Equal(got, want) {
				return fmt.Errorf("sha512 is %s, metadata says %s", hex.EncodeToString(got), hex.EncodeToString(want))
			}
		default:
			return fmt.Errorf("hash algorithm %q is not supported", algo)
		}
	}
	return nil
}
