//go:build unix

package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Issue 14: random sequences of what publishers, users and the world do,
// against the built launcher and a real server. After every step the app
// that ran last is not a held-back version, a known-good version is
// installed, and --status --json matches the files on disk. go test runs
// 20 sequences; TUFUP_LIFECYCLE_SEQUENCES=200 (.ci/run) more.
// TUFUP_LIFECYCLE_SEED replays a failed run.
func TestLifecycleRandomSequences(t *testing.T) {
	n, steps := 20, 6
	if s := os.Getenv("TUFUP_LIFECYCLE_SEQUENCES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatalf("TUFUP_LIFECYCLE_SEQUENCES=%q: %v", s, err)
		}
		steps = 10
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("TUFUP_LIFECYCLE_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (TUFUP_LIFECYCLE_SEED replays it)", seed)
	binaries(t) // built once, before the sequences run in parallel
	for i := range n {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			randomSequence(t, rng, steps)
		})
	}
}

type randomWorld struct {
	t      *testing.T
	e      *env
	in     *install
	rng    *rand.Rand
	next   int // minor version of the next release
	down   bool
	trail  []string
	broken bool // launcher.json's entry is wrong
}

func randomSequence(t *testing.T, rng *rand.Rand, steps int) {
	w := &randomWorld{t: t, e: newEnv(t), rng: rng, trail: []string{"publish"}}
	starts := 1 + rng.IntN(3)
	w.in = w.e.newInstall(map[string]any{
		"probation_starts":   starts,
		"probation_failures": 1 + rng.IntN(starts),
		"probation_window":   "3s",
		"check_timeout":      "1s", // the network down step fails fast
		"keep_versions":      2 + rng.IntN(2),
	})
	w.publish(false, false)
	w.in.start("1.0.0")
	w.e.srv.Intercept(func(rw http.ResponseWriter, r *http.Request) bool {
		if w.down {
			rw.WriteHeader(http.StatusServiceUnavailable)
		}
		return w.down
	})
	// weight: how often each action is drawn; publishing and starting
	// dominate, as they do in life.
	actions := []struct {
		weight int
		name   string
		do     func()
	}{
		{4, "publish good", func() { w.publish(false, w.rng.IntN(4) == 0) }},
		{2, "publish crashing", func() { w.publish(true, w.rng.IntN(4) == 0) }},
		{6, "start", func() { w.check(w.in.run(nil)) }},
		{1, "start, crashing once", func() { w.check(w.in.run(crashOnce)) }},
		{2, "rollback", func() { w.check(w.in.run(nil, "--rollback")) }},
		{1, "unhold", w.unhold},
		{1, "launcher killed", func() { w.interrupted(syscall.SIGKILL) }},
		{1, "signal passed on", func() { w.interrupted(syscall.SIGTERM) }},
		{1, "network down or up", func() { w.down = !w.down }},
		{1, "config broken or fixed", w.toggleEntry},
	}
	total := 0
	for _, a := range actions {
		total += a.weight
	}
	for range steps {
		i, r := 0, w.rng.IntN(total)
		for ; r >= actions[i].weight; i++ {
			r -= actions[i].weight
		}
		a := actions[i]
		w.trail = append(w.trail, a.name)
		a.do()
		w.invariants()
	}
}

func (w *randomWorld) publish(crash, required bool) {
	v := fmt.Sprintf("1.%d.0", w.next)
	w.next++
	var args []string
	if required {
		args = append(args, "--required")
	}
	w.trail[len(w.trail)-1] += " " + v
	w.e.publish(v, small(crash), args...)
}

func (w *randomWorld) unhold() {
	s := w.in.status()
	for v := range s.HeldBack {
		if r := w.in.run(nil, "--unhold", v); r.code != 0 {
			w.fail("--unhold %s: exit %d %s", v, r.code, r.stderr)
		}
		w.trail[len(w.trail)-1] += " " + v
		return
	}
}

// interrupted starts the app and ends the launcher with sig while it runs.
func (w *randomWorld) interrupted(sig syscall.Signal) {
	if w.broken {
		return
	}
	before := w.in.status()
	wait, open := gate(w.t)
	n := len(w.in.runs())
	b := w.in.background([]string{wait})
	waitFor(w.t, func() bool { return len(w.in.runs()) > n || b.exited() })
	b.cmd.Process.Signal(sig) // it may have ended already (a crash)
	b.wait(w.t)
	open()
	// The launcher may die between a crash and the start that follows:
	// the first run is the one to check, against the state it ran in.
	if runs := w.in.runs()[n:]; len(runs) > 0 {
		if p := before.phase(runs[0].Version); p == "held" || p == "no-entry" {
			w.fail("the app ran %s, which was %s", runs[0].Version, p)
		}
	}
}

func (w *randomWorld) toggleEntry() {
	w.broken = !w.broken
	entry := "wrong-entry"
	if !w.broken {
		entry = filepath.Base(w.e.bins.SampleApp)
	}
	setConfig(w.t, w.in.dir, "entry", entry)
}

// check requires that the last app run of a step was not a held-back
// version (as --status tells after the step).
func (w *randomWorld) check(r result) {
	if len(r.runs) == 0 {
		if !w.broken && r.code == 0 {
			w.fail("the app did not run (exit %d): %s", r.code, r.stderr)
		}
		return
	}
	last := r.runs[len(r.runs)-1].Version
	if p := w.in.status().phase(last); p == "held" || p == "no-entry" {
		w.fail("the app ran %s, which is %s", last, p)
	}
}

func (w *randomWorld) invariants() {
	s := w.in.status() // also checks it against the disk
	good := slices.ContainsFunc(s.Versions, func(v struct {
		Version   string `json:"version"`
		Phase     string `json:"phase"`
		Installed bool   `json:"installed"`
		Current   bool   `json:"current"`
		Why       string `json:"why"`
	}) bool {
		return v.Installed && v.Phase == "good"
	})
	if !good {
		w.fail("no known-good version installed: %+v", s.Versions)
	}
	if p := s.phase(s.Current); p == "held" || p == "no-entry" {
		w.fail("current %s is %s", s.Current, p)
	}
}

func (w *randomWorld) fail(format string, args ...any) {
	w.t.Helper()
	w.t.Fatalf("%s\nsteps: %q\nlog:\n%s", fmt.Sprintf(format, args...), w.trail, w.in.log())
}
