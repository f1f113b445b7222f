package testenv_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/tufup-go/tufup/internal/testenv"
)

func TestStartNginx(t *testing.T) {
	root := t.TempDir()
	data := make([]byte, 10_000)
	for i := range data {
		data[i] = byte(i)
	}
	os.MkdirAll(filepath.Join(root, "sub"), 0o755)
	if err := os.WriteFile(filepath.Join(root, "sub", "file.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	base, accessLog := testenv.StartNginx(t, root)

	get := func(path, rng string) (int, []byte) {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("User-Agent", "nginx-test")
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	if status, body := get("/sub/file.bin", ""); status != 200 || string(body) != string(data) {
		t.Fatalf("GET: %d, %d bytes", status, len(body))
	}
	if status, body := get("/sub/file.bin", "bytes=9000-"); status != 206 || string(body) != string(data[9000:]) {
		t.Fatalf("Range GET: %d, %d bytes", status, len(body))
	}
	if status, body := get(testenv.SlowPrefix+"sub/file.bin", ""); status != 200 || string(body) != string(data) {
		t.Fatalf("slow GET: %d, %d bytes", status, len(body))
	}
	if status, _ := get("/missing", ""); status != 404 {
		t.Fatalf("missing file: %d", status)
	}

	want := []testenv.NginxRequest{
		{Method: "GET", URI: "/sub/file.bin", Status: 200, Bytes: 10_000, UserAgent: "nginx-test"},
		{Method: "GET", URI: "/sub/file.bin", Status: 206, Bytes: 1000, Range: "bytes=9000-", UserAgent: "nginx-test"},
		{Method: "GET", URI: testenv.SlowPrefix + "sub/file.bin", Status: 200, Bytes: 10_000, UserAgent: "nginx-test"},
	}
	got := testenv.NginxLog(t, accessLog)
	if len(got) != 4 {
		t.Fatalf("access log has %d lines, want 4: %+v", len(got), got)
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("log line %d = %+v, want %+v", i, got[i], w)
		}
	}
	if got[3].Status != 404 {
		t.Errorf("log line 3 = %+v, want a 404", got[3])
	}
}
