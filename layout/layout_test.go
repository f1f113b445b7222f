package layout

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// install puts a complete version folder in place the way the launcher
// does: extract into staging, then rename.
func install(t *testing.T, d Dir, v string) {
	t.Helper()
	staging, err := d.NewStaging(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(staging, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(staging, "VERSION"), []byte(v), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.Add(staging, v); err != nil {
		t.Fatal(err)
	}
}

func TestCurrentPointer(t *testing.T) {
	d := New(t.TempDir())
	if _, err := d.Current(); !errors.Is(err, ErrNoCurrent) {
		t.Fatalf("fresh install: err = %v, want ErrNoCurrent", err)
	}
	if err := d.SetCurrent("1.0.0"); err == nil {
		t.Fatal("SetCurrent accepted a version that is not installed")
	}
	install(t, d, "1.0.0")
	install(t, d, "1.1.0")
	for _, v := range []string{"1.0.0", "1.1.0"} {
		if err := d.SetCurrent(v); err != nil {
			t.Fatal(err)
		}
		got, err := d.Current()
		if err != nil || got != v {
			t.Fatalf("Current() = %q, %v; want %s", got, err, v)
		}
	}
}

func TestCurrentPointerBroken(t *testing.T) {
	for name, content := range map[string]string{
		"garbage":       "\x00\x01binary",
		"not installed": "9.9.9",
		"traversal":     "../../etc",
		"empty":         "",
	} {
		t.Run(name, func(t *testing.T) {
			d := New(t.TempDir())
			install(t, d, "1.0.0")
			if err := os.WriteFile(filepath.Join(d.Root(), "current"), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := d.Current()
			if err == nil || errors.Is(err, ErrNoCurrent) {
				t.Fatalf("Current() with pointer %q: err = %v, want a broken-pointer error", content, err)
			}
		})
	}
}

func TestInstalledOrderAndIgnoresOthers(t *testing.T) {
	d := New(t.TempDir())
	for _, v := range []string{"1.10.0", "1.2.0", "2.0.0a1", "1.2.0rc1", "2.0.0"} {
		install(t, d, v)
	}
	os.MkdirAll(filepath.Join(d.Versions(), "not-a-version"), 0o755)
	os.WriteFile(filepath.Join(d.Versions(), "3.0.0"), nil, 0o644) // a file, not a folder
	got, err := d.Installed()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1.2.0rc1", "1.2.0", "1.10.0", "2.0.0a1", "2.0.0"}
	if !slices.Equal(got, want) {
		t.Fatalf("Installed() = %v, want %v", got, want)
	}
}

func TestAddRefusesExistingAndBadNames(t *testing.T) {
	d := New(t.TempDir())
	install(t, d, "1.0.0")
	staging, _ := d.NewStaging("1.0.0")
	os.MkdirAll(staging, 0o755)
	if err := d.Add(staging, "1.0.0"); err == nil {
		t.Fatal("Add replaced an installed version")
	}
	for _, bad := range []string{"..", "a/b", `a\b`, ".hidden", ""} {
		if err := d.Add(staging, bad); err == nil {
			t.Errorf("Add accepted version name %q", bad)
		}
	}
}

func TestRemoveLeavesNothingHalfDeleted(t *testing.T) {
	d := New(t.TempDir())
	install(t, d, "1.0.0")
	install(t, d, "1.1.0")
	if err := d.Remove("1.0.0"); err != nil {
		t.Fatal(err)
	}
	got, _ := d.Installed()
	if !slices.Equal(got, []string{"1.1.0"}) {
		t.Fatalf("after Remove: %v", got)
	}
	if entries, _ := os.ReadDir(d.trash()); len(entries) != 0 {
		t.Fatalf("trash not emptied: %v", entries)
	}
}

func TestCleanLeftovers(t *testing.T) {
	d := New(t.TempDir())
	if err := d.Create(); err != nil {
		t.Fatal(err)
	}
	install(t, d, "1.0.0")
	staging, _ := d.NewStaging("1.1.0")
	os.MkdirAll(filepath.Join(staging, "half"), 0o755)
	os.MkdirAll(filepath.Join(d.trash(), "0.9.0-x", "0.9.0"), 0o755)
	os.WriteFile(filepath.Join(d.Root(), ".current.tmp123"), []byte("1.1"), 0o644)
	if err := d.CleanLeftovers(); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{d.staging(), d.trash()} {
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s still holds %v", dir, entries)
		}
	}
	if _, err := os.Stat(filepath.Join(d.Root(), ".current.tmp123")); !os.IsNotExist(err) {
		t.Error("temporary pointer file not removed")
	}
	if got, _ := d.Installed(); !slices.Equal(got, []string{"1.0.0"}) {
		t.Errorf("installed versions touched: %v", got)
	}
}

func TestLockIsExclusive(t *testing.T) {
	d := New(t.TempDir())
	l1, ok, err := d.TryLock()
	if err != nil || !ok {
		t.Fatalf("first TryLock: %v %v", ok, err)
	}
	if _, ok, err := d.TryLock(); err != nil || ok {
		t.Fatalf("second TryLock while held: ok=%v err=%v, want not ok", ok, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := d.WaitLock(ctx); err == nil {
		t.Fatal("WaitLock succeeded while the lock was held")
	}
	l1.Unlock()
	l2, ok, err := d.TryLock()
	if err != nil || !ok {
		t.Fatalf("TryLock after unlock: %v %v", ok, err)
	}
	l2.Unlock()
}

func TestStateRoundTripAndCorruption(t *testing.T) {
	d := New(t.TempDir())
	s, err := d.LoadState()
	if err != nil || s.HeldBack != nil {
		t.Fatalf("missing state: %+v, %v", s, err)
	}
	b := 0.25
	s.HeldBack = map[string]string{"2.0.0": "rolled back"}
	s.RolloutBucket = &b
	s.FailedPatches = []string{"app-1.1.0.patch"}
	if err := d.SaveState(s); err != nil {
		t.Fatal(err)
	}
	got, err := d.LoadState()
	if err != nil || got.HeldBack["2.0.0"] != "rolled back" || *got.RolloutBucket != 0.25 || got.FailedPatches[0] != "app-1.1.0.patch" {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	os.WriteFile(d.stateFile(), []byte("{not json"), 0o644)
	got, err = d.LoadState()
	if err == nil || got.HeldBack != nil {
		t.Fatalf("corrupted state: %+v, %v; want an error and an empty state", got, err)
	}
}
