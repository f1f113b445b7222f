package layout

import (
	"errors"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tufup-go/tufup/internal/fsutil/fsutiltest"
)

// Issue 21, survivor 1: readers of the current pointer must only ever see
// a whole version name, old or new, while SetCurrent replaces it. A pointer
// written in place (truncate, then write) shows readers an empty or half
// written name in between; temp file + rename never does.
//
// The flushes are recorded, not done (no power cut is simulated here), so
// thousands of flips take little time; their order is checked too.
func TestSetCurrentNeverShowsATornPointer(t *testing.T) {
	d := New(t.TempDir())
	// Names of different lengths, so a torn write cannot look whole.
	names := []string{"1.0.0", "1.1.0-rc.1+build.20260101.with.a.long.tail"}
	for _, v := range names {
		install(t, d, v)
	}
	rec := &fsutiltest.Recorder{}
	d = d.WithFS(rec)
	if err := d.SetCurrent(names[0]); err != nil {
		t.Fatal(err)
	}
	whole := map[string]bool{}
	for _, v := range names {
		whole[v+"\n"] = true
	}

	var stop atomic.Bool
	var reads, torn atomic.Int64
	var firstTorn atomic.Value
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				b, err := os.ReadFile(d.pointer())
				reads.Add(1)
				if errors.Is(err, fs.ErrNotExist) || (err == nil && whole[string(b)]) {
					if err != nil {
						torn.Add(1) // the pointer vanished
						firstTorn.CompareAndSwap(nil, "missing")
					}
					continue
				}
				if err != nil {
					t.Errorf("read pointer: %v", err)
					return
				}
				torn.Add(1)
				firstTorn.CompareAndSwap(nil, string(b))
			}
		}()
	}
	const flips = 500
	for i := range flips {
		if err := d.SetCurrent(names[i%2]); err != nil {
			stop.Store(true)
			wg.Wait()
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d flips, %d reads", flips, reads.Load())
	if n := torn.Load(); n > 0 {
		t.Fatalf("%d of %d reads saw a torn current pointer (first: %q); it must be replaced atomically", n, reads.Load(), firstTorn.Load())
	}
	for _, problem := range fsutiltest.Check(rec.Events()) {
		t.Error(problem)
	}
}
