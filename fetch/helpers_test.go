package fetch_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/fetch/fetchtest"
)

// request is what a test server saw.
type request struct {
	Path, Range, UserAgent, Auth string
	Status                       int
	Bytes                        int64 // body bytes written
}

// server is a fetchtest.Server with a hook that may answer a request
// itself (return true) to misbehave in ways fetchtest has no fault for.
type server struct{ *fetchtest.Server }

func newServer(t *testing.T, root string) *server {
	t.Helper()
	return &server{fetchtest.NewServer(t, root)}
}

func (s *server) setHook(h func(w http.ResponseWriter, r *http.Request) bool) {
	s.Behave()
	if h != nil {
		s.Misbehave("", -1, func(w http.ResponseWriter, r *http.Request, serve http.Handler) {
			if !h(w, r) {
				serve.ServeHTTP(w, r)
			}
		})
	}
}

func (s *server) requests() []request {
	var out []request
	for _, r := range s.Requests() {
		out = append(out, request{
			Path: r.Path, Range: r.Range, UserAgent: r.Header.Get("User-Agent"),
			Auth: r.Header.Get("Authorization"), Status: r.Status, Bytes: r.Bytes,
		})
	}
	return out
}

func (s *server) requestsFor(path string) []request {
	var out []request
	for _, r := range s.requests() {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// logBuffer collects a client's log lines (every level).
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// options are sensible test options for repo served at base.
func options(t *testing.T, repo *fetchtest.Repo, base string) fetch.Options {
	return fetch.Options{
		MetadataURL: base + "/metadata",
		TargetsURL:  base + "/targets",
		MetadataDir: filepath.Join(t.TempDir(), "metadata"),
		TrustedRoot: repo.TrustedRoot(),
		UserAgent:   "fetch-test/1.0",
		Retries:     -1,
	}
}

func newClient(t *testing.T, o fetch.Options) *fetch.Client {
	t.Helper()
	c, err := fetch.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func refresh(t *testing.T, c *fetch.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Refresh(ctx); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
}

func target(t *testing.T, c *fetch.Client, name string) fetch.TargetInfo {
	t.Helper()
	for _, ti := range c.Targets() {
		if ti.Name == name {
			return ti
		}
	}
	t.Fatalf("target %s not listed after Refresh", name)
	return fetch.TargetInfo{}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// rawServer accepts TCP connections on 127.0.0.1 and hands each, with its
// parsed request, to handle; it stops handling when the test ends.
func rawServer(t *testing.T, handle func(conn net.Conn, req *http.Request)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				handle(conn, req)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// endless writes bytes to w until a write fails or max bytes went out,
// counting them in sent as it goes.
func endless(w io.Writer, max int64, sent *atomic.Int64) {
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	for sent.Load() < max {
		k, err := w.Write(chunk)
		sent.Add(int64(k))
		if err != nil {
			return
		}
	}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
