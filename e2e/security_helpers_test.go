package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/secure-systems-lab/go-securesystemslib/cjson"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufup-go/tufup/internal/sandbox"
	"github.com/tufup-go/tufup/patch"
	"github.com/tufup-go/tufup/repo"
)

// secEnv is an env whose server an attacker controls: it can answer the
// metadata of an earlier repository state, replace single files, or
// misbehave through a hook, in front of the honest repository on disk.
type secEnv struct {
	*env

	mu    sync.Mutex
	state repoState         // when set, /metadata/ is answered from it alone
	files map[string][]byte // URL path -> body, over state and disk
	hook  func(w http.ResponseWriter, r *http.Request) bool
}

// repoState is a copy of a repository's metadata folder: file name -> bytes.
type repoState map[string][]byte

func newSecEnv(t *testing.T) *secEnv {
	t.Helper()
	s := &secEnv{env: newEnv(t)}
	s.srv.Intercept(s.serve)
	return s
}

func (s *secEnv) serve(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	state, files, hook := s.state, s.files, s.hook
	s.mu.Unlock()
	if hook != nil && hook(w, r) {
		return true
	}
	if data, ok := files[r.URL.Path]; ok {
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data)
		return true
	}
	if name, ok := strings.CutPrefix(r.URL.Path, "/metadata/"); ok && state != nil {
		data, ok := state[name]
		if !ok {
			http.NotFound(w, r)
			return true
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data)
		return true
	}
	return false
}

// saveState copies the repository's metadata as it is now.
func (s *secEnv) saveState() repoState {
	s.t.Helper()
	entries, err := os.ReadDir(s.metadataDir())
	if err != nil {
		s.t.Fatal(err)
	}
	st := repoState{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(s.metadataDir(), e.Name()))
		if err != nil {
			s.t.Fatal(err)
		}
		st[e.Name()] = data
	}
	return st
}

// serveState answers metadata requests from st alone (nil: from disk).
func (s *secEnv) serveState(st repoState) {
	s.mu.Lock()
	s.state = st
	s.mu.Unlock()
}

// serveFiles answers the given URL paths with the given bodies.
func (s *secEnv) serveFiles(files map[string][]byte) {
	s.mu.Lock()
	s.files = maps.Clone(files)
	s.mu.Unlock()
}

// intercept lets hook answer requests itself (nil: stop).
func (s *secEnv) intercept(hook func(w http.ResponseWriter, r *http.Request) bool) {
	s.mu.Lock()
	s.hook = hook
	s.mu.Unlock()
}

// honest stops every attack: the repository on disk is served as it is.
func (s *secEnv) honest() {
	s.mu.Lock()
	s.state, s.files, s.hook = nil, nil, nil
	s.mu.Unlock()
}

// installAt makes a fresh install, reporting to t (a subtest), whose first
// start sees the repository state st (its newest release, version, gets
// installed), then serves the honest repository again.
func (s *secEnv) installAt(t *testing.T, st repoState, version string, extra map[string]any) *install {
	t.Helper()
	s.serveState(st)
	in := s.newInstall(extra)
	in.t = t
	in.start(version)
	s.honest()
	return in
}

// key reads a private key of the build machine's keystore.
func (s *secEnv) key(name string) ed25519.PrivateKey {
	s.t.Helper()
	path := filepath.Join(s.work, "keystore", name)
	k, err := repo.ReadPrivateKey(path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	// repo.Key does not hand out its private half; the file has the seed.
	data, err := os.ReadFile(path)
	if err != nil {
		s.t.Fatal(err)
	}
	var f struct {
		KeyVal struct {
			Private string `json:"private"`
		} `json:"keyval"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		s.t.Fatal(err)
	}
	seed, err := hex.DecodeString(f.KeyVal.Private)
	if err != nil || len(seed) != ed25519.SeedSize {
		s.t.Fatalf("key %s: bad seed", path)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	if !priv.Public().(ed25519.PublicKey).Equal(k.Public) {
		s.t.Fatalf("key %s: seed does not match the public key", path)
	}
	return priv
}

// attackerKey is a key no repository trusts.
func attackerKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func tufKey(k ed25519.PrivateKey) (string, *metadata.Key) {
	pub := k.Public().(ed25519.PublicKey)
	return repo.KeyID(pub), &metadata.Key{
		Type:   metadata.KeyTypeEd25519,
		Scheme: metadata.KeySchemeEd25519,
		Value:  metadata.KeyVal{PublicKey: hex.EncodeToString(pub)},
	}
}

// parseRole reads metadata of role type T.
func parseRole[T metadata.Roles](t testing.TB, data []byte) *metadata.Metadata[T] {
	t.Helper()
	m, err := new(metadata.Metadata[T]).FromBytes(data)
	if err != nil {
		t.Fatalf("parse metadata: %v", err)
	}
	return m
}

// signRole replaces m's signatures with ones by keys, with the key ids
// the repository uses, and returns the file.
func signRole[T metadata.Roles](t testing.TB, m *metadata.Metadata[T], keys ...ed25519.PrivateKey) []byte {
	t.Helper()
	payload, err := cjson.EncodeCanonical(m.Signed)
	if err != nil {
		t.Fatal(err)
	}
	m.Signatures = []metadata.Signature{}
	for _, k := range keys {
		id, _ := tufKey(k)
		m.Signatures = append(m.Signatures, metadata.Signature{KeyID: id, Signature: ed25519.Sign(k, payload)})
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// roleVersion is the version of any metadata file.
func roleVersion(t testing.TB, data []byte) int64 {
	t.Helper()
	var m struct {
		Signed struct {
			Version int64 `json:"version"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("metadata version: %v", err)
	}
	return m.Signed.Version
}

// forgeTimestamp re-signs the timestamp base with keys, as version, expiring
// at expires, pointing at snapshot version snap.
func forgeTimestamp(t testing.TB, base []byte, version, snap int64, expires time.Time, keys ...ed25519.PrivateKey) []byte {
	t.Helper()
	ts := parseRole[metadata.TimestampType](t, base)
	ts.Signed.Version = version
	ts.Signed.Expires = expires
	ts.Signed.Meta["snapshot.json"].Version = snap
	return signRole(t, ts, keys...)
}

// malware is a working release of the sample app that no publisher made:
// the app plus a MALWARE file, as a tufup archive.
func (s *secEnv) malware(version string) (name string, data []byte) {
	s.t.Helper()
	dir := filepath.Join(s.t.TempDir(), "malware")
	if err := sandbox.WriteBundle(dir, version, s.bins.SampleApp, sandbox.BundleOptions{
		DataSize: 1024, Extra: map[string]string{"MALWARE": "installed by an attacker"},
	}); err != nil {
		s.t.Fatal(err)
	}
	out := filepath.Join(s.t.TempDir(), "malware.tar.gz")
	if _, err := patch.WriteArchive(context.Background(), dir, out); err != nil {
		s.t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		s.t.Fatal(err)
	}
	return "sampleapp-" + version + ".tar.gz", data
}

// malwareOfLength is a working archive of the sample app labelled version,
// with a MALWARE file, exactly length bytes long: the gzip header's extra
// field pads it (readers skip that field).
func (s *secEnv) malwareOfLength(version string, length int64) []byte {
	s.t.Helper()
	dataSize := int(length) - 48<<10 // random data does not compress
	for try := 0; try < 8; try++ {
		dir := filepath.Join(s.t.TempDir(), "malware")
		if err := sandbox.WriteBundle(dir, version, s.bins.SampleApp, sandbox.BundleOptions{
			DataSize: max(dataSize, 1), Extra: map[string]string{"MALWARE": "installed by an attacker"},
		}); err != nil {
			s.t.Fatal(err)
		}
		var tarBuf bytes.Buffer
		if err := patch.WriteTar(context.Background(), dir, &tarBuf); err != nil {
			s.t.Fatal(err)
		}
		gz := func(extra []byte) []byte {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Extra = extra
			zw.Write(tarBuf.Bytes())
			if err := zw.Close(); err != nil {
				s.t.Fatal(err)
			}
			return b.Bytes()
		}
		// An extra field of n bytes costs n+2 (its length field).
		pad := length - int64(len(gz(nil))) - 2
		if pad >= 0 && pad <= 0xffff {
			out := gz(make([]byte, pad))
			if int64(len(out)) != length {
				s.t.Fatalf("padded malware is %d bytes, want %d", len(out), length)
			}
			return out
		}
		dataSize += int(pad) - 32<<10
	}
	s.t.Fatalf("cannot make a working archive of exactly %d bytes", length)
	return nil
}

// addTarget lists a target in targets metadata.
func addTarget(m *metadata.Metadata[metadata.TargetsType], name string, data []byte) {
	sum := sha256.Sum256(data)
	m.Signed.Targets[name] = &metadata.TargetFiles{
		Length: int64(len(data)),
		Hashes: metadata.Hashes{"sha256": sum[:]},
		Path:   name,
	}
}

// versionsTree describes everything under versions/ and the pointer.
func (in *install) versionsTree() map[string]string {
	in.t.Helper()
	tree, err := treeOf(filepath.Join(in.dir, "versions"))
	if err != nil {
		in.t.Fatal(err)
	}
	tree["(current)"] = in.current()
	return tree
}

// refused starts the launcher under attack and requires what every attack
// must end in: the app version want starts as before, versions/ and the
// current pointer are unchanged, and launcher.log says the update failed
// and why (each of causes). It returns the log lines of this start.
func (in *install) refused(want string, causes ...string) string {
	in.t.Helper()
	before := in.versionsTree()
	logged := len(in.log())
	in.start(want)
	log := in.log()[logged:]
	if !strings.Contains(log, "update failed") {
		in.t.Fatalf("the update was not refused, or the refusal not logged:\n%s", log)
	}
	for _, c := range causes {
		if !strings.Contains(log, c) {
			in.t.Fatalf("launcher.log does not name the cause %q:\n%s", c, log)
		}
	}
	if after := in.versionsTree(); !maps.Equal(before, after) {
		in.t.Fatalf("versions/ changed under attack:\nbefore %v\nafter  %v", before, after)
	}
	return log
}

// cachedVersion is the version of a role in the launcher's metadata cache.
func (in *install) cachedVersion(role string) int64 {
	in.t.Helper()
	data, err := os.ReadFile(filepath.Join(in.dir, ".tufup", "metadata", role+".json"))
	if err != nil {
		in.t.Fatal(err)
	}
	return roleVersion(in.t, data)
}

// rawServer is a hostile HTTP server written on bare TCP, so that it can
// send what net/http would refuse to (more body than its Content-Length).
// Paths without a handler are fetched from upstream and passed on.
type rawServer struct {
	URL      string
	upstream string
	sent     atomic.Int64 // body bytes the handlers sent
	wg       sync.WaitGroup
	mu       sync.Mutex
	handlers map[string]func(conn net.Conn)
}

func newRawServer(t *testing.T, upstream string) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{URL: "http://" + ln.Addr().String(), upstream: upstream}
	var accept sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		accept.Wait()
		s.wg.Wait()
	})
	accept.Add(1)
	go func() {
		defer accept.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer conn.Close()
				s.handle(conn)
			}()
		}
	}()
	return s
}

// on makes path answered by handle (nil: passed on upstream).
func (s *rawServer) on(path string, handle func(conn net.Conn)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handlers == nil {
		s.handlers = map[string]func(net.Conn){}
	}
	if handle == nil {
		delete(s.handlers, path)
	} else {
		s.handlers[path] = handle
	}
}

func (s *rawServer) handle(conn net.Conn) {
	req, err := http.ReadRequest(bufio.NewReader(conn))
	if err != nil {
		return
	}
	s.mu.Lock()
	h := s.handlers[req.URL.Path]
	s.mu.Unlock()
	if h != nil {
		h(conn)
		return
	}
	up, err := http.NewRequest(http.MethodGet, s.upstream+req.URL.Path, nil)
	if err != nil {
		return
	}
	if r := req.Header.Get("Range"); r != "" {
		up.Header.Set("Range", r)
	}
	resp, err := http.DefaultClient.Do(up)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	resp.Close = true // one request per connection keeps this simple
	resp.Write(conn)
}

// endless answers with head (status line and headers), then prefix, then
// zeros until the client goes away or limit bytes went out.
func (s *rawServer) endless(head string, prefix []byte, limit int64) func(net.Conn) {
	return func(conn net.Conn) {
		if _, err := io.WriteString(conn, "HTTP/1.1 200 OK\r\nConnection: close\r\n"+head+"\r\n"); err != nil {
			return
		}
		n, err := conn.Write(prefix)
		s.sent.Add(int64(n))
		if err != nil {
			return
		}
		chunk := make([]byte, 32<<10)
		for s.sent.Load() < limit {
			n, err := conn.Write(chunk)
			s.sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}
}

// wait waits for every connection to end (the client went away).
func (s *rawServer) wait(t *testing.T) {
	t.Helper()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the launcher neither read on nor closed the connection")
	}
}

// trickle answers with one byte of body a second, until the client goes
// away; sent counts the bytes.
func trickle(body []byte, sent *atomic.Int64) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(http.StatusOK)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for _, b := range body {
			if _, err := w.Write([]byte{b}); err != nil {
				return
			}
			sent.Add(1)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
			}
		}
	}
}
