package upload

import (
	"context"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/repo"
)

// testRepo is a build machine's repository made with the repo package.
type testRepo struct {
	t   *testing.T
	dir string
	r   *repo.Repo
}

func newTestRepo(t *testing.T) *testRepo {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "build")
	r, err := repo.Init(dir, repo.DefaultConfig("demo"), repo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &testRepo{t: t, dir: dir, r: r}
}

func (tr *testRepo) repoDir() string { return tr.r.RepoDir() }

// add publishes release version of a bundle of size pseudo-random bytes.
func (tr *testRepo) add(version string, size int) {
	tr.t.Helper()
	bundle := filepath.Join(tr.t.TempDir(), "bundle")
	if err := os.MkdirAll(bundle, 0o755); err != nil {
		tr.t.Fatal(err)
	}
	data := make([]byte, size)
	rng := rand.NewChaCha8([32]byte([]byte(strings.Repeat(version, 32)[:32])))
	rng.Read(data)
	if err := os.WriteFile(filepath.Join(bundle, "demo"), data, 0o755); err != nil {
		tr.t.Fatal(err)
	}
	r, err := repo.Open(tr.dir, repo.Options{})
	if err != nil {
		tr.t.Fatal(err)
	}
	if err := r.Add(context.Background(), version, bundle, repo.AddOptions{}); err != nil {
		tr.t.Fatal(err)
	}
}

func (tr *testRepo) trustedRoot() []byte {
	tr.t.Helper()
	b, err := os.ReadFile(filepath.Join(tr.repoDir(), "metadata", "1.root.json"))
	if err != nil {
		tr.t.Fatal(err)
	}
	return b
}

// dirDest is an empty destination folder and its file:// URL.
func dirDest(t *testing.T) (string, string) {
	dir := filepath.Join(t.TempDir(), "www")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}).String()
}

// recorder passes calls to a store, noting the keys written, and can fail
// the Nth write as if the publisher had been killed just before it.
type recorder struct {
	store
	mu     sync.Mutex
	puts   []string
	failAt int // 1-based; 0 never
}

var errKilled = io.ErrUnexpectedEOF

func (r *recorder) put(ctx context.Context, key string, rd io.Reader, size int64, sha string, progress func(int64)) error {
	r.mu.Lock()
	n := len(r.puts) + 1
	if r.failAt > 0 && n >= r.failAt {
		r.mu.Unlock()
		return errKilled
	}
	r.puts = append(r.puts, key)
	r.mu.Unlock()
	return r.store.put(ctx, key, rd, size, sha, progress)
}

func publishTo(t *testing.T, st store, repoDir string, opts Options) (Summary, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return publish(ctx, st, "test destination", repoDir, opts)
}

func mustPublish(t *testing.T, st store, repoDir string, opts Options) Summary {
	t.Helper()
	sum, err := publishTo(t, st, repoDir, opts)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return sum
}

// client is a launcher's TUF client reading base (a URL ending in /),
// with its own metadata cache.
func client(t *testing.T, base string, root []byte, cache string) *fetch.Client {
	t.Helper()
	c, err := fetch.New(fetch.Options{
		MetadataURL: base + "metadata/", TargetsURL: base + "targets/",
		MetadataDir: cache, TrustedRoot: root, Retries: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func targetNames(c *fetch.Client) []string {
	var names []string
	for _, ti := range c.Targets() {
		names = append(names, ti.Name)
	}
	return names
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustReadFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkTargetsThere requires every target c lists to be in the destination
// folder dest (a file:// URL) with its listed length and sha256.
func checkTargetsThere(t *testing.T, c *fetch.Client, dest string) {
	t.Helper()
	root := mustParse(t, dest).Path
	for _, ti := range c.Targets() {
		b, err := os.ReadFile(filepath.Join(root, "targets", ti.Name))
		if err != nil {
			t.Fatalf("the client lists %s, which is not there: %v", ti.Name, err)
		}
		if int64(len(b)) != ti.Length || sha256Hex(b) != ti.Hashes["sha256"] {
			t.Fatalf("the client lists %s, which has other bytes", ti.Name)
		}
	}
}

// snapshotDir records a folder's files; restoreDir puts it back as it was.
func snapshotDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			files[rel] = mustReadFile(t, p)
		}
		return err
	})
	return files
}

func restoreDir(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for rel, b := range files {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(dir, 0o755)
}

// copyTree copies the regular files of src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	restoreDir(t, dst, snapshotDir(t, src))
}

// copyFiles copies a folder's top-level files (a client's metadata cache).
func copyFiles(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			if err := os.WriteFile(filepath.Join(dst, e.Name()), mustReadFile(t, filepath.Join(src, e.Name())), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// phaseSorted sorts the leading run of targets (uploaded in parallel, so
// in any order) by name, keeping the order of the rest.
func phaseSorted(keys []string) []string {
	out := slices.Clone(keys)
	n := 0
	for n < len(out) && strings.HasPrefix(out[n], "targets/") {
		n++
	}
	slices.Sort(out[:n])
	return out
}
