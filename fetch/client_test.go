package fetch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/fetch/fetchtest"
)

func TestRefreshAndDownload(t *testing.T) {
	repo := fetchtest.New(t, false)
	archive := bytes.Repeat([]byte("archive "), 50_000)
	patch := []byte("BSDIFF40 pretend patch")
	repo.AddTarget("app-1.0.0.tar.gz", archive)
	tf := repo.AddTarget("app-1.0.0.patch", patch)
	custom := json.RawMessage(`{"tufup":{"tar_hash":"abc","tar_size":7},"user":null}`)
	tf.Custom = &custom
	repo.Publish()
	srv := newServer(t, repo.Dir)

	var logs logBuffer
	var progress []fetch.Progress
	o := options(t, repo, srv.URL)
	o.Logger = logs.logger()
	o.Progress = func(p fetch.Progress) { progress = append(progress, p) }
	c := newClient(t, o)
	if got := c.Targets(); got != nil {
		t.Fatalf("Targets before Refresh = %v, want nil", got)
	}
	refresh(t, c)

	got := c.Targets()
	var names []string
	for _, ti := range got {
		names = append(names, ti.Name)
	}
	if want := []string{"app-1.0.0.patch", "app-1.0.0.tar.gz"}; !slices.Equal(names, want) {
		t.Fatalf("Targets names = %v, want %v", names, want)
	}
	if got[0].Length != int64(len(patch)) || len(got[0].Hashes["sha256"]) != 64 {
		t.Errorf("patch target = %+v", got[0])
	}
	var gotCustom, wantCustom any
	json.Unmarshal(got[0].Custom, &gotCustom)
	json.Unmarshal(custom, &wantCustom)
	if gotCustom == nil || !jsonEqual(gotCustom, wantCustom) {
		t.Errorf("Custom = %s, want %s", got[0].Custom, custom)
	}
	if got[1].Custom != nil {
		t.Errorf("Custom of a target without one = %s, want nil", got[1].Custom)
	}

	dir := t.TempDir()
	for _, ti := range got {
		path, err := c.Download(context.Background(), ti, dir)
		if err != nil {
			t.Fatalf("Download %s: %v", ti.Name, err)
		}
		if path != filepath.Join(dir, ti.Name) {
			t.Errorf("Download returned %s", path)
		}
		if exists(path + ".part") {
			t.Errorf("%s.part left behind", path)
		}
	}
	if !bytes.Equal(mustRead(t, filepath.Join(dir, "app-1.0.0.tar.gz")), archive) {
		t.Error("downloaded archive differs from the published one")
	}
	if !bytes.Equal(mustRead(t, filepath.Join(dir, "app-1.0.0.patch")), patch) {
		t.Error("downloaded patch differs from the published one")
	}

	// Metadata is cached unversioned, as tufup and the conformance suite expect.
	for _, f := range []string{"root.json", "timestamp.json", "snapshot.json", "targets.json"} {
		if !exists(filepath.Join(o.MetadataDir, f)) {
			t.Errorf("metadata cache lacks %s", f)
		}
	}
	// tufup layout: plain target names, unversioned metadata, our User-Agent.
	var paths []string
	for _, r := range srv.requests() {
		paths = append(paths, r.Path)
		if r.UserAgent != "fetch-test/1.0" {
			t.Errorf("request %s had User-Agent %q", r.Path, r.UserAgent)
		}
	}
	want := []string{"/metadata/2.root.json", "/metadata/timestamp.json", "/metadata/snapshot.json",
		"/metadata/targets.json", "/targets/app-1.0.0.patch", "/targets/app-1.0.0.tar.gz"}
	if !slices.Equal(paths, want) {
		t.Errorf("requests = %v, want %v", paths, want)
	}

	// Progress: per target, Done never decreases and ends at Total.
	last := map[string]fetch.Progress{}
	for _, p := range progress {
		if prev, ok := last[p.Target]; ok && p.Done < prev.Done {
			t.Errorf("progress went backwards: %+v after %+v", p, prev)
		}
		last[p.Target] = p
	}
	for _, ti := range got {
		if p := last[ti.Name]; p.Done != ti.Length || p.Total != ti.Length {
			t.Errorf("last progress of %s = %+v, want Done = Total = %d", ti.Name, p, ti.Length)
		}
	}
	// A log line per file with size, time and rate.
	for _, ti := range got {
		line := findLine(logs.String(), "target downloaded", "target="+ti.Name)
		if line == "" || !strings.Contains(line, "bytes=") || !strings.Contains(line, "took=") || !strings.Contains(line, "mib_per_s=") {
			t.Errorf("no complete download log line for %s in:\n%s", ti.Name, logs.String())
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func findLine(log string, subs ...string) string {
	for _, line := range strings.Split(log, "\n") {
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(line, s)
		}
		if ok {
			return line
		}
	}
	return ""
}

func TestDownloadAlreadyThereMakesNoRequest(t *testing.T) {
	repo := fetchtest.New(t, false)
	repo.AddTarget("app-1.0.0.tar.gz", []byte("release one"))
	repo.Publish()
	srv := newServer(t, repo.Dir)
	c := newClient(t, options(t, repo, srv.URL))
	refresh(t, c)
	ti := target(t, c, "app-1.0.0.tar.gz")
	dir := t.TempDir()
	if _, err := c.Download(context.Background(), ti, dir); err != nil {
		t.Fatal(err)
	}
	before := len(srv.requests())
	path, err := c.Download(context.Background(), ti, dir)
	if err != nil {
		t.Fatal(err)
	}
	if after := len(srv.requests()); after != before {
		t.Fatalf("second Download made %d requests, want none", after-before)
	}
	if string(mustRead(t, path)) != "release one" {
		t.Fatal("wrong content")
	}

	// A file there with other bytes is replaced by the verified target.
	os.WriteFile(path, []byte("tampered!!!"), 0o644)
	if _, err := c.Download(context.Background(), ti, dir); err != nil {
		t.Fatal(err)
	}
	if string(mustRead(t, path)) != "release one" {
		t.Fatal("a tampered file in the download folder was kept")
	}
}

func TestTargetNamesMustBePlainFileNames(t *testing.T) {
	repo := fetchtest.New(t, false)
	srv := newServer(t, repo.Dir)
	c := newClient(t, options(t, repo, srv.URL))
	dir := t.TempDir()
	hashes := map[string]string{"sha256": strings.Repeat("0", 64)}
	for _, name := range []string{"", "../evil", "..", ".", "a/b.tar.gz", `a\b`, "C:evil", "x\x00y", "app.tar.gz.part"} {
		_, err := c.Download(context.Background(), fetch.TargetInfo{Name: name, Length: 1, Hashes: hashes}, dir)
		if err == nil {
			t.Errorf("Download accepted target name %q", name)
		}
	}
	for _, name := range []string{"a//b", "a/../b", "/a", "a/"} {
		err := c.DownloadAs(context.Background(), fetch.TargetInfo{Name: name, Length: 1, Hashes: hashes}, filepath.Join(dir, "x"))
		if err == nil {
			t.Errorf("DownloadAs accepted target path %q", name)
		}
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("bad names caused %d requests", n)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("bad names left files: %v", entries)
	}
}

// Under consistent snapshots (the TUF conformance suite's default) snapshot
// and targets metadata are versioned and target URLs hash-prefixed; the
// conformance client's target paths may have folders.
func TestConsistentSnapshotAndTargetPaths(t *testing.T) {
	repo := fetchtest.New(t, true)
	tf := repo.AddTarget("dir/sub/file.txt", []byte("nested target"))
	repo.Publish()
	srv := newServer(t, repo.Dir)
	c := newClient(t, options(t, repo, srv.URL))
	refresh(t, c)
	ti, err := c.Target(context.Background(), "dir/sub/file.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Download(context.Background(), ti, t.TempDir()); err == nil {
		t.Fatal("Download accepted a target path with folders; only DownloadAs may")
	}
	dest := filepath.Join(t.TempDir(), url.PathEscape(ti.Name))
	if err := c.DownloadAs(context.Background(), ti, dest); err != nil {
		t.Fatal(err)
	}
	if string(mustRead(t, dest)) != "nested target" {
		t.Fatal("wrong content")
	}
	var paths []string
	for _, r := range srv.requests() {
		paths = append(paths, r.Path)
	}
	hashed := "/targets/dir/sub/" + ti.Hashes["sha256"] + ".file.txt"
	for _, p := range []string{"/metadata/2.snapshot.json", "/metadata/2.targets.json", hashed} {
		if !slices.Contains(paths, p) {
			t.Errorf("no request for %s in %v", p, paths)
		}
	}
	_ = tf
}

func TestRootRotation(t *testing.T) {
	repo := fetchtest.New(t, false)
	repo.AddTarget("app-1.0.0.tar.gz", []byte("one"))
	repo.Publish()
	srv := newServer(t, repo.Dir)
	o := options(t, repo, srv.URL)
	c := newClient(t, o)
	refresh(t, c)

	// New root and timestamp keys: the old timestamp key no longer counts.
	repo.RotateKeys(metadata.ROOT, metadata.TIMESTAMP)
	repo.RotateKeys(metadata.ROOT)
	repo.AddTarget("app-2.0.0.tar.gz", []byte("two"))
	repo.Publish()
	refresh(t, c)
	target(t, c, "app-2.0.0.tar.gz")
	if v := rootVersion(t, filepath.Join(o.MetadataDir, "root.json")); v != 3 {
		t.Errorf("cached root version = %d, want 3", v)
	}

	// A fresh install that ships root v1 walks 2.root.json and 3.root.json.
	o2 := options(t, repo, srv.URL)
	c2 := newClient(t, o2)
	refresh(t, c2)
	target(t, c2, "app-2.0.0.tar.gz")

	// The cached root v3 is used over the shipped v1: without it the
	// client could not reach v3 now that the server lost 2.root.json.
	os.Remove(filepath.Join(repo.MetadataDir(), "2.root.json"))
	refresh(t, newClient(t, o2))
	o3 := options(t, repo, srv.URL)
	if err := newClient(t, o3).Refresh(context.Background()); err == nil {
		t.Fatal("a fresh client walked past a missing 2.root.json")
	}
}

func rootVersion(t *testing.T, path string) int64 {
	t.Helper()
	root, err := metadata.Root().FromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return root.Signed.Version
}

func TestRootRotationNotSignedByOldKeyRefused(t *testing.T) {
	repo := fetchtest.New(t, false)
	srv := newServer(t, repo.Dir)
	o := options(t, repo, srv.URL)
	c := newClient(t, o)
	refresh(t, c)
	// An attacker's root v2 signed only with its own new key.
	evil := fetchtest.New(t, false)
	evil.Root.Signed.Version = 2
	evil.PublishRoot()
	os.WriteFile(filepath.Join(repo.MetadataDir(), "2.root.json"), mustRead(t, filepath.Join(evil.MetadataDir(), "2.root.json")), 0o644)
	err := c.Refresh(context.Background())
	if !errors.Is(err, &metadata.ErrUnsignedMetadata{}) {
		t.Fatalf("Refresh with a root v2 not signed by v1's key: err = %v, want unsigned metadata", err)
	}
	if v := rootVersion(t, filepath.Join(o.MetadataDir, "root.json")); v != 1 {
		t.Errorf("cached root version = %d after the refused rotation, want 1", v)
	}
}

func TestCorruptCachedRootFallsBackToShipped(t *testing.T) {
	repo := fetchtest.New(t, false)
	repo.AddTarget("app-1.0.0.tar.gz", []byte("one"))
	repo.Publish()
	srv := newServer(t, repo.Dir)
	for _, junk := range [][]byte{nil, []byte("{not json"), []byte(`{"signed":{"_type":"root"},"signatures":[]}`)} {
		var logs logBuffer
		o := options(t, repo, srv.URL)
		o.Logger = logs.logger()
		os.MkdirAll(o.MetadataDir, 0o755)
		os.WriteFile(filepath.Join(o.MetadataDir, "root.json"), junk, 0o644)
		c := newClient(t, o)
		refresh(t, c)
		target(t, c, "app-1.0.0.tar.gz")
		if !strings.Contains(logs.String(), "cached root metadata is unusable") {
			t.Errorf("corrupt cached root %q not logged:\n%s", junk, logs.String())
		}
		if v := rootVersion(t, filepath.Join(o.MetadataDir, "root.json")); v != 1 {
			t.Errorf("root.json not repaired")
		}
	}
}

func TestNoTrustedRoot(t *testing.T) {
	repo := fetchtest.New(t, false)
	srv := newServer(t, repo.Dir)
	o := options(t, repo, srv.URL)
	o.TrustedRoot = nil
	err := newClient(t, o).Refresh(context.Background())
	if err == nil || !strings.Contains(err.Error(), "root.json") {
		t.Fatalf("Refresh without any root: err = %v", err)
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("%d requests without a trusted root", n)
	}
}

// A crash or a disk error can leave cached metadata unreadable; that must
// not make every later Refresh fail.
func TestCorruptCachedMetadataRecovers(t *testing.T) {
	for _, role := range []string{"timestamp", "snapshot", "targets"} {
		for _, junk := range []string{"", "{\"signed\": trunc", `{"signed":{"_type":"snapshot"},"signatures":[]}`, "null"} {
			t.Run(role, func(t *testing.T) {
				repo := fetchtest.New(t, false)
				repo.AddTarget("app-1.0.0.tar.gz", []byte("one"))
				repo.Publish()
				srv := newServer(t, repo.Dir)
				var logs logBuffer
				o := options(t, repo, srv.URL)
				o.Logger = logs.logger()
				refresh(t, newClient(t, o))
				path := filepath.Join(o.MetadataDir, role+".json")
				os.WriteFile(path, []byte(junk), 0o644)
				c := newClient(t, o)
				if err := c.Refresh(context.Background()); err != nil {
					t.Fatalf("Refresh with %s.json = %q: %v", role, junk, err)
				}
				target(t, c, "app-1.0.0.tar.gz")
				if _, err := metadata.Timestamp().FromFile(filepath.Join(o.MetadataDir, "timestamp.json")); err != nil {
					t.Errorf("timestamp.json unusable after recovery: %v", err)
				}
				if err := newClient(t, o).Refresh(context.Background()); err != nil {
					t.Errorf("second Refresh after recovery: %v", err)
				}
			})
		}
	}
}

func TestRefTime(t *testing.T) {
	repo := fetchtest.New(t, false)
	repo.Timestamp.Signed.Expires = time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	repo.Publish()
	srv := newServer(t, repo.Dir)
	o := options(t, repo, srv.URL)
	err := newClient(t, o).Refresh(context.Background())
	if !errors.Is(err, &metadata.ErrExpiredMetadata{}) {
		t.Fatalf("expired timestamp: err = %v, want expired", err)
	}
	o.RefTime = time.Now().Add(-2 * time.Hour)
	refresh(t, newClient(t, o))
}

func TestFileURLRepository(t *testing.T) {
	repo := fetchtest.New(t, false)
	data := bytes.Repeat([]byte("usb stick "), 10_000)
	repo.AddTarget("app-1.0.0.tar.gz", data)
	repo.Publish()
	repo.RotateKeys(metadata.ROOT) // so the root walk reads 2.root.json and stops at a missing 3.root.json
	base := (&url.URL{Scheme: "file", Path: filepath.ToSlash(repo.Dir)}).String()
	o := options(t, repo, base)
	c := newClient(t, o)
	refresh(t, c)
	if v := rootVersion(t, filepath.Join(o.MetadataDir, "root.json")); v != 2 {
		t.Errorf("root version %d, want 2", v)
	}
	ti := target(t, c, "app-1.0.0.tar.gz")
	dir := t.TempDir()
	path, err := c.Download(context.Background(), ti, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustRead(t, path), data) {
		t.Fatal("wrong content")
	}
	// Resume works on files too.
	os.Remove(path)
	os.WriteFile(path+".part", data[:1000], 0o644)
	if _, err := c.Download(context.Background(), ti, dir); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustRead(t, path), data) {
		t.Fatal("wrong content after resume")
	}
	// Wrong bytes on the stick are refused.
	os.Remove(path)
	bad := bytes.Repeat([]byte("x"), len(data))
	os.WriteFile(repo.TargetPath("app-1.0.0.tar.gz"), bad, 0o644)
	var bce *fetch.BadContentError
	if _, err := c.Download(context.Background(), ti, dir); !errors.As(err, &bce) {
		t.Fatalf("wrong bytes over file://: err = %v, want BadContentError", err)
	}
	if exists(path) || exists(path+".part") {
		t.Fatal("wrong bytes left a file behind")
	}
}

// The shipped tufup 0.10 fixture is a real repository made by Python tufup.
func TestTufupFixture(t *testing.T) {
	fixture, err := filepath.Abs("../testdata/tufup-0.10-demoapp/repository")
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, fixture)
	root := mustRead(t, filepath.Join(fixture, "metadata", "1.root.json"))
	c := newClient(t, fetch.Options{
		MetadataURL: srv.URL + "/metadata", TargetsURL: srv.URL + "/targets",
		MetadataDir: t.TempDir(), TrustedRoot: root,
	})
	refresh(t, c)
	var names []string
	for _, ti := range c.Targets() {
		names = append(names, ti.Name)
	}
	want := []string{"demoapp-1.0.0.tar.gz", "demoapp-1.1.0.patch", "demoapp-1.1.0.tar.gz", "demoapp-1.2.0.patch",
		"demoapp-1.2.0.tar.gz", "demoapp-2.0.0a1.patch", "demoapp-2.0.0a1.tar.gz"}
	if !slices.Equal(names, want) {
		t.Fatalf("targets = %v, want %v", names, want)
	}
	ti := target(t, c, "demoapp-1.2.0.patch")
	var custom struct {
		Tufup struct {
			TarSize int64 `json:"tar_size"`
		} `json:"tufup"`
	}
	if err := json.Unmarshal(ti.Custom, &custom); err != nil || custom.Tufup.TarSize == 0 {
		t.Errorf("custom of %s = %s (%v)", ti.Name, ti.Custom, err)
	}
	path, err := c.Download(context.Background(), ti, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustRead(t, path), mustRead(t, filepath.Join(fixture, "targets", ti.Name))) {
		t.Fatal("wrong content")
	}
}
