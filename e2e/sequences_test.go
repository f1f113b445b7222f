//go:build unix

package e2e

// Sequences that cross features built separately (the lifecycle,
// background updates, direct patches, seeds, --json output), run against
// the built binaries. Each test here is a sequence that once broke a
// promise of design.md's invariants; the defaults are the lifecycle
// tests' (keep_versions 2, probation 3 starts / 2 failures).

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// --unhold while a background update holds the updater lock (a slow
// download can hold it for minutes): the hold is undone at once, instead
// of failing after 30 s with "context deadline exceeded".
func TestSeqUnholdWhileUpdating(t *testing.T) {
	e, in := lifecycleInstall(t, nil)
	e.publish("1.1.0", small(false))
	in.start("1.1.0")
	in.start("1.0.0", "--rollback")
	e.publish("1.2.0", small(false))
	release := make(chan struct{})
	e.srv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "1.2.0") {
			<-release // the updater holds the lock meanwhile
		}
		return false
	})
	updater := in.background(nil, "--update-only")
	waitFor(t, func() bool { return hasLine(in.log(), "to=1.2.0") })
	r := in.run(nil, "--unhold", "1.1.0")
	close(release)
	if r.code != 0 || !strings.Contains(r.stderr, "1.1.0 is no longer held back") {
		t.Fatalf("--unhold during an update: exit %d, %s", r.code, r.stderr)
	}
	if code := updater.wait(t); code != 0 {
		t.Fatalf("--update-only exit %d\n%s", code, in.log())
	}
	if s := in.status(); s.phase("1.1.0") == "held" || s.HeldBack["1.1.0"] != "" {
		t.Fatalf("1.1.0 still held back after --unhold: %+v", s.Versions)
	}
	in.start("1.2.0")
}

// The publisher withdraws 1.1.0 (remove-latest) after an install took it,
// then publishes 1.1.1, whose patch is made from 1.0.0. The install on
// 1.1.0 downloads the archive straight away: it does not download a patch
// that cannot apply to 1.1.0, warn that it failed, and mark it as failed
// for good.
func TestSeqWithdrawnCurrentThenNewRelease(t *testing.T) {
	e, in := lifecycleInstall(t, nil)
	e.publish("1.1.0", small(false))
	in.start("1.1.0")
	e.repo("remove-latest")
	in.start("1.1.0") // still installed; nothing newer is published
	e.publish("1.1.1", small(false))
	e.srv.ResetLog()
	in.start("1.1.1")
	if got := e.srv.Fetched("/targets/"); !slices.Equal(got, []string{"sampleapp-1.1.1.tar.gz"}) {
		t.Fatalf("fetched %v, want the archive only\n%s", got, in.log())
	}
	if hasLine(in.log(), "patch update failed") || !hasLine(in.log(), "1.1.0 is no longer published") {
		t.Fatalf("the log does not say why the archive was downloaded:\n%s", in.log())
	}
	if s := in.status(); s.phase("1.0.0") != "good" || s.phase("1.1.1") != "probation" {
		t.Fatalf("states %+v", s.Versions)
	}
}

// --status says why each version is kept: the first install is recorded
// as the first install, not as a version an older launcher installed.
func TestSeqFirstInstallStatus(t *testing.T) {
	e, in := lifecycleInstall(t, nil)
	if why := in.status().why("1.0.0"); !strings.Contains(why, "first install") {
		t.Fatalf("--status says of the first install: %q", why)
	}
	e.publish("1.1.0", small(false))
	in.start("1.1.0")
	if why := in.status().why("1.0.0"); !strings.Contains(why, "first install") {
		t.Fatalf("--status says of the first install after an update: %q", why)
	}
}

// A background update installs 1.2.0 while 1.1.0 (on probation) runs; the
// user, unhappy with the 1.1.0 they see, asks --rollback: it refuses to
// hold back the 1.2.0 they never ran (perhaps the fix) and says so; once
// 1.2.0 ran, --rollback goes back from it.
func TestSeqRollbackAfterBackgroundUpdateFinished(t *testing.T) {
	e, in := lifecycleInstall(t, nil)
	e.publish("1.1.0", small(false))
	in.start("1.1.0")
	setConfig(t, in.dir, "update", "background")
	e.publish("1.2.0", small(false))
	wait, open := gate(t)
	n := len(in.runs())
	app := in.background([]string{wait})
	in.waitRuns(n + 1)
	waitFor(t, func() bool { return in.current() == "1.2.0" })
	r := in.run(nil, "--rollback")
	open()
	app.wait(t)
	if r.code != 1 || len(r.runs) != 0 || !strings.Contains(r.stderr, "1.2.0 was installed by an update and has not run yet") {
		t.Fatalf("--rollback from the unrun 1.2.0: exit %d, ran %v, %s", r.code, versionsRan(r), r.stderr)
	}
	if s := in.status(); s.phase("1.2.0") == "held" || in.current() != "1.2.0" {
		t.Fatalf("current %s, states %+v", in.current(), s.Versions)
	}
	setConfig(t, in.dir, "update", "never")
	in.start("1.2.0")
	in.start("1.0.0", "--rollback")
	if s := in.status(); s.phase("1.2.0") != "held" {
		t.Fatalf("1.2.0 is %q after --rollback from it", s.phase("1.2.0"))
	}
}
