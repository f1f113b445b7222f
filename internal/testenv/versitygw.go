package testenv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// VersityGWVersion is the S3 server the object-storage tests run against,
// and VersityGWInstall how to get it.
const (
	VersityGWVersion = "v1.8.0"
	VersityGWInstall = "go install github.com/versity/versitygw/cmd/versitygw@" + VersityGWVersion + " (puts it in $(go env GOPATH)/bin; takes a few minutes)"
)

// S3 is a real S3 server for a test: versitygw with its posix backend in a
// t.TempDir(), on 127.0.0.1, behind a reverse proxy that records every
// request. All clients, the publisher's and the launchers', go through
// URL.
type S3 struct {
	URL       string // http://127.0.0.1:PORT, the proxy: S3 API and anonymous GETs
	AccessKey string // the root account's credentials
	SecretKey string
	Region    string

	t      testing.TB
	client *minio.Client
	mu     sync.Mutex
	reqs   []S3Request
	hidden map[string]bool // buckets whose missing keys answer 403 (see HideMissing)
	watch  func(S3Request)
}

// S3Request is one request the proxy passed on.
type S3Request struct {
	Method    string
	Path      string // /BUCKET/KEY
	Query     string
	Status    int
	Anonymous bool // no signature: a launcher or a browser, not the publisher
}

// Writes reports whether the request changed the store (PUT, POST,
// DELETE).
func (r S3Request) Writes() bool {
	return r.Method == http.MethodPut || r.Method == http.MethodPost || r.Method == http.MethodDelete
}

// VersityGW finds the versitygw binary: $TUFUP_VERSITYGW, else versitygw
// on PATH, else $(go env GOPATH)/bin/versitygw. Without it the test is
// skipped (fails under TUFUP_TEST_STRICT).
func VersityGW(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("TUFUP_VERSITYGW"); p != "" {
		return p
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(strings.Split(string(out), string(os.PathListSeparator))[0])
		}
	}
	if gopath != "" {
		p := filepath.Join(gopath, "bin", "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	Missing(t, "versitygw (an S3 server)", VersityGWInstall)
	return ""
}

// StartS3 starts versitygw for the test and stops it when the test ends.
func StartS3(t testing.TB) *S3 {
	t.Helper()
	bin := VersityGW(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "buckets")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &S3{AccessKey: "tufup-test", SecretKey: "tufup-test-secret", Region: "us-east-1", t: t, hidden: map[string]bool{}}
	var addr string
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		logPath := filepath.Join(dir, "versitygw.log")
		logFile, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "--port", addr, "--quiet", "--region", s.Region, "posix", data)
		cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s.AccessKey, "ROOT_SECRET_KEY="+s.SecretKey)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", bin, err)
		}
		logFile.Close()
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if err := waitListening(addr, exited); err != nil {
			stopProcess(cmd, exited)
			log, _ := os.ReadFile(logPath)
			if attempt < 5 && bytes.Contains(log, []byte("address already in use")) {
				continue
			}
			t.Fatalf("versitygw did not start: %v\n%s", err, log)
		}
		t.Cleanup(func() {
			if err := stopProcess(cmd, exited); err != nil {
				t.Errorf("stop versitygw: %v", err)
			}
		})
		break
	}
	s.startProxy("http://" + addr)
	u, _ := url.Parse(s.URL)
	c, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Region: s.Region})
	if err != nil {
		t.Fatal(err)
	}
	s.client = c
	return s
}

// startProxy puts the recording proxy in front of the server at backend.
func (s *S3) startProxy(backend string) {
	target, _ := url.Parse(backend)
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			// Signatures cover the Host the client talked to.
			r.Out.Host = r.In.Host
		},
		ModifyResponse: func(resp *http.Response) error {
			r := resp.Request
			anon := r.Header.Get("Authorization") == "" && r.URL.Query().Get("X-Amz-Signature") == ""
			bucket, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
			s.mu.Lock()
			hide := s.hidden[bucket]
			s.mu.Unlock()
			if anon && hide && resp.StatusCode == http.StatusNotFound {
				// What AWS answers a reader without s3:ListBucket.
				body := `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`
				resp.Body.Close()
				resp.Body = io.NopCloser(strings.NewReader(body))
				resp.ContentLength = int64(len(body))
				resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
				resp.StatusCode, resp.Status = http.StatusForbidden, "403 Forbidden"
			}
			req := S3Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: resp.StatusCode, Anonymous: anon}
			s.mu.Lock()
			s.reqs = append(s.reqs, req)
			watch := s.watch
			s.mu.Unlock()
			if watch != nil {
				watch(req)
			}
			return nil
		},
	}
	// Clients killed mid-request (the kill tests) are expected.
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.t.Fatal(err)
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second, ErrorLog: proxy.ErrorLog}
	go srv.Serve(ln)
	s.t.Cleanup(func() { srv.Close() })
	s.URL = "http://" + ln.Addr().String()
}

// Env is the environment a publisher needs to reach the server with the
// standard credential chain.
func (s *S3) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_REGION=" + s.Region,
	}
}

// Bucket creates a bucket with policy (a bucket policy JSON document;
// empty for none: only the root account may read).
func (s *S3) Bucket(name, policy string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.client.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: s.Region}); err != nil {
		s.t.Fatalf("create bucket %s: %v", name, err)
	}
	if policy != "" {
		if err := s.client.SetBucketPolicy(ctx, name, policy); err != nil {
			s.t.Fatalf("set the policy of bucket %s: %v", name, err)
		}
	}
}

// HideMissing makes anonymous reads of keys missing from bucket answer
// 403 AccessDenied instead of 404, as AWS S3 does for readers that may not
// list the bucket (versitygw answers 404 either way).
func (s *S3) HideMissing(bucket string) {
	s.mu.Lock()
	s.hidden[bucket] = true
	s.mu.Unlock()
}

// Watch calls f with each request once the server has answered it (nil
// stops), before the answer goes back to the client.
func (s *S3) Watch(f func(S3Request)) {
	s.mu.Lock()
	s.watch = f
	s.mu.Unlock()
}

// Client is a minio-go client with the root account's credentials.
func (s *S3) Client() *minio.Client { return s.client }

// Requests returns the requests so far; ResetRequests forgets them.
func (s *S3) Requests() []S3Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]S3Request(nil), s.reqs...)
}

func (s *S3) ResetRequests() {
	s.mu.Lock()
	s.reqs = nil
	s.mu.Unlock()
}

// stopProcess asks a server to stop, then kills it.
func stopProcess(cmd *exec.Cmd, exited <-chan error) error {
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		cmd.Process.Kill()
	}
	select {
	case <-exited:
		return nil
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%s ignored SIGTERM for 5 s; killed", cmd.Path)
	}
}
