// Package fsutiltest records the durable steps (flushes and renames) that
// code makes through fsutil.FS, and checks their order: what a power cut
// would expose without needing one.
package fsutiltest

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/tufup-go/tufup/internal/fsutil"
)

// Event is one recorded step.
type Event struct {
	Op   string // "sync", "syncfs" or "rename"
	Path string // the synced file or folder; a rename's source
	To   string // a rename's target
	// Under lists what a syncfs covered (everything below Path), or what a
	// renamed folder held, at the time of the step.
	Under []string
}

func (e Event) String() string {
	if e.Op == "rename" {
		return fmt.Sprintf("rename %s -> %s", e.Path, e.To)
	}
	return e.Op + " " + e.Path
}

// Recorder is an fsutil.FS that records every step that succeeds. Renames
// always happen; flushes are passed to Disk, or skipped when Disk is nil
// (for tests that want speed and simulate no power cut).
type Recorder struct {
	Disk fsutil.FS

	mu     sync.Mutex
	events []Event
}

func (r *Recorder) add(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// Events returns the steps recorded so far, in order.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// Sync records a flush of f, if it succeeds.
func (r *Recorder) Sync(f *os.File) error {
	if r.Disk != nil {
		if err := r.Disk.Sync(f); err != nil {
			return err
		}
	}
	r.add(Event{Op: "sync", Path: filepath.Clean(f.Name())})
	return nil
}

// SyncFS records a flush of f's filesystem, if it succeeds, as covering
// the tree below f.
func (r *Recorder) SyncFS(f *os.File) error {
	if r.Disk != nil {
		if err := r.Disk.SyncFS(f); err != nil {
			return err
		}
	}
	r.add(Event{Op: "syncfs", Path: filepath.Clean(f.Name()), Under: tree(f.Name())})
	return nil
}

// Rename records and performs a rename.
func (r *Recorder) Rename(oldpath, newpath string) error {
	e := Event{Op: "rename", Path: filepath.Clean(oldpath), To: filepath.Clean(newpath), Under: tree(oldpath)}
	if err := os.Rename(oldpath, newpath); err != nil {
		return err
	}
	r.add(e)
	return nil
}

// tree lists root and the files and folders below it. Symbolic links are
// left out: they cannot be opened to be flushed, their folder's flush
// covers them.
func tree(root string) []string {
	var paths []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&fs.ModeSymlink == 0 {
			paths = append(paths, filepath.Clean(p))
		}
		return nil
	})
	return paths
}

// Check returns, in plain words, every place where the recorded steps
// would lose data or expose a half-written file to a power cut:
//
//   - a file or folder renamed before all its content was flushed (by a
//     sync of each file and folder in it, or a syncfs above it);
//   - a rename not followed by a flush of the folder it renamed into
//     before the next rename (or the end): so a later step, such as the
//     flip of the current pointer, could survive a power cut while the
//     earlier one is lost.
func Check(events []Event) []string {
	var problems []string
	flushed := map[string]bool{}
	var pending *Event // a rename whose target folder is not flushed yet
	for i := range events {
		e := events[i]
		switch e.Op {
		case "sync":
			flushed[e.Path] = true
			if pending != nil && e.Path == filepath.Dir(pending.To) {
				pending = nil
			}
		case "syncfs":
			for _, p := range e.Under {
				flushed[p] = true
			}
		case "rename":
			if pending != nil {
				problems = append(problems, fmt.Sprintf("%s: the folder %s was not flushed before the next step (%s)", pending, filepath.Dir(pending.To), e))
			}
			for _, p := range e.Under {
				if !flushed[p] {
					problems = append(problems, fmt.Sprintf("%s: %s was not flushed before it was renamed into place", e, p))
					break
				}
			}
			// What was flushed stays flushed under its new name.
			for p := range flushed {
				if rel, ok := under(e.Path, p); ok {
					delete(flushed, p)
					flushed[filepath.Join(e.To, rel)] = true
				}
			}
			pending = &events[i]
		}
	}
	if pending != nil {
		problems = append(problems, fmt.Sprintf("%s: the folder %s was never flushed afterwards", pending, filepath.Dir(pending.To)))
	}
	return problems
}

// under reports whether p is root or below it, and p relative to root.
func under(root, p string) (string, bool) {
	if p == root {
		return ".", true
	}
	if strings.HasPrefix(p, root+string(filepath.Separator)) {
		return p[len(root)+1:], true
	}
	return "", false
}
