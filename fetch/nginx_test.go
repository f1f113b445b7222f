package fetch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/fetch/fetchtest"
	"github.com/tufup-go/tufup/internal/testenv"
)

// Production repositories live on static web servers: the real tufup
// repository, refreshed and downloaded from Debian's nginx.
func TestNginxTufupRepository(t *testing.T) {
	fixture, err := filepath.Abs("../testdata/tufup-0.10-demoapp/repository")
	if err != nil {
		t.Fatal(err)
	}
	base, accessLog := testenv.StartNginx(t, fixture)
	c := newClient(t, fetch.Options{
		MetadataURL: base + "/metadata", TargetsURL: base + "/targets",
		MetadataDir: t.TempDir(), TrustedRoot: mustRead(t, filepath.Join(fixture, "metadata", "1.root.json")),
		UserAgent: "demoapp-launcher/1.0.0",
	})
	refresh(t, c)
	dir := t.TempDir()
	for _, ti := range c.Targets() {
		path, err := c.Download(context.Background(), ti, dir)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(mustRead(t, path), mustRead(t, filepath.Join(fixture, "targets", ti.Name))) {
			t.Fatalf("%s differs from the repository's", ti.Name)
		}
	}
	log := testenv.NginxLog(t, accessLog)
	var uris []string
	for _, r := range log {
		uris = append(uris, fmt.Sprint(r.URI, " ", r.Status))
		if r.UserAgent != "demoapp-launcher/1.0.0" {
			t.Errorf("nginx saw User-Agent %q", r.UserAgent)
		}
	}
	want := "/metadata/2.root.json 404,/metadata/timestamp.json 200,/metadata/snapshot.json 200,/metadata/targets.json 200," +
		"/targets/demoapp-1.0.0.tar.gz 200"
	if got := strings.Join(uris, ","); !strings.HasPrefix(got, want) || len(log) != 4+7 {
		t.Errorf("nginx log %s, want it to start with %s and hold 11 requests", got, want)
	}
}

// Interrupted mid-download, the next Download asks nginx for the rest only,
// as nginx's own access log shows.
func TestNginxResume(t *testing.T) {
	const size = 2 << 20
	repo, _, data := resumeSetup(t, size)
	base, accessLog := testenv.StartNginx(t, repo.Dir)
	metaDir := filepath.Join(t.TempDir(), "metadata")
	dir := t.TempDir()

	// First try: from the rate-limited path, cancelled after 300 KiB.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow := newClient(t, fetch.Options{
		MetadataURL: base + "/metadata", TargetsURL: base + strings.TrimSuffix(testenv.SlowPrefix, "/") + "/targets",
		MetadataDir: metaDir, TrustedRoot: repo.TrustedRoot(), Retries: -1,
		Progress: func(p fetch.Progress) {
			if p.Done >= 300<<10 {
				cancel()
			}
		},
	})
	refresh(t, slow)
	ti := target(t, slow, targetName)
	if _, err := slow.Download(ctx, ti, dir); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted Download: err = %v, want context.Canceled", err)
	}
	fi, err := os.Stat(filepath.Join(dir, targetName+".part"))
	if err != nil || fi.Size() < 300<<10 || fi.Size() >= size {
		t.Fatalf("partial file: %v, %v", fi, err)
	}
	have := fi.Size()

	c := newClient(t, fetch.Options{
		MetadataURL: base + "/metadata", TargetsURL: base + "/targets",
		MetadataDir: metaDir, TrustedRoot: repo.TrustedRoot(),
	})
	refresh(t, c)
	path, err := c.Download(context.Background(), ti, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustRead(t, path), data) {
		t.Fatal("resumed file differs from the target")
	}
	var resumed []testenv.NginxRequest
	for _, r := range testenv.NginxLog(t, accessLog) {
		if r.URI == "/targets/"+targetName {
			resumed = append(resumed, r)
		}
	}
	want := testenv.NginxRequest{Method: "GET", URI: "/targets/" + targetName, Status: http.StatusPartialContent,
		Bytes: size - have, Range: fmt.Sprintf("bytes=%d-", have), UserAgent: fetch.DefaultUserAgent}
	if len(resumed) != 1 || resumed[0] != want {
		t.Fatalf("nginx logged %+v, want exactly %+v", resumed, want)
	}
}

// Root rotation and a changed target through nginx, the same update path
// the launcher takes.
func TestNginxRotationAndUpdate(t *testing.T) {
	repo := fetchtest.New(t, false)
	repo.AddTarget("app-1.0.0.tar.gz", []byte("one"))
	repo.Publish()
	base, _ := testenv.StartNginx(t, repo.Dir)
	o := fetch.Options{MetadataURL: base + "/metadata", TargetsURL: base + "/targets",
		MetadataDir: t.TempDir(), TrustedRoot: repo.TrustedRoot()}
	c := newClient(t, o)
	refresh(t, c)
	repo.RotateKeys(metadata.ROOT, metadata.TARGETS)
	repo.AddTarget("app-2.0.0.tar.gz", []byte("two"))
	repo.Publish()
	refresh(t, c)
	path, err := c.Download(context.Background(), target(t, c, "app-2.0.0.tar.gz"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if string(mustRead(t, path)) != "two" {
		t.Fatal("wrong content")
	}
}
