package fetch_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
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

// server serves a repository folder over HTTP and records every request.
// A hook may answer a request itself (return true) to misbehave.
type server struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []request
	hook func(w http.ResponseWriter, r *http.Request) bool
}

func newServer(t *testing.T, root string) *server {
	t.Helper()
	s := &server{}
	files := http.FileServer(http.Dir(root))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			s.mu.Lock()
			s.reqs = append(s.reqs, request{
				Path: r.URL.Path, Range: r.Header.Get("Range"), UserAgent: r.UserAgent(),
				Auth: r.Header.Get("Authorization"), Status: cw.status, Bytes: cw.n,
			})
			s.mu.Unlock()
		}()
		s.mu.Lock()
		hook := s.hook
		s.mu.Unlock()
		if hook != nil && hook(cw, r) {
			return
		}
		files.ServeHTTP(cw, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) setHook(h func(w http.ResponseWriter, r *http.Request) bool) {
	s.mu.Lock()
	s.hook = h
	s.mu.Unlock()
}

func (s *server) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.reqs...)
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

type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (c *countingWriter) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

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
