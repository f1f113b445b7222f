package lifecycle

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// install is a test's view of one install: the records as saved, the disk,
// and the clock.
type install struct {
	t    *testing.T
	cfg  Config
	rec  Records
	disk Disk
	now  time.Time
}

func newInstall(t *testing.T) *install {
	return &install{t: t, now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		cfg: Config{ProbationStarts: 3, ProbationFailures: 2, Window: window, KeepVersions: 2, Entry: rightEntry}}
}

// do opens the lifecycle, runs one event and carries out the decision.
func (in *install) do(event func(*Lifecycle) Decision) Decision {
	in.t.Helper()
	l := New(in.cfg, in.rec, in.disk, in.now)
	d := event(l)
	if d.Current != "" {
		in.disk.Current = d.Current
	}
	for _, v := range d.Delete {
		in.disk.Installed = slices.DeleteFunc(in.disk.Installed, func(s string) bool { return s == v })
	}
	in.rec = l.Records()
	return d
}

// update installs v as an update does, then cleans up.
func (in *install) update(v string, required bool) {
	in.t.Helper()
	in.disk.Installed = append(in.disk.Installed, v)
	in.do(func(l *Lifecycle) Decision {
		return l.Install(v, Release{Required: required, SHA256: "sha-" + v}, in.now)
	})
	in.do(func(l *Lifecycle) Decision { return l.Cleanup() })
}

// start starts the app; crash makes each run exit 3 at once. It returns
// the versions that ran, in order.
func (in *install) start(crash func(v string) bool) []string {
	in.t.Helper()
	var ran []string
	d := in.do(func(l *Lifecycle) Decision {
		d, err := l.Start(StartInput{Now: in.now})
		if err != nil {
			in.t.Fatal(err)
		}
		return d
	})
	for d.Start != "" {
		v, started := d.Start, in.now
		ran = append(ran, v)
		code := 0
		in.now = in.now.Add(time.Minute)
		if crash(v) {
			code = 3
			in.now = started.Add(time.Second)
		}
		if !d.Watch {
			break
		}
		d = in.do(func(l *Lifecycle) Decision {
			return l.Exit(Exit{Version: v, Started: started, Ended: in.now, Code: code})
		})
	}
	return ran
}

func (in *install) phase(v string) Phase {
	if r := in.rec.Versions[v]; r != nil {
		return r.Phase
	}
	return ""
}

func never(string) bool { return false }

// rolledBackFrom110 is an install where 1.1.0 passed a one-start probation
// over the known-good 1.0.0 and the user then rolled back from it.
func rolledBackFrom110(t *testing.T) *install {
	in := newInstall(t)
	in.cfg.ProbationStarts = 1
	in.update("1.0.0", false)
	in.update("1.1.0", false)
	in.start(never)
	in.do(func(l *Lifecycle) Decision { d, _ := l.Rollback("1.1.0", in.now); return d })
	return in
}

func crashes(vs ...string) func(string) bool {
	return func(v string) bool { return slices.Contains(vs, v) }
}

// Issue 14, sequence 1: an update installed while the current version is
// on probation falls back to the known-good version, not to the unproven one.
func TestUpdateDuringProbationKeepsTheKnownGood(t *testing.T) {
	in := newInstall(t)
	in.update("1.0.0", false)
	in.start(never)
	in.update("1.1.0", false)
	in.start(crashes("1.1.0")) // 1 of 2 failures
	in.update("1.1.1", false)
	if !slices.Contains(in.disk.Installed, "1.0.0") {
		t.Fatalf("cleanup removed the known-good 1.0.0: %v", in.disk.Installed)
	}
	in.start(crashes("1.1.0", "1.1.1"))
	ran := in.start(crashes("1.1.0", "1.1.1"))
	if !slices.Equal(ran, []string{"1.1.1", "1.0.0"}) || in.disk.Current != "1.0.0" {
		t.Fatalf("ran %v, current %s; want 1.1.1 then 1.0.0", ran, in.disk.Current)
	}
}

// Issue 14, sequence 2: after a probation rollback, the fix-forward that
// crashes too goes back to the known-good version again.
func TestFixForwardAfterRollbackKeepsTheKnownGood(t *testing.T) {
	in := newInstall(t)
	in.update("1.0.0", false)
	in.update("1.1.0", false)
	in.start(crashes("1.1.0"))
	in.start(crashes("1.1.0"))
	in.update("1.1.1", false)
	in.start(crashes("1.1.1"))
	ran := in.start(crashes("1.1.1"))
	if !slices.Equal(ran, []string{"1.1.1", "1.0.0"}) {
		t.Fatalf("ran %v; want 1.1.1 then 1.0.0", ran)
	}
	l := New(in.cfg, in.rec, in.disk, in.now)
	if _, err := l.Rollback("1.0.0", in.now); !errors.Is(err, ErrNoPrevious) {
		t.Fatalf("--rollback from 1.0.0: %v; want no known-good to go to", err)
	}
}

// Issue 14, sequence 3 and issue 21 survivor 3: --rollback goes to the
// newest known-good version, not a held-back one nor the oldest.
func TestRollbackGoesToTheNewestKnownGood(t *testing.T) {
	in := newInstall(t)
	in.cfg.KeepVersions = 3
	in.cfg.ProbationStarts = 1
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		in.update(v, false)
		in.start(never)
	}
	in.do(func(l *Lifecycle) Decision {
		d, err := l.Rollback("1.2.0", in.now)
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
	if in.disk.Current != "1.1.0" {
		t.Fatalf("--rollback from 1.2.0 went to %s; want the newest known-good 1.1.0", in.disk.Current)
	}
	in.update("1.3.0", false)
	in.start(never)
	if slices.Contains(in.disk.Installed, "1.2.0") {
		t.Fatalf("cleanup kept the held-back 1.2.0: %v", in.disk.Installed)
	}
	in.do(func(l *Lifecycle) Decision {
		d, err := l.Rollback("1.3.0", in.now)
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
	if in.disk.Current != "1.1.0" || in.phase("1.2.0") != Held {
		t.Fatalf("second --rollback went to %s (1.2.0 %s); want 1.1.0", in.disk.Current, in.phase("1.2.0"))
	}
}

// Issue 14, sequence 4: a launcher killed while the app ran does not keep
// the version on probation forever.
func TestKilledLauncherDoesNotKeepProbationOpen(t *testing.T) {
	in := newInstall(t)
	in.update("1.0.0", false)
	in.update("1.1.0", false)
	for range 3 {
		in.do(func(l *Lifecycle) Decision {
			d, _ := l.Start(StartInput{Now: in.now})
			return d
		}) // no Exit: the launcher was killed
		in.now = in.now.Add(time.Hour)
	}
	d := in.do(func(l *Lifecycle) Decision { d, _ := l.Start(StartInput{Now: in.now}); return d })
	if in.phase("1.1.0") != Good || d.Watch {
		t.Fatalf("1.1.0 is %s (start watched: %v) after 3 starts that were never reported", in.phase("1.1.0"), d.Watch)
	}
	in.now = in.now.Add(72 * time.Hour)
	in.start(crashes("1.1.0"))
	in.start(crashes("1.1.0"))
	if in.disk.Current != "1.1.0" {
		t.Fatalf("a trusted version was rolled back for two late failures")
	}
}

// Issue 14, sequence 5: signals the launcher passed on are not failures.
func TestForwardedSignalIsNotAFailure(t *testing.T) {
	in := newInstall(t)
	in.update("1.0.0", false)
	in.update("1.1.0", false)
	for range 2 {
		started := in.now
		d := in.do(func(l *Lifecycle) Decision { d, _ := l.Start(StartInput{Now: in.now}); return d })
		in.now = in.now.Add(time.Second)
		d = in.do(func(l *Lifecycle) Decision {
			return l.Exit(Exit{Version: d.Start, Started: started, Ended: in.now, Code: 143, Forwarded: true})
		})
		if d.Start != "" {
			t.Fatalf("started %s in the middle of a shutdown", d.Start)
		}
	}
	if r := in.rec.Versions["1.1.0"]; r.Phase != Probation || r.Failures != 0 {
		t.Fatalf("1.1.0 after two forwarded SIGTERMs: %+v", r)
	}
}

// Issue 14, sequence 6: a failure the known-good version shares is the
// environment's; a different one confirms the hold.
func TestSharedFailureIsNotTheReleases(t *testing.T) {
	for _, tc := range []struct {
		name     string
		goodCode int
		held     bool
	}{{"same exit code", 3, false}, {"other exit code", 4, true}, {"known-good runs", 0, true}} {
		t.Run(tc.name, func(t *testing.T) {
			in := newInstall(t)
			in.update("1.0.0", false)
			in.update("1.1.0", false)
			in.start(crashes("1.1.0"))
			started := in.now
			d := in.do(func(l *Lifecycle) Decision { d, _ := l.Start(StartInput{Now: in.now}); return d })
			in.now = in.now.Add(time.Second)
			d = in.do(func(l *Lifecycle) Decision {
				return l.Exit(Exit{Version: d.Start, Started: started, Ended: in.now, Code: 3})
			})
			if d.Start != "1.0.0" || !d.Watch || in.phase("1.1.0") != Held {
				t.Fatalf("after the second failure: %+v, 1.1.0 %s", d, in.phase("1.1.0"))
			}
			in.do(func(l *Lifecycle) Decision {
				return l.Exit(Exit{Version: "1.0.0", Started: in.now, Ended: in.now.Add(time.Second), Code: tc.goodCode})
			})
			if held := in.phase("1.1.0") == Held; held != tc.held {
				t.Fatalf("1.0.0 exited %d after 1.1.0 crashed with 3: 1.1.0 held = %v, want %v", tc.goodCode, held, tc.held)
			}
			if want := map[bool]string{true: "1.0.0", false: "1.1.0"}[tc.held]; in.disk.Current != want {
				t.Fatalf("current %s, want %s", in.disk.Current, want)
			}
		})
	}
}

// Issue 14, sequence 7: a wrong entry is a configuration problem: nothing
// is held back, and fixing launcher.json recovers.
func TestWrongEntryHoldsNothing(t *testing.T) {
	in := newInstall(t)
	in.update("1.0.0", false)
	in.update("1.1.0", false)
	in.cfg.Entry = wrongEntry
	l := New(in.cfg, in.rec, in.disk, in.now)
	if _, err := l.Start(StartInput{Now: in.now, NoEntry: []string{"1.0.0", "1.1.0"}}); !errors.Is(err, ErrNoEntry) {
		t.Fatalf("start with a wrong entry: %v", err)
	}
	in.rec = l.Records()
	in.do(func(l *Lifecycle) Decision { return l.LacksEntry("1.2.0", in.now) })
	l = New(in.cfg, in.rec, in.disk, in.now)
	if ok, _ := l.Eligible([]Candidate{{Version: mustParse("1.2.0")}}); len(ok) != 0 {
		t.Fatalf("1.2.0 lacked the entry and is offered again for the same launcher.json")
	}
	in.cfg.Entry = rightEntry
	l = New(in.cfg, in.rec, in.disk, in.now)
	if ok, _ := l.Eligible([]Candidate{{Version: mustParse("1.2.0")}}); len(ok) != 1 {
		t.Fatalf("after launcher.json changed, 1.2.0 is not offered again")
	}
	if ran := in.start(never); !slices.Equal(ran, []string{"1.1.0"}) {
		t.Fatalf("after the fix ran %v, want 1.1.0", ran)
	}
	for v, r := range in.rec.Versions {
		if r.Phase == Held {
			t.Fatalf("%s held back for a configuration problem: %s", v, r.Reason)
		}
	}
}

// Issue 14, sequence 8: --rollback refuses when current changed since the
// user asked, instead of holding back a version they never ran.
func TestRollbackActsOnTheVersionTheUserRan(t *testing.T) {
	in := newInstall(t)
	in.update("1.0.0", false)
	in.update("1.1.0", false)
	in.update("1.1.1", false) // the background updater, while --rollback waited
	l := New(in.cfg, in.rec, in.disk, in.now)
	if _, err := l.Rollback("1.1.0", in.now); !errors.Is(err, ErrCurrentChanged) {
		t.Fatalf("rollback from 1.1.0 while current is 1.1.1: %v", err)
	}
	if l.Record("1.1.1").Phase == Held || l.Current() != "1.1.1" {
		t.Fatalf("the fix was held back or current moved")
	}
}

// --rollback from a version an update installed that never ran (a
// background update finished while the user ran the one before) refuses
// instead of holding back what may be the fix; once it has run, it goes back.
func TestRollbackRefusesAVersionThatNeverRan(t *testing.T) {
	in := newInstall(t)
	in.update("1.0.0", false)
	in.update("1.1.0", false)
	l := New(in.cfg, in.rec, in.disk, in.now)
	if _, err := l.Rollback("1.1.0", in.now); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("rollback from 1.1.0, which never ran: %v, want ErrNotStarted", err)
	}
	if in.phase("1.1.0") != Probation || in.disk.Current != "1.1.0" {
		t.Fatalf("1.1.0 is %q, current %s; want it untouched", in.phase("1.1.0"), in.disk.Current)
	}
	if ran := in.start(never); !slices.Equal(ran, []string{"1.1.0"}) {
		t.Fatalf("ran %v", ran)
	}
	d := in.do(func(l *Lifecycle) Decision {
		d, err := l.Rollback("1.1.0", in.now)
		if err != nil {
			t.Fatalf("rollback from 1.1.0 after it ran: %v", err)
		}
		return d
	})
	if d.Current != "1.0.0" || in.phase("1.1.0") != Held {
		t.Fatalf("current %q, 1.1.0 %q; want 1.0.0 and held", d.Current, in.phase("1.1.0"))
	}
}

// Issue 14, sequence 9: a held-back required release blocks the releases
// after it until a newer required release.
func TestHeldRequiredReleaseBlocks(t *testing.T) {
	in := newInstall(t)
	in.update("1.0.0", false)
	in.update("1.1.0", true)
	in.start(crashes("1.1.0"))
	in.start(crashes("1.1.0"))
	l := New(in.cfg, in.rec, in.disk, in.now)
	cands := []Candidate{{Version: mustParse("1.1.0"), Required: true}, {Version: mustParse("1.2.0")}}
	if ok, by := l.Eligible(cands); len(ok) != 0 || by != "1.1.0" {
		t.Fatalf("eligible %v blocked by %q; want nothing, blocked by 1.1.0", ok, by)
	}
	cands = append(cands, Candidate{Version: mustParse("1.3.0"), Required: true}, Candidate{Version: mustParse("1.4.0")})
	ok, by := l.Eligible(cands)
	if len(ok) != 2 || ok[0].Version.String() != "1.3.0" || by != "" {
		t.Fatalf("eligible %v blocked by %q; want 1.3.0 and 1.4.0", ok, by)
	}
	var status string
	for _, i := range l.Describe() {
		if i.Version == "1.1.0" {
			status = i.Why
		}
	}
	if !strings.Contains(status, "required") || !strings.Contains(status, "--unhold 1.1.0") {
		t.Fatalf("status of 1.1.0: %q", status)
	}
}

func TestUnhold(t *testing.T) {
	in := rolledBackFrom110(t)
	if in.phase("1.1.0") != Held {
		t.Fatal("not held after rollback")
	}
	in.do(func(l *Lifecycle) Decision {
		d, err := l.Unhold("1.1.0", in.now)
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
	if in.phase("1.1.0") != Good {
		t.Fatalf("1.1.0 was known-good before the user held it: %s after --unhold", in.phase("1.1.0"))
	}
	l := New(in.cfg, in.rec, in.disk, in.now)
	if _, err := l.Unhold("1.1.0", in.now); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("unhold of a version not held: %v", err)
	}
}

// A current pointer at a held-back version (an older launcher's state, a
// hand edit) is not started while a known-good version can be.
func TestHeldCurrentIsNotStarted(t *testing.T) {
	in := newInstall(t)
	in.disk = Disk{Current: "1.1.0", Installed: []string{"1.0.0", "1.1.0"}}
	in.rec = Migrate(map[string]string{"1.1.0": "failed probation: 2 of 2 starts failed"}, nil, in.disk.Installed, in.now)
	if ran := in.start(never); !slices.Equal(ran, []string{"1.0.0"}) || in.disk.Current != "1.0.0" {
		t.Fatalf("ran %v, current %s", ran, in.disk.Current)
	}
}

func TestMigrateKeepsHistory(t *testing.T) {
	rec := Migrate(map[string]string{"1.2.0": "rolled back by the user on 2026-01-01T00:00:00Z", "1.3.0": "failed probation: 2 of 2"},
		&LegacyProbation{Version: "1.1.0", Starts: 2, Failures: 1}, []string{"1.0.0", "1.1.0", "1.2.0"}, time.Now())
	want := map[string]Phase{"1.0.0": Good, "1.1.0": Probation, "1.2.0": Held, "1.3.0": Held}
	for v, p := range want {
		if rec.Versions[v] == nil || rec.Versions[v].Phase != p {
			t.Errorf("%s: %+v, want %s", v, rec.Versions[v], p)
		}
	}
	if rec.Versions["1.1.0"].Failures != 1 || rec.Versions["1.3.0"].Cause != Crashed || rec.Versions["1.2.0"].Cause != RolledBack {
		t.Errorf("history lost: %+v %+v %+v", rec.Versions["1.1.0"], rec.Versions["1.3.0"], rec.Versions["1.2.0"])
	}
}

func TestHashChanged(t *testing.T) {
	in := newInstall(t)
	in.update("1.0.0", false)
	l := New(in.cfg, in.rec, in.disk, in.now)
	if n := l.HashChanged(map[string]string{"1.0.0": "sha-1.0.0"}); len(n) != 0 {
		t.Fatalf("warned about an unchanged hash: %v", n)
	}
	n := l.HashChanged(map[string]string{"1.0.0": "other"})
	if len(n) != 1 || !strings.Contains(n[0].Msg, "1.0.0") {
		t.Fatalf("no warning for a changed hash: %v", n)
	}
}

// A comparison start of the known-good version that was never reported
// (the launcher was killed) is made at its next start.
func TestComparisonSurvivesAKilledLauncher(t *testing.T) {
	in := newInstall(t)
	in.update("1.0.0", false)
	in.update("1.1.0", false)
	in.start(crashes("1.1.0"))
	started := in.now
	d := in.do(func(l *Lifecycle) Decision { d, _ := l.Start(StartInput{Now: in.now}); return d })
	in.do(func(l *Lifecycle) Decision {
		return l.Exit(Exit{Version: d.Start, Started: started, Ended: in.now.Add(time.Second), Code: 3})
	}) // held back, 1.0.0 started, launcher killed
	in.now = in.now.Add(time.Hour)
	d = in.do(func(l *Lifecycle) Decision { d, _ := l.Start(StartInput{Now: in.now}); return d })
	if d.Start != "1.0.0" || !d.Watch {
		t.Fatalf("next start: %+v; want 1.0.0 watched", d)
	}
	in.do(func(l *Lifecycle) Decision {
		return l.Exit(Exit{Version: "1.0.0", Started: in.now, Ended: in.now.Add(time.Second), Code: 3})
	})
	if in.phase("1.1.0") == Held || in.disk.Current != "1.1.0" {
		t.Fatalf("1.0.0 failed the same way, yet 1.1.0 is %s and current %s", in.phase("1.1.0"), in.disk.Current)
	}
}

// What cleanup keeps: the current version, its known-good way back, then
// the newest good ones; held-back versions go first.
func TestCleanupKeeps(t *testing.T) {
	installed := []string{"1.0", "1.1", "1.2", "1.3"}
	cases := []struct {
		current string
		keep    int
		held    []string
		want    []string
	}{
		{"1.3", 2, nil, []string{"1.2", "1.3"}},
		{"1.3", 3, nil, []string{"1.1", "1.2", "1.3"}},
		{"1.1", 2, []string{"1.2", "1.3"}, []string{"1.0", "1.1"}},        // rolled back twice
		{"1.1", 3, []string{"1.2", "1.3"}, []string{"1.0", "1.1", "1.3"}}, // held ones only with room
		{"1.0", 2, nil, []string{"1.0", "1.3"}},                           // no older: the newest good
		{"1.3", 2, []string{"1.2"}, []string{"1.1", "1.3"}},               // the way back skips the held 1.2
		{"1.2", 10, nil, []string{"1.0", "1.1", "1.2", "1.3"}},
	}
	for _, c := range cases {
		held := map[string]string{}
		for _, v := range c.held {
			held[v] = "rolled back by the user"
		}
		now := time.Now()
		disk := Disk{Current: c.current, Installed: installed}
		l := New(Config{KeepVersions: c.keep, Entry: rightEntry}, Migrate(held, nil, installed, now), disk, now)
		del := l.Cleanup().Delete
		var got []string
		for _, v := range installed {
			if !slices.Contains(del, v) {
				got = append(got, v)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("current %s, keep %d, held %v: kept %v, want %v", c.current, c.keep, c.held, got, c.want)
		}
		for i, v := range del {
			if i > 0 && slices.Contains(c.held, v) && !slices.Contains(c.held, del[i-1]) {
				t.Errorf("cleanup removes %v: held-back %s not first", del, v)
			}
		}
	}
}

// Held-back entries do not outlive the versions: once every installed
// version is newer than a held one, it can never be offered again and its
// record goes; while an older version is installed, the hold stays.
func TestHoldsAreForgottenWhenTheyCannotMatter(t *testing.T) {
	in := rolledBackFrom110(t)
	in.update("1.2.0", false) // 1.1.0 removed; 1.0.0 kept as the way back
	if in.phase("1.1.0") != Held {
		t.Fatalf("the hold of 1.1.0 went while 1.0.0 (older) is installed: %s", in.phase("1.1.0"))
	}
	in.start(never)
	in.update("1.3.0", false)
	in.start(never) // 1.0.0 removed: every installed version is newer than 1.1.0
	in.do(func(l *Lifecycle) Decision { return l.Cleanup() })
	if slices.Contains(in.disk.Installed, "1.0.0") || in.rec.Versions["1.1.0"] != nil {
		t.Fatalf("installed %v, records %v: the hold of 1.1.0 outlives every older version", in.disk.Installed, in.rec.Versions)
	}
}
