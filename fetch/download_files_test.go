package fetch_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// openUnder lists this process's open files below dir (Linux only).
func openUnder(t *testing.T, dir string) []string {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var open []string
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, dir+string(filepath.Separator)) {
			open = append(open, target)
		}
	}
	return open
}

// Download closes the files it writes, whether it succeeds or not.
func TestDownloadClosesItsFiles(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/fd")
	}
	const size, cut = 1 << 20, 300 << 10
	repo, srv, data := resumeSetup(t, size)
	c := newClient(t, options(t, repo, srv.URL))
	refresh(t, c)
	ti := target(t, c, targetName)
	cutAfter(t, srv, data, cut)
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Download(context.Background(), ti, dir); err == nil {
		t.Fatal("Download over a cut connection succeeded")
	}
	if open := openUnder(t, dir); len(open) > 0 {
		t.Errorf("after a failed Download, still open: %v", open)
	}
	if _, err := c.Download(context.Background(), ti, dir); err != nil {
		t.Fatal(err)
	}
	if open := openUnder(t, dir); len(open) > 0 {
		t.Errorf("after Download, still open: %v", open)
	}
}
