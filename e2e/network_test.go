package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tufup-go/tufup/fetch/fetchtest"
	"github.com/tufup-go/tufup/internal/sandbox"
)

// Issue 20: the real launcher against a server that misbehaves the way
// real networks do (fetchtest's faults in front of the env's server). A
// transient fault still updates; a permanent one starts the installed
// version, with its cause in the log and nothing corrupt left.

// misbehave puts a fault list in front of the env's server and returns it.
func misbehave(e *env) *fetchtest.Faults {
	faults := &fetchtest.Faults{}
	files := http.FileServer(http.Dir(filepath.Join(e.work, "repository")))
	e.srv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		return faults.Serve(w, r, files)
	})
	return faults
}

func archiveSize(t *testing.T, e *env, version string) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(e.targetsDir(), "sampleapp-"+version+".tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// assertNoHTMLParts fails if a partial download holds an HTML page.
func assertNoHTMLParts(t *testing.T, in *install) {
	t.Helper()
	parts, _ := filepath.Glob(filepath.Join(in.dir, ".tufup", "downloads", "*.part"))
	for _, p := range parts {
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), "<html") {
			t.Errorf("%s holds an HTML page", p)
		}
	}
}

// Rate limits, a 503 and a dropped connection, each once: the update
// still goes through, by its patch: a rate-limited patch is retried, not
// replaced by the bigger archive.
func TestTransientNetworkFaultsStillUpdate(t *testing.T) {
	e, in, bundles := updateAvailable(t, nil)
	faults := misbehave(e)
	faults.Misbehave("timestamp.json", 1, fetchtest.Status(http.StatusServiceUnavailable, "1"))
	faults.Misbehave(".patch", 1, fetchtest.Status(http.StatusTooManyRequests, "1"))
	faults.Misbehave(".patch", 1, fetchtest.DropAfter(100))
	e.srv.ResetLog()
	in.start("1.1.0")
	if got := e.srv.Fetched("/targets/"); slices.Contains(got, "sampleapp-1.1.0.tar.gz") {
		t.Errorf("fetched %v: the full archive instead of the rate-limited patch", got)
	}
	if n := strings.Count(in.log(), "retrying"); n < 3 {
		t.Errorf("%d retries logged, want 3:\n%s", n, in.log())
	}
	assertIntact(t, in, bundles)
}

// A server that keeps rate-limiting the patch: the installed version
// starts, the log names the 429 and the patch's URL, the archive is not
// fetched; once the server relents, the patch is used.
func TestRateLimitedPatchWaitsForTheNextStart(t *testing.T) {
	e, in, bundles := updateAvailable(t, nil)
	faults := misbehave(e)
	faults.Misbehave(".patch", -1, fetchtest.Status(http.StatusTooManyRequests, "3600"))
	e.srv.ResetLog()
	in.start("1.0.0")
	if got := e.srv.Fetched("/targets/"); len(got) != 0 {
		t.Errorf("fetched %v from a server asking to slow down", got)
	}
	for _, want := range []string{"429", "rate limited", e.srv.URL + "/targets/sampleapp-1.1.0.patch"} {
		if !strings.Contains(in.log(), want) {
			t.Errorf("the log does not say %q:\n%s", want, in.log())
		}
	}
	// Partial downloads: one of a release older than the update (never
	// needed again), one of a newer release (resumed when it comes).
	downloads := filepath.Join(in.dir, ".tufup", "downloads")
	stale, newer := filepath.Join(downloads, "sampleapp-1.0.5.tar.gz.part"), filepath.Join(downloads, "sampleapp-1.2.0.tar.gz.part")
	for _, p := range []string{stale, newer} {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	faults.Behave()
	e.srv.ResetLog()
	in.start("1.1.0")
	if got := e.srv.Fetched("/targets/"); !slices.Equal(got, []string{"sampleapp-1.1.0.patch"}) {
		t.Errorf("fetched %v, want the patch", got)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Errorf("%s left behind after 1.1.0 was installed", stale)
	}
	if _, err := os.Stat(newer); err != nil {
		t.Errorf("the partial download of a newer release was removed: %v", err)
	}
	assertIntact(t, in, bundles)
}

// A first install over a link that drops every sixth of the archive: each
// try brings more, so it goes on to the end (two retries would not do).
func TestFirstInstallKeepsGoingWhileBytesArrive(t *testing.T) {
	e := newEnv(t)
	bundles := map[string]string{"1.0.0": e.publish("1.0.0", sandbox.BundleOptions{})}
	faults := misbehave(e)
	faults.Misbehave(".tar.gz", 5, fetchtest.DropAfter(archiveSize(t, e, "1.0.0")/6))
	in := e.newInstall(map[string]any{"idle_timeout": "2s"})
	in.start("1.0.0")
	if n := strings.Count(in.log(), "retrying"); n != 5 {
		t.Errorf("%d retries logged, want 5", n)
	}
	assertIntact(t, in, bundles)
}

// A slow server holds the start for download_timeout at most: the
// installed version starts, the log says why, and the update finishes in
// the background, resuming the partial download; the next start runs it.
func TestSlowUpdateStartsInstalledVersion(t *testing.T) {
	e, in, bundles := updateAvailable(t, map[string]any{"download_timeout": "1s", "idle_timeout": "2s"})
	// Without the cached base the update needs the full archive, which
	// the server sends at 8 KiB/s: above the stall guard, far too slow.
	os.RemoveAll(filepath.Join(in.dir, ".tufup", "cache"))
	faults := misbehave(e)
	faults.Misbehave(".tar.gz", 1, fetchtest.Slow(8<<10))
	began := time.Now()
	in.start("1.0.0")
	t.Logf("the app started after %s; the archive has %d bytes", time.Since(began).Round(time.Millisecond), archiveSize(t, e, "1.1.0"))
	for _, want := range []string{"longer than download_timeout", "download_timeout=1s", "finishing the update in the background", e.srv.URL + "/targets/sampleapp-1.1.0.tar.gz"} {
		if !strings.Contains(in.log(), want) {
			t.Errorf("the log does not say %q:\n%s", want, in.log())
		}
	}
	waitFor(t, func() bool { return in.current() == "1.1.0" })
	if len(backgroundPIDs(in.log())) == 0 {
		t.Fatalf("no background update logged:\n%s", in.log())
	}
	in.waitBackgroundUpdates(time.Minute)
	if !strings.Contains(in.log(), "resuming download") {
		t.Errorf("the background update did not resume the partial download:\n%s", in.log())
	}
	in.start("1.1.0")
	assertIntact(t, in, bundles)
}

// Permanent faults with a version installed: it starts, the log names the
// cause in plain words, and nothing corrupt is left.
func TestPermanentNetworkFaultsStartInstalledVersion(t *testing.T) {
	cases := []struct {
		name  string
		fault func(e *env, old string) (string, fetchtest.Fault)
		want  string
	}{{
		name:  "captive portal",
		fault: func(*env, string) (string, fetchtest.Fault) { return "", fetchtest.HTMLPage() },
		want:  "the server answered with an HTML page: a captive portal or a missing file?",
	}, {
		name:  "soft 404 for the archive",
		fault: func(*env, string) (string, fetchtest.Fault) { return ".tar.gz", fetchtest.HTMLPage() },
		want:  "sampleapp-1.1.0.tar.gz: the server answered with an HTML page",
	}, {
		name:  "gzip on the fly",
		fault: func(*env, string) (string, fetchtest.Fault) { return "timestamp.json", fetchtest.Gzip() },
		want:  "Content-Encoding: gzip",
	}, {
		name:  "stale CDN edge",
		fault: func(_ *env, old string) (string, fetchtest.Fault) { return "snapshot.json", fetchtest.ServeFrom(old) },
		want:  "a stale copy",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			bundles := map[string]string{"1.0.0": e.publish("1.0.0", sandbox.BundleOptions{})}
			in := e.newInstall(nil)
			in.start("1.0.0")
			old := fetchtest.CopyDir(t, filepath.Join(e.work, "repository"))
			bundles["1.1.0"] = e.publish("1.1.0", sandbox.BundleOptions{})
			// No cached base: the update needs the archive.
			os.RemoveAll(filepath.Join(in.dir, ".tufup", "cache"))
			suffix, fault := tc.fault(e, old)
			misbehave(e).Misbehave(suffix, -1, fault)
			in.start("1.0.0")
			if !strings.Contains(in.log(), tc.want) {
				t.Errorf("the log does not say %q:\n%s", tc.want, in.log())
			}
			assertIntact(t, in, bundles)
			assertNoHTMLParts(t, in)
		})
	}
}

// launcher.json headers go to the repository's origin only: a redirect of
// the patch to another server (another port) carries none of them, and
// nothing of them reaches the log.
func TestHeadersDoNotFollowRedirectsElsewhere(t *testing.T) {
	headers := map[string]any{"Authorization": "Bearer secret-token", "X-Api-Key": "secret-key"}
	e, in, bundles := updateAvailable(t, map[string]any{"headers": headers})
	elsewhere := fetchtest.NewServer(t, filepath.Join(e.work, "repository"))
	misbehave(e).Misbehave(".patch", -1, fetchtest.Redirect(elsewhere.URL))
	in.start("1.1.0")
	reqs := elsewhere.RequestsFor(".patch")
	if len(reqs) != 1 {
		t.Fatalf("requests elsewhere %+v, want the redirected patch", reqs)
	}
	for name := range headers {
		if v := reqs[0].Header.Get(name); v != "" {
			t.Errorf("the other origin received %s: %s", name, v)
		}
	}
	if strings.Contains(in.log(), "secret") {
		t.Errorf("a header value reached the log:\n%s", in.log())
	}
	assertIntact(t, in, bundles)
}
