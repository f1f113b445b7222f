package e2e

import (
	"encoding/json"
	"testing"

	"github.com/tufup-go/tufup/internal/sandbox"
)

// Issue 10, staged rollout: a release published at 0% reaches no install,
// at 50% about half of them, each install deciding by its own stable bucket,
// at 100% all; a required release ignores rollout.
func TestStagedRollout(t *testing.T) {
	// The chance that a correct launcher fails the "about half" check is the
	// binomial tail outside [lo, hi] for n fair coin flips:
	// n=200, [65, 135]: 3.9e-7; n=40 (short mode), [6, 34]: 1.4e-6.
	n, lo, hi := 200, 65, 135
	if testing.Short() {
		n, lo, hi = 40, 6, 34
	}
	const parallel = 8

	e := newEnv(t)
	small := sandbox.BundleOptions{DataSize: 4 << 10}
	e.publish("1.0.0", small)

	// Bootstrapping 200 installs one by one would download and extract 200
	// archives; one is enough, the rest are copies of it. But the first
	// update check (the bootstrap's) already drew this install's rollout
	// bucket, and copies would share it: every copy would then decide the
	// same way and the 50% step would see 0 or n updates. So each copy's
	// rollout_bucket is deleted, and each draws its own on its next check,
	// as a separately installed copy would have.
	template := e.newInstall(nil)
	template.start("1.0.0")
	if _, ok := template.rawState()["rollout_bucket"]; !ok {
		t.Fatalf("the bootstrap did not record a rollout bucket in state.json: %v", template.rawState())
	}
	fleet := make([]*install, n)
	for i := range fleet {
		in := cloneInstall(t, template)
		s := in.rawState()
		delete(s, "rollout_bucket")
		in.writeRawState(s)
		fleet[i] = in
	}

	e.publish("1.1.0", small, "--rollout", "0")
	e.srv.ResetLog()
	for i, v := range startAll(t, fleet, parallel) {
		if v != "1.0.0" {
			t.Fatalf("install %d started %s at rollout 0%%, want 1.0.0\nlog:\n%s", i, v, fleet[i].log())
		}
	}
	if got := e.srv.Fetched("/targets/"); len(got) != 0 {
		t.Fatalf("at rollout 0%%, installs downloaded %v", got)
	}
	buckets := make([]float64, n)
	seen := map[float64]bool{}
	for i, in := range fleet {
		buckets[i] = bucketOf(t, in)
		if seen[buckets[i]] {
			t.Fatalf("install %d drew bucket %v, as another install did: buckets are not independent", i, buckets[i])
		}
		seen[buckets[i]] = true
	}

	e.repo("rollout", "1.1.0", "50")
	e.srv.ResetLog()
	took := make([]bool, n)
	updated := 0
	for i, v := range startAll(t, fleet, parallel) {
		took[i] = v == "1.1.0"
		if !took[i] && v != "1.0.0" {
			t.Fatalf("install %d started %s", i, v)
		}
		// A release at 50% is offered exactly to the installs whose
		// bucket is below one half.
		if want := buckets[i] < 0.5; took[i] != want {
			t.Errorf("install %d with bucket %v: took 1.1.0 = %v at 50%%", i, buckets[i], took[i])
		}
		if took[i] {
			updated++
		}
	}
	t.Logf("rollout 50%%: %d of %d installs updated", updated, n)
	if updated < lo || updated > hi {
		t.Fatalf("rollout 50%%: %d of %d installs updated, want between %d and %d", updated, n, lo, hi)
	}

	// Only the installs that took it downloaded anything (one patch each).
	if got := e.srv.Fetched("/targets/"); len(got) != updated {
		t.Fatalf("at rollout 50%%, %d installs updated but %d targets were downloaded: %v", updated, len(got), got)
	}

	// Restarting changes nothing: the draw is kept, and the ones left out
	// are left out again, without downloading anything.
	e.srv.ResetLog()
	for i, v := range startAll(t, fleet, parallel) {
		want := "1.0.0"
		if took[i] {
			want = "1.1.0"
		}
		if v != want {
			t.Errorf("install %d started %s on its next start, want %s again", i, v, want)
		}
		if b := bucketOf(t, fleet[i]); b != buckets[i] {
			t.Errorf("install %d's bucket changed from %v to %v", i, buckets[i], b)
		}
	}
	if got := e.srv.Fetched("/targets/"); len(got) != 0 {
		t.Errorf("restarts downloaded %v", got)
	}
	if t.Failed() {
		t.FailNow()
	}

	e.repo("rollout", "1.1.0", "100")
	for i, v := range startAll(t, fleet, parallel) {
		if v != "1.1.0" {
			t.Fatalf("install %d started %s at rollout 100%%, want 1.1.0\nlog:\n%s", i, v, fleet[i].log())
		}
	}

	// A required release is for everyone, whatever its rollout says.
	e.publish("1.2.0", small, "--required", "--rollout", "0")
	for i, v := range startAll(t, fleet, parallel) {
		if v != "1.2.0" {
			t.Fatalf("install %d started %s, want the required 1.2.0 despite rollout 0%%\nlog:\n%s", i, v, fleet[i].log())
		}
	}
}

func bucketOf(t *testing.T, in *install) float64 {
	t.Helper()
	raw, ok := in.rawState()["rollout_bucket"]
	if !ok {
		t.Fatalf("%s has no rollout_bucket in state.json after an update check", in.dir)
	}
	var b float64
	if err := json.Unmarshal(raw, &b); err != nil || b < 0 || b >= 1 {
		t.Fatalf("%s: rollout_bucket %s is not a number in [0, 1)", in.dir, raw)
	}
	return b
}
