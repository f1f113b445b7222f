// Command coverage runs every test with coverage on, the end-to-end tests'
// built binaries included, merges the two, and prints the merged figure per
// package, the files below a threshold, and (with -uncovered) the lines no
// test reaches.
//
//	go run ./scripts/coverage                      # run the tests, then report
//	go run ./scripts/coverage -from DIR            # report on data already in DIR
//	go run ./scripts/coverage -from DIR -uncovered layout/layout.go
//
// Unit tests write their data with -test.gocoverdir (every package's tests
// count for every package of the module: -coverpkg); the end-to-end tests
// build the launcher, tufup-repo and the sample app with -cover and run them
// with GOCOVERDIR (TUFUP_COVER_DIR, see e2e/harness_test.go). The merged
// profile is left in DIR/cover.out for `go tool cover -html`.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// tooling is test and demo code, reported on but left out of the figures.
var tooling = []string{"/scripts/", "/internal/sandbox", "/internal/testenv", "/fetch/fetchtest", "/internal/fsutil/fsutiltest"}

func main() {
	dir := flag.String("dir", "", "folder for the coverage data (default: a new temporary folder)")
	from := flag.String("from", "", "report on the data in this folder (from an earlier run) instead of running the tests")
	below := flag.Float64("below", 70, "name the files whose merged coverage is below this percentage")
	uncovered := flag.String("uncovered", "", "print the line ranges no test reaches in files whose path contains this")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *dir, *from, *below, *uncovered, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "coverage:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir, from string, below float64, uncovered string, pkgs []string) (testErr error) {
	mod, err := output(ctx, "go", "list", "-m")
	if err != nil {
		return err
	}
	mod = strings.TrimSpace(mod)
	if from != "" {
		dir = from
	} else {
		if dir == "" {
			if dir, err = os.MkdirTemp("", "tufup-coverage-"); err != nil {
				return err
			}
		}
		// Failed tests still wrote coverage: report it, then fail.
		testErr = runTests(ctx, dir, mod, pkgs)
	}
	profiles := map[string]profile{}
	for _, part := range []string{"unit", "e2e"} {
		p, err := textProfile(ctx, filepath.Join(dir, part), filepath.Join(dir, part+".out"))
		if err != nil {
			return err
		}
		profiles[part] = p
	}
	merged := filepath.Join(dir, "merged")
	if err := os.MkdirAll(merged, 0o755); err != nil {
		return err
	}
	if _, err := output(ctx, "go", "tool", "covdata", "merge", "-i="+filepath.Join(dir, "unit")+","+filepath.Join(dir, "e2e"), "-o="+merged); err != nil {
		return err
	}
	all, err := textProfile(ctx, merged, filepath.Join(dir, "cover.out"))
	if err != nil {
		return err
	}
	report(os.Stdout, mod, profiles["unit"], profiles["e2e"], all, below)
	fmt.Printf("\nmerged profile: %s (see every line: go tool cover -html=%s)\n", filepath.Join(dir, "cover.out"), filepath.Join(dir, "cover.out"))
	if uncovered != "" {
		printUncovered(os.Stdout, mod, all, uncovered)
	}
	return testErr
}

// runTests runs go test over the module with coverage on, unit and
// end-to-end data in separate folders so each can be reported alone.
func runTests(ctx context.Context, dir, mod string, pkgs []string) error {
	unit, e2e := filepath.Join(dir, "unit"), filepath.Join(dir, "e2e")
	for _, d := range []string{unit, e2e} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if len(pkgs) == 0 {
		pkgs = []string{"./..."}
	}
	// Instrumented, every package's tests compile the whole module and the
	// end-to-end tests build instrumented binaries: more than go test's
	// default 10 minutes per package on a busy two-core machine. The
	// mode is the end-to-end binaries' (see internal/sandbox), so the two
	// merge.
	args := append([]string{"test", "-timeout", "30m", "-cover", "-covermode=atomic", "-coverpkg=" + mod + "/..."}, pkgs...)
	args = append(args, "-args", "-test.gocoverdir="+unit)
	fmt.Printf("go %s  (with TUFUP_COVER_DIR=%s)\n", strings.Join(args, " "), e2e)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "TUFUP_COVER_DIR="+e2e)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("the tests failed: %w", err)
	}
	return nil
}

func output(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// block is one basic block of a text profile.
type block struct {
	file               string // import path of the package / file name
	startLine, endLine int
	startCol, endCol   int
	stmts              int
	count              int
}

// profile maps file:position to the block, counts merged by maximum.
type profile map[string]*block

// textProfile converts a covdata folder to a text profile and reads it.
// A folder without data (e.g. the end-to-end tests did not run) is empty.
func textProfile(ctx context.Context, covdir, out string) (profile, error) {
	if entries, err := os.ReadDir(covdir); err != nil || len(entries) == 0 {
		return profile{}, nil
	}
	if _, err := output(ctx, "go", "tool", "covdata", "textfmt", "-i="+covdir, "-o="+out); err != nil {
		return nil, err
	}
	f, err := os.Open(out)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p := profile{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "mode:") || line == "" {
			continue
		}
		b, err := parseBlock(line)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", out, err)
		}
		key := line[:strings.LastIndexByte(line[:strings.LastIndexByte(line, ' ')], ' ')]
		if old, ok := p[key]; ok {
			old.count = max(old.count, b.count)
			continue
		}
		p[key] = b
	}
	return p, sc.Err()
}

// parseBlock reads "file:l0.c0,l1.c1 stmts count".
func parseBlock(line string) (*block, error) {
	colon := strings.LastIndexByte(line, ':')
	fields := strings.Fields(line[colon+1:])
	if colon < 0 || len(fields) != 3 {
		return nil, fmt.Errorf("bad profile line %q", line)
	}
	b := &block{file: line[:colon]}
	var err1, err2 error
	b.stmts, err1 = strconv.Atoi(fields[1])
	b.count, err2 = strconv.Atoi(fields[2])
	if _, err := fmt.Sscanf(fields[0], "%d.%d,%d.%d", &b.startLine, &b.startCol, &b.endLine, &b.endCol); err != nil || err1 != nil || err2 != nil {
		return nil, fmt.Errorf("bad profile line %q", line)
	}
	return b, nil
}

type tally struct{ stmts, covered int }

func (t *tally) add(b *block) {
	t.stmts += b.stmts
	if b.count > 0 {
		t.covered += b.stmts
	}
}

func (t tally) percent() float64 {
	if t.stmts == 0 {
		return 0
	}
	return 100 * float64(t.covered) / float64(t.stmts)
}

func isTooling(file string) bool {
	for _, t := range tooling {
		if strings.Contains(file, t) {
			return true
		}
	}
	return false
}

// byPackage sums a profile per package and per file, tooling left out.
func byPackage(p profile) (pkgs, files map[string]*tally, total tally) {
	pkgs, files = map[string]*tally{}, map[string]*tally{}
	for _, b := range p {
		if isTooling(b.file) {
			continue
		}
		for _, to := range []struct {
			m   map[string]*tally
			key string
		}{{pkgs, path.Dir(b.file)}, {files, b.file}} {
			if to.m[to.key] == nil {
				to.m[to.key] = &tally{}
			}
			to.m[to.key].add(b)
		}
		total.add(b)
	}
	return pkgs, files, total
}

func report(w *os.File, mod string, unit, e2e, merged profile, below float64) {
	up, _, ut := byPackage(unit)
	ep, _, et := byPackage(e2e)
	mp, mf, mt := byPackage(merged)
	names := make([]string, 0, len(mp))
	for k := range mp {
		names = append(names, k)
	}
	sort.Strings(names)
	pct := func(m map[string]*tally, k string) string {
		if t := m[k]; t != nil {
			return fmt.Sprintf("%5.1f%%", t.percent())
		}
		return "    - "
	}
	fmt.Fprintf(w, "\nstatement coverage per package (%s/...; tests and demo programs left out)\n", mod)
	fmt.Fprintf(w, "  %-40s %7s %7s %7s\n", "package", "unit", "e2e", "merged")
	for _, k := range names {
		fmt.Fprintf(w, "  %-40s %7s %7s %7s\n", strings.TrimPrefix(strings.TrimPrefix(k, mod), "/"), pct(up, k), pct(ep, k), pct(mp, k))
	}
	fmt.Fprintf(w, "  %-40s %6.1f%% %6.1f%% %6.1f%%   (%d of %d statements)\n", "total", ut.percent(), et.percent(), mt.percent(), mt.covered, mt.stmts)

	var low []string
	for f, t := range mf {
		if t.percent() < below {
			low = append(low, f)
		}
	}
	sort.Strings(low)
	fmt.Fprintf(w, "\nfiles below %.0f%% merged coverage: %d\n", below, len(low))
	for _, f := range low {
		t := mf[f]
		fmt.Fprintf(w, "  %5.1f%%  %-50s %d of %d statements\n", t.percent(), strings.TrimPrefix(f, mod+"/"), t.covered, t.stmts)
	}
}

// printUncovered lists the line ranges no test reached, per file.
func printUncovered(w *os.File, mod string, p profile, match string) {
	perFile := map[string][]*block{}
	for _, b := range p {
		if b.count == 0 && strings.Contains(b.file, match) {
			perFile[b.file] = append(perFile[b.file], b)
		}
	}
	files := make([]string, 0, len(perFile))
	for f := range perFile {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		blocks := perFile[f]
		sort.Slice(blocks, func(i, j int) bool { return blocks[i].startLine < blocks[j].startLine })
		fmt.Fprintf(w, "\nlines no test reaches in %s:\n", strings.TrimPrefix(f, mod+"/"))
		for _, b := range blocks {
			fmt.Fprintf(w, "  %d-%d\n", b.startLine, b.endLine)
		}
	}
}
