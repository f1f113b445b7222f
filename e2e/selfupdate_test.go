package e2e

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tufup-go/tufup/internal/sandbox"
)

// launcherBuild builds a launcher that reports version.
func launcherBuild(t *testing.T, version string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b, err := sandbox.Build(ctx, t.TempDir(), sandbox.BuildOptions{LauncherVersion: version, Cover: builds.cover})
	if err != nil {
		t.Fatal(err)
	}
	return b.Launcher
}

func (in *install) launcherVersion() string {
	in.t.Helper()
	r := in.run(nil, "--version")
	return strings.TrimSpace(r.stdout)
}

// Issue 10: the launcher updates itself from the repository, keeps the new
// executable only when it passes its self-check, and holds back one that
// does not.
func TestSelfUpdate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the Windows rename dance is covered by the Wine test")
	}
	e := newEnv(t)
	e.publish("1.0.0", sandbox.BundleOptions{})
	in := e.newInstall(map[string]any{"self_update": true})
	in.start("1.0.0")
	if got := in.launcherVersion(); got != "launcher 0.0.0-test" {
		t.Fatalf("installed launcher is %q", got)
	}

	// A good launcher release.
	e.repo("add-launcher", "1.5.0", launcherBuild(t, "1.5.0"))
	e.srv.ResetLog()
	in.start("1.0.0")
	if got := in.launcherVersion(); got != "launcher 1.5.0" {
		t.Fatalf("after self-update the launcher is %q\n%s", got, in.log())
	}
	want := "launcher-" + runtime.GOOS + "-" + runtime.GOARCH + "-1.5.0"
	if got := e.srv.Fetched("/targets/"); !slices.Equal(got, []string{want}) {
		t.Fatalf("fetched %v, want %s", got, want)
	}
	if _, err := os.Stat(in.launcher + ".old"); !os.IsNotExist(err) {
		t.Fatalf("the old launcher was left behind: %v", err)
	}
	// The new launcher runs the app and finds nothing newer.
	e.srv.ResetLog()
	in.start("1.0.0")
	if got := e.srv.Fetched("/targets/"); len(got) != 0 {
		t.Fatalf("fetched %v with the launcher up to date", got)
	}

	// A broken launcher release: the self-check fails, the old one stays.
	broken := filepath.Join(t.TempDir(), "broken")
	if err := os.WriteFile(broken, []byte("#!/bin/sh\necho 'I am broken' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.repo("add-launcher", "2.0.0", broken)
	in.start("1.0.0")
	if got := in.launcherVersion(); got != "launcher 1.5.0" {
		t.Fatalf("after a broken self-update the launcher is %q", got)
	}
	if !strings.Contains(in.log(), "failed its self-check") {
		t.Fatalf("the failed self-check is not logged:\n%s", in.log())
	}
	// Held back: not downloaded again.
	e.srv.ResetLog()
	in.start("1.0.0")
	if got := e.srv.Fetched("/targets/"); len(got) != 0 {
		t.Fatalf("the held-back launcher was fetched again: %v", got)
	}

	// A launcher that works but is not the version it was published as.
	e.repo("add-launcher", "3.0.0", launcherBuild(t, "2.9.0"))
	in.start("1.0.0")
	if got := in.launcherVersion(); got != "launcher 1.5.0" {
		t.Fatalf("a mislabelled launcher was kept: %q", got)
	}
}

// Issue 10: a version that crashes at start is rolled back by itself after
// the configured number of failed starts, held back, and reported.
func TestProbationRollsBackACrashingVersion(t *testing.T) {
	e := newEnv(t)
	e.publish("1.0.0", sandbox.BundleOptions{})
	in := e.newInstall(map[string]any{"probation_starts": 3, "probation_failures": 2})
	in.start("1.0.0")
	e.publish("2.0.0", sandbox.BundleOptions{Crash: true})

	// First start of 2.0.0: it crashes; one failure is tolerated.
	r := in.run(nil)
	if len(r.runs) != 1 || r.runs[0].Version != "2.0.0" || r.code != 3 {
		t.Fatalf("first start: runs %+v exit %d; want 2.0.0 crashing with its exit code 3", r.runs, r.code)
	}
	if in.current() != "2.0.0" {
		t.Fatalf("rolled back after one failure")
	}
	// Second failure: back to 1.0.0, which starts at once.
	r = in.run(nil)
	if len(r.runs) != 2 || r.runs[0].Version != "2.0.0" || r.runs[1].Version != "1.0.0" || r.code != 0 {
		t.Fatalf("second start: runs %+v exit %d; want 2.0.0 crashing, then 1.0.0", r.runs, r.code)
	}
	if in.current() != "1.0.0" {
		t.Fatalf("current = %s after probation failed", in.current())
	}
	if !strings.Contains(in.log(), "failed its probation") {
		t.Fatalf("the rollback is not logged:\n%s", in.log())
	}
	status := in.run(nil, "--status").stdout
	if !strings.Contains(status, "held back:    2.0.0 (failed probation: 2 of 2 starts failed") {
		t.Fatalf("--status does not report the held-back version:\n%s", status)
	}
	// 2.0.0 is not installed again.
	e.srv.ResetLog()
	in.start("1.0.0")
	if got := e.srv.Fetched("/targets/"); len(got) != 0 {
		t.Fatalf("the failed version was fetched again: %v", got)
	}
}

// Issue 10: during probation the app runs as a child (so the launcher sees
// how it ends); after a clean probation the launcher execs again.
func TestProbationEndsAndLauncherExecsAgain(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows always runs the app as a child")
	}
	e := newEnv(t)
	e.publish("1.0.0", sandbox.BundleOptions{})
	in := e.newInstall(map[string]any{"probation_starts": 2})
	in.start("1.0.0")
	e.publish("1.1.0", sandbox.BundleOptions{})
	for i := 1; i <= 3; i++ {
		r := in.run(nil)
		if r.code != 0 || len(r.runs) != 1 || r.runs[0].Version != "1.1.0" {
			t.Fatalf("start %d: exit %d runs %+v", i, r.code, r.runs)
		}
		execed := r.runs[0].PID == r.pid
		if wantExec := i > 2; execed != wantExec {
			t.Fatalf("start %d: app pid %d, launcher pid %d; want exec=%v (probation of 2 starts)", i, r.runs[0].PID, r.pid, wantExec)
		}
	}
	if !strings.Contains(in.log(), "passed probation") {
		t.Fatalf("the end of probation is not logged:\n%s", in.log())
	}
}
