package testenv

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SlowPrefix is a URL path prefix under which StartNginx serves the same
// files at SlowRate bytes per second per connection, for tests that need to
// interrupt a transfer part way.
const (
	SlowPrefix = "/slow/"
	SlowRate   = 256 << 10
)

// markerPath is answered by nginx itself (204) so NginxLog can tell when
// the log has caught up; baseURLFile, next to the access log, holds the
// base URL for it.
const (
	markerPath  = "/.testenv-log-marker"
	baseURLFile = "base-url"
)

// NginxRequest is one line of the access log that StartNginx configures.
type NginxRequest struct {
	Method    string `json:"method"`
	URI       string `json:"uri"`
	Status    int    `json:"status"`
	Bytes     int64  `json:"bytes"` // body bytes sent
	Range     string `json:"range"` // the request's Range header
	UserAgent string `json:"user_agent"`
}

// StartNginx serves the folder root with Debian's nginx on 127.0.0.1 and a
// free port, stopping it when the test ends. It returns the base URL
// (http://127.0.0.1:PORT, no trailing slash) and the access log's path, one
// JSON object per request (see NginxRequest and NginxLog). Configuration,
// pid, logs and temporary files all live in a t.TempDir(). Without nginx
// the test is skipped (fails under TUFUP_TEST_STRICT).
func StartNginx(t testing.TB, root string) (baseURL, accessLog string) {
	t.Helper()
	bin := nginxBinary()
	if bin == "" {
		Missing(t, "nginx", "apt-get install nginx")
	}
	root, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	accessLog = filepath.Join(dir, "access.log")
	// A port picked free can be taken before nginx binds it: try again.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		conf := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(conf, []byte(nginxConfig(dir, root, accessLog, port)), 0o644); err != nil {
			t.Fatal(err)
		}
		errorLog := filepath.Join(dir, "error.log")
		cmd := exec.Command(bin, "-p", dir, "-c", conf, "-e", errorLog)
		cmd.Dir = dir
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", bin, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if err := waitListening(addr, exited); err != nil {
			log, _ := os.ReadFile(errorLog)
			stopProcess(cmd, exited)
			if attempt < 5 && bytes.Contains(log, []byte("Address already in use")) {
				continue
			}
			t.Fatalf("nginx did not start: %v\n%s", err, log)
		}
		t.Cleanup(func() {
			if err := stopProcess(cmd, exited); err != nil {
				t.Errorf("stop nginx: %v", err)
			}
		})
		baseURL = "http://" + addr
		if err := os.WriteFile(filepath.Join(dir, baseURLFile), []byte(baseURL), 0o644); err != nil {
			t.Fatal(err)
		}
		return baseURL, accessLog
	}
}

// NginxLog returns the requests nginx has completed so far, in order.
//
// nginx writes a request's log line only after it has sent the response,
// so a client can hold the whole response before the line exists. NginxLog
// therefore first asks nginx for a marker (its one worker handles events in
// order, so every response already received has been logged by the time the
// marker is), then waits until the marker's line appears. Marker lines are
// left out of the result.
func NginxLog(t testing.TB, accessLog string) []NginxRequest {
	t.Helper()
	base, err := os.ReadFile(filepath.Join(filepath.Dir(accessLog), baseURLFile))
	if err != nil {
		t.Fatalf("%s is not the access log of StartNginx: %v", accessLog, err)
	}
	marker := fmt.Sprintf("%s?%d", markerPath, time.Now().UnixNano())
	resp, err := http.Get(string(base) + marker)
	if err != nil {
		t.Fatalf("ask nginx for the log marker: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		reqs, found := readNginxLog(t, accessLog, marker)
		if found {
			return reqs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: nginx did not log the marker request %s within 10 s", accessLog, marker)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readNginxLog parses the access log, leaving out marker requests, and
// reports whether the marker request named by marker is in it.
func readNginxLog(t testing.TB, accessLog, marker string) (reqs []NginxRequest, found bool) {
	t.Helper()
	data, err := os.ReadFile(accessLog)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var r NginxRequest
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			// The line being written right now; the next read has it whole.
			if !bytes.HasSuffix(data, []byte("\n")) {
				break
			}
			t.Fatalf("%s: bad line %q: %v", accessLog, sc.Text(), err)
		}
		if strings.HasPrefix(r.URI, markerPath) {
			found = found || r.URI == marker
			continue
		}
		reqs = append(reqs, r)
	}
	return reqs, found
}

func nginxBinary() string {
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	p, err := exec.LookPath("nginx")
	if err != nil {
		return ""
	}
	return p
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func waitListening(addr string, exited <-chan error) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("the server exited: %v", err)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %s after 10 s", addr)
}

func nginxConfig(dir, root, accessLog string, port int) string {
	q := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
	var user string
	if os.Geteuid() == 0 {
		// As root, nginx would switch its worker to "nobody", which cannot
		// read a test's private temporary folders.
		user = "user root;\n"
	}
	return fmt.Sprintf(`%sdaemon off;
worker_processes 1;
pid %s;
error_log %s warn;
events { worker_connections 64; }
http {
    log_format tufup escape=json '{"method":"$request_method","uri":"$request_uri","status":$status,"bytes":$body_bytes_sent,"range":"$http_range","user_agent":"$http_user_agent"}';
    access_log %s tufup;
    client_body_temp_path %s;
    proxy_temp_path %s;
    fastcgi_temp_path %s;
    uwsgi_temp_path %s;
    scgi_temp_path %s;
    types { application/json json; }
    default_type application/octet-stream;
    sendfile on;
    server {
        listen 127.0.0.1:%d;
        root %s;
        location = %s { return 204; }
        location %s {
            alias %s;
            limit_rate %d;
        }
    }
}
`, user, q(filepath.Join(dir, "nginx.pid")), q(filepath.Join(dir, "error.log")), q(accessLog),
		q(filepath.Join(dir, "client_body")), q(filepath.Join(dir, "proxy")), q(filepath.Join(dir, "fastcgi")),
		q(filepath.Join(dir, "uwsgi")), q(filepath.Join(dir, "scgi")),
		port, q(root), markerPath, SlowPrefix, q(root+"/"), SlowRate)
}
