package repo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gofrs/flock"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufup-go/tufup/internal/fsutil"
)

// Options say how one session of repository work finds and unlocks keys,
// where it reports, and what time it is.
type Options struct {
	// KeyDirs are searched for private keys after the config's keys_dir
	// (tufup's "key dirs"): keys held on a USB stick, in a CI secret mount.
	KeyDirs []string
	// Password unlocks encrypted private keys; called only for keys needed.
	Password PasswordFunc
	// NewPassword returns the password for a key being created encrypted.
	NewPassword func(keyName string) ([]byte, error)
	// UnsignedOut, when set, makes a change that needs signatures write the
	// first role it changes to this file (signed by whatever keys are at
	// hand) instead of publishing anything: the offline signing flow.
	UnsignedOut string
	// Out receives one line per change made. Nil discards.
	Out io.Writer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Repo is a tufup repository on the build machine: the directory holding
// .tufup-repo-config, with its keys directory and repository directory.
type Repo struct {
	dir      string
	cfg      Config
	settings Settings
	opts     Options
	cur      *roleSet // nil while the repository has no metadata yet
	keys     *keyring
}

// Open reads the repository whose .tufup-repo-config is in dir.
func Open(dir string, opts Options) (*Repo, error) {
	cfg, err := ReadConfig(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, err
	}
	r := newRepo(dir, cfg, opts)
	if r.settings, err = ReadSettings(dir); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(r.MetadataDir(), roleFileName(RoleRoot))); errors.Is(err, os.ErrNotExist) {
		return r, nil // initialised with an offline root not published yet
	}
	if r.cur, err = loadRoles(r.MetadataDir()); err != nil {
		return nil, err
	}
	return r, nil
}

func newRepo(dir string, cfg Config, opts Options) *Repo {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	r := &Repo{dir: dir, cfg: cfg, opts: opts}
	dirs := append([]string{r.KeysDir()}, opts.KeyDirs...)
	r.keys = newKeyring(dirs, opts.Password)
	return r
}

// Config returns the repository's configuration.
func (r *Repo) Config() Config { return r.cfg.clone() }

// KeysDir is the config's keys_dir as a native path.
func (r *Repo) KeysDir() string { return resolve(r.dir, r.cfg.KeysDir) }

// RepoDir is the directory served to clients (metadata/ and targets/).
func (r *Repo) RepoDir() string { return resolve(r.dir, r.cfg.RepoDir) }

// MetadataDir is RepoDir/metadata.
func (r *Repo) MetadataDir() string { return filepath.Join(r.RepoDir(), "metadata") }

// TargetsDir is RepoDir/targets.
func (r *Repo) TargetsDir() string { return filepath.Join(r.RepoDir(), "targets") }

func (r *Repo) now() time.Time {
	if r.opts.Now != nil {
		return r.opts.Now()
	}
	return time.Now()
}

func (r *Repo) printf(format string, args ...any) {
	fmt.Fprintf(r.opts.Out, format+"\n", args...)
}

// rel shows a path relative to the repository's directory when it is below it.
func (r *Repo) rel(path string) string {
	if p, err := filepath.Rel(r.dir, path); err == nil && !strings.HasPrefix(p, "..") {
		return filepath.ToSlash(p)
	}
	return path
}

var errNoMetadata = errors.New("the repository has no published metadata yet (publish the root file made by init --unsigned-out first)")

func (r *Repo) requireMetadata() error {
	if r.cur == nil {
		return errNoMetadata
	}
	return nil
}

// change is one edit of the repository, published (or refused) as a whole
// by commit.
type change struct {
	next     *roleSet
	cfg      Config
	forced   map[string]bool      // roles to re-sign although unchanged
	expires  map[string]time.Time // explicit expiry dates
	loaded   string               // role taken from a file (publish): version, expiry, signatures kept
	stage    []stagedTarget       // new target files, moved into targets/ on publish
	remove   []string             // target files deleted after publishing
	stageDir string               // removed after commit
	unlock   func()               // releases the repository lock (see done)
}

type stagedTarget struct {
	path string // staged file
	name string // target name
}

// LockFile is created next to the config while a command changes the
// repository, so that a release job and the timestamp job cannot both
// publish version N+1 of a role.
const LockFile = ".tufup-repo.lock"

// lock takes the repository lock, failing at once if another process holds
// it, and re-reads config and metadata that process may have changed.
func (r *Repo) lock() (unlock func(), err error) {
	path := filepath.Join(r.dir, LockFile)
	fl := flock.New(path)
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		return nil, fmt.Errorf("another tufup-repo is changing this repository (it holds %s); try again when it is done", path)
	}
	unlock = func() { fl.Unlock() }
	defer func() {
		if err != nil {
			unlock()
		}
	}()
	if r.cfg, err = ReadConfig(filepath.Join(r.dir, ConfigFile)); err != nil {
		return nil, err
	}
	if _, statErr := os.Stat(filepath.Join(r.MetadataDir(), roleFileName(RoleRoot))); statErr == nil {
		if r.cur, err = loadRoles(r.MetadataDir()); err != nil {
			return nil, err
		}
	}
	return unlock, nil
}

// begin locks the repository and starts a change of its current state;
// the caller must call the change's done.
func (r *Repo) begin() (*change, error) {
	unlock, err := r.lock()
	if err != nil {
		return nil, err
	}
	if err := r.requireMetadata(); err != nil {
		unlock()
		return nil, err
	}
	next, err := r.cur.clone()
	if err != nil {
		unlock()
		return nil, err
	}
	return &change{next: next, cfg: r.cfg.clone(), forced: map[string]bool{}, expires: map[string]time.Time{}, unlock: unlock}, nil
}

// done releases the lock taken by begin.
func (c *change) done() {
	if c.unlock != nil {
		c.unlock()
		c.unlock = nil
	}
}

// Shortfall is one threshold a role's new metadata does not reach.
type Shortfall struct {
	Role string
	// By names the root whose rule is not met: "root v2" (the new root) or,
	// for a root change, also "current root v1".
	By        string
	Have      int
	Threshold int
	// Missing describes the keys whose signatures are missing.
	Missing []string
}

// ThresholdError reports roles that could not be signed to their threshold.
// Nothing was published.
type ThresholdError struct {
	Shortfalls []Shortfall
	KeyDirs    []string
}

func (e *ThresholdError) Error() string {
	var b strings.Builder
	b.WriteString("nothing published: ")
	for i, s := range e.Shortfalls {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s has %d of %d required signatures by the keys of %s (missing: %s)",
			s.Role, s.Have, s.Threshold, s.By, strings.Join(s.Missing, ", "))
	}
	fmt.Fprintf(&b, "; private keys were searched in %s (add more with --keys-dir, or use --unsigned-out to sign elsewhere)", strings.Join(e.KeyDirs, ", "))
	return b.String()
}

// commit works a change through the roles in order (a root change re-signs
// targets, as tufup does; targets -> snapshot -> timestamp), gives every
// changed role version+1 and a fresh expiry, signs it with every key at
// hand, and checks every threshold before writing anything. Files are then
// written targets first, timestamp last, so a client never sees metadata
// pointing at something not there yet.
func (r *Repo) commit(c *change) (err error) {
	defer func() {
		if c.stageDir != "" {
			os.RemoveAll(c.stageDir)
		}
	}()
	old := r.cur
	now := r.now()
	changed := map[string]bool{}
	var order []string
	var shortfalls []Shortfall
	for _, role := range Roles {
		switch role {
		case RoleTargets:
			if changed[RoleRoot] && old != nil {
				c.forced[RoleTargets] = true
			}
		case RoleSnapshot:
			// Always point at the current version, not only after a change
			// here: a run interrupted between two writes is then repaired
			// by the next one.
			pointTo(c.next.snapshot.Signed.Meta, RoleTargets, c.next.targets.Signed.Version)
		case RoleTimestamp:
			pointTo(c.next.timestamp.Signed.Meta, RoleSnapshot, c.next.snapshot.Signed.Version)
		}
		nf := c.next.get(role)
		isChanged := old == nil || c.forced[role] || role == c.loaded
		if !isChanged {
			a, err := nf.signedBytes()
			if err != nil {
				return fmt.Errorf("encode %s metadata: %w", role, err)
			}
			b, err := old.get(role).signedBytes()
			if err != nil {
				return fmt.Errorf("encode %s metadata: %w", role, err)
			}
			isChanged = !bytes.Equal(a, b)
		}
		if !isChanged {
			continue
		}
		changed[role] = true
		order = append(order, role)
		if role != c.loaded {
			if e, ok := c.expires[role]; ok {
				nf.setExpires(e)
			} else if old == nil || nf.expires().Equal(old.get(role).expires()) {
				nf.setExpires(expiryIn(now, c.cfg.ExpirationDays[role]))
			}
			if old != nil && nf.version() <= old.get(role).version() {
				nf.setVersion(old.get(role).version() + 1)
			}
		}
		sf, err := r.signRole(c, role, nf, old)
		if err != nil {
			return err
		}
		shortfalls = append(shortfalls, sf...)
	}
	if len(order) == 0 {
		if err := r.writeConfig(c.cfg); err != nil {
			return err
		}
		r.printf("no metadata changed")
		return nil
	}
	if r.opts.UnsignedOut != "" {
		return r.writeUnsigned(c, order[0], shortfalls)
	}
	if len(shortfalls) > 0 {
		return &ThresholdError{Shortfalls: shortfalls, KeyDirs: r.keys.dirs}
	}
	if err := r.placeTargets(c); err != nil {
		return err
	}
	for _, role := range order {
		if err := r.writeRole(c.next.get(role)); err != nil {
			return err
		}
	}
	r.cur = c.next
	if changed[RoleRoot] {
		r.syncConfig(&c.cfg)
	}
	if err := r.writeConfig(c.cfg); err != nil {
		return err
	}
	for _, name := range c.remove {
		path := filepath.Join(r.TargetsDir(), name)
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", path, err)
		}
		r.printf("removed %s", r.rel(path))
	}
	return nil
}

// pointTo makes a snapshot or timestamp meta entry name a role's version,
// keeping the entry as it is when it already does.
func pointTo(meta map[string]*metadata.MetaFiles, role string, version int64) {
	name := roleFileName(role)
	if mf := meta[name]; mf == nil || mf.Version != version {
		meta[name] = metadata.MetaFile(version)
	}
}

// signRole signs nf with every available key its root(s) name, and reports
// the thresholds it misses. A root change must satisfy the current root's
// root role as well as its own, so installed clients accept it.
func (r *Repo) signRole(c *change, role string, nf roleFile, old *roleSet) ([]Shortfall, error) {
	payload, err := nf.signedBytes()
	if err != nil {
		return nil, fmt.Errorf("encode %s metadata: %w", role, err)
	}
	type verifier struct {
		root *metadata.RootType
		name string
	}
	verifiers := []verifier{{&c.next.root.Signed, fmt.Sprintf("root v%d", c.next.root.Signed.Version)}}
	if role == RoleRoot && old != nil {
		verifiers = append(verifiers, verifier{&old.root.Signed, fmt.Sprintf("current root v%d", old.root.Signed.Version)})
	}
	if role == c.loaded {
		roots := []*metadata.RootType{&c.next.root.Signed}
		if old != nil {
			roots = append(roots, &old.root.Signed)
		}
		keepValidSignatures(nf, payload, roots...)
	} else {
		nf.setSignatures(nil)
	}
	have := map[string]bool{}
	for _, s := range nf.signatures() {
		have[s.KeyID] = true
	}
	for _, v := range verifiers {
		ids, _ := roleKeys(v.root, role)
		for _, id := range ids {
			k := v.root.Keys[id]
			if k == nil || have[id] {
				continue
			}
			priv, err := r.keys.find(k.Value.PublicKey)
			if err != nil {
				return nil, fmt.Errorf("sign %s: %w", role, err)
			}
			if priv == nil {
				continue
			}
			addSignature(nf, payload, id, priv)
			have[id] = true
		}
	}
	var out []Shortfall
	for _, v := range verifiers {
		chk := checkSignatures(v.root, role, payload, nf.signatures())
		if chk.ok() {
			continue
		}
		sf := Shortfall{Role: role, By: v.name, Have: len(chk.valid), Threshold: chk.threshold}
		for _, id := range chk.missing {
			pub := ""
			if k := v.root.Keys[id]; k != nil {
				pub = k.Value.PublicKey
			}
			sf.Missing = append(sf.Missing, r.keys.describe(id, pub))
		}
		sf.Missing = append(sf.Missing, chk.problems...)
		out = append(out, sf)
	}
	return out, nil
}

// writeUnsigned writes the first changed role to Options.UnsignedOut for
// signing elsewhere. Roles after it are recomputed when the file is
// published, but their keys must be at hand then: check that now.
func (r *Repo) writeUnsigned(c *change, first string, shortfalls []Shortfall) error {
	var later []Shortfall
	var own []Shortfall
	for _, s := range shortfalls {
		if s.Role == first {
			own = append(own, s)
		} else {
			later = append(later, s)
		}
	}
	if len(later) > 0 {
		return fmt.Errorf("cannot defer %s for offline signing: %w", first, &ThresholdError{Shortfalls: later, KeyDirs: r.keys.dirs})
	}
	f := c.next.get(first)
	data, err := f.marshal()
	if err != nil {
		return fmt.Errorf("encode %s metadata: %w", first, err)
	}
	if err := r.placeTargets(c); err != nil {
		return err
	}
	if err := fsutil.WriteFile(r.opts.UnsignedOut, data, 0o644); err != nil {
		return err
	}
	need := "it already meets its thresholds"
	if len(own) > 0 {
		var parts []string
		for _, s := range own {
			parts = append(parts, fmt.Sprintf("%d more by %s's keys (%s)", s.Threshold-s.Have, s.By, strings.Join(s.Missing, ", ")))
		}
		need = "it needs " + strings.Join(parts, " and ")
	}
	r.printf("wrote %s v%d, not published, to %s: %s", first, f.version(), r.opts.UnsignedOut, need)
	r.printf("next: tufup-repo sign-file %s --key NAME (where the key is), then tufup-repo publish %s", r.opts.UnsignedOut, r.opts.UnsignedOut)
	return nil
}

// placeTargets moves staged target files into targets/.
func (r *Repo) placeTargets(c *change) error {
	if len(c.stage) == 0 {
		return nil
	}
	if err := os.MkdirAll(r.TargetsDir(), 0o755); err != nil {
		return fmt.Errorf("create targets directory: %w", err)
	}
	for _, s := range c.stage {
		dst := filepath.Join(r.TargetsDir(), s.name)
		if err := moveFile(s.path, dst); err != nil {
			return err
		}
		fi, err := os.Stat(dst)
		if err != nil {
			return err
		}
		r.printf("wrote %s (%d bytes)", r.rel(dst), fi.Size())
	}
	c.stage = nil
	return nil
}

// moveFile renames src to dst, copying when they are on different file systems.
func moveFile(src, dst string) error {
	if err := fsutil.Rename(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := fsutil.WriteFrom(dst, 0o644, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	}); err != nil {
		return err
	}
	return os.Remove(src)
}

// writeRole writes a role's file; a root also gets its N.root.json, written
// first so that root.json never names a version clients cannot fetch.
func (r *Repo) writeRole(f roleFile) error {
	data, err := f.marshal()
	if err != nil {
		return fmt.Errorf("encode %s metadata: %w", f.role(), err)
	}
	if err := os.MkdirAll(r.MetadataDir(), 0o755); err != nil {
		return fmt.Errorf("create metadata directory: %w", err)
	}
	names := []string{roleFileName(f.role())}
	if f.role() == RoleRoot {
		names = []string{rootFileName(f.version()), roleFileName(RoleRoot)}
	}
	for _, name := range names {
		if err := fsutil.WriteFile(filepath.Join(r.MetadataDir(), name), data, 0o644); err != nil {
			return err
		}
	}
	var signers []string
	for _, s := range f.signatures() {
		signers = append(signers, shortID(s.KeyID))
	}
	r.printf("wrote %s: %s v%d, expires %s, signed by %d key(s) [%s]",
		strings.Join(prefixAll(r.rel(r.MetadataDir())+"/", names), ", "), f.role(), f.version(),
		f.expires().UTC().Format(time.RFC3339), len(signers), strings.Join(signers, " "))
	return nil
}

func prefixAll(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}

// syncConfig makes key_map and thresholds mirror root, as Python tufup keeps
// them: key names are found through the .pub files of the key directories;
// names whose key file cannot be found are kept as they are.
func (r *Repo) syncConfig(cfg *Config) {
	root := &r.cur.root.Signed
	for _, role := range Roles {
		ids, threshold := roleKeys(root, role)
		cfg.Thresholds[role] = threshold
		covered := map[string]bool{}
		var names []string
		for _, name := range cfg.KeyMap[role] {
			k, err := r.keys.publicByName(name)
			if err != nil {
				names = append(names, name)
				continue
			}
			inRole := false
			for _, id := range keyIDsFor(root, k.Public) {
				if slices.Contains(ids, id) {
					covered[id] = true
					inRole = true
				}
			}
			if inRole {
				names = append(names, name)
			}
		}
		for _, id := range ids {
			if covered[id] || root.Keys[id] == nil {
				continue
			}
			r.keys.scan()
			found := r.keys.names[strings.ToLower(root.Keys[id].Value.PublicKey)]
			if len(found) == 0 {
				r.printf("warning: key %s of role %s has no .pub file in the key directories; key_map cannot name it", shortID(id), role)
				continue
			}
			if !slices.Contains(names, found[0]) {
				names = append(names, found[0])
			}
		}
		cfg.KeyMap[role] = names
	}
}

// writeConfig writes the config when it differs from the one on disk.
func (r *Repo) writeConfig(cfg Config) error {
	path := filepath.Join(r.dir, ConfigFile)
	data, err := cfg.Marshal()
	if err != nil {
		return err
	}
	if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, data) {
		r.cfg = cfg
		return nil
	}
	if err := fsutil.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	r.cfg = cfg
	r.printf("wrote %s", ConfigFile)
	return nil
}
