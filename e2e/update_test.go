package e2e

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tufup-go/tufup/internal/sandbox"
)

func sha(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:8]
}

// Issue 2: publish three versions, install by bootstrap and update by patch.
func TestPublishInstallUpdate(t *testing.T) {
	e := newEnv(t)
	bundles := map[string]string{}
	bundles["1.0.0"] = e.publish("1.0.0", sandbox.BundleOptions{Extra: map[string]string{"docs/readme.txt": "v1"}})

	// A user installs while 1.0.0 is the newest: the first start bootstraps.
	old := e.newInstall(nil)
	run := old.start("1.0.0", "open", "my file.txt", "--app-flag", "-x")
	if want := []string{"open", "my file.txt", "--app-flag", "-x"}; !slices.Equal(run.Args, want) {
		t.Fatalf("app got arguments %q, want %q unchanged and in order", run.Args, want)
	}
	if run.EnvVersion != "1.0.0" || !samePath(run.InstallDir, old.dir) || !samePath(run.Launcher, old.launcher) {
		t.Fatalf("app environment: version %q, install dir %q, launcher %q", run.EnvVersion, run.InstallDir, run.Launcher)
	}
	if got := e.srv.Fetched("/targets/"); !slices.Equal(got, []string{"sampleapp-1.0.0.tar.gz"}) {
		t.Fatalf("bootstrap fetched %v, want the 1.0.0 archive", got)
	}
	assertSameTree(t, bundles["1.0.0"], filepath.Join(old.dir, "versions", "1.0.0"))

	bundles["1.1.0"] = e.publish("1.1.0", sandbox.BundleOptions{Extra: map[string]string{"docs/readme.txt": "v1.1"}})
	bundles["1.2.0"] = e.publish("1.2.0", sandbox.BundleOptions{Extra: map[string]string{"docs/new.txt": "new in 1.2"}})
	for _, name := range []string{"sampleapp-1.1.0.patch", "sampleapp-1.2.0.patch"} {
		if _, err := os.Stat(filepath.Join(e.targetsDir(), name)); err != nil {
			t.Fatalf("tufup-repo add did not write a patch: %v", err)
		}
	}

	// The installed 1.0.0 updates to 1.2.0 through both patches.
	e.srv.ResetLog()
	old.start("1.2.0")
	if got := e.srv.Fetched("/targets/"); !slices.Equal(got, []string{"sampleapp-1.1.0.patch", "sampleapp-1.2.0.patch"}) {
		t.Fatalf("update fetched %v, want only the two patches", got)
	}
	if old.current() != "1.2.0" {
		t.Fatalf("current = %s", old.current())
	}
	assertSameTree(t, bundles["1.2.0"], filepath.Join(old.dir, "versions", "1.2.0"))
	// The previous version stays for rollback; the oldest is cleaned up.
	if got := old.installed(); !slices.Equal(got, []string{"1.0.0", "1.2.0"}) {
		t.Fatalf("installed = %v, want 1.0.0 (previous) and 1.2.0", got)
	}

	// No update: the next start fetches no target.
	e.srv.ResetLog()
	old.start("1.2.0")
	if got := e.srv.Fetched("/targets/"); len(got) != 0 {
		t.Fatalf("start without update fetched %v", got)
	}

	// A fresh install gets the newest release as a full archive.
	e.srv.ResetLog()
	fresh := e.newInstall(nil)
	fresh.start("1.2.0")
	if got := e.srv.Fetched("/targets/"); !slices.Equal(got, []string{"sampleapp-1.2.0.tar.gz"}) {
		t.Fatalf("fresh install fetched %v, want the 1.2.0 archive", got)
	}
	assertSameTree(t, bundles["1.2.0"], filepath.Join(fresh.dir, "versions", "1.2.0"))
}

func TestLauncherVersionAndHelp(t *testing.T) {
	e := newEnv(t)
	in := e.newInstall(nil)
	r := in.run(nil, "--version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "launcher ") || len(r.runs) != 0 {
		t.Fatalf("--version: exit %d, stdout %q, app runs %d", r.code, r.stdout, len(r.runs))
	}
	r = in.run(nil, "--help")
	if r.code != 0 || len(r.runs) != 0 {
		t.Fatalf("--help: exit %d, app runs %d", r.code, len(r.runs))
	}
	for _, flag := range []string{"--rollback", "--status", "--channel", "--no-update", "--update-only", "--paths", "--version", "launcher.json"} {
		if !strings.Contains(r.stdout, flag) {
			t.Errorf("--help does not explain %s", flag)
		}
	}
	// Everything after "--" is the app's, even the launcher's own flag names.
	e.publish("1.0.0", sandbox.BundleOptions{})
	run := in.start("1.0.0", "--", "--version", "--status")
	if !slices.Equal(run.Args, []string{"--version", "--status"}) {
		t.Fatalf("app got %q", run.Args)
	}
}

func TestNoNetworkStartsInstalledVersion(t *testing.T) {
	e := newEnv(t)
	e.publish("1.0.0", sandbox.BundleOptions{})
	in := e.newInstall(nil)
	in.start("1.0.0")
	e.srv.Close()
	in.start("1.0.0")
	if !strings.Contains(in.log(), "update failed") {
		t.Fatalf("the failed check is not logged:\n%s", in.log())
	}
}

func TestFreshInstallWithoutNetworkFails(t *testing.T) {
	e := newEnv(t)
	e.publish("1.0.0", sandbox.BundleOptions{})
	in := e.newInstall(nil)
	e.srv.Close()
	r := in.run(nil)
	if r.code == 0 || len(r.runs) != 0 || !strings.Contains(r.stderr, "nothing installed") {
		t.Fatalf("exit %d, runs %d, stderr %q; want a clear failure", r.code, len(r.runs), r.stderr)
	}
}

// Issue 6: a repository on a share or USB stick, reached with file:// URLs.
func TestUpdateFromFileURL(t *testing.T) {
	e := newEnv(t)
	bundles := map[string]string{"1.0.0": e.publish("1.0.0", sandbox.BundleOptions{})}
	repoURL := "file://" + filepath.ToSlash(filepath.Join(e.work, "repository"))
	in := e.newInstall(map[string]any{"metadata_url": repoURL + "/metadata/", "targets_url": repoURL + "/targets/"})
	e.srv.Close() // nothing over HTTP
	in.start("1.0.0")
	bundles["1.1.0"] = e.publish("1.1.0", sandbox.BundleOptions{})
	in.start("1.1.0")
	assertSameTree(t, bundles["1.1.0"], filepath.Join(in.dir, "versions", "1.1.0"))
	if !strings.Contains(in.log(), "sampleapp-1.1.0.patch") {
		t.Fatalf("the update did not use the patch:\n%s", in.log())
	}
}
