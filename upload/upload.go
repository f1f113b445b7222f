// Package upload copies a tufup repository folder (metadata/ and targets/)
// to where clients read it: an S3-compatible bucket (s3://BUCKET/PREFIX) or
// another folder, a mounted share say (file:///srv/updates). It uploads in
// the order that keeps every client safe, so that whatever it is stopped
// at, the destination serves the old repository or the new one: new
// targets first, then new N.root.json files, then targets.json,
// snapshot.json and root.json, and timestamp.json last. It skips what the
// destination already holds (same size and sha256), refuses to roll the
// destination's metadata back or to change a published target, and can
// prune targets that no signed metadata has listed for a grace period.
package upload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tufup-go/tufup/repo"
)

// DefaultGrace is how long a target no longer listed by the published
// targets.json stays before Options.Prune deletes it.
const DefaultGrace = 7 * 24 * time.Hour

// jobs is how many targets are uploaded at once.
const jobs = 4

// Options tunes Publish. The zero value uploads without pruning.
type Options struct {
	// Endpoint is the S3 API's base URL (http:// or https://) for an
	// S3-compatible store other than AWS (MinIO, R2, B2, Ceph, ...). Only
	// for s3:// destinations.
	Endpoint string
	// DryRun plans and reports without changing the destination.
	DryRun bool
	// Prune deletes targets that the published targets.json has not listed
	// for at least Grace (DefaultGrace is a sensible one).
	Prune bool
	Grace time.Duration
	// Out receives a line per change and a summary (nil discards).
	Out io.Writer
	// Progress is called as target bytes are uploaded, with the bytes done
	// and the total of this run's uploads.
	Progress func(done, total int64)
	// Now replaces the clock (tests).
	Now func() time.Time
}

// Summary counts what Publish did (or, in a dry run, would do).
type Summary struct {
	Uploaded  int   // files written
	Bytes     int64 // their bytes
	Unchanged int   // files the destination already held
	Deleted   int   // targets pruned
}

// Cache-Control of what Publish uploads: a target's bytes never change
// under its name and neither do N.root.json's, while the other metadata
// changes with each release and clients must see a new timestamp.json at
// once, and a snapshot.json and targets.json that match it.
const (
	CacheImmutable = "public, max-age=31536000, immutable"
	CacheMutable   = "no-cache"
)

// StateKey is the object, at the top of the destination, recording when
// each target stopped being listed (for pruning after the grace period).
const StateKey = ".tufup-publish-state.json"

var numberedRoot = regexp.MustCompile(`^metadata/[0-9]+\.root\.json$`)

// cacheControl and contentType are the headers of key.
func cacheControl(key string) string {
	if strings.HasPrefix(key, "targets/") || numberedRoot.MatchString(key) {
		return CacheImmutable
	}
	return CacheMutable
}

func contentType(key string) string {
	switch {
	case strings.HasSuffix(key, ".json"):
		return "application/json"
	case strings.HasSuffix(key, ".tar.gz"):
		return "application/gzip"
	}
	return "application/octet-stream"
}

// immutable reports whether key's content may never change once published.
func immutable(key string) bool { return cacheControl(key) == CacheImmutable }

// object is a file in the destination.
type object struct {
	size int64
}

// store is a destination. Keys are slash-separated paths below its root
// ("metadata/timestamp.json", "targets/app-1.0.tar.gz").
type store interface {
	// list returns the objects under dir ("metadata/" or "targets/").
	list(ctx context.Context, dir string) (map[string]object, error)
	// hash returns key's sha256 as recorded when it was written (computed
	// for a folder; "" when unknown), and whether the object carries the
	// headers Publish sets now (if not, it is written again).
	hash(ctx context.Context, key string) (sum string, current bool, err error)
	// get reads a small object whole, at most max bytes; errNotFound when
	// there is none.
	get(ctx context.Context, key string, max int64) ([]byte, error)
	// put writes key atomically: readers see the old object or the whole
	// new one. progress, when set, is called with byte counts as they go.
	put(ctx context.Context, key string, r io.Reader, size int64, sha string, progress func(int64)) error
	remove(ctx context.Context, key string) error
}

var errNotFound = errors.New("not found")

// maxMetadata bounds what Publish reads back of the destination's metadata.
const maxMetadata = 64 << 20

// Publish copies the repository in repoDir (holding metadata/ and targets/)
// to dest, an s3://BUCKET[/PREFIX] or file:///PATH URL, in the safe order.
// It fails before changing anything if the local repository does not hang
// together (a role naming a version of another that is not there, a listed
// target missing or with other bytes), if the destination holds newer
// metadata (publishing would roll clients back), or if a target or
// N.root.json the destination holds has other bytes than the local one.
func Publish(ctx context.Context, repoDir, dest string, opts Options) (Summary, error) {
	st, shown, err := openStore(ctx, dest, opts.Endpoint)
	if err != nil {
		return Summary{}, err
	}
	return publish(ctx, st, shown, repoDir, opts)
}

func publish(ctx context.Context, st store, shown, repoDir string, opts Options) (Summary, error) {
	local, err := readLocal(repoDir)
	if err != nil {
		return Summary{}, err
	}
	p, err := makePlan(ctx, st, local)
	if err != nil {
		return Summary{}, fmt.Errorf("publish to %s: %w", shown, err)
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	u := &uploader{st: st, opts: opts, local: local}
	sum, err := u.run(ctx, p)
	if err != nil {
		return sum, fmt.Errorf("publish to %s: %w", shown, err)
	}
	verb := "published"
	if opts.DryRun {
		verb = "dry run: would publish"
	}
	fmt.Fprintf(opts.Out, "%s %s to %s: %d file(s) uploaded (%s), %d unchanged, %d target(s) pruned\n",
		verb, repoDir, shown, sum.Uploaded, repo.FormatSize(sum.Bytes), sum.Unchanged, sum.Deleted)
	return sum, nil
}

// openStore parses dest and opens the store it names.
func openStore(ctx context.Context, dest, endpoint string) (store, string, error) {
	u, err := url.Parse(dest)
	if err != nil {
		return nil, "", fmt.Errorf("destination %q: %w", dest, err)
	}
	if endpoint != "" && u.Scheme != "s3" {
		return nil, "", fmt.Errorf("destination %s: an endpoint is only for s3:// destinations", u.Redacted())
	}
	switch u.Scheme {
	case "s3":
		st, err := newS3Store(ctx, u, endpoint)
		return st, u.Redacted(), err
	case "file":
		st, err := newDirStore(u)
		return st, u.Redacted(), err
	}
	return nil, "", fmt.Errorf("destination %s: want s3://BUCKET/PREFIX or file:///PATH", u.Redacted())
}

// localFile is a file of the repository to publish.
type localFile struct {
	key    string
	path   string
	size   int64
	sha256 string
}

// localRepo is the repository to publish, read at one moment.
type localRepo struct {
	files   map[string]localFile
	meta    map[string][]byte // the metadata files' bytes, read once
	targets map[string]targetEntry
}

type targetEntry struct {
	Length int64             `json:"length"`
	Hashes map[string]string `json:"hashes"`
}

// readLocal hashes the repository's files and checks that its metadata
// hangs together, so that a repository half-way through a change (another
// tufup-repo writing it) or missing a target is never published.
func readLocal(repoDir string) (*localRepo, error) {
	l := &localRepo{files: map[string]localFile{}, meta: map[string][]byte{}}
	for _, dir := range []string{"metadata", "targets"} {
		entries, err := os.ReadDir(filepath.Join(repoDir, dir))
		if err != nil {
			return nil, fmt.Errorf("repository %s: %w (is it a tufup repository folder?)", repoDir, err)
		}
		for _, e := range entries {
			// Dot files are temporary (staging, atomic writes).
			if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			key := dir + "/" + e.Name()
			p := filepath.Join(repoDir, dir, e.Name())
			var f localFile
			if dir == "metadata" {
				data, err := os.ReadFile(p)
				if err != nil {
					return nil, err
				}
				sum := sha256.Sum256(data)
				f = localFile{key: key, path: p, size: int64(len(data)), sha256: hex.EncodeToString(sum[:])}
				l.meta[key] = data
			} else if f, err = hashFile(key, p); err != nil {
				return nil, err
			}
			l.files[key] = f
		}
	}
	if err := l.check(repoDir); err != nil {
		return nil, err
	}
	return l, nil
}

func hashFile(key, p string) (localFile, error) {
	f, err := os.Open(p)
	if err != nil {
		return localFile{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return localFile{}, fmt.Errorf("read %s: %w", p, err)
	}
	return localFile{key: key, path: p, size: n, sha256: hex.EncodeToString(h.Sum(nil))}, nil
}

// signedPart is what Publish reads of a metadata file.
type signedPart struct {
	Signed struct {
		Type    string                             `json:"_type"`
		Version int64                              `json:"version"`
		Meta    map[string]struct{ Version int64 } `json:"meta"`
		Targets map[string]targetEntry             `json:"targets"`
	} `json:"signed"`
}

func parseSigned(key string, data []byte) (signedPart, error) {
	var s signedPart
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("%s: not TUF metadata: %w", key, err)
	}
	return s, nil
}

// check makes sure timestamp.json names the snapshot.json that is there,
// which names the targets.json that is there, whose targets are all there
// with their listed length and sha256.
func (l *localRepo) check(repoDir string) error {
	roles := map[string]signedPart{}
	for _, role := range []string{"root", "targets", "snapshot", "timestamp"} {
		key := "metadata/" + role + ".json"
		data, ok := l.meta[key]
		if !ok {
			return fmt.Errorf("repository %s has no %s: nothing to publish", repoDir, key)
		}
		s, err := parseSigned(key, data)
		if err != nil {
			return err
		}
		roles[role] = s
	}
	for _, link := range [][2]string{{"timestamp", "snapshot"}, {"snapshot", "targets"}} {
		named := roles[link[0]].Signed.Meta[link[1]+".json"].Version
		if have := roles[link[1]].Signed.Version; named != have {
			return fmt.Errorf("repository %s: %s.json names %s v%d but %s.json is v%d (is another tufup-repo changing it? run again when it is done)",
				repoDir, link[0], link[1], named, link[1], have)
		}
	}
	l.targets = roles["targets"].Signed.Targets
	return nil
}

// step is one file to write.
type step struct {
	file localFile
}

// plan is what Publish will do, in order: each phase completes before the
// next starts.
type plan struct {
	phases    [][]step
	unchanged int
	targets   map[string]object // the destination's targets before publishing
}

// phaseOf orders keys: targets, then N.root.json, then the other metadata
// with snapshot.json, root.json and timestamp.json last.
func phaseOf(key string) int {
	switch {
	case strings.HasPrefix(key, "targets/"):
		return 0
	case numberedRoot.MatchString(key):
		return 1
	case key == "metadata/snapshot.json":
		return 3
	case key == "metadata/root.json":
		return 4
	case key == "metadata/timestamp.json":
		return 5
	}
	return 2 // targets.json, delegated targets roles
}

const phases = 6

func makePlan(ctx context.Context, st store, l *localRepo) (*plan, error) {
	remote := map[string]object{}
	p := &plan{phases: make([][]step, phases)}
	for _, dir := range []string{"metadata/", "targets/"} {
		objs, err := st.list(ctx, dir)
		if err != nil {
			return nil, err
		}
		for k, o := range objs {
			remote[k] = o
		}
		if dir == "targets/" {
			p.targets = objs
		}
	}
	// Every listed target must be there once the upload is done.
	for name, te := range l.targets {
		key := "targets/" + name
		want := te.Hashes["sha256"]
		if f, ok := l.files[key]; ok {
			if f.size != te.Length || f.sha256 != want {
				return nil, fmt.Errorf("%s is %d bytes with sha256 %s, but targets.json lists %d bytes with sha256 %s: run tufup-repo verify", f.path, f.size, f.sha256, te.Length, want)
			}
			continue
		}
		o, ok := remote[key]
		if !ok {
			return nil, fmt.Errorf("targets.json lists %s, which is neither in the repository folder nor at the destination", name)
		}
		sum, _, err := st.hash(ctx, key)
		if err != nil {
			return nil, err
		}
		if o.size != te.Length || sum != want {
			return nil, fmt.Errorf("targets.json lists %s, which is not in the repository folder, and the destination's copy does not match it (%d bytes, sha256 %q)", name, o.size, sum)
		}
	}
	keys := make([]string, 0, len(l.files))
	for k := range l.files {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	var mu sync.Mutex
	var firstErr error
	same := make(map[string]bool)
	// Ask for the hashes of same-size objects in parallel: one request each.
	sem := make(chan struct{}, jobs*2)
	var wg sync.WaitGroup
	for _, k := range keys {
		o, ok := remote[k]
		if !ok || o.size != l.files[k].size {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			sum, current, err := st.hash(ctx, k)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				firstErr = cmp(firstErr, err)
				return
			}
			switch {
			case sum == l.files[k].sha256:
				same[k] = current
			case sum != "" && immutable(k):
				firstErr = cmp(firstErr, changedErr(k, sum, l.files[k].sha256))
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	for _, k := range keys {
		f := l.files[k]
		if _, listed := l.targets[strings.TrimPrefix(k, "targets/")]; strings.HasPrefix(k, "targets/") && !listed {
			continue // no client will ask for it
		}
		if same[k] {
			p.unchanged++
			continue
		}
		if o, ok := remote[k]; ok && immutable(k) && o.size != f.size {
			return nil, changedErr(k, fmt.Sprintf("of %d bytes", o.size), fmt.Sprintf("of %d bytes", f.size))
		}
		if _, ok := remote[k]; ok && !immutable(k) {
			if err := checkNotRollback(ctx, st, k, l.meta[k]); err != nil {
				return nil, err
			}
		}
		ph := phaseOf(k)
		p.phases[ph] = append(p.phases[ph], step{file: f})
	}
	return p, nil
}

func cmp(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

func changedErr(key, remote, local string) error {
	return fmt.Errorf("%s at the destination (sha256 %s) differs from the local one (sha256 %s): a published target or root version must never change its bytes; publish a new version instead (or, if the destination belongs to another repository, choose another prefix)", key, remote, local)
}

// compareKeys sorts N.root.json by N, the rest by name.
func compareKeys(a, b string) int {
	if numberedRoot.MatchString(a) && numberedRoot.MatchString(b) && len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// checkNotRollback refuses to replace the destination's metadata with an
// older version (or another signing of the same version): clients that
// saw the newer one would refuse the older one, and stop updating.
func checkNotRollback(ctx context.Context, st store, key string, local []byte) error {
	data, err := st.get(ctx, key, maxMetadata)
	if errors.Is(err, errNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if string(data) == string(local) {
		return nil // the same file, written again for its headers
	}
	theirs, err := parseSigned(key, data)
	if err != nil {
		return fmt.Errorf("the destination's %w", err)
	}
	ours, err := parseSigned(key, local)
	if err != nil {
		return err
	}
	if theirs.Signed.Version >= ours.Signed.Version {
		return fmt.Errorf("%s at the destination is v%d, the local one v%d: publishing would roll clients back and they would refuse it; bring the repository folder up to date with what was published (or, if the destination belongs to another repository, choose another prefix)",
			key, theirs.Signed.Version, ours.Signed.Version)
	}
	return nil
}

// uploader carries out a plan.
type uploader struct {
	st    store
	opts  Options
	local *localRepo

	mu    sync.Mutex
	done  int64
	total int64
}

func (u *uploader) run(ctx context.Context, p *plan) (Summary, error) {
	sum := Summary{Unchanged: p.unchanged}
	for _, ph := range p.phases {
		for _, s := range ph {
			u.total += s.file.size
		}
	}
	for i, ph := range p.phases {
		n := 1
		if i == phaseOf("targets/") {
			n = jobs
		}
		if err := u.phase(ctx, ph, n, &sum); err != nil {
			return sum, err
		}
	}
	deleted, err := u.prune(ctx, p.targets)
	sum.Deleted = deleted
	return sum, err
}

// phase uploads steps, n at a time, and returns once all are done.
func (u *uploader) phase(ctx context.Context, steps []step, n int, sum *Summary) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, s := range steps {
		sem <- struct{}{}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := u.put(ctx, s.file); err != nil {
				cancel(err)
				return
			}
			u.mu.Lock()
			sum.Uploaded++
			sum.Bytes += s.file.size
			u.mu.Unlock()
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}

func (u *uploader) put(ctx context.Context, f localFile) error {
	u.mu.Lock()
	fmt.Fprintf(u.opts.Out, "%supload %s (%s)\n", u.dry(), f.key, repo.FormatSize(f.size))
	u.mu.Unlock()
	if u.opts.DryRun {
		return nil
	}
	var r io.Reader
	if data, ok := u.local.meta[f.key]; ok {
		r = strings.NewReader(string(data))
	} else {
		file, err := os.Open(f.path)
		if err != nil {
			return err
		}
		defer file.Close()
		r = file
	}
	var progress func(int64)
	if u.opts.Progress != nil {
		progress = func(n int64) {
			u.mu.Lock()
			defer u.mu.Unlock()
			u.done += n
			u.opts.Progress(u.done, u.total)
		}
	}
	if err := u.st.put(ctx, f.key, r, f.size, f.sha256, progress); err != nil {
		return fmt.Errorf("upload %s: %w", f.key, err)
	}
	return nil
}

func (u *uploader) dry() string {
	if u.opts.DryRun {
		return "would "
	}
	return ""
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
