package repo

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"github.com/tufup-go/tufup/patch"
)

// releasedRepo makes a repository with releases 1.0.0, 1.1.0 and 1.2.0
// once, and hands each caller its own copy.
var releasedRepo = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "tufup-repo-test-")
	if err != nil {
		return "", err
	}
	r, err := Init(dir, DefaultConfig("demoapp"), Options{})
	if err != nil {
		return "", err
	}
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		if err := r.Add(context.Background(), v, bundle(v), AddOptions{}); err != nil {
			return "", err
		}
	}
	return dir, nil
})

func copyReleasedRepo(t testing.TB, opts Options) *Repo {
	t.Helper()
	src, err := releasedRepo()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "repo")
	copyDir(t, src, dir)
	r, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := releasedRepo(); err == nil && dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// rehash re-signs the targets metadata after a target file was replaced,
// as a buggy tool would, so that only the deeper checks can notice.
func rehash(t testing.TB, r *Repo, name string) {
	t.Helper()
	c, err := r.begin()
	if err != nil {
		t.Fatal(err)
	}
	defer c.done()
	info, err := patch.HashFile(filepath.Join(r.TargetsDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	tf := c.next.targets.Signed.Targets[name]
	tf.Length = info.Size
	tf.Hashes["sha256"], _ = hex.DecodeString(info.SHA256)
	if err := r.commit(c); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyFindsEveryProblem(t *testing.T) {
	flip := func(t testing.TB, path string, at int64) {
		data := readFile(t, path)
		data[at] ^= 0xff
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name   string
		break_ func(t *testing.T, r *Repo)
		want   []string // each must appear in one problem
		now    time.Duration
	}{
		{"corrupted target", func(t *testing.T, r *Repo) {
			flip(t, filepath.Join(r.TargetsDir(), "demoapp-1.1.0.tar.gz"), 1000)
		}, []string{"repository/targets/demoapp-1.1.0.tar.gz (targets): target demoapp-1.1.0.tar.gz: sha256 of"}, 0},
		{"missing target", func(t *testing.T, r *Repo) {
			os.Remove(filepath.Join(r.TargetsDir(), "demoapp-1.0.0.tar.gz"))
		}, []string{"demoapp-1.0.0.tar.gz", "is missing"}, 0},
		{"broken patch with matching hash", func(t *testing.T, r *Repo) {
			p := filepath.Join(r.TargetsDir(), "demoapp-1.2.0.patch")
			fi, _ := os.Stat(p)
			flip(t, p, fi.Size()/2)
			rehash(t, r, "demoapp-1.2.0.patch")
		}, []string{"repository/targets/demoapp-1.2.0.patch (targets): applied to demoapp-1.1.0.tar.gz it does not give the tar of 1.2.0"}, 0},
		{"patch made from the wrong base", func(t *testing.T, r *Repo) {
			// A patch that applies cleanly but to the wrong release.
			src := filepath.Join(r.TargetsDir(), "demoapp-1.1.0.patch")
			dst := filepath.Join(r.TargetsDir(), "demoapp-1.2.0.patch")
			if err := os.WriteFile(dst, readFile(t, src), 0o644); err != nil {
				t.Fatal(err)
			}
			rehash(t, r, "demoapp-1.2.0.patch")
		}, []string{"demoapp-1.2.0.patch (targets): applied to demoapp-1.1.0.tar.gz"}, 0},
		{"archive that is not the patch's result", func(t *testing.T, r *Repo) {
			dst := filepath.Join(r.TargetsDir(), "demoapp-1.2.0.tar.gz")
			os.Remove(dst)
			if _, err := patch.WriteArchive(context.Background(), bundle("2.0.0a1"), dst); err != nil {
				t.Fatal(err)
			}
			rehash(t, r, "demoapp-1.2.0.tar.gz")
		}, []string{"demoapp-1.2.0.patch (targets): the tar inside demoapp-1.2.0.tar.gz does not match tar_size/tar_hash"}, 0},
		{"unsigned change of targets.json", func(t *testing.T, r *Repo) {
			p := filepath.Join(r.MetadataDir(), "targets.json")
			data := strings.Replace(string(readFile(t, p)), `"required": false`, `"required": true`, 1)
			if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{"repository/metadata/targets.json (targets): not signed to threshold by the keys root v1 gives targets: 0 of 1 valid"}, 0},
		{"snapshot names another targets version", func(t *testing.T, r *Repo) {
			// Signed by the snapshot key, as a buggy tool would write it.
			s, err := loadRoles(r.MetadataDir())
			if err != nil {
				t.Fatal(err)
			}
			s.snapshot.Signed.Meta["targets.json"].Version = 2
			f := s.get(RoleSnapshot)
			payload, _ := f.signedBytes()
			id := roleIDs(&s.root.Signed, RoleSnapshot)[0]
			k, err := r.keys.find(s.root.Signed.Keys[id].Value.PublicKey)
			if err != nil || k == nil {
				t.Fatalf("snapshot key: %v", err)
			}
			f.setSignatures(nil)
			addSignature(f, payload, id, k)
			data, _ := f.marshal()
			if err := os.WriteFile(filepath.Join(r.MetadataDir(), "snapshot.json"), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{"snapshot.json (snapshot): meta says targets.json v2, but targets.json is v4"}, 0},
		{"root.json not the newest", func(t *testing.T, r *Repo) {
			if _, err := r.CreateKey("root2", false); err != nil {
				t.Fatal(err)
			}
			if err := r.AddKey(RoleRoot, "root2"); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(r.MetadataDir(), "root.json"), readFile(t, filepath.Join(r.MetadataDir(), "1.root.json")), 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{"root.json (root): differs from 2.root.json"}, 0},
		{"gap in the root chain", func(t *testing.T, r *Repo) {
			for _, n := range []string{"root2", "root3"} {
				if _, err := r.CreateKey(n, false); err != nil {
					t.Fatal(err)
				}
				if err := r.AddKey(RoleRoot, n); err != nil {
					t.Fatal(err)
				}
			}
			os.Remove(filepath.Join(r.MetadataDir(), "2.root.json"))
		}, []string{"3.root.json (root): unreachable: 2.root.json is missing", "root.json (root): differs from 1.root.json"}, 0},
		{"expired timestamp", func(t *testing.T, r *Repo) {}, []string{"timestamp.json (timestamp): timestamp v4 expired"}, 25 * time.Hour},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := copyReleasedRepo(t, Options{})
			mustVerify(t, r, nil) // sound before
			c.break_(t, r)
			r.opts.Now = func() time.Time { return time.Now().Add(c.now) }
			problems, err := r.Verify(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			var all []string
			for _, p := range problems {
				all = append(all, p.String())
			}
			joined := strings.Join(all, "\n")
			for _, w := range c.want {
				if !strings.Contains(joined, w) {
					t.Errorf("no problem says %q; problems:\n%s", w, joined)
				}
			}
		})
	}
}

func TestStatusWarnsWithinHalfThePeriod(t *testing.T) {
	start := time.Now()
	clock := start
	r := initRepo(t, Options{Now: func() time.Time { return clock }}, nil)
	if err := r.Add(context.Background(), "1.0.0", bundle("1.0.0"), AddOptions{}); err != nil {
		t.Fatal(err)
	}
	p := 30
	if err := r.Add(context.Background(), "1.1.0", bundle("1.1.0"), AddOptions{Required: true, Rollout: &p}); err != nil {
		t.Fatal(err)
	}
	warned := func(at time.Duration) map[string]string {
		clock = start.Add(at)
		st, err := r.Status()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, rs := range st.Roles {
			if rs.Warning != "" {
				out[rs.Role] = rs.Warning
			}
		}
		return out
	}
	if w := warned(0); len(w) != 0 {
		t.Errorf("fresh repository warns: %v", w)
	}
	if w := warned(11 * time.Hour); len(w) != 0 {
		t.Errorf("timestamp with 13h of 24h left warns: %v", w)
	}
	w := warned(13 * time.Hour)
	if len(w) != 1 || !strings.Contains(w[RoleTimestamp], "less than half its 24h period") || !strings.Contains(w[RoleTimestamp], "tufup-repo sign timestamp") {
		t.Errorf("13h: %v", w)
	}
	w = warned(4 * 24 * time.Hour)
	if len(w) != 3 || !strings.Contains(w[RoleTimestamp], "EXPIRED") || w[RoleTargets] == "" || w[RoleSnapshot] == "" || w[RoleRoot] != "" {
		t.Errorf("4 days: %v", w)
	}
	clock = start
	st, _ := r.Status()
	var b strings.Builder
	if err := st.Write(&b); err != nil {
		t.Fatal(err)
	}
	containsAll(t, b.String(), "releases of demoapp: 2", "1.1.0", "yes", "30%", "PATCH/FULL", "timestamp", "v3")
	if len(st.Releases) != 2 || st.Releases[1].PatchSize == 0 || st.Releases[1].ArchiveSize == 0 || st.Releases[1].Rollout != 30 || !st.Releases[1].Required {
		t.Errorf("releases %+v", st.Releases)
	}
}

// A go-tuf updater, as installed clients run it, refreshes from Handler
// over HTTP and downloads a verified target.
func TestServeToGoTUFUpdater(t *testing.T) {
	r := copyReleasedRepo(t, Options{})
	var mu sync.Mutex
	var log []string
	srv := httptest.NewServer(Handler(r.RepoDir(), func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		log = append(log, strings.Fields(fmt.Sprintf(format, args...))[1])
	}))
	defer srv.Close()
	root := readFile(t, filepath.Join(r.MetadataDir(), "1.root.json"))
	cfg, err := config.New(srv.URL+"/metadata/", root)
	if err != nil {
		t.Fatal(err)
	}
	cfg.LocalMetadataDir = t.TempDir()
	cfg.LocalTargetsDir = t.TempDir()
	cfg.RemoteTargetsURL = srv.URL + "/targets/"
	cfg.PrefixTargetsWithHash = false
	up, err := updater.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Refresh(); err != nil {
		t.Fatal(err)
	}
	info, err := up.GetTargetInfo("demoapp-1.2.0.patch")
	if err != nil {
		t.Fatal(err)
	}
	path, _, err := up.DownloadTarget(info, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if string(readFile(t, path)) != string(readFile(t, filepath.Join(r.TargetsDir(), "demoapp-1.2.0.patch"))) {
		t.Error("downloaded patch differs")
	}
	// Nothing outside metadata/ and targets/, no listings, no dot files.
	for _, p := range []string{"/", "/metadata/", "/../keystore/root", "/repository/metadata/root.json", "/targets/.staging-x"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s", p, resp.Status)
		}
	}
	// Close waits for the handlers, and so for their log lines.
	srv.Close()
	mu.Lock()
	joined := strings.Join(log, " ")
	mu.Unlock()
	containsAll(t, joined, "/metadata/timestamp.json", "/metadata/snapshot.json", "/metadata/targets.json", "/targets/demoapp-1.2.0.patch")
}
