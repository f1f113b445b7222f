//go:build unix

package e2e

// Issue 14: the ten sequences that left users with nothing good to start,
// each run against the built launcher and a real server, and random
// sequences of the same steps (lifecycle_random_test.go). Defaults as the
// issue has them: keep_versions 2, probation 3 starts / 2 failures.

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/tufup-go/tufup/internal/sandbox"
)

// crashOnce makes one run of the (good) app exit 3 at once.
var crashOnce = []string{"SAMPLEAPP_EXIT=3"}

// lifecycleInstall is 1.0.0 installed and started (known-good).
func lifecycleInstall(t *testing.T, extra map[string]any) (*env, *install) {
	t.Helper()
	e := newEnv(t)
	e.publish("1.0.0", sandbox.BundleOptions{DataSize: 16 << 10})
	in := e.newInstall(extra)
	in.start("1.0.0")
	return e, in
}

func small(crash bool) sandbox.BundleOptions {
	return sandbox.BundleOptions{DataSize: 16 << 10, Crash: crash}
}

// Sequence 1: 1.1.0 crashes once (probation 1 of 2); 1.1.1, which crashes,
// is installed over it (by a start, --update-only or a background update).
// Cleanup keeps the known-good 1.0.0 and probation goes back to it, not to
// the unproven 1.1.0.
func TestLifecycleSeq1UpdateDuringProbation(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"start", "update-only", "background"} {
		t.Run(how, func(t *testing.T) {
			e, in := lifecycleInstall(t, nil)
			e.publish("1.1.0", small(false))
			if r := in.run(crashOnce); !slices.Equal(versionsRan(r), []string{"1.1.0"}) || r.code != 3 {
				t.Fatalf("1.1.0's first start: ran %v exit %d", versionsRan(r), r.code)
			}
			e.publish("1.1.1", small(true))
			switch how {
			case "start":
				if r := in.run(nil); !slices.Equal(versionsRan(r), []string{"1.1.1"}) {
					t.Fatalf("ran %v, want 1.1.1 (crashing once, 1 of 2)", versionsRan(r))
				}
			case "update-only":
				if r := in.run(nil, "--update-only"); r.code != 0 {
					t.Fatalf("--update-only: %d %s", r.code, r.stderr)
				}
				in.run(nil) // 1.1.1 crashes: 1 of 2
			case "background":
				setConfig(t, in.dir, "update", "background")
				in.start("1.1.0") // this start updates in the background
				waitFor(t, func() bool { return in.current() == "1.1.1" })
				in.run(nil) // 1.1.1 crashes: 1 of 2
			}
			if !slices.Contains(in.installed(), "1.0.0") {
				t.Fatalf("cleanup removed the known-good 1.0.0: %v", in.installed())
			}
			if how == "background" {
				// A background updater holds the updater lock while 1.1.1
				// crashes again: the crash is recorded all the same.
				lock := flock.New(filepath.Join(in.dir, ".tufup", "lock"))
				if err := lock.Lock(); err != nil {
					t.Fatal(err)
				}
				defer lock.Unlock()
			}
			r := in.run(nil)
			if got := versionsRan(r); !slices.Equal(got, []string{"1.1.1", "1.0.0"}) || in.current() != "1.0.0" {
				t.Fatalf("ran %v, current %s; want 1.1.1 crashing, then the known-good 1.0.0\n%s", got, in.current(), in.log())
			}
			if s := in.status(); s.phase("1.1.1") != "held" {
				t.Fatalf("1.1.1 is %q after failing its probation", s.phase("1.1.1"))
			}
		})
	}
}

// Sequence 2: after a probation rollback to 1.0.0, the fix-forward 1.1.1
// crashes too: installing it keeps 1.0.0, probation goes back to it again,
// and --rollback from 1.0.0 refuses instead of going to the failed 1.1.0.
func TestLifecycleSeq2FixForwardAfterRollback(t *testing.T) {
	t.Parallel()
	e, in := lifecycleInstall(t, nil)
	e.publish("1.1.0", small(true))
	in.run(nil)
	if got := versionsRan(in.run(nil)); !slices.Equal(got, []string{"1.1.0", "1.0.0"}) {
		t.Fatalf("ran %v", got)
	}
	e.publish("1.1.1", small(true))
	in.run(nil)
	if got := versionsRan(in.run(nil)); !slices.Equal(got, []string{"1.1.1", "1.0.0"}) {
		t.Fatalf("ran %v, want 1.1.1 then 1.0.0\n%s", got, in.log())
	}
	if hasLine(in.log(), "cannot roll back") || hasLine(in.log(), "no known-good") {
		t.Fatalf("probation could not roll back:\n%s", in.log())
	}
	r := in.run(nil, "--rollback")
	if r.code != 1 || len(r.runs) != 0 || !strings.Contains(r.stderr, "no previous version") || in.current() != "1.0.0" {
		t.Fatalf("--rollback from the only known-good: exit %d, ran %v, current %s, %s", r.code, versionsRan(r), in.current(), r.stderr)
	}
	in.start("1.0.0")
	in.status()
}

// Sequence 3: the user rolls back from 1.1.0; 1.1.1 is installed; cleanup
// removes the held-back 1.1.0, not the good 1.0.0; a second --rollback
// goes to 1.0.0. The last check no longer claims "updated to 1.1.1".
func TestLifecycleSeq3SecondRollback(t *testing.T) {
	t.Parallel()
	e, in := lifecycleInstall(t, nil)
	e.publish("1.1.0", small(false))
	in.start("1.1.0")
	in.start("1.0.0", "--rollback")
	e.publish("1.1.1", small(false))
	in.start("1.1.1")
	if got := in.installed(); !slices.Equal(got, []string{"1.0.0", "1.1.1"}) {
		t.Fatalf("installed %v, want the good 1.0.0 kept and the held-back 1.1.0 removed", got)
	}
	in.start("1.0.0", "--rollback")
	s := in.status()
	if s.phase("1.1.0") != "held" || s.phase("1.1.1") != "held" || s.phase("1.0.0") != "good" {
		t.Fatalf("states: %+v", s.Versions)
	}
	if s.LastCheck == nil || s.LastCheck.Result != "updated to 1.1.1, since rolled back to 1.0.0" {
		t.Fatalf("last check %+v after the rollback", s.LastCheck)
	}
	in.start("1.0.0")
}

// Issue 21, survivor 3: with three versions installed, --rollback goes to
// the newest known-good one, not the oldest installed.
func TestLifecycleRollbackGoesToNewestKnownGood(t *testing.T) {
	t.Parallel()
	e, in := lifecycleInstall(t, map[string]any{"keep_versions": 3, "probation_starts": 1})
	e.publish("1.1.0", small(false))
	in.start("1.1.0")
	e.publish("1.2.0", small(false))
	in.start("1.2.0")
	if got := in.installed(); len(got) != 3 {
		t.Fatalf("installed %v, want three", got)
	}
	in.start("1.1.0", "--rollback")
	if in.current() != "1.1.0" {
		t.Fatalf("--rollback from 1.2.0 went to %s, want 1.1.0", in.current())
	}
}

// Sequence 4: launchers killed while the app ran do not keep the version
// on probation for ever; once trusted, two quick failures do not roll it
// back.
func TestLifecycleSeq4KilledLauncher(t *testing.T) {
	t.Parallel()
	e, in := lifecycleInstall(t, map[string]any{"probation_window": "1s"})
	e.publish("1.1.0", small(false))
	for i := range 2 {
		wait, open := gate(t)
		n := len(in.runs())
		b := in.background([]string{wait})
		in.waitRuns(n + 1)
		b.signal(t, syscall.SIGKILL)
		b.wait(t)
		open()
		if i == 0 && in.current() != "1.1.0" {
			t.Fatalf("current %s", in.current())
		}
	}
	time.Sleep(1100 * time.Millisecond) // the window of the unreported starts passes
	in.start("1.1.0")
	if s := in.status(); s.phase("1.1.0") != "good" || s.Probation != nil {
		t.Fatalf("1.1.0 is %q (probation %+v) after 3 starts, 2 of them never reported", s.phase("1.1.0"), s.Probation)
	}
	for range 2 {
		if r := in.run(crashOnce); !slices.Equal(versionsRan(r), []string{"1.1.0"}) {
			t.Fatalf("ran %v", versionsRan(r))
		}
	}
	if in.current() != "1.1.0" {
		t.Fatalf("a trusted version was rolled back for two failures")
	}
}

// Sequence 5: SIGTERM passed on to the app during probation (the user, a
// logout) is not a crash: nothing is held back and the old version is not
// started in the middle of the shutdown.
func TestLifecycleSeq5ForwardedSignal(t *testing.T) {
	t.Parallel()
	e, in := lifecycleInstall(t, nil)
	e.publish("1.1.0", small(false))
	for range 2 {
		wait, open := gate(t)
		n := len(in.runs())
		b := in.background([]string{wait})
		in.waitRuns(n + 1)
		b.signal(t, syscall.SIGTERM)
		code := b.wait(t)
		open()
		if code != 143 || len(in.runs()) != n+1 {
			t.Fatalf("exit %d, %d app runs; want the app's 143 and no other start", code, len(in.runs())-n)
		}
	}
	s := in.status()
	if s.phase("1.1.0") != "probation" || s.Probation == nil || s.Probation.Failures != 0 || in.current() != "1.1.0" {
		t.Fatalf("after two SIGTERMs: 1.1.0 %q, probation %+v, current %s", s.phase("1.1.0"), s.Probation, in.current())
	}
}

// Sequence 6: both versions fail the same way because of the environment;
// once it is fixed, the new release runs: it was never held for good.
func TestLifecycleSeq6SharedFailure(t *testing.T) {
	t.Parallel()
	e, in := lifecycleInstall(t, nil)
	e.publish("1.1.0", small(false))
	in.run(crashOnce)
	r := in.run(crashOnce)
	if got := versionsRan(r); !slices.Equal(got, []string{"1.1.0", "1.0.0"}) {
		t.Fatalf("ran %v; want 1.1.0 failing, then 1.0.0 failing the same way", got)
	}
	if s := in.status(); s.phase("1.1.0") == "held" || in.current() != "1.1.0" {
		t.Fatalf("1.1.0 is %q, current %s: held back for a failure 1.0.0 shares", s.phase("1.1.0"), in.current())
	}
	in.start("1.1.0") // the environment is fixed
}

// Sequence 7: a wrong entry is a configuration problem, reported plainly;
// the release is not downloaded again for the same launcher.json, and
// fixing launcher.json recovers without touching the state.
func TestLifecycleSeq7WrongEntry(t *testing.T) {
	t.Parallel()
	e, in := lifecycleInstall(t, nil)
	good := filepath.Base(e.bins.SampleApp)
	setConfig(t, in.dir, "entry", "no-such-app")
	e.publish("1.1.0", small(false))
	r := in.run(nil)
	if r.code != 1 || len(r.runs) != 0 || !strings.Contains(r.stderr, "no installed version has the entry point no-such-app") {
		t.Fatalf("wrong entry: exit %d, ran %v, stderr %q", r.code, versionsRan(r), r.stderr)
	}
	e.srv.ResetLog()
	in.run(nil)
	if got := e.srv.Fetched("/targets/"); len(got) != 0 {
		t.Fatalf("downloaded %v again for the same launcher.json", got)
	}
	setConfig(t, in.dir, "entry", good)
	in.start("1.1.0")
	for _, v := range in.status().Versions {
		if v.Phase == "held" {
			t.Fatalf("%s held back for a configuration problem: %s", v.Version, v.Why)
		}
	}
}

// Sequence 8: --rollback asked while a background update installs 1.1.1
// refuses, instead of holding back the fix the user never ran.
func TestLifecycleSeq8RollbackDuringUpdate(t *testing.T) {
	t.Parallel()
	e, in := lifecycleInstall(t, nil)
	e.publish("1.1.0", small(false))
	in.start("1.1.0")
	e.publish("1.1.1", small(false))
	release := make(chan struct{})
	e.srv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "1.1.1") {
			<-release // the updater holds the lock meanwhile
		}
		return false
	})
	updater := in.background(nil, "--update-only")
	waitFor(t, func() bool { return hasLine(in.log(), "to=1.1.1") }) // the updater holds the lock
	rollback := in.background(nil, "--rollback")
	waitFor(t, func() bool { return hasLine(in.log(), "rollback: waiting for another launcher") || rollback.exited() })
	close(release)
	if code := updater.wait(t); code != 0 {
		t.Fatalf("--update-only exit %d\n%s", code, in.log())
	}
	if code := rollback.wait(t); code != 1 {
		t.Fatalf("--rollback exit %d, want 1 (current changed)\n%s", code, in.log())
	}
	s := in.status()
	if in.current() != "1.1.1" || s.phase("1.1.1") == "held" || s.phase("1.1.0") == "held" {
		t.Fatalf("current %s, states %+v", in.current(), s.Versions)
	}
	in.start("1.1.1")
}

// Sequence 9: a held-back required release blocks the releases after it
// (and --status says so) until a newer required release.
func TestLifecycleSeq9HeldRequired(t *testing.T) {
	t.Parallel()
	e, in := lifecycleInstall(t, nil)
	e.publish("1.1.0", small(true), "--required")
	in.run(nil)
	in.run(nil) // 1.1.0 fails its probation
	e.publish("1.2.0", small(false))
	e.srv.ResetLog()
	in.start("1.0.0")
	if got := e.srv.Fetched("/targets/"); len(got) != 0 {
		t.Fatalf("downloaded %v past the held-back required 1.1.0", got)
	}
	s := in.status()
	if !strings.Contains(s.why("1.1.0"), "required") {
		t.Fatalf("--status does not say 1.1.0 blocks: %q", s.why("1.1.0"))
	}
	e.publish("1.3.0", small(false), "--required")
	in.start("1.3.0")
}

// Sequence 10: a version number is never published again with other
// bytes; a launcher whose installed version's signed hash changed warns.
func TestLifecycleSeq10Republish(t *testing.T) {
	t.Parallel()
	e, in := lifecycleInstall(t, nil)
	e.publish("1.1.0", small(false))
	in.start("1.1.0")
	e.repo("remove-latest")
	bundle := e.bundle("1.1.0", sandbox.BundleOptions{DataSize: 16 << 10, Extra: map[string]string{"new.txt": "other bytes"}})
	out, ok := e.repoTry("add", "1.1.0", bundle)
	if ok || !strings.Contains(out, "1.1.0 was published on") {
		t.Fatalf("republishing 1.1.0 with other bytes: ok=%v\n%s", ok, out)
	}
	// A build machine without the record (another checkout) does it anyway.
	if err := os.Remove(filepath.Join(e.work, ".tufup-repo-published")); err != nil {
		t.Fatal(err)
	}
	e.repo("add", "1.1.0", bundle)
	in.start("1.1.0")
	if !hasLine(in.log(), "signs other bytes for installed version 1.1.0") {
		t.Fatalf("no warning about the changed hash:\n%s", in.log())
	}
}

// Fixing forward after a rollback stays a patch: the rolled-back-to
// version keeps its patch base.
func TestLifecycleFixForwardIsAPatch(t *testing.T) {
	t.Parallel()
	e, in := lifecycleInstall(t, nil)
	e.publish("1.1.0", sandbox.BundleOptions{})
	in.start("1.1.0")
	in.start("1.0.0", "--rollback")
	e.publish("1.1.1", sandbox.BundleOptions{})
	e.srv.ResetLog()
	in.start("1.1.1")
	got := e.srv.Fetched("/targets/")
	if len(got) == 0 || slices.ContainsFunc(got, func(n string) bool { return strings.HasSuffix(n, ".tar.gz") }) {
		t.Fatalf("the fix-forward fetched %v; want patches only", got)
	}
}
