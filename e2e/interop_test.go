package e2e

// Issue 3: the real launcher against the repository that real Python tufup
// 0.10.0 made (testdata/tufup-0.10-demoapp): releases 1.0.0, 1.1.0, 1.2.0
// (required) and 2.0.0a1, each with a patch from the one before. Every
// installed tree is compared with the fixture's source bundle byte for byte,
// and the server's request log shows which targets the launcher chose.

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufup-go/tufup/internal/sandbox"
	"github.com/tufup-go/tufup/patch"
)

// wantFetched requires that exactly these targets were downloaded, in order.
func (e *interopEnv) wantFetched(what string, want ...string) {
	e.t.Helper()
	if got := e.srv.Fetched("/targets/"); !slices.Equal(got, want) {
		e.t.Fatalf("%s fetched %q, want %q", what, got, want)
	}
}

// A fresh install on stable gets the newest stable release, 1.2.0, as its
// full archive; the next start checks and finds nothing to do.
func TestInteropFreshInstallStable(t *testing.T) {
	t.Parallel()
	e := newInteropEnv(t)
	in := e.newInstall("stable")
	in.startApp("1.2.0", "hello", "two words")
	e.wantFetched("fresh install", "demoapp-1.2.0.tar.gz")
	in.assertRelease("1.2.0", interopBundle(t, "1.2.0"))

	// The installed folder, read through its index, is exactly the tar
	// Python tufup made 1.2.0's patch to: its hash is that patch's signed
	// tar_hash. No copy of the tar is kept.
	base, err := patch.OpenIndexedTar(in.tarIndex("1.2.0"), filepath.Join(in.dir, "versions", "1.2.0"))
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	h := patch.NewHasher()
	if _, err := io.Copy(h, io.NewSectionReader(base, 0, base.Size())); err != nil {
		t.Fatal(err)
	}
	got := h.Info()
	if cache, _ := os.ReadDir(filepath.Join(in.dir, ".tufup", "cache")); len(cache) != 1 {
		t.Fatalf("cache holds %v, want the index only", cache)
	}
	if want := interopCustom(t, "demoapp-1.2.0.patch"); got.SHA256 != want["tar_hash"] || float64(got.Size) != want["tar_size"] {
		t.Fatalf("cached tar %s (%d bytes), want tar_hash %v (%v bytes)", got.SHA256, got.Size, want["tar_hash"], want["tar_size"])
	}

	// From 1.2.0 on stable there is no update: 2.0.0a1 is a pre-release.
	e.srv.ResetLog()
	in.startApp("1.2.0")
	e.wantFetched("start while up to date")
	if !slices.Contains(e.srv.Fetched("/metadata/"), "timestamp.json") {
		t.Fatalf("the start did not check for updates: requests %v", e.srv.Requests())
	}
	if s := in.state(); s.LastCheck == nil || s.LastCheck.Result != "up to date" {
		t.Fatalf("last check = %+v, want up to date", s.LastCheck)
	}
}

// From 1.0.0 on stable the launcher stops at the required 1.2.0 (not the
// newest 2.0.0a1, not on stable anyway), through 1.1.0's and 1.2.0's patches.
func TestInteropFromOldStopsAtRequired(t *testing.T) {
	t.Parallel()
	e := newInteropEnv(t)
	in := e.installAt("1.0.0", "stable")
	in.assertRelease("1.0.0", interopBundle(t, "1.0.0"))
	if got := in.cachedTargetsVersion(); got != 2 {
		t.Fatalf("after installing 1.0.0 the cached targets.json is version %d, want 2 (as tufup published it)", got)
	}

	in.startApp("1.2.0")
	e.wantFetched("update from 1.0.0", "demoapp-1.1.0.patch", "demoapp-1.2.0.patch")
	in.assertRelease("1.2.0", interopBundle(t, "1.2.0"))
	if got := in.cachedTargetsVersion(); got != 5 {
		t.Fatalf("after the update the cached targets.json is version %d, want the fixture's 5", got)
	}
	if got := in.installed(); !slices.Equal(got, []string{"1.0.0", "1.2.0"}) {
		t.Fatalf("installed = %v, want 1.0.0 (previous) and 1.2.0; 1.1.0 is only a patch step", got)
	}

	e.srv.ResetLog()
	in.startApp("1.2.0")
	e.wantFetched("start while up to date")
}

// From 1.2.0 on alpha the launcher installs 2.0.0a1 through its patch,
// whether alpha comes from launcher.json or from the --channel flag.
func TestInteropAlpha(t *testing.T) {
	t.Parallel()
	e := newInteropEnv(t)
	want := interopBundle(t, "2.0.0a1")

	// launcher.json says alpha.
	in := e.newInstall("stable")
	in.startApp("1.2.0")
	setConfig(t, in.dir, "channel", "alpha")
	e.srv.ResetLog()
	in.startApp("2.0.0a1")
	e.wantFetched("update to alpha", "demoapp-2.0.0a1.patch")
	in.assertRelease("2.0.0a1", want)

	// launcher.json says stable; the flag overrides it for this start.
	flag := e.newInstall("stable")
	flag.startApp("1.2.0")
	e.srv.ResetLog()
	flag.startWith("2.0.0a1", []string{"--channel", "alpha"}, "x")
	e.wantFetched("update with --channel alpha", "demoapp-2.0.0a1.patch")
	flag.assertRelease("2.0.0a1", want)
	// Back on launcher.json's stable, nothing newer is eligible and the
	// installed pre-release is kept, not downgraded.
	e.srv.ResetLog()
	flag.startApp("2.0.0a1")
	e.wantFetched("stable start after the alpha update")

	// A fresh install on alpha also stops at the required 1.2.0 first.
	fresh := e.newInstall("alpha")
	e.srv.ResetLog()
	fresh.startApp("1.2.0")
	e.wantFetched("fresh install on alpha", "demoapp-1.2.0.tar.gz")
	e.srv.ResetLog()
	fresh.startApp("2.0.0a1")
	e.wantFetched("second start on alpha", "demoapp-2.0.0a1.patch")
	fresh.assertRelease("2.0.0a1", want)
}

// Without the cached tar of the installed version, patches cannot apply: the
// launcher downloads the full archive instead.
func TestInteropMissingBaseUsesArchive(t *testing.T) {
	t.Parallel()
	e := newInteropEnv(t)
	in := e.newInstall("alpha")
	in.startApp("1.2.0")
	cached, err := filepath.Glob(filepath.Join(in.dir, ".tufup", "cache", "*"))
	if err != nil || len(cached) == 0 {
		t.Fatalf("nothing cached after installing 1.2.0 (%v)", err)
	}
	for _, f := range cached {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	e.srv.ResetLog()
	in.startApp("2.0.0a1")
	e.wantFetched("update without a cached base", "demoapp-2.0.0a1.tar.gz")
	in.assertRelease("2.0.0a1", interopBundle(t, "2.0.0a1"))
	if !strings.Contains(in.log(), "not cached") {
		t.Fatalf("the log does not say why the full archive was used:\n%s", in.log())
	}
}

// interopCorrupt changes every byte of the cached tar of the installed version
// but keeps its size. The patch on the server still matches its signed hash,
// so TUF cannot catch this: only the rebuilt tar's tar_hash can.
func interopCorrupt(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] ^= 0x55
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A patch that yields the wrong tar makes the launcher download the full
// archive in the same start, and remember the patch as failed. (The base
// is a damaged tar that an older launcher kept: a base served from the
// installed folder is verified, see TestModifiedInstallFallsBack.)
func TestInteropBadPatchResultFallsBack(t *testing.T) {
	t.Parallel()
	e := newInteropEnv(t)
	in := e.newInstall("stable")
	in.startApp("1.2.0")
	in.oldStyleBase("1.2.0", true)

	e.srv.ResetLog()
	in.startWith("2.0.0a1", []string{"--channel", "alpha"})
	e.wantFetched("update with a bad base", "demoapp-2.0.0a1.patch", "demoapp-2.0.0a1.tar.gz")
	in.assertRelease("2.0.0a1", interopBundle(t, "2.0.0a1"))
	if got := in.state().FailedPatches; !slices.Equal(got, []string{"demoapp-2.0.0a1.patch"}) {
		t.Fatalf("state.json failed_patches = %q, want the 2.0.0a1 patch", got)
	}
	if !strings.Contains(in.log(), "patch update failed") {
		t.Fatalf("the log does not tell about the failed patch:\n%s", in.log())
	}
}

// A patch that failed once is not tried again, as in tufup, even when it
// would now work: a later update from the same version goes straight to the
// full archive.
func TestInteropFailedPatchNotRetried(t *testing.T) {
	t.Parallel()
	e := newInteropEnv(t)
	in := e.newInstall("alpha")
	in.startApp("1.2.0")
	tar := in.oldStyleBase("1.2.0", true)

	// The patch fails and, this time, so does the full archive: the
	// update fails and the installed 1.2.0 starts.
	const archivePath = "/targets/demoapp-2.0.0a1.tar.gz"
	e.srv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == archivePath {
			http.NotFound(w, r)
			return true
		}
		return false
	})
	e.srv.ResetLog()
	in.startApp("1.2.0")
	e.wantFetched("failed update", "demoapp-2.0.0a1.patch")
	if !slices.ContainsFunc(e.srv.Requests(), func(r sandbox.Request) bool { return r.Path == archivePath }) {
		t.Fatalf("the launcher did not fall back to the archive: %v", e.srv.Requests())
	}
	if got := in.state().FailedPatches; !slices.Equal(got, []string{"demoapp-2.0.0a1.patch"}) {
		t.Fatalf("state.json failed_patches = %q, want the 2.0.0a1 patch", got)
	}

	// Repair the base: the patch would now rebuild 2.0.0a1's tar (the
	// base's hash is the 1.2.0 patch's tar_hash, the tar the publisher
	// patched against). The server answers normally again.
	got := interopGunzip(t, "1.2.0", tar)
	if want := interopCustom(t, "demoapp-1.2.0.patch")["tar_hash"]; got.SHA256 != want {
		t.Fatalf("repaired base %s, want %v", got.SHA256, want)
	}
	e.srv.Intercept(nil)
	e.srv.ResetLog()
	in.startApp("2.0.0a1")
	e.wantFetched("update after a failed patch", "demoapp-2.0.0a1.tar.gz")
	in.assertRelease("2.0.0a1", interopBundle(t, "2.0.0a1"))
	if !strings.Contains(in.log(), "failed before") {
		t.Fatalf("the log does not say why the full archive was used:\n%s", in.log())
	}
}

// tufup-repo takes over the tufup-made repository and adds 2.0.0; the
// launcher updates to it by patch, through the required 1.2.0 from older
// versions, and the metadata still verifies from the original root.json.
func TestInteropTakeoverAddUpdates(t *testing.T) {
	t.Parallel()
	e := newInteropEnv(t)

	// Installs made before the publisher switched tools: one at 1.0.0,
	// one at 1.2.0.
	old := e.installAt("1.0.0", "stable")
	cur := e.newInstall("stable")
	cur.startApp("1.2.0")

	// The 2.0.0 bundle: 2.0.0a1's with its version changed.
	bundle := interopBundle(t, "2.0.0a1")
	for name, content := range map[string]string{
		"VERSION": "2.0.0\n",
		"app":     "#!/bin/sh\necho \"app 2.0.0\" \"$@\"\n",
	} {
		if err := os.WriteFile(filepath.Join(bundle, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(bundle, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(bundle, "VERSION"), 0o644); err != nil {
		t.Fatal(err)
	}
	project := e.project()
	e.repo(project, "add", "2.0.0", bundle, "--meta", `{"changes": ["release 2.0.0"]}`)
	e.serve(filepath.Join(project, "repository"))

	// tufup's rule: apply every patch with current < version <= chosen,
	// pre-releases included, unless they add up to more than 0.8 of the
	// archive. From 1.2.0 that is 2.0.0a1's patch then 2.0.0's.
	targets, err := metadata.Targets().FromFile(filepath.Join(project, "repository", "metadata", "targets.json"))
	if err != nil {
		t.Fatal(err)
	}
	tt := targets.Signed.Targets
	for _, name := range []string{"demoapp-2.0.0.tar.gz", "demoapp-2.0.0.patch", "demoapp-2.0.0a1.patch"} {
		if tt[name] == nil {
			t.Fatalf("targets.json lacks %s after tufup-repo add", name)
		}
	}
	if sum := tt["demoapp-2.0.0a1.patch"].Length + tt["demoapp-2.0.0.patch"].Length; float64(sum) > 0.8*float64(tt["demoapp-2.0.0.tar.gz"].Length) {
		t.Fatalf("patches of %d bytes: tufup would take the full archive; the test's premise is wrong", sum)
	}

	e.srv.ResetLog()
	cur.startApp("2.0.0")
	e.wantFetched("update from 1.2.0", "demoapp-2.0.0a1.patch", "demoapp-2.0.0.patch")
	cur.assertRelease("2.0.0", bundle)

	// From 1.0.0 the first start stops at the required 1.2.0.
	e.srv.ResetLog()
	old.startApp("1.2.0")
	e.wantFetched("first update from 1.0.0", "demoapp-1.1.0.patch", "demoapp-1.2.0.patch")
	old.assertRelease("1.2.0", interopBundle(t, "1.2.0"))
	e.srv.ResetLog()
	old.startApp("2.0.0")
	e.wantFetched("second update from 1.0.0", "demoapp-2.0.0a1.patch", "demoapp-2.0.0.patch")
	old.assertRelease("2.0.0", bundle)

	// The user metadata given to tufup-repo reaches the launcher.
	if got := string(old.state().UserMeta["2.0.0"]); !strings.Contains(got, `"release 2.0.0"`) {
		t.Fatalf("user metadata of 2.0.0 = %s", got)
	}

	// The launchers trusted the fixture's original root.json (shipped in
	// each install); tufup-repo's own verifier agrees from that root, and
	// the root was left as Python tufup wrote it.
	origRoot, err := filepath.Abs(filepath.Join(interopFixture, "repository", "metadata", "root.json"))
	if err != nil {
		t.Fatal(err)
	}
	if out := e.repo(project, "verify", "--root", origRoot); !strings.Contains(out, "verify: ok") {
		t.Fatalf("verify from the original root:\n%s", out)
	}
	for _, name := range []string{"root.json", "1.root.json"} {
		want, _ := os.ReadFile(filepath.Join(interopFixture, "repository", "metadata", name))
		got, err := os.ReadFile(filepath.Join(project, "repository", "metadata", name))
		if err != nil || string(got) != string(want) {
			t.Fatalf("%s changed by tufup-repo add (%v)", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(project, "repository", "metadata", "2.root.json")); err == nil {
		t.Fatal("tufup-repo add wrote a new root version")
	}
}

// The publisher's user metadata of the installed release ({"changes":
// [...]} in the fixture) is shown by launcher --status and --status --json.
func TestInteropUserMetadataStatus(t *testing.T) {
	t.Parallel()
	e := newInteropEnv(t)
	in := e.newInstall("stable")
	in.startApp("1.2.0")

	e.srv.ResetLog()
	r := in.run(nil, "--status")
	if r.code != 0 {
		t.Fatalf("--status: exit %d, stderr %s", r.code, r.stderr)
	}
	if want := `release info: {"changes":["release 1.2.0"]}` + "\n"; !strings.Contains(r.stdout, want) {
		t.Fatalf("--status does not show the release's user metadata as %q:\n%s", want, r.stdout)
	}
	if !strings.Contains(r.stdout, "current:      1.2.0\n") {
		t.Fatalf("--status does not show the current version:\n%s", r.stdout)
	}

	r = in.run(nil, "--status", "--json")
	if r.code != 0 {
		t.Fatalf("--status --json: exit %d, stderr %s", r.code, r.stderr)
	}
	var s struct {
		Current  string `json:"current"`
		UserMeta map[string]struct {
			Changes []string `json:"changes"`
		} `json:"user_meta"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("--status --json: %v\n%s", err, r.stdout)
	}
	if s.Current != "1.2.0" || !slices.Equal(s.UserMeta["1.2.0"].Changes, []string{"release 1.2.0"}) {
		t.Fatalf("--status --json: current %q, user_meta %+v", s.Current, s.UserMeta)
	}
	if got := e.srv.Requests(); len(got) != 0 {
		t.Fatalf("--status went to the network: %v", got)
	}
}
