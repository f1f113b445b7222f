package fetch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/fetch/fetchtest"
)

// The network as it really is: each test runs the client against a
// fetchtest.Server misbehaving in one way, and checks what was requested,
// what was kept, and what the error says.

const app = "/targets/" + targetName

// flaky publishes a pseudo-random target of size bytes behind a
// misbehaving server, and returns a client with retries and a log.
func flaky(t *testing.T, size, retries int) (*fetch.Client, *fetchtest.Server, []byte, *logBuffer) {
	t.Helper()
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{2}).Read(data)
	repo := fetchtest.New(t, false)
	repo.AddTarget(targetName, data)
	repo.Publish()
	srv := fetchtest.NewServer(t, repo.Dir)
	logs := &logBuffer{}
	o := options(t, repo, srv.URL)
	o.Retries = retries
	o.Logger = logs.logger()
	c := newClient(t, o)
	refresh(t, c)
	return c, srv, data, logs
}

func download(t *testing.T, c *fetch.Client, dir string) (string, error) {
	t.Helper()
	return c.Download(ctxTimeout(t, 30*time.Second), target(t, c, targetName), dir)
}

// logged returns the value of key in the log line holding msg.
func logged(logs *logBuffer, msg, key string) string {
	line := findLine(logs.String(), msg)
	_, rest, ok := strings.Cut(line, " "+key+"=")
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, " ")
	return v
}

func TestRateLimitIsRetriedAfterRetryAfter(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			c, srv, data, _ := flaky(t, 10_000, 2)
			srv.Misbehave(app, 1, fetchtest.Status(status, "1"))
			path, err := download(t, c, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			reqs := srv.RequestsFor(app)
			if len(reqs) != 2 || reqs[0].Status != status || reqs[1].Status != http.StatusOK {
				t.Fatalf("requests %+v, want %d then 200", reqs, status)
			}
			if gap := reqs[1].Time.Sub(reqs[0].Time); gap < time.Second {
				t.Errorf("retried after %s, the server asked for 1s", gap)
			}
			if !bytes.Equal(mustRead(t, path), data) {
				t.Fatal("wrong content")
			}
		})
	}
}

// A Retry-After past the caller's deadline fails at once, saying so,
// instead of waiting or asking again early.
func TestRetryAfterBeyondDeadlineFailsAtOnce(t *testing.T) {
	c, srv, _, _ := flaky(t, 10_000, 5)
	srv.Misbehave(app, -1, fetchtest.Status(http.StatusTooManyRequests, "3600"))
	began := time.Now()
	_, err := c.Download(ctxTimeout(t, 5*time.Second), target(t, c, targetName), t.TempDir())
	if !fetch.RateLimited(err) || !strings.Contains(err.Error(), "rate limited: asked to retry after 1h0m0s") || !strings.Contains(err.Error(), srv.URL+app) {
		t.Fatalf("err = %v, want a rate limit naming the URL and the delay", err)
	}
	if n := len(srv.RequestsFor(app)); n != 1 {
		t.Errorf("%d requests, want 1: asking again early ignores Retry-After", n)
	}
	if took := time.Since(began); took > 4*time.Second {
		t.Errorf("took %s: waited for a retry that could not happen in time", took)
	}
}

// A link that drops every 400 kB still delivers a 2 MB file: each try got
// further, so none counts against the two retries. Tries that bring
// nothing still do.
func TestRetriesCountOnlyTriesWithoutProgress(t *testing.T) {
	const size, drop = 2_000_000, 400_000
	c, srv, data, logs := flaky(t, size, 2)
	srv.Misbehave(app, 4, fetchtest.DropAfter(drop))
	path, err := download(t, c, t.TempDir())
	if err != nil {
		t.Fatalf("download over a link dropping every %d bytes: %v", drop, err)
	}
	if n := len(srv.RequestsFor(app)); n != 5 {
		t.Errorf("%d requests, want 5", n)
	}
	if !bytes.Equal(mustRead(t, path), data) {
		t.Fatal("wrong content")
	}
	if got := logged(logs, "target downloaded", "fetched"); got != fmt.Sprint(size) {
		t.Errorf("fetched=%s, want %d (every byte once)", got, size)
	}

	c, srv, _, _ = flaky(t, size, 2)
	srv.Misbehave(app, -1, fetchtest.DropAfter(0))
	if _, err := download(t, c, t.TempDir()); err == nil {
		t.Fatal("a link that never brings a byte succeeded")
	}
	if n := len(srv.RequestsFor(app)); n != 3 {
		t.Errorf("%d requests without progress, want 3 (a try and 2 retries)", n)
	}
}

// After a drop, the resuming request's 206 has a Content-Range that cannot
// be appended: the file starts again from byte 0, once, and nothing of the
// bad answer is kept (issue 20 item 2).
func TestUnusableContentRangeRestartsTheFile(t *testing.T) {
	const size, cut = 1_000_000, 300_000
	for name, value := range map[string]string{
		"unparsable":  "bytes garbage",
		"wrong start": fmt.Sprintf("bytes 0-%d/%d", size-cut-1, size),
		"wrong size":  fmt.Sprintf("bytes %d-%d/%d", cut, size-1, size+1),
	} {
		t.Run(name, func(t *testing.T) {
			c, srv, data, logs := flaky(t, size, 2)
			srv.Misbehave(app, 1, fetchtest.DropAfter(cut))
			srv.Misbehave(app, 1, fetchtest.ContentRange(value))
			path, err := download(t, c, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			reqs := srv.RequestsFor(app)
			if len(reqs) != 3 || reqs[1].Range == "" || reqs[2].Range != "" {
				t.Fatalf("requests %+v, want: cut, bad range, whole file", reqs)
			}
			if !bytes.Equal(mustRead(t, path), data) {
				t.Fatal("wrong content")
			}
			if got := logged(logs, "target downloaded", "fetched"); got != fmt.Sprint(cut+size) {
				t.Errorf("fetched=%s, want %d: the cut part and the whole file", got, cut+size)
			}
			if got := logged(logs, "target downloaded", "resumed_from"); got != "0" {
				t.Errorf("resumed_from=%s after a restart, want 0", got)
			}
		})
	}
}

// A server that ignores Range answers 200 with the whole file: it replaces
// the partial file, and is downloaded once (issue 21 survivor 5).
func TestIgnoredRangeIsNotAppended(t *testing.T) {
	const size, partLen = 500_000, 200_000
	c, srv, data, logs := flaky(t, size, 2)
	dir := t.TempDir()
	dest := filepath.Join(dir, targetName)
	os.WriteFile(dest+".part", data[:partLen], 0o644)
	srv.Misbehave(app, -1, fetchtest.IgnoreRange())
	if _, err := download(t, c, dir); err != nil {
		t.Fatal(err)
	}
	reqs := srv.RequestsFor(app)
	if len(reqs) != 1 || reqs[0].Range == "" || reqs[0].Status != http.StatusOK {
		t.Fatalf("requests %+v, want one Range request answered 200", reqs)
	}
	if got := logged(logs, "target downloaded", "fetched"); got != fmt.Sprint(size) {
		t.Errorf("fetched=%s, want %d: the whole file once", got, size)
	}
	if got := logged(logs, "target downloaded", "resumed_from"); got != "0" {
		t.Errorf("resumed_from=%s, want 0: nothing of the partial file was used", got)
	}
	if !bytes.Equal(mustRead(t, dest), data) {
		t.Fatal("wrong content")
	}
}

// A file already in place with the signed bytes followed by junk is not
// the target (issue 21 survivor 4).
func TestTrailingJunkIsNotTheTarget(t *testing.T) {
	c, srv, data, _ := flaky(t, 50_000, 0)
	dir := t.TempDir()
	dest := filepath.Join(dir, targetName)
	os.WriteFile(dest, append(bytes.Clone(data), "junk"...), 0o644)
	if _, err := download(t, c, dir); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.RequestsFor(app)); n != 1 {
		t.Errorf("%d requests, want 1: the file on disk is not the target", n)
	}
	if !bytes.Equal(mustRead(t, dest), data) {
		t.Fatal("the file with trailing junk was kept")
	}
}

// An HTML page with 200 (a captive portal, a soft 404) is named as such,
// for metadata and targets; it never becomes a partial file, and one kept
// by an older version is not resumed onto.
func TestHTMLPageInsteadOfTheFile(t *testing.T) {
	c, srv, data, logs := flaky(t, 300_000, 2)
	dir := t.TempDir()
	dest := filepath.Join(dir, targetName)
	const want = "the server answered with an HTML page: a captive portal or a missing file?"

	srv.Misbehave("timestamp.json", 1, fetchtest.HTMLPage())
	err := c.Refresh(ctxTimeout(t, 10*time.Second))
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), srv.URL+"/metadata/timestamp.json") {
		t.Fatalf("Refresh: err = %v, want the HTML page named with its URL", err)
	}
	refresh(t, c)
	// Proper metadata labelled text/html is judged by its bytes.
	srv.Misbehave("timestamp.json", 1, func(w http.ResponseWriter, r *http.Request, serve http.Handler) {
		w.Header().Set("Content-Type", "text/html")
		serve.ServeHTTP(w, r)
	})
	refresh(t, c)
	// A host's "not found" page for the next root version ends the root
	// walk as a 404 would.
	srv.Misbehave("2.root.json", 1, fetchtest.HTMLPage())
	refresh(t, c)
	if reqs := srv.RequestsFor("2.root.json"); reqs[len(reqs)-1].Bytes < 50 {
		t.Fatalf("2.root.json requests %+v, want the last one answered with the HTML page", reqs)
	}

	os.WriteFile(dest+".part", data[:100_000], 0o644)
	srv.Misbehave(app, 1, fetchtest.HTMLPage())
	_, err = download(t, c, dir)
	var ua *fetch.UnexpectedAnswerError
	if !errors.As(err, &ua) || !ua.HTML || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), srv.URL+app) {
		t.Fatalf("Download: err = %v, want the HTML page named with its URL", err)
	}
	if got := mustRead(t, dest+".part"); !bytes.Equal(got, data[:100_000]) {
		t.Fatalf("the partial file changed (%d bytes): the HTML page reached it", len(got))
	}

	// A part holding an HTML page: discarded, the file fetched once, whole.
	os.WriteFile(dest+".part", []byte("<!DOCTYPE html><html><body>Sign in</body></html>"), 0o644)
	before := len(srv.RequestsFor(app))
	if _, err := download(t, c, dir); err != nil {
		t.Fatal(err)
	}
	reqs := srv.RequestsFor(app)[before:]
	if len(reqs) != 1 || reqs[0].Range != "" {
		t.Fatalf("requests %+v, want one for the whole file", reqs)
	}
	if !strings.Contains(logs.String(), "discarding partial download that holds an HTML page") {
		t.Error("the discarded part was not logged")
	}
	if !bytes.Equal(mustRead(t, dest), data) {
		t.Fatal("wrong content")
	}
}

// gzip on the fly changes the signed bytes: named as such.
func TestGzipOnTheFly(t *testing.T) {
	c, srv, _, _ := flaky(t, 10_000, 2)
	srv.Misbehave("timestamp.json", 1, fetchtest.Gzip())
	err := c.Refresh(ctxTimeout(t, 10*time.Second))
	if err == nil || !strings.Contains(err.Error(), "Content-Encoding: gzip") || !strings.Contains(err.Error(), "timestamp.json") {
		t.Fatalf("Refresh: err = %v, want the compression named", err)
	}
	refresh(t, c)
	srv.Misbehave(app, 1, fetchtest.Gzip())
	dir := t.TempDir()
	_, err = download(t, c, dir)
	var ua *fetch.UnexpectedAnswerError
	if !errors.As(err, &ua) || !strings.Contains(err.Error(), "Content-Encoding: gzip") {
		t.Fatalf("Download: err = %v, want the compression named", err)
	}
	if exists(filepath.Join(dir, targetName+".part")) {
		t.Error("compressed bytes kept as a partial file")
	}
}

// A CDN edge with a stale snapshot.json: asked once more past caches,
// which fixes a transient one; a permanent one is explained plainly.
func TestStaleCopyOfMetadata(t *testing.T) {
	repo := fetchtest.New(t, false)
	repo.AddTarget("app-1.0.0.tar.gz", []byte("one"))
	repo.Publish()
	old := fetchtest.CopyDir(t, repo.Dir)
	repo.AddTarget("app-2.0.0.tar.gz", []byte("two"))
	repo.Publish()
	srv := fetchtest.NewServer(t, repo.Dir)

	var logs logBuffer
	o := options(t, repo, srv.URL)
	o.Logger = logs.logger()
	srv.Misbehave("snapshot.json", 1, fetchtest.ServeFrom(old))
	c := newClient(t, o)
	if err := c.Refresh(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatalf("Refresh with one stale copy: %v", err)
	}
	target(t, c, "app-2.0.0.tar.gz")
	reqs := srv.RequestsFor("snapshot.json")
	if len(reqs) != 2 || reqs[0].Header.Get("Cache-Control") != "" || reqs[1].Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("snapshot requests %+v, want a second one with Cache-Control: no-cache", reqs)
	}
	if !strings.Contains(logs.String(), "stale cache") {
		t.Error("the retry was not logged")
	}

	srv.Misbehave("snapshot.json", -1, fetchtest.ServeFrom(old))
	err := newClient(t, options(t, repo, srv.URL)).Refresh(ctxTimeout(t, 10*time.Second))
	for _, want := range []string{"snapshot.json", srv.URL + "/metadata/snapshot.json", "a stale copy", "CDN"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Refresh against a stale edge: err = %v, want it to say %q", err, want)
		}
	}
}

// A slow body within the caller's deadline: the error names the URL and
// the cause the caller gave its deadline (the launcher names its key).
func TestSlowBodyNamesTheDeadline(t *testing.T) {
	c, srv, _, _ := flaky(t, 200_000, 2)
	srv.Misbehave(app, -1, fetchtest.Slow(20_000))
	cause := errors.New("download_timeout (1s) ran out")
	ctx, cancel := context.WithTimeoutCause(context.Background(), time.Second, cause)
	defer cancel()
	dir := t.TempDir()
	_, err := c.Download(ctx, target(t, c, targetName), dir)
	if !errors.Is(err, cause) || !strings.Contains(err.Error(), srv.URL+app) {
		t.Fatalf("err = %v, want the deadline's cause and the URL", err)
	}
	fi, err := os.Stat(filepath.Join(dir, targetName+".part"))
	if err != nil || fi.Size() == 0 || fi.Size() >= 200_000 {
		t.Fatalf("partial file %v, %v: want what arrived, kept for later", fi, err)
	}
}
