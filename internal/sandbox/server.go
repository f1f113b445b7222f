package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Request is one request the test server answered.
type Request struct {
	Method string
	Path   string
	Range  string
	Status int
	Bytes  int64 // body bytes sent
}

// Server serves a folder over HTTP on 127.0.0.1 and logs every request.
type Server struct {
	URL string
	srv *http.Server

	mu   sync.Mutex
	log  []Request
	hook func(w http.ResponseWriter, r *http.Request) bool
}

// Serve starts serving root on a free port of 127.0.0.1.
func Serve(root string) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + ln.Addr().String()}
	files := http.FileServer(http.Dir(root))
	s.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := &recorder{ResponseWriter: w, status: http.StatusOK}
			s.mu.Lock()
			hook := s.hook
			s.mu.Unlock()
			if hook == nil || !hook(rec, r) {
				files.ServeHTTP(rec, r)
			}
			s.mu.Lock()
			s.log = append(s.log, Request{r.Method, r.URL.Path, r.Header.Get("Range"), rec.status, rec.bytes})
			s.mu.Unlock()
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go s.srv.Serve(ln)
	return s, nil
}

// Intercept lets a test answer requests itself (a misbehaving server): hook
// returns true when it handled the request. nil restores plain serving.
func (s *Server) Intercept(hook func(w http.ResponseWriter, r *http.Request) bool) {
	s.mu.Lock()
	s.hook = hook
	s.mu.Unlock()
}

// Requests returns the log so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// ResetLog forgets the requests so far.
func (s *Server) ResetLog() {
	s.mu.Lock()
	s.log = nil
	s.mu.Unlock()
}

// Fetched lists the paths under prefix that were answered with a body.
func (s *Server) Fetched(prefix string) []string {
	var out []string
	for _, r := range s.Requests() {
		if strings.HasPrefix(r.Path, prefix) && (r.Status == http.StatusOK || r.Status == http.StatusPartialContent) {
			out = append(out, strings.TrimPrefix(r.Path, prefix))
		}
	}
	return out
}

// BytesSent is the number of body bytes sent under prefix.
func (s *Server) BytesSent(prefix string) int64 {
	var n int64
	for _, r := range s.Requests() {
		if strings.HasPrefix(r.Path, prefix) {
			n += r.Bytes
		}
	}
	return n
}

// Close stops the server.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return s.srv.Close()
	}
	if err != nil {
		return fmt.Errorf("stop test server: %w", err)
	}
	return nil
}

type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Flush lets hooks that trickle data push each byte out.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Silent is a server that accepts connections and never answers, as a
// hung update server does.
type Silent struct {
	// Addr is the address it listens on, 127.0.0.1:PORT.
	Addr string
	ln   net.Listener
	mu   sync.Mutex
	conn []net.Conn
	done chan struct{}
}

// ServeSilent starts a Silent server on a free port of 127.0.0.1.
func ServeSilent() (*Silent, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Silent{Addr: ln.Addr().String(), ln: ln, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conn = append(s.conn, c)
			s.mu.Unlock()
		}
	}()
	return s, nil
}

// Close stops listening and drops every connection.
func (s *Silent) Close() error {
	err := s.ln.Close()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conn {
		c.Close()
	}
	return err
}
