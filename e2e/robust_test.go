package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tufup-go/tufup/internal/sandbox"
	"github.com/tufup-go/tufup/internal/testenv"
)

// Issue 4: the steps at which the crash tests kill the launcher, in update
// order. They are the crashPoint names in package launcher.
// "stream" is halfway through applying the patch (or decompressing the
// archive) into the staging folder.
var crashSteps = []string{"download", "patch", "extract", "stream", "verify", "rename", "pointer", "cleanup"}

// assertIntact checks the install's invariants: current names a version
// folder, and every folder under versions/ is complete (equal to the bundle
// published for it).
func assertIntact(t *testing.T, in *install, bundles map[string]string) {
	t.Helper()
	assertCurrentComplete(t, in, bundles)
	for _, v := range in.installed() {
		b, ok := bundles[v]
		if !ok {
			t.Fatalf("versions/ holds %q, not a published version", v)
		}
		assertSameTree(t, b, filepath.Join(in.dir, "versions", v))
	}
	for _, leftover := range []string{"staging", "trash"} {
		entries, _ := os.ReadDir(filepath.Join(in.dir, ".tufup", leftover))
		if len(entries) > 0 {
			t.Errorf(".tufup/%s not cleaned up: %v", leftover, entries)
		}
	}
}

// assertCurrentComplete checks design invariant 1, which must hold at every
// moment, a crash included: current names a folder that exists under
// versions/ and holds the whole release (issue 21: a pointer flipped before
// its folder was in place went unseen, since the next start repairs it).
func assertCurrentComplete(t *testing.T, in *install, bundles map[string]string) {
	t.Helper()
	cur := in.current()
	bundle, ok := bundles[cur]
	if !ok {
		t.Fatalf("current names %q, not a published version", cur)
	}
	dir := filepath.Join(in.dir, "versions", cur)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("current names %s, but versions/%s is not a folder (%v): invariant 1 broken", cur, cur, err)
	}
	assertSameTree(t, bundle, dir)
}

// updateAvailable is where most never-brick tests start: 1.0.0 installed
// by bootstrap (launcher.json overrides in extra), 1.1.0 published since.
func updateAvailable(t *testing.T, extra map[string]any) (*env, *install, map[string]string) {
	t.Helper()
	e := newEnv(t)
	bundles := map[string]string{"1.0.0": e.publish("1.0.0", sandbox.BundleOptions{})}
	in := e.newInstall(extra)
	in.start("1.0.0")
	bundles["1.1.0"] = e.publish("1.1.0", sandbox.BundleOptions{})
	return e, in, bundles
}

// killedRun runs the launcher with TUFUP_CRASH_AT=step and requires that it
// died there: the app did not run.
func killedRun(t *testing.T, in *install, step string) {
	t.Helper()
	r := in.run([]string{"TUFUP_CRASH_AT=" + step})
	if r.code == 0 || len(r.runs) != 0 {
		t.Fatalf("crash at %s: launcher exit %d, app ran %d times; want it killed before the app ran\n%s", step, r.code, len(r.runs), in.log())
	}
}

func TestCrashAtEveryStepOfAnUpdate(t *testing.T) {
	for _, step := range crashSteps {
		t.Run(step, func(t *testing.T) {
			e := newEnv(t, "crashtest")
			bundles := map[string]string{"1.0.0": e.publish("1.0.0", sandbox.BundleOptions{})}
			in := e.newInstall(nil)
			in.start("1.0.0")
			bundles["1.1.0"] = e.publish("1.1.0", sandbox.BundleOptions{})

			killedRun(t, in, step)
			// Killed mid-update, the install still names a complete version.
			assertCurrentComplete(t, in, bundles)
			for _, v := range in.installed() {
				assertSameTree(t, bundles[v], filepath.Join(in.dir, "versions", v))
			}

			// The next start cleans up and finishes (or redoes) the update.
			in.start("1.1.0")
			assertIntact(t, in, bundles)
			if !strings.Contains(in.log(), "1.1.0") {
				t.Fatalf("log does not mention the update:\n%s", in.log())
			}
		})
	}
}

func TestCrashAtEveryStepOfAFreshInstall(t *testing.T) {
	for _, step := range []string{"download", "extract", "stream", "verify", "rename", "pointer", "cleanup"} {
		t.Run(step, func(t *testing.T) {
			e := newEnv(t, "crashtest")
			bundles := map[string]string{"1.0.0": e.publish("1.0.0", sandbox.BundleOptions{})}
			in := e.newInstall(nil)
			killedRun(t, in, step)
			if _, err := os.Lstat(filepath.Join(in.dir, "current")); err == nil {
				assertCurrentComplete(t, in, bundles)
			}
			for _, v := range in.installed() {
				assertSameTree(t, bundles[v], filepath.Join(in.dir, "versions", v))
			}
			in.start("1.0.0")
			assertIntact(t, in, bundles)
		})
	}
}

// killSoakRuns is the number of random-time kills; CI raises it with
// TUFUP_KILL_SOAK.
func killSoakRuns(t *testing.T) int {
	n := 10
	if s := os.Getenv("TUFUP_KILL_SOAK"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("TUFUP_KILL_SOAK=%q: %v", s, err)
		}
		n = v
	}
	if testing.Short() {
		n = min(n, 3)
	}
	return n
}

func TestKillAtRandomTimes(t *testing.T) {
	e := newEnv(t)
	const size = 4 << 20 // big enough that an update takes a while
	bundles := map[string]string{"1.0.0": e.publish("1.0.0", sandbox.BundleOptions{DataSize: size})}
	template := e.newInstall(nil)
	template.start("1.0.0")
	bundles["1.1.0"] = e.publish("1.1.0", sandbox.BundleOptions{DataSize: size})
	bundles["1.2.0"] = e.publish("1.2.0", sandbox.BundleOptions{DataSize: size, Extra: map[string]string{"more/file.txt": "x"}})

	// How long an undisturbed update takes sets the window for the kills.
	probe := cloneInstall(t, template)
	began := time.Now()
	probe.start("1.2.0")
	window := time.Since(began) * 3 / 2
	t.Logf("undisturbed update: %s; killing within %s", time.Since(began), window)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	runs := killSoakRuns(t)
	var killedBeforeApp int
	for i := 0; i < runs; i++ {
		in := cloneInstall(t, template)
		delay := time.Duration(rng.Int64N(int64(window)))
		if in.runKilledAfter(delay) {
			killedBeforeApp++
		}
		// Whatever the moment, the install is intact and starts.
		if cur := in.current(); cur != "1.0.0" && cur != "1.2.0" {
			t.Fatalf("run %d (kill after %s): current = %q", i, delay, cur)
		}
		assertCurrentComplete(t, in, bundles)
		for _, v := range in.installed() {
			assertSameTree(t, bundles[v], filepath.Join(in.dir, "versions", v))
		}
		in.start("1.2.0")
		assertIntact(t, in, bundles)
		if t.Failed() {
			t.Fatalf("run %d (kill after %s) broke the install\n%s", i, delay, in.log())
		}
	}
	t.Logf("%d random kills, %d of them before the app started, 0 broken installs", runs, killedBeforeApp)
}

// runKilledAfter starts the launcher and kills it (or the app it became)
// with SIGKILL after delay. It reports whether the app had not run yet.
func (in *install) runKilledAfter(delay time.Duration) bool {
	in.t.Helper()
	before := len(in.runs())
	cmd := exec.Command(in.launcher)
	cmd.Env = append(os.Environ(), "SAMPLEAPP_OUT="+in.out)
	if err := cmd.Start(); err != nil {
		in.t.Fatal(err)
	}
	time.Sleep(delay)
	cmd.Process.Kill()
	cmd.Wait()
	return len(in.runs()) == before
}

// startMany runs n launchers of the same install at once.
func (in *install) startMany(n int) []result {
	in.t.Helper()
	results := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, in.launcher, "run", strconv.Itoa(i))
			cmd.Env = append(os.Environ(), "SAMPLEAPP_OUT="+in.out)
			out, err := cmd.CombinedOutput()
			results[i].stderr = string(out)
			if err != nil {
				results[i].code = -1
				if ee, ok := err.(*exec.ExitError); ok {
					results[i].code = ee.ExitCode()
				}
			}
		}(i)
	}
	close(start)
	wg.Wait()
	return results
}

func TestEightLaunchersAtOnce(t *testing.T) {
	e := newEnv(t)
	const size = 2 << 20
	bundles := map[string]string{"1.0.0": e.publish("1.0.0", sandbox.BundleOptions{DataSize: size})}
	in := e.newInstall(nil)
	in.start("1.0.0")
	bundles["1.1.0"] = e.publish("1.1.0", sandbox.BundleOptions{DataSize: size})
	e.srv.ResetLog()
	before := len(in.runs())

	results := in.startMany(8)
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("launcher %d: exit %d: %s", i, r.code, r.stderr)
		}
	}
	runs := in.runs()[before:]
	if len(runs) != 8 {
		t.Fatalf("the app ran %d times, want 8", len(runs))
	}
	for _, r := range runs {
		if _, ok := bundles[r.Version]; !ok || !samePath(r.Dir, filepath.Join(in.dir, "versions", r.Version)) {
			t.Errorf("an app ran %s from %s", r.Version, r.Dir)
		}
	}
	if got := e.srv.Fetched("/targets/"); !slices.Equal(got, []string{"sampleapp-1.1.0.patch"}) {
		t.Errorf("targets fetched %v, want the patch exactly once", got)
	}
	if n := strings.Count(in.log(), `msg=updated pid`) - 1; n != 1 { // minus the bootstrap
		t.Errorf("%d launchers installed the update, want exactly 1\n%s", n, in.log())
	}
	assertIntact(t, in, bundles)
	if in.current() != "1.1.0" {
		t.Errorf("current = %s", in.current())
	}
}

func TestEightLaunchersAtOnceOnAFreshInstall(t *testing.T) {
	e := newEnv(t)
	bundles := map[string]string{"1.0.0": e.publish("1.0.0", sandbox.BundleOptions{DataSize: 2 << 20})}
	in := e.newInstall(nil)
	results := in.startMany(8)
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("launcher %d: exit %d: %s", i, r.code, r.stderr)
		}
	}
	if runs := in.runs(); len(runs) != 8 {
		t.Fatalf("the app ran %d times, want 8", len(runs))
	}
	if got := e.srv.Fetched("/targets/"); !slices.Equal(got, []string{"sampleapp-1.0.0.tar.gz"}) {
		t.Errorf("targets fetched %v, want the archive exactly once", got)
	}
	assertIntact(t, in, bundles)
}

func TestRollbackAndHoldBack(t *testing.T) {
	e, in, bundles := updateAvailable(t, nil)
	in.start("1.1.0")

	run := in.start("1.0.0", "--rollback", "file.txt")
	if !slices.Equal(run.Args, []string{"file.txt"}) {
		t.Fatalf("after rollback the app got %q", run.Args)
	}
	if in.current() != "1.0.0" {
		t.Fatalf("current = %s after rollback", in.current())
	}
	// 1.1.0 is held back: later starts do not install it again.
	e.srv.ResetLog()
	in.start("1.0.0")
	if got := e.srv.Fetched("/targets/"); len(got) != 0 {
		t.Fatalf("held-back version fetched again: %v", got)
	}
	status := in.run(nil, "--status")
	if !strings.Contains(status.stdout, "held back:    1.1.0") {
		t.Fatalf("--status does not show the held-back version:\n%s", status.stdout)
	}
	// A newer release ends the hold.
	bundles["1.2.0"] = e.publish("1.2.0", sandbox.BundleOptions{})
	in.start("1.2.0")
	assertIntact(t, in, bundles)
}

func TestRollbackWithoutPreviousVersion(t *testing.T) {
	e := newEnv(t)
	bundles := map[string]string{"1.0.0": e.publish("1.0.0", sandbox.BundleOptions{})}
	in := e.newInstall(nil)
	in.start("1.0.0")
	stateBefore, _ := os.ReadFile(filepath.Join(in.dir, ".tufup", "state.json"))

	r := in.run(nil, "--rollback")
	if r.code == 0 || len(r.runs) != 0 || !strings.Contains(r.stderr, "no previous version") {
		t.Fatalf("--rollback without a previous version: exit %d, app runs %d, stderr %q", r.code, len(r.runs), r.stderr)
	}
	stateAfter, _ := os.ReadFile(filepath.Join(in.dir, ".tufup", "state.json"))
	if in.current() != "1.0.0" || string(stateBefore) != string(stateAfter) {
		t.Fatalf("a failed rollback changed the install")
	}
	assertIntact(t, in, bundles)
}

func TestCleanupKeepsVersions(t *testing.T) {
	for _, keep := range []int{2, 3} {
		t.Run(fmt.Sprint("keep", keep), func(t *testing.T) {
			e := newEnv(t)
			// Each version passes its probation at its first start, so
			// the newest ones are the known-good ones cleanup keeps.
			in := e.newInstall(map[string]any{"keep_versions": keep, "probation_starts": 1})
			bundles := map[string]string{}
			for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0"} {
				bundles[v] = e.publish(v, sandbox.BundleOptions{})
				in.start(v)
			}
			want := []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0"}[4-keep:]
			if got := in.installed(); !slices.Equal(got, want) {
				t.Fatalf("installed = %v, want %v", got, want)
			}
			// No tar is cached: each installed version keeps the index of
			// the tar it came from (any of them can become the patch base
			// by a rollback), and nothing else.
			var cached, wantCache []string
			entries, _ := os.ReadDir(filepath.Join(in.dir, ".tufup", "cache"))
			for _, e := range entries {
				cached = append(cached, e.Name())
			}
			for _, v := range want {
				wantCache = append(wantCache, "sampleapp-"+v+".tarindex")
			}
			if !slices.Equal(cached, wantCache) {
				t.Fatalf("cache holds %v, want %v", cached, wantCache)
			}
			assertIntact(t, in, bundles)
		})
	}
}

// An app still running from an old version keeps its folder: the cleanup of
// another launcher's update skips it and removes it at a later start.
func TestCleanupSkipsVersionInUse(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("covered by the Wine test, where Windows locks running files")
	}
	e := newEnv(t)
	bundles := map[string]string{"1.0.0": e.publish("1.0.0", sandbox.BundleOptions{})}
	in := e.newInstall(map[string]any{"probation_starts": 1})
	in.start("1.0.0")

	// The first app keeps running from versions/1.0.0.
	running := exec.Command(in.launcher)
	running.Env = append(os.Environ(), "SAMPLEAPP_OUT="+in.out, "SAMPLEAPP_SLEEP=1h")
	if err := running.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { running.Process.Kill(); running.Wait() }()
	waitFor(t, func() bool { return len(in.runs()) == 2 })

	bundles["1.1.0"] = e.publish("1.1.0", sandbox.BundleOptions{})
	in.start("1.1.0")
	bundles["1.2.0"] = e.publish("1.2.0", sandbox.BundleOptions{})
	in.start("1.2.0") // 1.0.0 is due for removal now, but in use
	if got := in.installed(); !slices.Equal(got, []string{"1.0.0", "1.1.0", "1.2.0"}) {
		t.Fatalf("installed = %v; the running version must stay", got)
	}
	if !strings.Contains(in.log(), "in use") {
		t.Fatalf("the skipped removal is not logged:\n%s", in.log())
	}
	assertIntact(t, in, bundles)

	running.Process.Kill()
	running.Wait()
	bundles["1.3.0"] = e.publish("1.3.0", sandbox.BundleOptions{})
	in.start("1.3.0")
	if got := in.installed(); !slices.Equal(got, []string{"1.2.0", "1.3.0"}) {
		t.Fatalf("installed = %v after the old app exited", got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Issue 4: every failure below is logged with its cause and the installed
// version starts anyway.
func TestFailuresNeverStopTheApp(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(t *testing.T, e *env, in *install) // after 1.0.0 is installed and 1.1.0 published
		wantLog string
	}{
		{"unreachable server", func(t *testing.T, e *env, in *install) {
			e.srv.Close()
		}, "connection refused"},
		{"server accepts and never answers", func(t *testing.T, e *env, in *install) {
			addr := silentServer(t)
			setConfig(t, in.dir, "metadata_url", "http://"+addr+"/metadata/")
		}, "deadline exceeded"},
		{"404", func(t *testing.T, e *env, in *install) {
			e.srv.Intercept(func(w http.ResponseWriter, r *http.Request) bool { http.NotFound(w, r); return true })
		}, "404"},
		{"500", func(t *testing.T, e *env, in *install) {
			e.srv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
				http.Error(w, "boom", http.StatusInternalServerError)
				return true
			})
		}, "500"},
		{"403 on targets", func(t *testing.T, e *env, in *install) {
			e.srv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
				if strings.HasPrefix(r.URL.Path, "/targets/") {
					http.Error(w, "forbidden", http.StatusForbidden)
					return true
				}
				return false
			})
		}, "403"},
		{"expired metadata", func(t *testing.T, e *env, in *install) {
			e.repo("sign", "timestamp", "--expires", "0.00001") // under a second
			time.Sleep(1500 * time.Millisecond)
		}, "expired"},
		{"corrupted caches", func(t *testing.T, e *env, in *install) {
			e.srv.Close()
			for _, f := range []string{"metadata/timestamp.json", "metadata/root.json", "state.json"} {
				if err := os.WriteFile(filepath.Join(in.dir, ".tufup", f), []byte("\x00garbage{"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}, "state.json is corrupted"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, in, bundles := updateAvailable(t, map[string]any{"check_timeout": "1s", "idle_timeout": "1s"})
			c.setup(t, e, in)

			began := time.Now()
			in.start("1.0.0")
			t.Logf("app started after %s", time.Since(began).Round(time.Millisecond))
			if !strings.Contains(in.log(), c.wantLog) {
				t.Fatalf("log does not name the cause %q:\n%s", c.wantLog, in.log())
			}
			assertIntact(t, in, bundles)
		})
	}
}

// silentServer accepts connections and never answers.
func silentServer(t *testing.T) string {
	s, err := sandbox.ServeSilent()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.Addr
}

func TestUnreadableCurrentPointer(t *testing.T) {
	for _, args := range [][]string{nil, {"--no-update"}} {
		t.Run(fmt.Sprint(args), func(t *testing.T) {
			_, in, _ := updateAvailable(t, nil)
			in.start("1.1.0")
			if err := os.WriteFile(filepath.Join(in.dir, "current"), []byte("\xff\xfe garbage"), 0o644); err != nil {
				t.Fatal(err)
			}
			// Without a pointer, the newest known-good version starts
			// (1.1.0 is on probation); an update check then finds 1.1.0
			// installed and switches to it again.
			want := map[bool]string{true: "1.1.0", false: "1.0.0"}[args == nil]
			in.start(want, args...)
			if !strings.Contains(in.log(), "current pointer") && args == nil {
				t.Fatalf("the broken pointer is not logged:\n%s", in.log())
			}
			if args == nil && in.current() != "1.1.0" {
				t.Fatalf("pointer not repaired: %q", in.current())
			}
		})
	}
}

// Disk full while extracting: the install's data lives on a small tmpfs.
func TestDiskFullWhileExtracting(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs a Linux tmpfs mount")
	}
	mnt := t.TempDir()
	// A release is the ~2.5 MB sample app plus a 4 MB data file. The
	// bootstrap peaks at ~13 MB (archive and extracted files) and leaves
	// ~6.5 MB (folder and its tar's index); the update adds 4 MB more of
	// compressible data, so its patch fits, its ~10.5 MB of files not.
	const size = 4 << 20
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=15m", "tmpfs", mnt).CombinedOutput(); err != nil {
		testenv.Missing(t, "permission to mount a tmpfs", "run as root: "+strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })

	e := newEnv(t)
	bundles := map[string]string{"1.0.0": e.publish("1.0.0", sandbox.BundleOptions{DataSize: size})}
	in := e.newInstall(map[string]any{"data_dir": mnt})
	r := in.run(nil)
	if r.code != 0 {
		t.Fatalf("bootstrap on the tmpfs failed: %s", r.stderr)
	}
	bundles["1.1.0"] = e.publish("1.1.0", sandbox.BundleOptions{DataSize: size, Extra: map[string]string{"data/more.bin": strings.Repeat("more ", size/5)}})
	r = in.run(nil)
	if r.code != 0 || len(r.runs) != 1 || r.runs[0].Version != "1.0.0" {
		t.Fatalf("with a full disk: exit %d, runs %+v; want 1.0.0 started\n%s", r.code, r.runs, r.stderr)
	}
	log, _ := os.ReadFile(filepath.Join(mnt, ".tufup", "launcher.log"))
	if !strings.Contains(string(log), "no space left on device") {
		t.Fatalf("log does not name the full disk:\n%s", log)
	}
	dataInstall := &install{t: t, dir: mnt, launcher: in.launcher, out: in.out}
	assertIntact(t, dataInstall, bundles)
}

func TestStatusOutput(t *testing.T) {
	e := newEnv(t)
	e.publish("1.0.0", sandbox.BundleOptions{}, "--meta", `{"changes": ["first release"]}`)
	in := e.newInstall(map[string]any{"channel": "beta"})
	in.start("1.0.0")
	in.start("1.0.0")
	r := in.run(nil, "--status")
	if r.code != 0 || len(r.runs) != 0 {
		t.Fatalf("--status: exit %d, app runs %d", r.code, len(r.runs))
	}
	for _, want := range []string{"current:      1.0.0", "installed:    1.0.0", "channel:      beta", e.srv.URL + "/metadata/", e.srv.URL + "/targets/", "up to date", "first release"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--status lacks %q:\n%s", want, r.stdout)
		}
	}
	r = in.run(nil, "--status", "--json")
	var s struct {
		Current   string   `json:"current"`
		Installed []string `json:"installed"`
		LastCheck struct {
			Result string `json:"result"`
		} `json:"last_check"`
		UserMeta map[string]json.RawMessage `json:"user_meta"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("--status --json: %v\n%s", err, r.stdout)
	}
	if s.Current != "1.0.0" || s.LastCheck.Result != "up to date" || !strings.Contains(string(s.UserMeta["1.0.0"]), "first release") {
		t.Fatalf("--status --json = %+v", s)
	}
}

// A release without the app's entry point is never switched to.
func TestReleaseWithoutEntryPointIsRefused(t *testing.T) {
	e := newEnv(t)
	bundles := map[string]string{"1.0.0": e.publish("1.0.0", sandbox.BundleOptions{})}
	in := e.newInstall(nil)
	in.start("1.0.0")
	broken := filepath.Join(e.work, "dist", "broken-1.1.0")
	if err := os.MkdirAll(broken, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(broken, "VERSION"), []byte("1.1.0\n"), 0o644)
	e.repo("add", "1.1.0", broken)
	in.start("1.0.0")
	if !strings.Contains(in.log(), "has no entry point") {
		t.Fatalf("the refusal is not logged:\n%s", in.log())
	}
	assertIntact(t, in, bundles)
	// Held back: the next start does not fetch it again.
	e.srv.ResetLog()
	in.start("1.0.0")
	if got := e.srv.Fetched("/targets/"); len(got) != 0 {
		t.Fatalf("the refused release was fetched again: %v", got)
	}
}

// update: background starts the installed version at once; the update is
// installed meanwhile and runs from the next start.
func TestBackgroundUpdate(t *testing.T) {
	e := newEnv(t)
	bundles := map[string]string{"1.0.0": e.publish("1.0.0", sandbox.BundleOptions{})}
	in := e.newInstall(map[string]any{"update": "background"})
	in.start("1.0.0") // a fresh install installs first
	bundles["1.1.0"] = e.publish("1.1.0", sandbox.BundleOptions{})
	in.start("1.0.0")
	waitFor(t, func() bool { return in.current() == "1.1.0" })
	e.srv.ResetLog()
	in.start("1.1.0")
	waitFor(t, func() bool { return strings.Count(in.log(), "up to date") >= 1 })
	if got := e.srv.Fetched("/targets/"); len(got) != 0 {
		t.Fatalf("fetched %v after the background update", got)
	}
	assertIntact(t, in, bundles)
}

// A patch listed in the metadata but missing on the server (deleted by
// hand, a partial upload) does not block updates: the full archive is used.
func TestMissingPatchFallsBackToArchive(t *testing.T) {
	e, in, bundles := updateAvailable(t, nil)
	if err := os.Remove(filepath.Join(e.targetsDir(), "sampleapp-1.1.0.patch")); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetLog()
	in.start("1.1.0")
	if got := e.srv.Fetched("/targets/"); !slices.Equal(got, []string{"sampleapp-1.1.0.tar.gz"}) {
		t.Fatalf("fetched %v, want the archive after the patch's 404", got)
	}
	assertIntact(t, in, bundles)
}
