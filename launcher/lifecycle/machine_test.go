package lifecycle

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/tufup-go/tufup/versions"
)

// TestStateMachine drives the lifecycle through random sequences of what
// publishers, users and the world do, as the launcher would, and checks
// every rule after each step. go test runs thousands of sequences;
// .ci/run runs more with -rapid.checks.
func TestStateMachine(t *testing.T) {
	checksDefault(t, 2000)
	rapid.Check(t, func(t *rapid.T) {
		w := newWorld(t)
		t.Repeat(rapid.StateMachineActions(w))
	})
}

// checksDefault raises rapid's number of sequences unless the command line
// or RAPID_CHECKS chose one.
func checksDefault(t *testing.T, n int) {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "rapid.checks" })
	if _, env := os.LookupEnv("RAPID_CHECKS"); set || env || testing.Short() {
		return
	}
	old := flag.Lookup("rapid.checks").Value.String()
	if err := flag.Set("rapid.checks", fmt.Sprint(n)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { flag.Set("rapid.checks", old) })
}

// kind is how a published release behaves.
type kind int

const (
	goodRelease  kind = iota
	crashing          // exits 3 at every start
	crashingOnce      // exits 3 at its first start on this machine
	lacksEntry        // its folder has no entry point
)

type published struct {
	version  string
	kind     kind
	required bool
}

const (
	rightEntry = "app"
	wrongEntry = "app.exe"
	window     = 10 * time.Second
)

// world is one install, its repository and everything around it.
type world struct {
	cfg     Config
	rec     Records // as saved on disk, JSON round-tripped
	disk    Disk
	repo    []published
	now     time.Time
	offline bool
	// envCode, when not 0, is the exit code every app start fails with
	// (a broken environment); crashing releases exit 3.
	envCode int
	// suspect marks versions that ran while the environment was broken:
	// a hold for a crash is then not proof of their own fault.
	suspect  map[string]bool
	ranOnce  map[string]bool
	everGood bool
	// rolledBack are versions the user rolled back from.
	rolledBack map[string]bool
}

func newWorld(t *rapid.T) *world {
	n := rapid.IntRange(0, 4).Draw(t, "probation_starts")
	f := 0
	if n > 0 {
		f = rapid.IntRange(1, n).Draw(t, "probation_failures")
	}
	return &world{
		cfg: Config{ProbationStarts: n, ProbationFailures: f, Window: window,
			KeepVersions: rapid.IntRange(2, 4).Draw(t, "keep_versions"), Entry: rightEntry},
		now:        time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		suspect:    map[string]bool{},
		ranOnce:    map[string]bool{},
		rolledBack: map[string]bool{},
	}
}

// open loads the saved records as the launcher does at every step.
func (w *world) open() *Lifecycle { return New(w.cfg, w.rec, w.disk, w.now) }

// save carries out what the lifecycle decided and persists its records.
func (w *world) save(t *rapid.T, l *Lifecycle, d Decision) {
	if d.Current != "" {
		if !slices.Contains(w.disk.Installed, d.Current) {
			t.Fatalf("decided current %s, which is not installed", d.Current)
		}
		w.disk.Current = d.Current
	}
	if d.Current != l.Current() && d.Current != "" {
		t.Fatalf("decision current %s, lifecycle thinks %s", d.Current, l.Current())
	}
	b, err := json.Marshal(l.Records())
	if err != nil {
		t.Fatal(err)
	}
	w.rec = Records{}
	if err := json.Unmarshal(b, &w.rec); err != nil {
		t.Fatal(err)
	}
}

func (w *world) release(v string) published {
	for _, p := range w.repo {
		if p.version == v {
			return p
		}
	}
	panic("unknown release " + v)
}

// Publish adds a release of a random kind.
func (w *world) Publish(t *rapid.T) {
	p := published{
		version:  fmt.Sprintf("1.%d.0", len(w.repo)),
		kind:     kind(rapid.IntRange(0, 3).Draw(t, "kind")),
		required: rapid.IntRange(0, 4).Draw(t, "required") == 0,
	}
	w.repo = append(w.repo, p)
}

// Update is an update check and install, whoever runs it (a start, the
// background updater, --update-only, the app's own button). interrupted
// kills it after the folder was moved into place, before it was recorded.
func (w *world) Update(t *rapid.T) {
	if w.offline {
		return // a network failure changes nothing
	}
	interrupted := rapid.IntRange(0, 9).Draw(t, "interrupted") == 0
	l := w.open()
	var cur *versions.Version
	if w.disk.Current != "" {
		v := mustParse(w.disk.Current)
		cur = &v
	}
	var cands []Candidate
	for _, p := range w.repo {
		v := mustParse(p.version)
		if cur == nil || v.Compare(*cur) > 0 {
			cands = append(cands, Candidate{Version: v, Required: p.required})
		}
	}
	ok, _ := l.Eligible(cands)
	for _, c := range cands {
		if !w.excluded(l, c.Version.String()) && w.blocking(l, cur, c.Version) == "" &&
			!slices.ContainsFunc(ok, func(o Candidate) bool { return o.Version.Compare(c.Version) == 0 }) {
			t.Fatalf("%s is neither held back nor blocked, but not eligible (eligible: %v)", c.Version, ok)
		}
	}
	if len(ok) == 0 {
		return
	}
	chosen := ok[len(ok)-1]
	for _, c := range ok {
		if c.Required {
			chosen = c
			break
		}
	}
	v := chosen.Version.String()
	w.checkEligible(t, l, cur, chosen)
	p := w.release(v)
	if p.kind == lacksEntry || w.cfg.Entry != rightEntry {
		if !slices.Contains(w.disk.Installed, v) {
			w.save(t, l, l.LacksEntry(v, w.now))
			return
		}
	}
	if !slices.Contains(w.disk.Installed, v) {
		w.disk.Installed = append(w.disk.Installed, v)
	}
	if interrupted {
		return
	}
	l = w.open()
	d := l.Install(v, Release{Required: p.required, SHA256: "sha-" + v}, w.now)
	if d.Current != v {
		t.Fatalf("installing %s: current %q", v, d.Current)
	}
	w.save(t, l, d)
	w.cleanup(t)
}

// checkEligible proves the plan never installs a held-back or entry-less
// release, and never skips a held-back required release.
func (w *world) checkEligible(t *rapid.T, l *Lifecycle, cur *versions.Version, chosen Candidate) {
	if w.excluded(l, chosen.Version.String()) {
		t.Fatalf("the plan installs %s, which is %+v", chosen.Version, l.Record(chosen.Version.String()))
	}
	if b := w.blocking(l, cur, chosen.Version); b != "" && b != chosen.Version.String() {
		t.Fatalf("the plan installs %s over the held-back required release %s", chosen.Version, b)
	}
}

func (w *world) excluded(l *Lifecycle, v string) bool {
	r := l.Record(v)
	return r != nil && (r.Phase == Held || r.Phase == NoEntry || r.MissingEntry == w.cfg.Entry)
}

// blocking returns the held-back required release that v may not skip.
func (w *world) blocking(l *Lifecycle, cur *versions.Version, v versions.Version) string {
	var blocking string
	for _, p := range w.repo {
		pv := mustParse(p.version)
		if (cur != nil && pv.Compare(*cur) <= 0) || pv.Compare(v) > 0 || !p.required {
			continue
		}
		if w.excluded(l, p.version) {
			blocking = p.version
		} else {
			blocking = ""
		}
	}
	return blocking
}

// Cleanup runs a cleanup on its own (an up-to-date start does).
func (w *world) Cleanup(t *rapid.T) { w.cleanup(t) }

func (w *world) cleanup(t *rapid.T) {
	l := w.open()
	d := l.Cleanup()
	back := l.KnownGood(w.disk.Current)
	for _, v := range d.Delete {
		if v == w.disk.Current || v == back {
			t.Fatalf("cleanup deletes %s (current %s, known-good %s)", v, w.disk.Current, back)
		}
	}
	kept := len(w.disk.Installed) - len(d.Delete)
	if kept > max(w.cfg.KeepVersions, 2) {
		t.Fatalf("cleanup keeps %d versions, keep_versions is %d", kept, w.cfg.KeepVersions)
	}
	// Held-back versions go before any other.
	for _, v := range w.disk.Installed {
		if r := l.Record(v); r.Phase == Held && !slices.Contains(d.Delete, v) {
			for _, gone := range d.Delete {
				if g := l.Record(gone); g.Phase != Held && g.MissingEntry == "" {
					t.Fatalf("cleanup deletes %s (%s) but keeps the held-back %s", gone, g.Phase, v)
				}
			}
		}
	}
	for _, v := range d.Delete {
		w.disk.Installed = slices.DeleteFunc(w.disk.Installed, func(s string) bool { return s == v })
	}
	w.save(t, l, d)
}

// Start is the user starting the app; how each run ends is drawn.
func (w *world) Start(t *rapid.T) {
	if len(w.disk.Installed) == 0 {
		return
	}
	l := w.open()
	var noEntry []string
	for _, v := range w.disk.Installed {
		if w.cfg.Entry != rightEntry {
			noEntry = append(noEntry, v)
		}
	}
	d, err := l.Start(StartInput{Now: w.now, NoEntry: noEntry})
	if err != nil {
		if len(noEntry) < len(w.disk.Installed) {
			t.Fatalf("start refused though a version can run: %v", err)
		}
		w.save(t, l, d)
		return
	}
	if slices.Contains(noEntry, d.Start) {
		t.Fatalf("started %s, which lacks the entry point", d.Start)
	}
	w.checkStarted(t, l, d.Start)
	if d.Start != l.Current() {
		t.Fatalf("started %s, current is %s", d.Start, l.Current())
	}
	// Starts whose end was never reported stop counting after the window.
	for _, v := range l.Installed() {
		for _, o := range l.Record(v).Open {
			if w.now.Sub(o) > window {
				t.Fatalf("%s still counts a start of %s as running", v, o)
			}
		}
	}
	started := w.now
	for run := 0; d.Start != ""; run++ {
		if run > 1 {
			t.Fatalf("more than one follow-up start in one launcher run")
		}
		if want := l.Record(d.Start).Phase == Probation; want && !d.Watch {
			t.Fatalf("a start of %s on probation is not watched", d.Start)
		}
		v := d.Start
		w.save(t, l, d)
		code, dur := w.appRun(t, v)
		end := rapid.IntRange(0, 5).Draw(t, "end")
		w.now = started.Add(dur)
		if !d.Watch {
			return
		}
		e := Exit{Version: v, Started: started, Ended: w.now, Code: code}
		switch end {
		case 0: // the launcher was killed: no end is reported
			return
		case 1: // the user or a logout ended it: SIGTERM passed on
			e.Code, e.Forwarded = 143, true
		}
		l = w.open()
		before := l.Record(v)
		held := l.comparing(v)
		var heldCode int
		if held != "" {
			heldCode = l.Record(held).LastCode
		}
		d = l.Exit(e)
		after := l.Record(v)
		if held != "" && !e.Forwarded {
			sameWay := e.Code == heldCode && e.Ended.Sub(e.Started) < window
			if still := l.Record(held).Phase == Held; still == sameWay {
				t.Fatalf("%s exited %d after %s crashed with %d: %s held back = %v", v, e.Code, held, heldCode, held, still)
			}
		}
		if e.Forwarded && (d.Start != "" || after.Phase == Held || (after.Phase == Probation && after.Failures != before.Failures)) {
			t.Fatalf("a forwarded signal counted as a failure of %s: %+v -> %+v, decision %+v", v, before, after, d)
		}
		if d.Start != "" {
			w.checkStarted(t, l, d.Start)
			if after.Phase != Held || after.Cause != Crashed {
				t.Fatalf("probation went back to %s without holding %s (%+v)", d.Start, v, after)
			}
		}
		started = w.now
	}
	w.save(t, l, d)
}

// appRun is how the app of version v behaves at one start.
func (w *world) appRun(t *rapid.T, v string) (code int, d time.Duration) {
	first := !w.ranOnce[v]
	w.ranOnce[v] = true
	if w.envCode != 0 {
		w.suspect[v] = true
		return w.envCode, time.Second
	}
	switch k := w.release(v).kind; {
	case k == crashing, k == crashingOnce && first:
		return 3, time.Second
	}
	d = time.Duration(rapid.Int64Range(0, int64(3*window)).Draw(t, "runtime"))
	code = 0
	if rapid.IntRange(0, 3).Draw(t, "nonzero") == 0 {
		code = 1 // an ordinary error exit, late or early
	}
	if code != 0 && d < window {
		d = window // a release that is fine does not fail within the window
	}
	return code, d
}

// checkStarted proves that the started version is not held back while a
// known-good one could run.
func (w *world) checkStarted(t *rapid.T, l *Lifecycle, v string) {
	r := l.Record(v)
	if r == nil {
		t.Fatalf("started %s, which has no record", v)
	}
	if r.Phase == Held || r.Phase == NoEntry {
		t.Fatalf("started %s, which is %s (%s)", v, r.Phase, r.Reason)
	}
}

// Rollback is the user's --rollback. Sometimes current changed between the
// user's start and the lock (a background update).
func (w *world) Rollback(t *rapid.T) {
	if w.disk.Current == "" {
		return
	}
	ran := w.disk.Current
	if rapid.IntRange(0, 4).Draw(t, "stale") == 0 {
		ran = rapid.SampledFrom(w.disk.Installed).Draw(t, "ran")
	}
	l := w.open()
	want := l.KnownGood(w.disk.Current)
	before := w.rec
	d, err := l.Rollback(ran, w.now.Add(time.Second))
	switch {
	case ran != w.disk.Current:
		if err == nil {
			t.Fatalf("rolled back from %s although current changed to %s meanwhile", ran, w.disk.Current)
		}
		return
	case want == "" || (l.Record(ran).Phase == Probation && l.Record(ran).Starts == 0):
		if err == nil {
			t.Fatalf("rolled back from %s, which never ran or has no known-good version to go to", ran)
		}
		if b1, b2 := mustJSON(before), mustJSON(w.rec); b1 != b2 {
			t.Fatalf("a refused rollback changed the records")
		}
		return
	case err != nil:
		t.Fatalf("rollback from %s refused although %s is known-good: %v", ran, want, err)
	}
	if d.Current != want {
		t.Fatalf("--rollback went to %s, want the newest known-good %s", d.Current, want)
	}
	if r := l.Record(ran); r.Phase != Held || r.Cause != RolledBack {
		t.Fatalf("%s not held back after --rollback: %+v", ran, r)
	}
	w.rolledBack[ran] = true
	w.save(t, l, d)
}

// Unhold undoes the hold of a random known version.
func (w *world) Unhold(t *rapid.T) {
	if len(w.rec.Versions) == 0 {
		return
	}
	var known []string
	for v := range w.rec.Versions {
		known = append(known, v)
	}
	slices.Sort(known)
	v := rapid.SampledFrom(known).Draw(t, "unhold")
	l := w.open()
	held := l.Record(v) != nil && l.Record(v).Phase == Held
	d, err := l.Unhold(v, w.now)
	if held && err != nil {
		t.Fatalf("unhold %s: %v", v, err)
	}
	if err == nil {
		if r := l.Record(v); r != nil && (r.Phase == Held || r.Phase == NoEntry) {
			t.Fatalf("%s still %s after --unhold", v, r.Phase)
		}
		delete(w.rolledBack, v)
		delete(w.suspect, v)
		w.save(t, l, d)
	}
}

// ConfigChange breaks or fixes launcher.json's entry.
func (w *world) ConfigChange(t *rapid.T) {
	if w.cfg.Entry == rightEntry {
		w.cfg.Entry = wrongEntry
	} else {
		w.cfg.Entry = rightEntry
	}
}

// Network goes down or comes back.
func (w *world) Network(t *rapid.T) { w.offline = !w.offline }

// Environment breaks (every app start fails with the same code) or is fixed.
func (w *world) Environment(t *rapid.T) {
	if w.envCode != 0 {
		w.envCode = 0
		return
	}
	w.envCode = rapid.SampledFrom([]int{3, 4}).Draw(t, "env_code")
}

// Wait lets time pass: seconds to days.
func (w *world) Wait(t *rapid.T) {
	w.now = w.now.Add(time.Duration(rapid.Int64Range(0, int64(72*time.Hour)).Draw(t, "wait")))
}

// Check holds after every step.
func (w *world) Check(t *rapid.T) {
	l := w.open()
	installed := l.Installed()
	good := 0
	for _, v := range installed {
		r := l.Record(v)
		if r.Phase == Good {
			good++
			w.everGood = true
		}
		if r.Phase == Probation && r.Starts >= w.cfg.ProbationStarts && len(r.Open) == 0 && v == w.disk.Current {
			t.Fatalf("%s is still on probation after %d of %d starts, none running", v, r.Starts, w.cfg.ProbationStarts)
		}
	}
	if w.everGood && good == 0 {
		t.Fatalf("no known-good version installed any more: %v %s", installed, mustJSON(w.rec))
	}
	if cur := w.disk.Current; cur != "" {
		r := l.Record(cur)
		if r.Phase == Held || r.Phase == NoEntry {
			t.Fatalf("current %s is %s", cur, r.Phase)
		}
		if r.Phase == Probation && l.KnownGood(cur) == "" {
			t.Fatalf("current %s is unproven and has no known-good version to fall back to: %s", cur, mustJSON(l.Records()))
		}
	}
	for v, r := range l.Records().Versions {
		switch {
		case r.Phase == Held && r.Cause == Crashed:
			if k := w.release(v).kind; k != crashing && k != crashingOnce && !w.suspect[v] {
				t.Fatalf("%s (a release that works) is held back for crashing", v)
			}
		case r.Phase == Held && r.Cause == RolledBack:
			if !w.rolledBack[v] {
				t.Fatalf("%s held back as rolled back, but the user never rolled back from it", v)
			}
		case r.Phase == NoEntry:
			if w.release(v).kind != lacksEntry && r.MissingEntry == rightEntry {
				t.Fatalf("%s, which has its entry point, is recorded without one", v)
			}
		}
		if !slices.Contains(installed, v) && r.Phase != Held && r.Phase != NoEntry {
			t.Fatalf("a %s record of %s outlives the version", r.Phase, v)
		}
	}
	infos := l.Describe()
	for _, v := range installed {
		i := slices.IndexFunc(infos, func(in VersionInfo) bool { return in.Version == v })
		if i < 0 || !infos[i].Installed || infos[i].Phase != l.Record(v).Phase || infos[i].Why == "" {
			t.Fatalf("status does not describe installed %s: %+v", v, infos)
		}
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func mustParse(s string) versions.Version {
	v, err := versions.Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}
