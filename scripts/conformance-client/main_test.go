package main_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufup-go/tufup/fetch/fetchtest"
)

var client string // the built binary

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "conformance-client")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	client = filepath.Join(dir, "conformance-client")
	if runtime.GOOS == "windows" {
		client += ".exe"
	}
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", client, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// suite plays the conformance suite's part: a repository on an HTTP server
// that logs requests, and the client's metadata and target folders.
type suite struct {
	t        *testing.T
	repo     *fetchtest.Repo
	srv      *httptest.Server
	mu       sync.Mutex
	paths    []string
	meta     string
	targets  string
	rootFile string
	env      []string
}

func newSuite(t *testing.T) *suite {
	s := &suite{t: t, repo: fetchtest.New(t, true)}
	files := http.FileServer(http.Dir(s.repo.Dir))
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.paths = append(s.paths, r.URL.Path)
		s.mu.Unlock()
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	dir := t.TempDir()
	s.meta, s.targets = filepath.Join(dir, "metadata"), filepath.Join(dir, "targets")
	os.Mkdir(s.meta, 0o755)
	os.Mkdir(s.targets, 0o755)
	s.rootFile = filepath.Join(dir, "initial_root.json")
	os.WriteFile(s.rootFile, s.repo.TrustedRoot(), 0o644)
	return s
}

func (s *suite) run(args ...string) int {
	s.t.Helper()
	cmd := exec.Command(client, args...)
	cmd.Env = append(os.Environ(), s.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	s.t.Logf("%s:\n%s", strings.Join(args, " "), out.String())
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	s.t.Fatal(err)
	return -1
}

func (s *suite) init() int {
	return s.run("--metadata-dir", s.meta, "init", s.rootFile)
}

func (s *suite) refresh() int {
	return s.run("--metadata-url", s.srv.URL+"/metadata", "--metadata-dir", s.meta, "refresh")
}

func (s *suite) download(names ...string) int {
	args := []string{"--metadata-url", s.srv.URL + "/metadata", "--metadata-dir", s.meta}
	for _, n := range names {
		args = append(args, "--target-name", n)
	}
	return s.run(append(args, "--target-dir", s.targets, "--target-base-url", s.srv.URL+"/targets", "download")...)
}

func (s *suite) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.paths...)
}

func (s *suite) targetRequests() int {
	n := 0
	for _, p := range s.requests() {
		if strings.HasPrefix(p, "/targets/") {
			n++
		}
	}
	return n
}

func (s *suite) downloaded() map[string]string {
	out := map[string]string{}
	entries, err := os.ReadDir(s.targets)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(s.targets, e.Name()))
		out[e.Name()] = string(data)
	}
	return out
}

func (s *suite) version(role string) int64 {
	s.t.Helper()
	var v int64
	path := filepath.Join(s.meta, role+".json")
	var err error
	switch role {
	case "root":
		var md *metadata.Metadata[metadata.RootType]
		md, err = metadata.Root().FromFile(path)
		if err == nil {
			v = md.Signed.Version
		}
	case "timestamp":
		var md *metadata.Metadata[metadata.TimestampType]
		md, err = metadata.Timestamp().FromFile(path)
		if err == nil {
			v = md.Signed.Version
		}
	case "snapshot":
		var md *metadata.Metadata[metadata.SnapshotType]
		md, err = metadata.Snapshot().FromFile(path)
		if err == nil {
			v = md.Signed.Version
		}
	case "targets":
		var md *metadata.Metadata[metadata.TargetsType]
		md, err = metadata.Targets().FromFile(path)
		if err == nil {
			v = md.Signed.Version
		}
	}
	if err != nil {
		s.t.Fatalf("%s: %v", path, err)
	}
	return v
}

func TestInit(t *testing.T) {
	s := newSuite(t)
	if code := s.init(); code != 0 {
		t.Fatalf("init exit %d", code)
	}
	if got, _ := os.ReadFile(filepath.Join(s.meta, "root.json")); !bytes.Equal(got, s.repo.TrustedRoot()) {
		t.Fatal("root.json is not the trusted root given")
	}
	if n := len(s.requests()); n != 0 {
		t.Fatalf("init made %d requests", n)
	}
	if code := s.run("--metadata-dir", s.meta, "init", filepath.Join(t.TempDir(), "missing.json")); code != 1 {
		t.Fatalf("init of a missing root: exit %d, want 1", code)
	}
	if code := s.run("--metadata-dir", s.meta, "frobnicate"); code != 1 {
		t.Fatalf("unknown command: exit %d, want 1", code)
	}
}

func TestRefresh(t *testing.T) {
	s := newSuite(t)
	s.init()
	s.repo.RotateKeys(metadata.ROOT)
	s.repo.Publish()
	if code := s.refresh(); code != 0 {
		t.Fatalf("refresh exit %d", code)
	}
	for role, want := range map[string]int64{"root": 2, "timestamp": 2, "snapshot": 2, "targets": 2} {
		if v := s.version(role); v != want {
			t.Errorf("trusted %s version %d, want %d", role, v, want)
		}
	}
	for _, f := range []string{"2.root.json", "2.snapshot.json", "2.targets.json"} {
		if _, err := os.Stat(filepath.Join(s.meta, f)); err == nil {
			t.Errorf("versioned file %s in the metadata dir", f)
		}
	}
	// Bad signatures fail the refresh and leave the trusted state alone.
	s.repo.Timestamp.Signed.Version++
	s.repo.Resign()
	ts := filepath.Join(s.repo.MetadataDir(), "timestamp.json")
	data, _ := os.ReadFile(ts)
	os.WriteFile(ts, bytes.Replace(data, []byte(`"version": 3`), []byte(`"version": 4`), 1), 0o644)
	if code := s.refresh(); code != 1 {
		t.Fatalf("refresh with a tampered timestamp: exit %d, want 1", code)
	}
	if v := s.version("timestamp"); v != 2 {
		t.Errorf("trusted timestamp version %d after a refused one, want 2", v)
	}
}

func TestDownloadAndCache(t *testing.T) {
	s := newSuite(t)
	s.init()
	s.repo.AddTarget("target_file.txt", []byte("target file contents"))
	s.repo.AddTarget("path/to/a/target_file.txt", []byte("nested contents"))
	s.repo.Publish()
	if code := s.download("target_file.txt", "path/to/a/target_file.txt"); code != 0 {
		t.Fatalf("download exit %d", code)
	}
	want := map[string]string{
		"target_file.txt": "target file contents",
		url.PathEscape("path/to/a/target_file.txt"): "nested contents",
	}
	if got := s.downloaded(); !mapsEqual(got, want) {
		t.Fatalf("downloaded %v, want %v", got, want)
	}
	// Consistent snapshots: hash-prefixed target URLs.
	tf := s.repo.Targets.Signed.Targets["path/to/a/target_file.txt"]
	hashed := fmt.Sprintf("/targets/path/to/a/%x.target_file.txt", []byte(tf.Hashes["sha256"]))
	if !contains(s.requests(), hashed) {
		t.Errorf("no request for %s in %v", hashed, s.requests())
	}

	before := s.targetRequests()
	if code := s.download("target_file.txt", "path/to/a/target_file.txt"); code != 0 {
		t.Fatalf("second download exit %d", code)
	}
	if n := s.targetRequests() - before; n != 0 {
		t.Errorf("second download made %d target requests, want 0", n)
	}

	// A changed target (new signed hash) is fetched again, to the same file.
	s.repo.AddTarget("target_file.txt", []byte("new contents"))
	s.repo.Publish()
	if code := s.download("target_file.txt"); code != 0 {
		t.Fatalf("download of the changed target: exit %d", code)
	}
	if got := s.downloaded()["target_file.txt"]; got != "new contents" {
		t.Errorf("changed target holds %q", got)
	}
}

func TestDownloadStopsAtFirstFailure(t *testing.T) {
	s := newSuite(t)
	s.init()
	s.repo.AddTarget("good.txt", []byte("good"))
	s.repo.Publish()
	if code := s.download("missing.txt", "good.txt"); code != 1 {
		t.Fatalf("download of a missing target: exit %d, want 1", code)
	}
	if n := s.targetRequests(); n != 0 || len(s.downloaded()) != 0 {
		t.Fatalf("went on after the failure: %d target requests, files %v", n, s.downloaded())
	}
}

func TestHashMismatch(t *testing.T) {
	s := newSuite(t)
	s.init()
	s.repo.AddTarget("target_file.txt", []byte("target file contents"))
	s.repo.Publish()
	os.WriteFile(s.repo.TargetPath("target_file.txt"), []byte("malicious data - should not dl"), 0o644)
	if code := s.download("target_file.txt"); code != 1 {
		t.Fatalf("download of wrong bytes: exit %d, want 1", code)
	}
	if got := s.downloaded(); len(got) != 0 {
		t.Fatalf("wrong bytes kept: %v", got)
	}
}

// Under libfaketime the suite's clock is only visible to C programs: the
// client must ask `date`. A fake date first on PATH plays libfaketime.
func TestFakeTime(t *testing.T) {
	s := newSuite(t)
	s.init()
	s.repo.Timestamp.Signed.Expires = time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	s.repo.Publish()
	if code := s.refresh(); code != 1 {
		t.Fatalf("refresh with an expired timestamp: exit %d, want 1", code)
	}

	bin := t.TempDir()
	past := time.Now().Add(-2 * time.Hour).Unix()
	script := fmt.Sprintf("#!/bin/sh\n[ \"$1\" = +%%s ] || exit 2\necho %d\n", past)
	if err := os.WriteFile(filepath.Join(bin, "date"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	s.env = []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "FAKETIME=-2h"}
	if code := s.refresh(); code != 0 {
		t.Fatalf("refresh at the faked time: exit %d, want 0", code)
	}
	// The fake date alone, without FAKETIME, changes nothing.
	s.env = s.env[:1]
	s.repo.PublishTimestamp()
	if code := s.refresh(); code != 1 {
		t.Fatalf("refresh without FAKETIME: exit %d, want 1", code)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v != w {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
