package layout

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// In-use locks are per version; CleanLeftovers drops those of versions that
// are gone and keeps those of installed ones.
func TestCleanLeftoversDropsLocksOfRemovedVersions(t *testing.T) {
	d := New(t.TempDir())
	install(t, d, "1.0.0")
	if err := os.MkdirAll(d.inUse(), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.0.0", "0.9.0"} {
		if err := os.WriteFile(filepath.Join(d.inUse(), v+".lock"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.CleanLeftovers(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d.inUse(), "0.9.0.lock")); !os.IsNotExist(err) {
		t.Errorf("the in-use lock of removed version 0.9.0 is still there (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(d.inUse(), "1.0.0.lock")); err != nil {
		t.Errorf("the in-use lock of installed version 1.0.0 was removed: %v", err)
	}
}

// WaitLock takes a free lock at once, and a held one as soon as it is
// released.
func TestWaitLockWaitsForRelease(t *testing.T) {
	d := New(t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	first, err := d.WaitLock(ctx)
	if err != nil {
		t.Fatalf("WaitLock on a free lock: %v", err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(100 * time.Millisecond)
		close(released)
		first.Unlock()
	}()
	second, err := d.WaitLock(ctx)
	if err != nil {
		t.Fatalf("WaitLock after the holder released it: %v", err)
	}
	select {
	case <-released:
	default:
		t.Fatal("WaitLock took the lock while it was still held")
	}
	if err := second.Unlock(); err != nil {
		t.Fatal(err)
	}
}

// A leftover that cannot be removed is reported, not ignored: here a
// folder (not empty) where a temporary pointer file would be.
func TestCleanLeftoversReportsWhatItCannotRemove(t *testing.T) {
	d := New(t.TempDir())
	install(t, d, "1.0.0")
	odd := filepath.Join(d.Root(), ".current.tmp42")
	if err := os.MkdirAll(filepath.Join(odd, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := d.CleanLeftovers()
	if err == nil || !strings.Contains(err.Error(), odd) {
		t.Fatalf("CleanLeftovers = %v, want an error naming %s", err, odd)
	}
}
