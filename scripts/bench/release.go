package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/tufup-go/tufup/internal/sandbox"
	"github.com/tufup-go/tufup/patch"
)

// The release benchmark (-release) runs the real tools end to end on
// release pairs of growing size, so each cost's growth shows: tufup-repo
// add of the new release (archive and patch), bsdiff on the same tars where
// it fits in memory, and the launcher updating an install of the old
// release over HTTP on 127.0.0.1 (download, patch, extract, verify, flip),
// with its peak RSS and the peak extra disk it used.
//
// A release is a folder of "slots", each an unpacked Go toolchain; the new
// release has each slot's next patch version. The small pair is the single
// slot go1.24.0 -> go1.24.1 (233 MB of tar, the engine benchmark's pair);
// the big one has eight slots, go1.22 to go1.25, two consecutive patch
// steps each (about 1.8 GB).
var releasePairs = map[string][][2]string{
	"small": {{"go1.24.0", "go1.24.1"}},
	"big": {
		{"go1.22.0", "go1.22.1"}, {"go1.22.1", "go1.22.2"},
		{"go1.23.0", "go1.23.1"}, {"go1.23.1", "go1.23.2"},
		{"go1.24.0", "go1.24.1"}, {"go1.24.1", "go1.24.2"},
		{"go1.25.0", "go1.25.1"}, {"go1.25.1", "go1.25.2"},
	},
}

// releaseResult is what one pair measured.
type releaseResult struct {
	name               string
	oldTar, newTar     int64
	archive, patchSize int64
	addFirst, addNew   usage
	bsdiff             *usage
	bsdiffSize         int64
	bsdiffNote         string
	install, update    usage
	newFolder, index   int64
	peakDisk           int64 // sampled: most free space the update took
	peakWritten        int64 // sampled: most the install grew outside the old version
	accounted          int64 // new folder + its index + the patch download
}

func runRelease(ctx context.Context, work string, pairs []string, skip map[string]bool, keep bool) error {
	bins, err := buildTools(ctx, work)
	if err != nil {
		return err
	}
	fmt.Printf("machine: %s/%s, %d CPUs, load average %s\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), loadAvg())
	var results []releaseResult
	for _, name := range pairs {
		slots, ok := releasePairs[name]
		if !ok {
			return fmt.Errorf("-release: unknown pair %q (small, big)", name)
		}
		r, err := releasePair(ctx, filepath.Join(work, name), name, slots, bins, skip, keep)
		if err != nil {
			return fmt.Errorf("pair %s: %w", name, err)
		}
		results = append(results, r)
	}
	printRelease(results)
	fmt.Printf("\nload average at the end (other processes share the CPUs): %s\n", loadAvg())
	return nil
}

type tools struct{ repo, launcher string }

func buildTools(ctx context.Context, work string) (tools, error) {
	t := tools{repo: filepath.Join(work, "bin", "tufup-repo"), launcher: filepath.Join(work, "bin", "launcher")}
	for pkg, out := range map[string]string{"./cmd/tufup-repo": t.repo, "./cmd/launcher": t.launcher} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
		if b, err := cmd.CombinedOutput(); err != nil {
			return t, fmt.Errorf("go build %s (run the bench from the repository's root): %w\n%s", pkg, err, b)
		}
	}
	return t, nil
}

func releasePair(ctx context.Context, dir, name string, slots [][2]string, bins tools, skip map[string]bool, keep bool) (releaseResult, error) {
	r := releaseResult{name: name}
	if err := os.RemoveAll(dir); err != nil {
		return r, err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return r, err
	}
	oldDir, newDir := filepath.Join(dir, "dist", "old"), filepath.Join(dir, "dist", "new")
	fmt.Printf("== %s pair: unpacking %d toolchain slots...\n", name, len(slots))
	for i, s := range slots {
		for j, d := range []string{oldDir, newDir} {
			if err := unpackToolchain(ctx, s[j], filepath.Join(d, fmt.Sprintf("slot%d", i)), dir); err != nil {
				return r, err
			}
		}
	}
	build := filepath.Join(dir, "build")
	if err := os.MkdirAll(build, 0o755); err != nil {
		return r, err
	}
	repoCmd := func(args ...string) *exec.Cmd {
		return exec.CommandContext(ctx, bins.repo, append([]string{"-C", build}, args...)...)
	}
	if _, err := measure(repoCmd("init", "--app-name", "bigapp")); err != nil {
		return r, err
	}
	var err error
	fmt.Printf("tufup-repo add 1.0.0 (archive only)...")
	if r.addFirst, err = measure(repoCmd("add", "1.0.0", oldDir)); err != nil {
		return r, err
	}
	fmt.Printf(" %s\n", dur(r.addFirst.wall))

	srv, err := sandbox.Serve(filepath.Join(build, "repository"))
	if err != nil {
		return r, err
	}
	defer srv.Close()
	install := filepath.Join(dir, "install")
	launcher, err := sandbox.Install(install, bins.launcher, sandbox.InstallOptions{
		Config: map[string]any{
			"app_name": "bigapp", "metadata_url": srv.URL + "/metadata/", "targets_url": srv.URL + "/targets/",
			"entry": "slot0/bin/go", "check_timeout": "30s", "download_timeout": "2h",
		},
		Root: filepath.Join(build, "repository", "metadata", "root.json"),
	})
	if err != nil {
		return r, err
	}
	fmt.Printf("launcher: first install of 1.0.0 (full archive)...")
	if r.install, err = measure(exec.CommandContext(ctx, launcher, "--update-only")); err != nil {
		return r, err
	}
	fmt.Printf(" %s\n", dur(r.install.wall))

	fmt.Printf("tufup-repo add 1.1.0 (archive and patch)...")
	if r.addNew, err = measure(repoCmd("add", "1.1.0", newDir)); err != nil {
		return r, err
	}
	fmt.Printf(" %s\n", dur(r.addNew.wall))
	targets := filepath.Join(build, "repository", "targets")
	if r.archive, err = fileSize(filepath.Join(targets, "bigapp-1.1.0.tar.gz")); err != nil {
		return r, err
	}
	if r.patchSize, err = fileSize(filepath.Join(targets, "bigapp-1.1.0.patch")); err != nil {
		return r, err
	}

	fmt.Printf("launcher: update 1.0.0 -> 1.1.0 (patch)...")
	sampler := startDiskSampler(install, filepath.Join(install, "versions", "1.0.0"))
	r.update, err = measure(exec.CommandContext(ctx, launcher, "--update-only"))
	r.peakDisk, r.peakWritten = sampler.stop()
	if err != nil {
		return r, err
	}
	fmt.Printf(" %s\n", dur(r.update.wall))
	if b, _ := os.ReadFile(filepath.Join(install, "current")); strings.TrimSpace(string(b)) != "1.1.0" {
		return r, fmt.Errorf("after the update current is %q, want 1.1.0", b)
	}
	if r.newFolder, err = treeSize(filepath.Join(install, "versions", "1.1.0")); err != nil {
		return r, err
	}
	if r.index, err = fileSize(filepath.Join(install, ".tufup", "cache", "bigapp-1.1.0.tarindex")); err != nil {
		return r, err
	}
	r.accounted = r.newFolder + r.index + r.patchSize
	if err := compareTrees(newDir, filepath.Join(install, "versions", "1.1.0")); err != nil {
		return r, err
	}
	for v, size := range map[string]*int64{"1.0.0": &r.oldTar, "1.1.0": &r.newTar} {
		it, err := patch.OpenIndexedTar(filepath.Join(install, ".tufup", "cache", "bigapp-"+v+".tarindex"), filepath.Join(install, "versions", v))
		if err != nil {
			return r, err
		}
		*size = it.Size()
		it.Close()
	}
	if !keep {
		os.RemoveAll(install)
	}
	os.RemoveAll(filepath.Join(dir, "dist"))
	printRelease([]releaseResult{r}) // in case a later pair fails

	// bsdiff on the same uncompressed tars, where it fits in memory.
	need := 17 * r.oldTar
	switch _, lerr := exec.LookPath("bsdiff"); {
	case skip["bsdiff"]:
		r.bsdiffNote = "skipped (-skip bsdiff)"
	case lerr != nil:
		r.bsdiffNote = "not installed (Debian package bsdiff)"
	case need > availableMemory()*8/10:
		r.bsdiffNote = fmt.Sprintf("does not fit: needs ~17 x the old tar = %s, the machine has %s available", mb(need), mb(availableMemory()))
	default:
		oldTar, newTar := filepath.Join(dir, "old.tar"), filepath.Join(dir, "new.tar")
		for src, dst := range map[string]string{"bigapp-1.0.0.tar.gz": oldTar, "bigapp-1.1.0.tar.gz": newTar} {
			if _, err := patch.Gunzip(ctx, filepath.Join(targets, src), dst, 1<<40); err != nil {
				return r, err
			}
		}
		fmt.Printf("bsdiff 4.3 on the tars...")
		u, err := measure(exec.CommandContext(ctx, "bsdiff", oldTar, newTar, filepath.Join(dir, "bsdiff.patch")))
		if err != nil {
			return r, err
		}
		r.bsdiff = &u
		if r.bsdiffSize, err = fileSize(filepath.Join(dir, "bsdiff.patch")); err != nil {
			return r, err
		}
		fmt.Printf(" %s\n", dur(u.wall))
	}
	return r, nil
}

// unpackToolchain unpacks golang.org/toolchain's module for version (go1.X.Y,
// linux-amd64) into dst.
func unpackToolchain(ctx context.Context, version, dst, work string) error {
	mod := "golang.org/toolchain@v0.0.1-" + version + ".linux-amd64"
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", mod)
	cmd.Dir = work // outside any module
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go mod download %s: %w\n%s", mod, err, out)
	}
	var info struct{ Zip, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Error != "" || info.Zip == "" {
		return fmt.Errorf("go mod download %s: %v %s", mod, err, info.Error)
	}
	return unzip(info.Zip, mod+"/", dst)
}

func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// treeSize adds up the sizes of the files under root.
func treeSize(root string) (int64, error) {
	var n int64
	err := filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	return n, err
}

// compareTrees checks that got has want's files with the same sizes and
// hashes of a sample (a full comparison would double the bench's reads;
// the launcher has verified the tar's hash already).
func compareTrees(want, got string) error {
	a, err := treeSize(want)
	if err != nil {
		return err
	}
	b, err := treeSize(got)
	if err != nil {
		return err
	}
	if a != b {
		return fmt.Errorf("installed 1.1.0 has %d bytes of files, the release %d", b, a)
	}
	for _, p := range []string{"slot0/bin/go", "slot0/VERSION"} {
		x, err1 := patch.HashFile(filepath.Join(want, p))
		y, err2 := patch.HashFile(filepath.Join(got, p))
		if err1 != nil || err2 != nil || x != y {
			return fmt.Errorf("installed %s differs from the release's (%v %v)", p, err1, err2)
		}
	}
	return nil
}

// diskSampler follows, while the update runs, two measures of the extra
// disk it uses: the free space of the filesystem (which other processes
// writing to the same disk disturb) and the size of everything in the
// install except the old version's folder (the launcher's state, staging,
// downloads and new folders), walked every 250 ms.
type diskSampler struct {
	install, old string
	before       int64 // free space
	minFree      int64
	baseSize     int64 // the walked size before the update
	maxSize      int64
	done         chan struct{}
	wg           sync.WaitGroup
}

func startDiskSampler(install, old string) *diskSampler {
	s := &diskSampler{install: install, old: old, before: freeBytes(install), done: make(chan struct{})}
	s.minFree = s.before
	s.baseSize = s.written()
	s.maxSize = s.baseSize
	s.every(50*time.Millisecond, func() { s.minFree = min(s.minFree, freeBytes(s.install)) })
	s.every(250*time.Millisecond, func() { s.maxSize = max(s.maxSize, s.written()) })
	return s
}

// every runs f every d until stop.
func (s *diskSampler) every(d time.Duration, f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
				f()
			}
		}
	}()
}

// written is the size of the install's files outside the old version.
// versions/ is walked before .tufup/: the new folder moves from staging
// into versions/, and in this order a walk that straddles the move misses
// it (an earlier sample saw it whole) instead of counting it twice.
func (s *diskSampler) written() int64 {
	var n int64
	walk := func(root string) {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // a file renamed or removed meanwhile
			}
			if d.IsDir() && p == s.old {
				return filepath.SkipDir
			}
			if d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					n += fi.Size()
				}
			}
			return nil
		})
	}
	walk(filepath.Join(s.install, "versions"))
	walk(filepath.Join(s.install, ".tufup"))
	return n
}

// stop returns the most free space the filesystem lost, and the most the
// install grew outside the old version, while sampling.
func (s *diskSampler) stop() (freeSpace, accounted int64) {
	close(s.done)
	s.wg.Wait()
	return s.before - s.minFree, s.maxSize - s.baseSize
}

// availableMemory is MemAvailable from /proc/meminfo, or 0.
func availableMemory() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		var kb int64
		if _, err := fmt.Sscanf(line, "MemAvailable: %d kB", &kb); err == nil {
			return kb << 10
		}
	}
	return 0
}

func printRelease(rs []releaseResult) {
	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 1, ' ', tabwriter.Debug)
	cols := []string{"cost"}
	for _, r := range rs {
		cols = append(cols, r.name+fmt.Sprintf(" (%s -> %s tar)", mb(r.oldTar), mb(r.newTar)))
	}
	if len(rs) == 2 {
		cols = append(cols, "growth (release x"+fmt.Sprintf("%.1f", float64(rs[1].newTar)/float64(rs[0].newTar))+")")
	}
	fmt.Fprintln(tw, strings.Join(cols, "\t")+"\t")
	row := func(name string, f func(r releaseResult) (string, float64)) {
		cells := []string{name}
		var vals []float64
		for _, r := range rs {
			s, v := f(r)
			cells = append(cells, s)
			vals = append(vals, v)
		}
		if len(rs) == 2 {
			if vals[0] > 0 && vals[1] > 0 {
				cells = append(cells, fmt.Sprintf("x%.2f", vals[1]/vals[0]))
			} else {
				cells = append(cells, "-")
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	wall := func(u usage) (string, float64) { return dur(u.wall), u.wall.Seconds() }
	rss := func(u usage) (string, float64) { return mb(u.maxRSS), float64(u.maxRSS) }
	size := func(n int64) (string, float64) { return mb(n), float64(n) }
	cpu := func(u usage) (string, float64) { return dur(u.cpu), u.cpu.Seconds() }
	row("tufup-repo add (first release) wall", func(r releaseResult) (string, float64) { return wall(r.addFirst) })
	row("tufup-repo add (first release) CPU", func(r releaseResult) (string, float64) { return cpu(r.addFirst) })
	row("tufup-repo add (archive + patch) wall", func(r releaseResult) (string, float64) { return wall(r.addNew) })
	row("tufup-repo add (archive + patch) CPU", func(r releaseResult) (string, float64) { return cpu(r.addNew) })
	row("tufup-repo add peak RSS", func(r releaseResult) (string, float64) { return rss(r.addNew) })
	row("archive size", func(r releaseResult) (string, float64) { return size(r.archive) })
	row("patch size", func(r releaseResult) (string, float64) { return size(r.patchSize) })
	// bsdiff's rows are "-" where it did not run.
	bsRow := func(name string, f func(r releaseResult) (string, float64)) {
		row(name, func(r releaseResult) (string, float64) {
			if r.bsdiff == nil {
				return "-", 0
			}
			return f(r)
		})
	}
	bsRow("bsdiff 4.3 wall", func(r releaseResult) (string, float64) { return wall(*r.bsdiff) })
	bsRow("bsdiff 4.3 CPU", func(r releaseResult) (string, float64) { return cpu(*r.bsdiff) })
	bsRow("bsdiff 4.3 peak RSS", func(r releaseResult) (string, float64) { return rss(*r.bsdiff) })
	bsRow("bsdiff 4.3 patch size", func(r releaseResult) (string, float64) { return size(r.bsdiffSize) })
	bsRow("patch / bsdiff", func(r releaseResult) (string, float64) {
		v := float64(r.patchSize) / float64(r.bsdiffSize)
		return fmt.Sprintf("%.3f", v), v
	})
	row("launcher first install (full) wall", func(r releaseResult) (string, float64) { return wall(r.install) })
	row("launcher first install peak RSS", func(r releaseResult) (string, float64) { return rss(r.install) })
	row("launcher first install CPU", func(r releaseResult) (string, float64) { return cpu(r.install) })
	row("launcher update (patch) wall", func(r releaseResult) (string, float64) { return wall(r.update) })
	row("launcher update CPU", func(r releaseResult) (string, float64) { return cpu(r.update) })
	row("launcher update peak RSS", func(r releaseResult) (string, float64) { return rss(r.update) })
	row("new version's folder", func(r releaseResult) (string, float64) { return size(r.newFolder) })
	row("its tar index", func(r releaseResult) (string, float64) { return size(r.index) })
	row("update peak extra disk (install walked)", func(r releaseResult) (string, float64) { return size(r.peakWritten) })
	row("  / new folder", func(r releaseResult) (string, float64) {
		v := float64(r.peakWritten) / float64(r.newFolder)
		return fmt.Sprintf("%.3f", v), v
	})
	row("update peak extra disk (free space)", func(r releaseResult) (string, float64) { return size(r.peakDisk) })
	row("new folder + index + patch", func(r releaseResult) (string, float64) { return size(r.accounted) })
	tw.Flush()
	for _, r := range rs {
		if r.bsdiffNote != "" {
			fmt.Printf("bsdiff, %s pair: %s\n", r.name, r.bsdiffNote)
		}
	}
	fmt.Println("(peak extra disk: the most the install grew outside the old version's folder, walked every 250 ms; and the most free space the filesystem lost, sampled every 50 ms, which other processes writing to the same disk disturb)")
}
