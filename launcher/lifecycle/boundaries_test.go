package lifecycle

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// Issue 21: tests for behaviour that mutants of this package showed
// untested (gremlins v0.6.0).

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func cfgForTest() Config {
	return Config{ProbationStarts: 1, ProbationFailures: 1, Window: time.Hour, KeepVersions: 2, Entry: "app"}
}

func notesWith(d Decision, level Level, part string) int {
	n := 0
	for _, note := range d.Notes {
		if note.Level == level && strings.Contains(note.Msg, part) {
			n++
		}
	}
	return n
}

// A current pointer naming a version that is not installed is ignored.
func TestNewIgnoresACurrentThatIsNotInstalled(t *testing.T) {
	l := New(cfgForTest(), Records{}, Disk{Current: "9.9.9", Installed: []string{"1.0.0"}}, t0)
	if got := l.Current(); got != "" {
		t.Fatalf("Current() = %q, want \"\" for a pointer naming a version that is not installed", got)
	}
	l = New(cfgForTest(), Records{}, Disk{Current: "1.0.0", Installed: []string{"1.0.0"}}, t0)
	if got := l.Current(); got != "1.0.0" {
		t.Fatalf("Current() = %q, want 1.0.0", got)
	}
}

// A missing entry point is warned about when first found, not at every
// start after.
func TestMissingEntryIsWarnedOnce(t *testing.T) {
	rec := Records{}
	disk := Disk{Current: "1.1.0", Installed: []string{"1.0.0", "1.1.0"}}
	in := StartInput{Now: t0, NoEntry: []string{"1.1.0"}}
	for i, want := range []int{1, 0} {
		l := New(cfgForTest(), rec, disk, t0)
		d, err := l.Start(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := notesWith(d, Warn, "versions/1.1.0 has no entry point"); got != want {
			t.Fatalf("start %d: %d warnings about the missing entry point, want %d: %+v", i+1, got, want, d.Notes)
		}
		rec = l.Records()
		if d.Current != "" {
			disk.Current = d.Current
		}
	}
}

// Starting another version than the current one says so.
func TestStartingInsteadOfCurrentIsWarned(t *testing.T) {
	l := New(cfgForTest(), Records{}, Disk{Current: "1.1.0", Installed: []string{"1.0.0", "1.1.0"}}, t0)
	d, err := l.Start(StartInput{Now: t0, NoEntry: []string{"1.1.0"}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Start != "1.0.0" || notesWith(d, Warn, "1.1.0 cannot be started; starting 1.0.0 instead") != 1 {
		t.Fatalf("decision %+v, want 1.0.0 started with a warning naming both", d)
	}
	// Without a current version there is nothing to warn about.
	l = New(cfgForTest(), Records{}, Disk{Installed: []string{"1.0.0"}}, t0)
	d, err = l.Start(StartInput{Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if n := notesWith(d, Warn, "cannot be started"); n != 0 {
		t.Fatalf("%d warnings on a first start: %+v", n, d.Notes)
	}
}

// A start whose end was never reported counts as open for the whole
// window, up to and including its last instant.
func TestOpenStartExpiresOnlyAfterTheWindow(t *testing.T) {
	cfg := cfgForTest()
	rec := func() Records {
		return Records{Versions: map[string]*Record{
			"1.0.0": {Phase: Good, Since: t0},
			"1.1.0": {Phase: Probation, Since: t0, Starts: 1, Open: []time.Time{t0}},
		}}
	}
	disk := Disk{Current: "1.1.0", Installed: []string{"1.0.0", "1.1.0"}}
	for _, c := range []struct {
		after time.Duration
		want  Phase
	}{{cfg.Window, Probation}, {cfg.Window + time.Nanosecond, Good}} {
		l := New(cfg, rec(), disk, t0)
		if _, err := l.Start(StartInput{Now: t0.Add(c.after)}); err != nil {
			t.Fatal(err)
		}
		if got := l.Record("1.1.0").Phase; got != c.want {
			t.Errorf("%s after an unreported start: 1.1.0 is %s, want %s", c.after, got, c.want)
		}
	}
}

// An app that exits with an error after running for the whole window did
// start: only a shorter run counts as a failed start.
func TestFailureOnlyWithinTheWindow(t *testing.T) {
	cfg := cfgForTest()
	cfg.ProbationStarts = 2 // one start does not pass probation
	for _, c := range []struct {
		ran  time.Duration
		want Phase
	}{{cfg.Window - time.Nanosecond, Held}, {cfg.Window, Probation}} {
		l := New(cfg, Records{Versions: map[string]*Record{
			"1.0.0": {Phase: Good, Since: t0},
			"1.1.0": {Phase: Probation, Since: t0, Starts: 0},
		}}, Disk{Current: "1.1.0", Installed: []string{"1.0.0", "1.1.0"}}, t0)
		if _, err := l.Start(StartInput{Now: t0}); err != nil {
			t.Fatal(err)
		}
		l.Exit(Exit{Version: "1.1.0", Started: t0, Ended: t0.Add(c.ran), Code: 1})
		if got := l.Record("1.1.0").Phase; got != c.want {
			t.Errorf("exit 1 after %s: 1.1.0 is %s, want %s", c.ran, got, c.want)
		}
	}
}

// A failed start on probation says how many more failures are allowed.
func TestFailedStartCountsAllowedFailures(t *testing.T) {
	cfg := cfgForTest()
	cfg.ProbationStarts, cfg.ProbationFailures = 5, 3
	l := New(cfg, Records{Versions: map[string]*Record{
		"1.0.0": {Phase: Good, Since: t0},
		"1.1.0": {Phase: Probation, Since: t0},
	}}, Disk{Current: "1.1.0", Installed: []string{"1.0.0", "1.1.0"}}, t0)
	if _, err := l.Start(StartInput{Now: t0}); err != nil {
		t.Fatal(err)
	}
	d := l.Exit(Exit{Version: "1.1.0", Started: t0, Ended: t0.Add(time.Second), Code: 2})
	if notesWith(d, Warn, "1 of 2 allowed failures") != 1 {
		t.Fatalf("notes %+v, want one counting 1 of 2 allowed failures (the third holds it back)", d.Notes)
	}
}

func good() *Record { return &Record{Phase: Good, Since: t0} }

// Cleanup keeps exactly keep_versions versions and removes held-back ones
// first, then the others oldest first.
func TestCleanupOrderAndCount(t *testing.T) {
	cfg := cfgForTest()
	cfg.KeepVersions = 2
	l := New(cfg, Records{Versions: map[string]*Record{
		"1.0.0": good(), "1.1.0": good(), "1.2.0": {Phase: Held, Since: t0}, "1.3.0": good(), "1.4.0": good(),
	}}, Disk{Current: "1.4.0", Installed: []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0"}}, t0)
	d := l.Cleanup()
	if want := []string{"1.2.0", "1.0.0", "1.1.0"}; !slices.Equal(d.Delete, want) {
		t.Fatalf("Cleanup deletes %v, want %v", d.Delete, want)
	}
}

// keep_versions keeps versions that can start before one lacking the
// entry point, even a newer one.
func TestCleanupPrefersVersionsThatCanStart(t *testing.T) {
	cfg := cfgForTest()
	cfg.KeepVersions = 3
	l := New(cfg, Records{Versions: map[string]*Record{
		"1.0.0": good(), "1.1.0": {Phase: Good, Since: t0, MissingEntry: "app"}, "1.2.0": good(), "1.3.0": good(),
	}}, Disk{Current: "1.3.0", Installed: []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0"}}, t0)
	if d := l.Cleanup(); !slices.Equal(d.Delete, []string{"1.1.0"}) {
		t.Fatalf("Cleanup deletes %v, want [1.1.0]", d.Delete)
	}
}

// What --status says about each version.
func TestDescribeSaysWhy(t *testing.T) {
	cfg := cfgForTest()
	cfg.ProbationStarts, cfg.ProbationFailures = 3, 2
	l := New(cfg, Records{Versions: map[string]*Record{
		"1.0.0": {Phase: Good, Since: t0, MissingEntry: "app"},
		"1.1.0": good(),
		"1.2.0": {Phase: Probation, Since: t0, Starts: 1},
		"1.3.0": {Phase: NoEntry, Since: t0, MissingEntry: "app", Reason: "has no entry point app"},
	}}, Disk{Current: "1.2.0", Installed: []string{"1.0.0", "1.1.0", "1.2.0"}}, t0)
	why := map[string]string{}
	for _, v := range l.Describe() {
		why[v.Version] = v.Why
		if v.Current != (v.Version == "1.2.0") {
			t.Errorf("%s: Current = %v", v.Version, v.Current)
		}
	}
	for v, want := range map[string]string{
		"1.2.0": "on probation: 1 of 3 starts, 0 failed (1 allowed); falls back to 1.1.0",
		"1.0.0": "; lacks the entry point app",
	} {
		if !strings.Contains(why[v], want) {
			t.Errorf("%s: %q, want it to say %q", v, why[v], want)
		}
	}
	for _, v := range []string{"1.1.0", "1.2.0", "1.3.0"} {
		if strings.Contains(why[v], "lacks the entry point") {
			t.Errorf("%s: %q says it lacks the entry point", v, why[v])
		}
	}
}

// Older launchers wrote "failed probation..." for a crash; exactly those
// words too.
func TestMigrateReadsACrash(t *testing.T) {
	rec := Migrate(map[string]string{"1.1.0": "failed probation", "1.2.0": "rolled back by the user"}, nil, nil, t0)
	if c := rec.Versions["1.1.0"].Cause; c != Crashed {
		t.Errorf("\"failed probation\": cause %q, want %q", c, Crashed)
	}
	if c := rec.Versions["1.2.0"].Cause; c != RolledBack {
		t.Errorf("a rollback: cause %q, want %q", c, RolledBack)
	}
}

// After good versions, keep_versions keeps unproven ones that can start,
// then the others while there is room.
func TestCleanupKeepsUnprovenBeforeHeld(t *testing.T) {
	cfg := cfgForTest()
	cfg.KeepVersions = 3
	for _, c := range []struct {
		name string
		recs map[string]*Record
		gone string
	}{
		{"held", map[string]*Record{"1.0.0": {Phase: Held, Since: t0}, "1.1.0": {Phase: Probation, Since: t0}}, "1.0.0"},
		{"lacking the entry", map[string]*Record{"1.0.0": {Phase: Probation, Since: t0}, "1.1.0": {Phase: Probation, Since: t0, MissingEntry: "app"}}, "1.1.0"},
	} {
		c.recs["1.2.0"], c.recs["1.3.0"] = good(), good()
		l := New(cfg, Records{Versions: c.recs}, Disk{Current: "1.3.0", Installed: []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0"}}, t0)
		if d := l.Cleanup(); !slices.Equal(d.Delete, []string{c.gone}) {
			t.Errorf("%s: Cleanup deletes %v, want [%s]", c.name, d.Delete, c.gone)
		}
	}
}

// Installing a version that has a known-good record needs no probation;
// only a version found without a record gets its phase from the install.
func TestInstallKeepsAKnownGoodRecord(t *testing.T) {
	l := New(cfgForTest(), Records{Versions: map[string]*Record{"1.0.0": good(), "1.1.0": good()}},
		Disk{Current: "1.0.0", Installed: []string{"1.0.0", "1.1.0"}}, t0)
	l.Install("1.1.0", Release{}, t0)
	if got := l.Record("1.1.0").Phase; got != Good {
		t.Fatalf("1.1.0, known-good before, is %s after Install, want %s", got, Good)
	}
}
