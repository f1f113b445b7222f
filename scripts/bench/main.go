// Command bench compares patch engines on a release pair: our pure-Go
// BSDIFF40 engine (patch/bsdiff), the bsdiff/bspatch 4.3 programs (Debian
// package bsdiff) and github.com/kr/binarydist. It prints patch size, wall
// time and peak RSS for creating and applying a patch with each, and the
// ratios against bsdiff.
//
// Usage:
//
//	go run ./scripts/bench [-skip bsdiff,binarydist] [-work DIR] [OLD NEW]
//	go run ./scripts/bench -release small,big [-skip bsdiff] [-work DIR]
//
// The second form is the release benchmark of release.go: the tools end to
// end (tufup-repo add, the launcher updating an install) on a 233 MB and a
// 1.8 GB release pair, showing how each cost grows with the release.
//
// OLD and NEW are folders (turned into uncompressed tars as a release is,
// with patch.WriteTar) or files (used as they are). Without them the pair is
// the Go toolchain go1.24.0 -> go1.24.1 for linux-amd64, fetched from the Go
// module proxy with `go mod download`.
//
// Each tool runs in its own process (the Go engines by re-running this
// program in a hidden child mode), so peak RSS is the child's own, read from
// its rusage. Every applied patch is checked to give exactly the new file.
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/kr/binarydist"

	"github.com/tufup-go/tufup/patch"
	"github.com/tufup-go/tufup/patch/bsdiff"
)

// childArg as the first argument runs one engine operation and exits.
const childArg = "__bench_child"

func main() {
	if len(os.Args) > 1 && os.Args[1] == childArg {
		if err := child(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		return
	}
	skip := flag.String("skip", "", "comma-separated tools not to run: ours, bsdiff, binarydist")
	work := flag.String("work", "", "folder for tars, patches and outputs (default: a temporary folder, removed afterwards)")
	oldTC := flag.String("toolchain-old", "v0.0.1-go1.24.0.linux-amd64", "golang.org/toolchain version for the default old release")
	newTC := flag.String("toolchain-new", "v0.0.1-go1.24.1.linux-amd64", "golang.org/toolchain version for the default new release")
	release := flag.String("release", "", "instead of comparing engines, run the release benchmark on these pairs (comma-separated: small, big; see release.go)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: bench [flags] [OLD NEW]\n\nOLD and NEW are release folders or files; default: a Go toolchain pair.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 && flag.NArg() != 2 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*skip, *work, *oldTC, *newTC, *release, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(skipList, work, oldTC, newTC, release string, args []string) error {
	// Interrupting the bench also ends the tool it is measuring.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	command := func(name string, args ...string) *exec.Cmd { return exec.CommandContext(ctx, name, args...) }
	skip := map[string]bool{}
	for _, s := range strings.Split(skipList, ",") {
		if s = strings.TrimSpace(s); s != "" {
			if s != "ours" && s != "bsdiff" && s != "binarydist" {
				return fmt.Errorf("-skip: unknown tool %q", s)
			}
			skip[s] = true
		}
	}
	keep := work != "" // the release benchmark keeps its pairs' repositories and installs there
	if work == "" {
		dir, err := os.MkdirTemp("", "bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		work = dir
	} else if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	if release != "" {
		return runRelease(ctx, work, strings.Split(release, ","), skip, keep)
	}

	var oldPath, newPath, pairName string
	var err error
	if len(args) == 2 {
		pairName = args[0] + " -> " + args[1]
		if oldPath, err = asFile(ctx, args[0], filepath.Join(work, "old.tar")); err != nil {
			return err
		}
		if newPath, err = asFile(ctx, args[1], filepath.Join(work, "new.tar")); err != nil {
			return err
		}
	} else {
		pairName = "golang.org/toolchain " + oldTC + " -> " + newTC
		if oldPath, err = toolchainTar(ctx, oldTC, work); err != nil {
			return err
		}
		if newPath, err = toolchainTar(ctx, newTC, work); err != nil {
			return err
		}
	}
	oldInfo, err := patch.HashFile(oldPath)
	if err != nil {
		return err
	}
	newInfo, err := patch.HashFile(newPath)
	if err != nil {
		return err
	}
	fmt.Printf("pair: %s\nold: %s (%s)\nnew: %s (%s)\nmachine: %s/%s, %d CPUs, GOMAXPROCS %d, load average %s\n\n",
		pairName, oldPath, mb(oldInfo.Size), newPath, mb(newInfo.Size), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), loadAvg())

	self, err := os.Executable()
	if err != nil {
		return err
	}
	type tool struct {
		name          string
		create, apply func(old, nw, patch, out string) *exec.Cmd
	}
	tools := []tool{
		{
			name:   "ours (patch/bsdiff)",
			create: func(old, nw, p, _ string) *exec.Cmd { return command(self, childArg, "ours-diff", old, nw, p) },
			apply:  func(old, _, p, out string) *exec.Cmd { return command(self, childArg, "ours-apply", old, p, out) },
		},
		{
			name:   "bsdiff 4.3 CLI",
			create: func(old, nw, p, _ string) *exec.Cmd { return command("bsdiff", old, nw, p) },
			apply:  func(old, _, p, out string) *exec.Cmd { return command("bspatch", old, out, p) },
		},
		{
			name: "kr/binarydist",
			create: func(old, nw, p, _ string) *exec.Cmd {
				return command(self, childArg, "binarydist-diff", old, nw, p)
			},
			apply: func(old, _, p, out string) *exec.Cmd {
				return command(self, childArg, "binarydist-apply", old, p, out)
			},
		},
	}
	keys := []string{"ours", "bsdiff", "binarydist"}
	var rows []row
	var ref *row
	var oursPatch string
	for i, t := range tools {
		if skip[keys[i]] {
			continue
		}
		if keys[i] == "bsdiff" {
			if _, err := exec.LookPath("bsdiff"); err != nil {
				fmt.Println("bsdiff/bspatch not installed (Debian package bsdiff); skipping them")
				continue
			}
		}
		if keys[i] == "binarydist" {
			if _, err := exec.LookPath("bzip2"); err != nil {
				fmt.Println("bzip2 not installed, which kr/binarydist runs; skipping it")
				continue
			}
		}
		p := filepath.Join(work, keys[i]+".patch")
		out := filepath.Join(work, keys[i]+".out")
		fmt.Printf("%s: creating...", t.name)
		r := row{name: t.name}
		if r.create, err = measure(t.create(oldPath, newPath, p, out)); err != nil {
			return fmt.Errorf("%s create: %w", t.name, err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		r.size = fi.Size()
		fmt.Printf(" %s in %s; applying...", mb(r.size), r.create.wall.Round(10*time.Millisecond))
		if r.apply, err = measure(t.apply(oldPath, newPath, p, out)); err != nil {
			return fmt.Errorf("%s apply: %w", t.name, err)
		}
		if err := sameFile(out, newInfo); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		os.Remove(out)
		fmt.Printf(" %s, output verified\n", r.apply.wall.Round(10*time.Millisecond))
		rows = append(rows, r)
		if keys[i] == "bsdiff" {
			ref = &rows[len(rows)-1]
		}
		if keys[i] == "ours" {
			oursPatch = p
		}
	}
	// Compatibility on the real pair: the reference tools apply our patch.
	if oursPatch != "" && !skip["bsdiff"] {
		if _, err := exec.LookPath("bspatch"); err == nil {
			out := filepath.Join(work, "compat.out")
			r := row{name: "bspatch applying ours", compat: true}
			if r.apply, err = measure(command("bspatch", oldPath, out, oursPatch)); err != nil {
				return fmt.Errorf("bspatch on our patch: %w", err)
			}
			if err := sameFile(out, newInfo); err != nil {
				return fmt.Errorf("bspatch on our patch: %w", err)
			}
			os.Remove(out)
			rows = append(rows, r)
		}
	}
	fmt.Println()
	printTable(rows, ref)
	if l := loadAvg(); l != "" {
		fmt.Printf("\nload average at the end (other processes share the CPUs): %s\n", l)
	}
	if ref != nil && len(rows) > 0 && rows[0].name == tools[0].name {
		printTargets(rows[0], *ref)
	}
	return nil
}

type usage struct {
	wall, cpu time.Duration
	maxRSS    int64 // bytes
}

type row struct {
	name          string
	size          int64
	create, apply usage
	compat        bool // an apply-only row
}

func measure(cmd *exec.Cmd) (usage, error) {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return usage{}, fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, stderr.Bytes())
	}
	u := usage{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	u.maxRSS = maxRSS(cmd.ProcessState)
	return u, nil
}

func sameFile(path string, want patch.TarInfo) error {
	got, err := patch.HashFile(path)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("applying the patch gave %s (%d bytes, sha256 %s), not the new file (%d bytes, sha256 %s)",
			path, got.Size, got.SHA256, want.Size, want.SHA256)
	}
	return nil
}

func printTable(rows []row, ref *row) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "tool\tpatch size\tcreate wall\tcreate CPU\tcreate peak RSS\tapply wall\tapply peak RSS\tsize / bsdiff\tcreate wall / bsdiff\tcreate RSS / bsdiff\tapply wall / bspatch\tapply RSS / bspatch\t")
	ratio := func(a, b float64) string {
		if ref == nil || b == 0 {
			return "-"
		}
		return fmt.Sprintf("%.3f", a/b)
	}
	for _, r := range rows {
		if r.compat {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t%s\t%s\t-\t-\t-\t%s\t%s\t\n", r.name, dur(r.apply.wall), mb(r.apply.maxRSS),
				ratio(r.apply.wall.Seconds(), refv(ref, func(r *row) float64 { return r.apply.wall.Seconds() })),
				ratio(float64(r.apply.maxRSS), refv(ref, func(r *row) float64 { return float64(r.apply.maxRSS) })))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.name, mb(r.size),
			dur(r.create.wall), dur(r.create.cpu), mb(r.create.maxRSS), dur(r.apply.wall), mb(r.apply.maxRSS),
			ratio(float64(r.size), refv(ref, func(r *row) float64 { return float64(r.size) })),
			ratio(r.create.wall.Seconds(), refv(ref, func(r *row) float64 { return r.create.wall.Seconds() })),
			ratio(float64(r.create.maxRSS), refv(ref, func(r *row) float64 { return float64(r.create.maxRSS) })),
			ratio(r.apply.wall.Seconds(), refv(ref, func(r *row) float64 { return r.apply.wall.Seconds() })),
			ratio(float64(r.apply.maxRSS), refv(ref, func(r *row) float64 { return float64(r.apply.maxRSS) })))
	}
	tw.Flush()
}

func refv(ref *row, f func(*row) float64) float64 {
	if ref == nil {
		return 0
	}
	return f(ref)
}

// printTargets checks the figures against the targets of issue 7.
func printTargets(ours, ref row) {
	fmt.Println()
	check := func(what string, ok bool, detail string) {
		verdict := "met"
		if !ok {
			verdict = "MISSED"
		}
		fmt.Printf("  %-34s %-7s %s\n", what, verdict, detail)
	}
	fmt.Println("targets:")
	sizeR := float64(ours.size) / float64(ref.size)
	check("patch size <= 1.05 x bsdiff", sizeR <= 1.05, fmt.Sprintf("%.3f", sizeR))
	wallR := ours.create.wall.Seconds() / ref.create.wall.Seconds()
	check("create wall <= 1/9 of bsdiff", wallR <= 1.0/9, fmt.Sprintf("1/%.1f", 1/wallR))
	rssR := float64(ours.create.maxRSS) / float64(ref.create.maxRSS)
	check("create peak RSS <= 1/2 of bsdiff", rssR <= 0.5, fmt.Sprintf("%.3f", rssR))
	check("apply peak RSS <= 64 MB", ours.apply.maxRSS <= 64<<20, mb(ours.apply.maxRSS))
	applyR := ours.apply.wall.Seconds() / ref.apply.wall.Seconds()
	check("apply wall <= 1.5 x bspatch", applyR <= 1.5, fmt.Sprintf("%.3f", applyR))
}

// loadAvg returns the 1, 5 and 15 minute load averages where the system
// tells them (Linux), or "".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func mb(n int64) string { return fmt.Sprintf("%.2f MB", float64(n)/1e6) }

func dur(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// asFile returns path if it is a file, or writes the folder at path as a
// release tar to tarPath.
func asFile(ctx context.Context, path, tarPath string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return path, nil
	}
	return tarPath, writeTar(ctx, path, tarPath)
}

func writeTar(ctx context.Context, dir, tarPath string) error {
	f, err := os.Create(tarPath)
	if err != nil {
		return err
	}
	if err := patch.WriteTar(ctx, dir, f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// toolchainTar downloads a golang.org/toolchain module version with the go
// command, unpacks it and writes it as a release tar, reusing a tar already
// in work.
func toolchainTar(ctx context.Context, version, work string) (string, error) {
	tarPath := filepath.Join(work, version+".tar")
	if _, err := os.Stat(tarPath); err == nil {
		return tarPath, nil
	}
	mod := "golang.org/toolchain@" + version
	fmt.Printf("fetching %s with go mod download...\n", mod)
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", mod)
	cmd.Dir = work // outside any module
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w\n%s%s", mod, err, out, stderr.Bytes())
	}
	var info struct{ Zip, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("go mod download %s: %w", mod, err)
	}
	if info.Error != "" || info.Zip == "" {
		return "", fmt.Errorf("go mod download %s: %s", mod, info.Error)
	}
	dir := filepath.Join(work, version)
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := unzip(info.Zip, mod+"/", dir); err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	return tarPath, writeTar(ctx, dir, tarPath)
}

// unzip extracts the entries under prefix of a module zip (which the go
// command has verified against go.sum's checksum database) into dir.
func unzip(zipPath, prefix, dir string) error {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		rel, ok := strings.CutPrefix(f.Name, prefix)
		if !ok || rel == "" || !filepath.IsLocal(rel) {
			return fmt.Errorf("%s: unexpected entry %q", zipPath, f.Name)
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if strings.HasSuffix(f.Name, "/") {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := extractOne(f, dst); err != nil {
			return err
		}
	}
	return nil
}

func extractOne(f *zip.File, dst string) error {
	r, err := f.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	mode := os.FileMode(0o644)
	if f.Mode()&0o111 != 0 {
		mode = 0o755
	}
	w, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	// A fixed mtime keeps the tar independent of when it was unpacked.
	return os.Chtimes(dst, f.Modified, f.Modified)
}

// child runs one engine operation in this process, for measure: it reads
// files A and B and writes C.
func child(args []string) error {
	if len(args) != 4 {
		return errors.New("want: OP A B C")
	}
	op, a, b, c := args[0], args[1], args[2], args[3]
	switch op {
	case "ours-diff":
		return writeTo(c, func(out io.Writer) error { return bsdiff.Diff(context.Background(), a, b, out) })
	case "ours-apply":
		return withInputs(a, b, c, func(old, p *os.File, out io.Writer) error {
			oldFi, err := old.Stat()
			if err != nil {
				return err
			}
			pFi, err := p.Stat()
			if err != nil {
				return err
			}
			_, err = bsdiff.Apply(old, oldFi.Size(), p, pFi.Size(), out)
			return err
		})
	case "binarydist-diff":
		return withInputs(a, b, c, func(old, nw *os.File, out io.Writer) error { return binarydist.Diff(old, nw, out) })
	case "binarydist-apply":
		return withInputs(a, b, c, func(old, p *os.File, out io.Writer) error { return binarydist.Patch(old, out, p) })
	}
	return fmt.Errorf("unknown operation %q", op)
}

// withInputs opens a and b and runs op writing to the file c.
func withInputs(a, b, c string, op func(fa, fb *os.File, out io.Writer) error) error {
	fa, err := os.Open(a)
	if err != nil {
		return err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return err
	}
	defer fb.Close()
	return writeTo(c, func(out io.Writer) error { return op(fa, fb, out) })
}

// writeTo creates the file c and runs write on it, reporting the close error
// too: a failed flush is a failed operation.
func writeTo(c string, write func(io.Writer) error) error {
	out, err := os.Create(c)
	if err != nil {
		return err
	}
	if err := write(out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
