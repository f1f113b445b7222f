package fetch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/fetch/fetchtest"
)

// The error type proves which mechanism ended each request: a StallError
// comes from the idle guard, never from the test's own generous deadline.

func TestServerThatNeverAnswersIsAborted(t *testing.T) {
	repo := fetchtest.New(t, false)
	base := rawServer(t, func(conn net.Conn, req *http.Request) {
		io.Copy(io.Discard, conn) // hold the connection open, say nothing
	})
	o := options(t, repo, base)
	o.ConnectTimeout, o.IdleTimeout = 200*time.Millisecond, 300*time.Millisecond
	err := newClient(t, o).Refresh(ctxTimeout(t, 30*time.Second))
	var stall *fetch.StallError
	if !errors.As(err, &stall) {
		t.Fatalf("Refresh against a silent server: err = %v, want a StallError", err)
	}
}

func TestTricklingServerIsAborted(t *testing.T) {
	repo := fetchtest.New(t, false)
	repo.AddTarget("app-1.0.0.tar.gz", make([]byte, 100_000))
	repo.Publish()
	srv := newServer(t, repo.Dir)
	o := options(t, repo, srv.URL)
	o.IdleTimeout = 500 * time.Millisecond
	c := newClient(t, o)
	refresh(t, c)
	ti := target(t, c, "app-1.0.0.tar.gz")

	trickle := func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/targets/") {
			w.Header().Set("Content-Length", "100000")
		}
		w.WriteHeader(http.StatusOK)
		for i := 0; i < 600; i++ { // a byte every 100 ms, at most a minute
			if _, err := w.Write([]byte{0}); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	srv.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.URL.Path, "/targets/") || r.URL.Path == "/metadata/timestamp.json" {
			trickle(w, r)
			return true
		}
		return false
	})
	var stall *fetch.StallError
	if _, err := c.Download(ctxTimeout(t, 30*time.Second), ti, t.TempDir()); !errors.As(err, &stall) {
		t.Fatalf("Download from a trickling server: err = %v, want a StallError", err)
	}
	if err := newClient(t, o).Refresh(ctxTimeout(t, 30*time.Second)); !errors.As(err, &stall) {
		t.Fatalf("Refresh from a trickling server: err = %v, want a StallError", err)
	}
}

// A slow but steady server is not a stall.
func TestSlowSteadyServerIsNotAborted(t *testing.T) {
	repo := fetchtest.New(t, false)
	data := make([]byte, 64<<10)
	repo.AddTarget("app-1.0.0.tar.gz", data)
	repo.Publish()
	srv := newServer(t, repo.Dir)
	o := options(t, repo, srv.URL)
	o.IdleTimeout = 300 * time.Millisecond
	c := newClient(t, o)
	refresh(t, c)
	srv.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/targets/") {
			return false
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		for off := 0; off < len(data); off += 8 << 10 { // 8 KiB every 100 ms
			w.Write(data[off : off+8<<10])
			w.(http.Flusher).Flush()
			time.Sleep(100 * time.Millisecond)
		}
		return true
	})
	if _, err := c.Download(ctxTimeout(t, 30*time.Second), target(t, c, "app-1.0.0.tar.gz"), t.TempDir()); err != nil {
		t.Fatal(err)
	}
}

// go-tuf has no context; the caller's deadline still ends its requests.
func TestRefreshHonoursContextDeadline(t *testing.T) {
	repo := fetchtest.New(t, false)
	base := rawServer(t, func(conn net.Conn, req *http.Request) { io.Copy(io.Discard, conn) })
	o := options(t, repo, base)
	o.IdleTimeout = time.Minute
	o.Retries = 5
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := newClient(t, o).Refresh(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Refresh past its deadline: err = %v, want context.DeadlineExceeded", err)
	}
}

func TestNotFoundAndForbiddenAreNotRetried(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusForbidden, http.StatusUnauthorized} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			repo := fetchtest.New(t, false)
			repo.AddTarget("app-1.0.0.tar.gz", []byte("one"))
			repo.Publish()
			srv := newServer(t, repo.Dir)
			o := options(t, repo, srv.URL)
			o.Retries = 3
			c := newClient(t, o)
			refresh(t, c)
			ti := target(t, c, "app-1.0.0.tar.gz")
			srv.setHook(func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path == "/metadata/timestamp.json" || strings.HasPrefix(r.URL.Path, "/targets/") {
					w.WriteHeader(status)
					return true
				}
				return false
			})
			var he *metadata.ErrDownloadHTTP
			if err := newClient(t, o).Refresh(context.Background()); !errors.As(err, &he) || he.StatusCode != status {
				t.Fatalf("Refresh: err = %v, want HTTP %d", err, status)
			}
			if _, err := c.Download(context.Background(), ti, t.TempDir()); !errors.As(err, &he) || he.StatusCode != status {
				t.Fatalf("Download: err = %v, want HTTP %d", err, status)
			}
			if n := len(srv.requestsFor("/metadata/timestamp.json")); n != 2 { // the first Refresh + one
				t.Errorf("timestamp.json requested %d times, want 2", n)
			}
			if n := len(srv.requestsFor("/targets/app-1.0.0.tar.gz")); n != 1 {
				t.Errorf("target requested %d times, want 1", n)
			}
		})
	}
}

func TestServerErrorsAreRetriedBounded(t *testing.T) {
	repo := fetchtest.New(t, false)
	repo.AddTarget("app-1.0.0.tar.gz", []byte("one"))
	repo.Publish()
	srv := newServer(t, repo.Dir)
	o := options(t, repo, srv.URL)
	o.Retries = 2
	c := newClient(t, o)
	refresh(t, c)
	ti := target(t, c, "app-1.0.0.tar.gz")

	srv.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/metadata/timestamp.json" || strings.HasPrefix(r.URL.Path, "/targets/") {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	var he *metadata.ErrDownloadHTTP
	if err := newClient(t, o).Refresh(context.Background()); !errors.As(err, &he) || he.StatusCode != 503 {
		t.Fatalf("Refresh: err = %v, want HTTP 503", err)
	}
	if _, err := c.Download(context.Background(), ti, t.TempDir()); !errors.As(err, &he) || he.StatusCode != 503 {
		t.Fatalf("Download: err = %v, want HTTP 503", err)
	}
	if n := len(srv.requestsFor("/metadata/timestamp.json")); n != 1+3 {
		t.Errorf("timestamp.json requested %d times, want 1 + 3 (a try and 2 retries)", n)
	}
	if n := len(srv.requestsFor("/targets/app-1.0.0.tar.gz")); n != 3 {
		t.Errorf("target requested %d times, want 3", n)
	}

	// Transient: two 503s, then the file.
	var failures atomic.Int32
	srv.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasPrefix(r.URL.Path, "/targets/") && failures.Add(1) <= 2 {
			w.WriteHeader(http.StatusBadGateway)
			return true
		}
		return false
	})
	if _, err := c.Download(context.Background(), ti, t.TempDir()); err != nil {
		t.Fatalf("Download after two 502s: %v", err)
	}
}

// Retrying never sleeps past the caller's deadline: the last real error
// comes back, not a context error from a wait that could not end in time.
func TestRetriesStopAtDeadline(t *testing.T) {
	repo := fetchtest.New(t, false)
	srv := newServer(t, repo.Dir)
	srv.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusInternalServerError)
		return true
	})
	o := options(t, repo, srv.URL)
	o.Retries = 1000
	err := newClient(t, o).Refresh(ctxTimeout(t, 2*time.Second))
	var he *metadata.ErrDownloadHTTP
	if !errors.As(err, &he) || he.StatusCode != 500 {
		t.Fatalf("err = %v, want the server's 500", err)
	}
	if n := len(srv.requests()); n < 2 || n > 20 {
		t.Errorf("%d requests in a 2 s budget", n)
	}
}

// forwardProxy is a real HTTP forward proxy that records what it relayed.
type forwardProxy struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string // absolute URLs
}

func newForwardProxy(t *testing.T, backend string) *forwardProxy {
	p := &forwardProxy{}
	target, _ := url.Parse(backend)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !r.URL.IsAbs() {
			http.Error(w, "not a proxy request", http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.seen = append(p.seen, r.URL.String())
		p.mu.Unlock()
		out := r.Clone(r.Context())
		out.RequestURI = ""
		out.URL.Scheme, out.URL.Host = target.Scheme, target.Host // whatever host was asked
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *forwardProxy) relayed() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

func TestProxyOption(t *testing.T) {
	repo := fetchtest.New(t, false)
	repo.AddTarget("app-1.0.0.tar.gz", []byte("through the proxy"))
	repo.Publish()
	srv := newServer(t, repo.Dir)
	proxy := newForwardProxy(t, srv.URL)
	proxyURL, _ := url.Parse(proxy.URL)
	o := options(t, repo, srv.URL)
	o.Proxy = http.ProxyURL(proxyURL)
	c := newClient(t, o)
	refresh(t, c)
	if _, err := c.Download(context.Background(), target(t, c, "app-1.0.0.tar.gz"), t.TempDir()); err != nil {
		t.Fatal(err)
	}
	relayed := proxy.relayed()
	if len(relayed) != len(srv.requests()) || len(relayed) < 5 {
		t.Fatalf("proxy relayed %d of %d requests: %v", len(relayed), len(srv.requests()), relayed)
	}
	if !strings.HasSuffix(relayed[len(relayed)-1], "/targets/app-1.0.0.tar.gz") {
		t.Errorf("last relayed request %s", relayed[len(relayed)-1])
	}
}

// HTTP_PROXY from the environment is used by default. Go reads it once per
// process and never for 127.0.0.1, so a child test process gets the
// variable and a repository host name that only the proxy can reach.
func TestProxyFromEnvironment(t *testing.T) {
	if os.Getenv("FETCH_TEST_PROXY_CHILD") != "" {
		o := fetch.Options{
			MetadataURL: "http://updates.example.invalid/metadata",
			TargetsURL:  "http://updates.example.invalid/targets",
			MetadataDir: t.TempDir(),
			TrustedRoot: []byte(os.Getenv("FETCH_TEST_ROOT")),
			Retries:     -1,
		}
		c := newClient(t, o)
		refresh(t, c)
		if _, err := c.Download(context.Background(), target(t, c, "app-1.0.0.tar.gz"), t.TempDir()); err != nil {
			t.Fatal(err)
		}
		return
	}
	repo := fetchtest.New(t, false)
	repo.AddTarget("app-1.0.0.tar.gz", []byte("via HTTP_PROXY"))
	repo.Publish()
	srv := newServer(t, repo.Dir)
	proxy := newForwardProxy(t, srv.URL)
	cmd := exec.Command(os.Args[0], "-test.run=^TestProxyFromEnvironment$", "-test.v")
	cmd.Env = append(os.Environ(), "FETCH_TEST_PROXY_CHILD=1", "HTTP_PROXY="+proxy.URL,
		"NO_PROXY=", "no_proxy=", "FETCH_TEST_ROOT="+string(repo.TrustedRoot()))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	relayed := proxy.relayed()
	if len(relayed) < 5 || !strings.HasPrefix(relayed[0], "http://updates.example.invalid/metadata/") {
		t.Fatalf("proxy relayed %v", relayed)
	}
}

func TestHeadersSentButNeverLogged(t *testing.T) {
	const secret = "Bearer s3cr3t-token-0123456789"
	repo := fetchtest.New(t, false)
	repo.AddTarget("app-1.0.0.tar.gz", []byte("one"))
	repo.AddTarget("app-2.0.0.tar.gz", []byte("two"))
	repo.AddTarget("app-3.0.0.tar.gz", []byte("three"))
	repo.Publish()
	srv := newServer(t, repo.Dir)
	var logs logBuffer
	o := options(t, repo, srv.URL)
	o.Headers = map[string]string{"Authorization": secret}
	o.Logger = logs.logger()
	o.Retries = 1
	c := newClient(t, o)
	refresh(t, c)
	os.WriteFile(repo.TargetPath("app-3.0.0.tar.gz"), []byte("THREE"), 0o644)
	srv.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case "/targets/app-1.0.0.tar.gz":
			w.WriteHeader(http.StatusUnauthorized)
			return true
		case "/targets/app-2.0.0.tar.gz":
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	var errs []string
	for _, name := range []string{"app-1.0.0.tar.gz", "app-2.0.0.tar.gz", "app-3.0.0.tar.gz"} {
		_, err := c.Download(context.Background(), target(t, c, name), t.TempDir())
		if err == nil {
			t.Fatalf("Download %s succeeded", name)
		}
		errs = append(errs, err.Error())
	}
	// A bad header value is refused naming the header, not the value.
	bad := o
	bad.Headers = map[string]string{"Authorization": "s3cr3t\r\nX-Evil: 1"}
	_, err := fetch.New(bad)
	if err == nil {
		t.Fatal("New accepted a header value with a line break")
	}
	errs = append(errs, err.Error())

	for _, r := range srv.requests() {
		if r.Auth != secret {
			t.Errorf("request %s had Authorization %q", r.Path, r.Auth)
		}
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Errorf("the 503 retry was not logged:\n%s", logs.String())
	}
	for _, s := range append(errs, logs.String()) {
		if containsAny(s, "s3cr3t", "Bearer") {
			t.Errorf("secret leaked into %q", s)
		}
	}
}

// Endless data: nothing is read past go-tuf's metadata limit or the
// signed target length, whatever Content-Length says or omits.
func TestEndlessData(t *testing.T) {
	const cap = 1 << 30 // the server gives up after 1 GiB
	for _, tc := range []struct {
		name, path, contentLength string
	}{
		{"metadata without length", "/metadata/timestamp.json", ""},
		{"metadata with a small lying length", "/metadata/timestamp.json", "100"},
		{"metadata with a huge length", "/metadata/timestamp.json", "10000000000"},
		{"target without length", "/targets/app-1.0.0.tar.gz", ""},
		{"target with its length", "/targets/app-1.0.0.tar.gz", "1000"},
		{"target with a huge length", "/targets/app-1.0.0.tar.gz", "10000000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := fetchtest.New(t, false)
			repo.AddTarget("app-1.0.0.tar.gz", make([]byte, 1000))
			repo.Publish()
			srv := newServer(t, repo.Dir)
			o := options(t, repo, srv.URL)
			c := newClient(t, o)
			refresh(t, c)
			ti := target(t, c, "app-1.0.0.tar.gz")

			var sent atomic.Int64
			done := make(chan struct{})
			base := rawServer(t, func(conn net.Conn, req *http.Request) {
				if req.URL.Path != tc.path {
					resp, err := http.Get(srv.URL + req.URL.Path)
					if err != nil {
						return
					}
					resp.Close = true
					resp.Write(conn)
					resp.Body.Close()
					return
				}
				head := "HTTP/1.1 200 OK\r\nConnection: close\r\n"
				if tc.contentLength != "" {
					head += "Content-Length: " + tc.contentLength + "\r\n"
				}
				io.WriteString(conn, head+"\r\n")
				endless(conn, cap, &sent)
				close(done)
			})
			o.MetadataURL, o.TargetsURL = base+"/metadata", base+"/targets"
			c = newClient(t, o)
			var err error
			if strings.HasPrefix(tc.path, "/metadata/") {
				err = c.Refresh(ctxTimeout(t, 30*time.Second))
			} else {
				_, err = c.Download(ctxTimeout(t, 30*time.Second), ti, t.TempDir())
			}
			if err == nil {
				t.Fatal("endless data accepted")
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("the client kept reading until the deadline: %v", err)
			}
			// The server may fill socket buffers (a few MiB) before it
			// notices; reading on would have taken it to the cap.
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("the client neither read on nor closed the connection")
			}
			t.Logf("server sent %d KiB; client error: %v", sent.Load()>>10, err)
			if n := sent.Load(); n > 64<<20 {
				t.Errorf("server sent %d MiB before the client stopped", n>>20)
			}
		})
	}
}

func TestWrongBytesRightLengthRefused(t *testing.T) {
	repo := fetchtest.New(t, false)
	good := []byte("the real release bytes")
	repo.AddTarget("app-1.0.0.tar.gz", good)
	repo.Publish()
	os.WriteFile(repo.TargetPath("app-1.0.0.tar.gz"), []byte("an attacker's bytes!!!"), 0o644)
	srv := newServer(t, repo.Dir)
	c := newClient(t, options(t, repo, srv.URL))
	refresh(t, c)
	dir := t.TempDir()
	_, err := c.Download(context.Background(), target(t, c, "app-1.0.0.tar.gz"), dir)
	var bce *fetch.BadContentError
	if !errors.As(err, &bce) || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("err = %v, want a sha256 BadContentError", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("refused bytes left %v", entries)
	}
	if n := len(srv.requestsFor("/targets/app-1.0.0.tar.gz")); n != 1 {
		t.Errorf("%d requests for a fresh download that failed verification, want 1", n)
	}
}

// A file:// repository can hold endless data too (a device file).
func TestFileURLEndlessData(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero on this system")
	}
	repo := fetchtest.New(t, false)
	repo.AddTarget(targetName, make([]byte, 1000)) // zeros: the first 1000 bytes of /dev/zero match
	repo.Publish()
	base := (&url.URL{Scheme: "file", Path: repo.Dir}).String()
	o := options(t, repo, base)
	c := newClient(t, o)
	refresh(t, c)
	ti := target(t, c, targetName)

	os.Remove(repo.TargetPath(targetName))
	if err := os.Symlink("/dev/zero", repo.TargetPath(targetName)); err != nil {
		t.Fatal(err)
	}
	var bce *fetch.BadContentError
	if _, err := c.Download(ctxTimeout(t, 30*time.Second), ti, t.TempDir()); !errors.As(err, &bce) {
		t.Fatalf("Download of an endless file: err = %v, want BadContentError", err)
	}
	ts := filepath.Join(repo.MetadataDir(), "timestamp.json")
	os.Remove(ts)
	if err := os.Symlink("/dev/zero", ts); err != nil {
		t.Fatal(err)
	}
	err := newClient(t, o).Refresh(ctxTimeout(t, 30*time.Second))
	if !errors.Is(err, &metadata.ErrDownloadLengthMismatch{}) {
		t.Fatalf("Refresh with an endless timestamp.json: err = %v, want a length mismatch", err)
	}
}

// A server nobody listens on means offline: the launcher's check must fail
// at once, not after retry waits.
func TestConnectionRefusedIsNotRetried(t *testing.T) {
	repo := fetchtest.New(t, false)
	repo.Publish()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // now nothing listens there
	var logBuf bytes.Buffer
	o := options(t, repo, "http://"+addr)
	o.Retries = 3
	o.Logger = slog.New(slog.NewTextHandler(&logBuf, nil))
	err = newClient(t, o).Refresh(context.Background())
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("Refresh against a closed port: %v, want connection refused", err)
	}
	if strings.Contains(logBuf.String(), "retrying") {
		t.Fatalf("a refused connection was retried:\n%s", logBuf.String())
	}
}
