package launcher_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tufup-go/tufup/internal/fsutil"
	"github.com/tufup-go/tufup/internal/fsutil/fsutiltest"
	"github.com/tufup-go/tufup/launcher"
)

// Issue 21: durability without a power cut. A first install (full archive)
// and an update (patch) go through a recording file system; every rename
// of new content must follow its flush, and every rename must be flushed
// (its folder synced) before the next step, so the current pointer can
// never name a version folder a power cut could take away.
func TestUpdateFlushesBeforeEveryRename(t *testing.T) {
	p := newPublisher(t)
	p.add("1.0.0", "first")
	dir := p.installDir()
	l, err := launcher.Open(launcher.Options{ConfigDir: dir, Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	rec := &fsutiltest.Recorder{Disk: fsutil.OS{}}
	launcher.SetFS(l, rec)
	ctx := context.Background()
	if _, err := l.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	p.add("1.1.0", "second")
	u, err := l.Check(ctx)
	if err != nil || u == nil || len(u.Patches) == 0 {
		t.Fatalf("Check: %v, %v; want a patch update", u, err)
	}
	if err := l.Install(ctx, u); err != nil {
		t.Fatal(err)
	}

	events := rec.Events()
	for _, problem := range fsutiltest.Check(events) {
		t.Error(problem)
	}
	// The steps that keep invariant 1, in this order for each version:
	// the folder renamed into versions/, versions/ flushed, the pointer
	// renamed over current, the install folder flushed.
	root := l.Dir().Root()
	var steps []string
	for _, e := range events {
		switch {
		case e.Op == "rename" && filepath.Dir(e.To) == l.Dir().Versions():
			steps = append(steps, "add "+filepath.Base(e.To))
		case e.Op == "sync" && e.Path == l.Dir().Versions():
			steps = append(steps, "sync versions")
		case e.Op == "rename" && e.To == filepath.Join(root, "current"):
			steps = append(steps, "flip")
		case e.Op == "sync" && e.Path == root:
			steps = append(steps, "sync root")
		}
	}
	want := []string{"add 1.0.0", "sync versions", "flip", "sync root", "add 1.1.0", "sync versions", "flip", "sync root"}
	if !slices.Equal(steps, want) {
		t.Errorf("durable steps:\n  %s\nwant\n  %s\nall events:\n%s", strings.Join(steps, ", "), strings.Join(want, ", "), eventList(events))
	}
}

func eventList(events []fsutiltest.Event) string {
	var b strings.Builder
	for _, e := range events {
		b.WriteString("  " + e.String() + "\n")
	}
	return b.String()
}
