package upload

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Everything lands, in the safe order, and a client reads it; a rerun
// writes nothing.
func TestPublishFolder(t *testing.T) {
	tr := newTestRepo(t)
	tr.add("1.0.0", 64<<10)
	dir, dest := dirDest(t)
	st, err := newDirStore(mustParse(t, dest))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{store: st}
	var out bytes.Buffer
	sum := mustPublish(t, rec, tr.repoDir(), Options{Out: &out})
	local, err := readLocal(tr.repoDir())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Uploaded != len(local.files) || len(rec.puts) != len(local.files) {
		t.Fatalf("first publish uploaded %d files (%d writes), want all %d\n%s", sum.Uploaded, len(rec.puts), len(local.files), out.String())
	}
	for key, f := range local.files {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(key)))
		if err != nil {
			t.Fatal(err)
		}
		if sha256Hex(got) != f.sha256 {
			t.Errorf("%s differs at the destination", key)
		}
	}
	c := client(t, dest+"/", tr.trustedRoot(), t.TempDir())
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatalf("client refresh from the published folder: %v", err)
	}
	if !slices.Contains(targetNames(c), "demo-1.0.0.tar.gz") {
		t.Fatalf("client sees targets %v", targetNames(c))
	}

	rec.puts = nil
	if sum := mustPublish(t, rec, tr.repoDir(), Options{}); sum.Uploaded != 0 || len(rec.puts) != 0 || sum.Unchanged != len(local.files) {
		t.Fatalf("rerun: %+v, writes %v; want nothing uploaded", sum, rec.puts)
	}

	tr.add("1.1.0", 64<<10)
	rec.puts = nil
	out.Reset()
	mustPublish(t, rec, tr.repoDir(), Options{Out: &out})
	want := []string{"targets/demo-1.1.0.patch", "targets/demo-1.1.0.tar.gz", "metadata/targets.json", "metadata/snapshot.json", "metadata/timestamp.json"}
	if !slices.Equal(phaseSorted(rec.puts), want) {
		t.Fatalf("second release wrote %v, want %v in that order\n%s", rec.puts, want, out.String())
	}
	if err := c.Refresh(context.Background()); err != nil || !slices.Contains(targetNames(c), "demo-1.1.0.tar.gz") {
		t.Fatalf("client after the second release: %v, targets %v", err, targetNames(c))
	}
}

// A rotated root goes up before the metadata it signs: N.root.json in
// order, then targets and snapshot, root.json, timestamp.json last.
func TestPublishOrderWithRootRotation(t *testing.T) {
	tr := newTestRepo(t)
	tr.add("1.0.0", 16<<10)
	_, dest := dirDest(t)
	st, _ := newDirStore(mustParse(t, dest))
	rec := &recorder{store: st}
	mustPublish(t, rec, tr.repoDir(), Options{})
	for _, name := range []string{"root2", "root3"} {
		if _, err := tr.r.CreateKey(name, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.r.ReplaceKey("root", "root2"); err != nil {
		t.Fatal(err)
	}
	if err := tr.r.ReplaceKey("root2", "root3"); err != nil {
		t.Fatal(err)
	}
	tr.add("1.1.0", 16<<10)
	rec.puts = nil
	mustPublish(t, rec, tr.repoDir(), Options{})
	want := []string{"targets/demo-1.1.0.patch", "targets/demo-1.1.0.tar.gz", "metadata/2.root.json", "metadata/3.root.json",
		"metadata/targets.json", "metadata/snapshot.json", "metadata/root.json", "metadata/timestamp.json"}
	if !slices.Equal(phaseSorted(rec.puts), want) {
		t.Fatalf("wrote %v, want %v", rec.puts, want)
	}
}

// Publish stopped before any of its writes leaves a destination that
// clients read as the old repository or the new one; the rerun finishes.
func TestPublishStoppedAtEveryPoint(t *testing.T) {
	tr := newTestRepo(t)
	tr.add("1.0.0", 16<<10)
	_, dest := dirDest(t)
	st, _ := newDirStore(mustParse(t, dest))
	mustPublish(t, st, tr.repoDir(), Options{})
	// A launcher that has seen 1.0.0.
	seen := t.TempDir()
	if err := client(t, dest+"/", tr.trustedRoot(), seen).Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	tr.add("1.1.0", 16<<10)
	before := snapshotDir(t, strings.TrimPrefix(dest, "file://"))
	writes := 5 // two targets, targets.json, snapshot.json, timestamp.json
	for failAt := 1; failAt <= writes; failAt++ {
		restoreDir(t, strings.TrimPrefix(dest, "file://"), before)
		rec := &recorder{store: st, failAt: failAt}
		if _, err := publishTo(t, rec, tr.repoDir(), Options{}); !errors.Is(err, errKilled) {
			t.Fatalf("stopped at write %d: err = %v", failAt, err)
		}
		// The launcher that saw 1.0.0 sees 1.0.0 still, and its targets.
		cache := t.TempDir()
		copyFiles(t, seen, cache)
		c := client(t, dest+"/", tr.trustedRoot(), cache)
		if err := c.Refresh(context.Background()); err != nil {
			t.Fatalf("stopped at write %d (%v done): a launcher that had seen 1.0.0 fails: %v", failAt, rec.puts, err)
		}
		checkTargetsThere(t, c, dest)
		// A new install reads the old repository, or fails only in the
		// moment targets.json or snapshot.json is new and timestamp.json
		// not yet (unversioned metadata cannot change at once).
		fresh := client(t, dest+"/", tr.trustedRoot(), t.TempDir())
		err := fresh.Refresh(context.Background())
		window := slices.Contains(rec.puts, "metadata/targets.json")
		switch {
		case err == nil:
			checkTargetsThere(t, fresh, dest)
		case !window:
			t.Fatalf("stopped at write %d (%v done): a new install fails: %v", failAt, rec.puts, err)
		}
		// The rerun finishes.
		mustPublish(t, st, tr.repoDir(), Options{})
		if err := c.Refresh(context.Background()); err != nil || !slices.Contains(targetNames(c), "demo-1.1.0.tar.gz") {
			t.Fatalf("after the rerun: %v, targets %v", err, targetNames(c))
		}
	}
}

// Refusals: what would break clients is not published at all.
func TestPublishRefuses(t *testing.T) {
	tr := newTestRepo(t)
	tr.add("1.0.0", 16<<10)
	old := t.TempDir()
	copyTree(t, tr.repoDir(), old)
	tr.add("1.1.0", 16<<10)
	dir, dest := dirDest(t)
	st, _ := newDirStore(mustParse(t, dest))
	mustPublish(t, st, tr.repoDir(), Options{})

	// A build machine that missed 1.1.0 would roll clients back.
	rec := &recorder{store: st}
	_, err := publishTo(t, rec, old, Options{})
	if err == nil || !strings.Contains(err.Error(), "roll clients back") || len(rec.puts) != 0 {
		t.Fatalf("publishing an older repository: err = %v, writes %v", err, rec.puts)
	}

	// A published target whose bytes would change.
	p := filepath.Join(dir, "targets", "demo-1.1.0.tar.gz")
	b, _ := os.ReadFile(p)
	b[len(b)/2] ^= 1
	os.WriteFile(p, b, 0o644)
	_, err = publishTo(t, rec, tr.repoDir(), Options{})
	if err == nil || !strings.Contains(err.Error(), "targets/demo-1.1.0.tar.gz") || !strings.Contains(err.Error(), "never change") || len(rec.puts) != 0 {
		t.Fatalf("changing a published target: err = %v, writes %v", err, rec.puts)
	}
	b[len(b)/2] ^= 1
	os.WriteFile(p, b, 0o644)

	// A listed target missing from both sides.
	os.Remove(p)
	os.Remove(filepath.Join(tr.repoDir(), "targets", "demo-1.1.0.tar.gz"))
	_, err = publishTo(t, rec, tr.repoDir(), Options{})
	if err == nil || !strings.Contains(err.Error(), "demo-1.1.0.tar.gz") || len(rec.puts) != 0 {
		t.Fatalf("a listed target missing: err = %v, writes %v", err, rec.puts)
	}
}

// Targets no longer listed are recorded, kept for the grace period, then
// pruned; listed ones never are.
func TestPrune(t *testing.T) {
	tr := newTestRepo(t)
	tr.add("1.0.0", 16<<10)
	tr.add("1.1.0", 16<<10)
	dir, dest := dirDest(t)
	st, _ := newDirStore(mustParse(t, dest))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) func() time.Time { return func() time.Time { return t0.Add(d) } }
	mustPublish(t, st, tr.repoDir(), Options{Now: at(0)})
	if err := tr.r.RemoveLatest(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if sum := mustPublish(t, st, tr.repoDir(), Options{Now: at(0), Prune: true, Grace: time.Hour, Out: &out}); sum.Deleted != 0 {
		t.Fatalf("pruned within the grace period:\n%s", out.String())
	}
	var s state
	if err := json.Unmarshal(mustReadFile(t, filepath.Join(dir, StateKey)), &s); err != nil {
		t.Fatal(err)
	}
	unlisted := []string{"targets/demo-1.1.0.patch", "targets/demo-1.1.0.tar.gz"}
	for _, k := range unlisted {
		if !s.Unlisted[k].Equal(t0) {
			t.Fatalf("state %+v does not record %s as unlisted since %s", s, k, t0)
		}
	}
	out.Reset()
	if sum := mustPublish(t, st, tr.repoDir(), Options{Now: at(2 * time.Hour), Prune: true, Grace: time.Hour, DryRun: true, Out: &out}); sum.Deleted != 2 || !strings.Contains(out.String(), "would delete targets/demo-1.1.0.tar.gz") {
		t.Fatalf("dry run: %+v\n%s", sum, out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, unlisted[1])); err != nil {
		t.Fatalf("the dry run deleted: %v", err)
	}
	if sum := mustPublish(t, st, tr.repoDir(), Options{Now: at(2 * time.Hour), Prune: true, Grace: time.Hour}); sum.Deleted != 2 {
		t.Fatalf("after the grace period: %+v", sum)
	}
	for _, k := range unlisted {
		if _, err := os.Stat(filepath.Join(dir, k)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s not pruned: %v", k, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "targets", "demo-1.0.0.tar.gz")); err != nil {
		t.Errorf("a listed target was pruned: %v", err)
	}
	c := client(t, dest+"/", tr.trustedRoot(), t.TempDir())
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkTargetsThere(t, c, dest)
}
