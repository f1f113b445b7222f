package fetchtest

import (
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server serves a folder (a Repo's Dir, say) over HTTP or HTTPS on
// 127.0.0.1, records every request it gets, and misbehaves on request: each
// Fault added with Misbehave answers the next matching requests its way.
type Server struct {
	*httptest.Server
	Faults
	files http.Handler

	mu   sync.Mutex
	reqs []Request
}

// Request is what the server saw and did.
type Request struct {
	Origin string      // "http://127.0.0.1:port" as the client addressed it (Host header)
	Path   string      // URL path
	Range  string      // the Range header
	Header http.Header // every header received
	Status int         // status answered
	Bytes  int64       // body bytes sent
	Time   time.Time   // when it arrived
}

// A Fault answers one request its own way; serve answers it properly.
type Fault func(w http.ResponseWriter, r *http.Request, serve http.Handler)

// Faults is a list of faults to play on requests, in front of any handler
// (Server has one; e2e tests put one in front of their own server).
type Faults struct {
	mu    sync.Mutex
	rules []*rule
}

type rule struct {
	suffix string
	left   int // requests still to spoil; < 0 for all of them
	fault  Fault
}

// Misbehave makes the next times requests whose path ends in suffix ("" for
// any) go to f; times < 0 spoils all of them. Faults added earlier are
// tried first.
func (fs *Faults) Misbehave(suffix string, times int, f Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.rules = append(fs.rules, &rule{suffix: suffix, left: times, fault: f})
}

// Behave drops every fault not used up yet.
func (fs *Faults) Behave() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.rules = nil
}

// Serve answers r through the first fault that matches it and reports
// whether one did; serve is the proper handler the fault may call.
func (fs *Faults) Serve(w http.ResponseWriter, r *http.Request, serve http.Handler) bool {
	fs.mu.Lock()
	var f Fault
	for _, rl := range fs.rules {
		if rl.left != 0 && strings.HasSuffix(r.URL.Path, rl.suffix) {
			f = rl.fault
			if rl.left > 0 {
				rl.left--
			}
			break
		}
	}
	fs.mu.Unlock()
	if f == nil {
		return false
	}
	f(w, r, serve)
	return true
}

// NewServer serves root over http on 127.0.0.1 until the test ends.
func NewServer(t testing.TB, root string) *Server {
	s := newServer(root)
	s.Server = httptest.NewServer(s)
	t.Cleanup(s.Close)
	return s
}

// NewTLSServer serves root over https on 127.0.0.1 until the test ends;
// its certificate is s.Certificate() (valid for 127.0.0.1).
func NewTLSServer(t testing.TB, root string) *Server {
	s := newServer(root)
	s.Server = httptest.NewTLSServer(s)
	t.Cleanup(s.Close)
	return s
}

func newServer(root string) *Server {
	return &Server{files: http.FileServer(http.Dir(root))}
}

// Requests returns every request so far in the order they arrived. Status
// and Bytes are filled in when the answer ends.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// RequestsFor returns the requests whose path ends in suffix.
func (s *Server) RequestsFor(suffix string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if strings.HasSuffix(r.Path, suffix) {
			out = append(out, r)
		}
	}
	return out
}

// ServeHTTP records the request and answers it, through a fault if one
// matches.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
	seen := Request{
		Origin: scheme + "://" + r.Host, Path: r.URL.Path, Range: r.Header.Get("Range"),
		Header: r.Header.Clone(), Time: time.Now(),
	}
	s.mu.Lock()
	i := len(s.reqs)
	s.reqs = append(s.reqs, seen)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.reqs[i].Status, s.reqs[i].Bytes = cw.status, cw.n
		s.mu.Unlock()
	}()
	if !s.Faults.Serve(cw, r, s.files) {
		s.files.ServeHTTP(cw, r)
	}
}

// countingWriter counts the body bytes a handler sent.
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

func (c *countingWriter) Flush() { http.NewResponseController(c.ResponseWriter).Flush() }

func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// Status answers code, with a Retry-After header when retryAfter is not "".
func Status(code int, retryAfter string) Fault {
	return func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		http.Error(w, http.StatusText(code), code)
	}
}

// Redirect answers a 302 to base followed by the request's own path (and
// query): base is another server's URL, say.
func Redirect(base string) Fault {
	return func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		http.Redirect(w, r, strings.TrimSuffix(base, "/")+r.URL.RequestURI(), http.StatusFound)
	}
}

// HTMLPage answers 200 with an HTML page whatever was asked: a captive
// portal's login page, or a host's "soft 404".
func HTMLPage() Fault {
	return func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!DOCTYPE html>\n<html><head><title>Sign in to the network</title></head>"+
			"<body><form action=\"/login\"><input name=\"user\"></form></body></html>\n")
	}
}

// Gzip compresses the proper answer on the fly (Content-Encoding: gzip),
// even though the client never asked for it.
func Gzip() Fault {
	return func(w http.ResponseWriter, r *http.Request, serve http.Handler) {
		r.Header.Del("Range")
		gz := gzip.NewWriter(w)
		defer gz.Close()
		serve.ServeHTTP(&rewriter{ResponseWriter: w, body: gz, header: func(h http.Header) {
			h.Del("Content-Length")
			h.Set("Content-Encoding", "gzip")
		}}, r)
	}
}

// IgnoreRange answers a Range request with the whole file and 200, as
// servers without range support do.
func IgnoreRange() Fault {
	return func(w http.ResponseWriter, r *http.Request, serve http.Handler) {
		r.Header.Del("Range")
		serve.ServeHTTP(w, r)
	}
}

// ContentRange answers a Range request properly but with the
// Content-Range header replaced by value (a wrong range, or garbage).
func ContentRange(value string) Fault {
	return func(w http.ResponseWriter, r *http.Request, serve http.Handler) {
		serve.ServeHTTP(&rewriter{ResponseWriter: w, header: func(h http.Header) {
			if h.Get("Content-Range") != "" {
				h.Set("Content-Range", value)
			}
		}}, r)
	}
}

// DropAfter sends the proper answer's first n body bytes, then cuts the
// connection.
func DropAfter(n int64) Fault {
	return func(w http.ResponseWriter, r *http.Request, serve http.Handler) {
		serve.ServeHTTP(&rewriter{ResponseWriter: w, limit: n, cut: true}, r)
	}
}

// Slow sends the proper answer at about bytesPerSecond, in small writes.
func Slow(bytesPerSecond int) Fault {
	return func(w http.ResponseWriter, r *http.Request, serve http.Handler) {
		serve.ServeHTTP(&rewriter{ResponseWriter: w, rate: bytesPerSecond, done: r.Context().Done()}, r)
	}
}

// ServeFrom answers from another copy of the folder (see CopyDir): an old
// copy makes a CDN edge that still has stale metadata.
func ServeFrom(root string) Fault {
	files := http.FileServer(http.Dir(root))
	return func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		files.ServeHTTP(w, r)
	}
}

// rewriter passes an answer through, changing its headers, throttling it,
// or cutting it short.
type rewriter struct {
	http.ResponseWriter
	header      func(http.Header) // edits headers before they go out
	body        io.Writer         // replaces the body's destination
	limit       int64             // with cut: bytes to send before cutting
	cut         bool
	rate        int // bytes per second; 0: unthrottled
	done        <-chan struct{}
	sent        int64
	wroteHeader bool
}

func (rw *rewriter) WriteHeader(code int) {
	if rw.wroteHeader {
		return
	}
	rw.wroteHeader = true
	if rw.header != nil {
		rw.header(rw.ResponseWriter.Header())
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *rewriter) Write(p []byte) (int, error) {
	rw.WriteHeader(http.StatusOK)
	dst := rw.body
	if dst == nil {
		dst = rw.ResponseWriter
	}
	if rw.cut && rw.sent+int64(len(p)) >= rw.limit {
		dst.Write(p[:rw.limit-rw.sent])
		http.NewResponseController(rw.ResponseWriter).Flush()
		panic(http.ErrAbortHandler) // closes the connection mid-body
	}
	if rw.rate <= 0 {
		n, err := dst.Write(p)
		rw.sent += int64(n)
		return n, err
	}
	chunk := max(rw.rate/10, 1)
	written := 0
	for written < len(p) {
		k := min(chunk, len(p)-written)
		n, err := dst.Write(p[written : written+k])
		written += n
		rw.sent += int64(n)
		if err != nil {
			return written, err
		}
		http.NewResponseController(rw.ResponseWriter).Flush()
		select {
		case <-time.After(time.Second * time.Duration(k) / time.Duration(rw.rate)):
		case <-rw.done:
			return written, fmt.Errorf("client went away")
		}
	}
	return written, nil
}

func (rw *rewriter) Flush() { http.NewResponseController(rw.ResponseWriter).Flush() }

// CopyDir copies the folder tree at src to a new temporary folder and
// returns it: a snapshot of a repository as it is now.
func CopyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(to, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
