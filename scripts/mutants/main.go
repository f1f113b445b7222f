// Command mutants runs mutation testing (go-gremlins/gremlins) on the
// packages that keep the project's promises, one package at a time, and
// fails unless each one reaches the thresholds and every mutant that
// survives is listed as equivalent, with the reason, in
// .ci/mutants-equivalent.txt.
//
//	go run ./scripts/mutants                  # every package below
//	go run ./scripts/mutants layout versions  # some of them
//
// It prints each package's time and gremlins summary. gremlins must be on
// PATH (go install github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// target is one package under mutation, and the files left out of it.
type target struct {
	name, dir string
	exclude   []string // gremlins -E regexps, matched against paths below dir
}

// Files for other systems are left out everywhere: no test on Linux can
// reach them, so they would only count as "not covered".
var otherOS = `_(windows|darwin)\.go$`

var targets = []target{
	{name: "layout", dir: "./layout", exclude: []string{otherOS}},
	{name: "versions", dir: "./versions", exclude: []string{otherOS}},
	// Extraction only. bsdiff (about 800 mutants, and its tests fuzz and
	// compare with Python's bsdiff4 for seconds each) would take hours
	// on two cores; its own fuzzing in .ci/run covers it. The tar index
	// (index.go, 160 mutants) is not extraction and would double the time.
	{name: "patch", dir: "./patch", exclude: []string{otherOS, `bsdiff/`, `(^|/)(archive|chain|hash|index)\.go$`}},
	// Verification of downloads only: the transport's retries and timeouts
	// are tested against slow servers, seconds per run.
	{name: "fetch", dir: "./fetch", exclude: []string{otherOS, `fetchtest/`, `(^|/)(client|transport|progress|rootwalk)\.go$`}},
	{name: "lifecycle", dir: "./launcher/lifecycle", exclude: []string{otherOS}},
}

func main() {
	list := flag.String("equivalent", ".ci/mutants-equivalent.txt", "the surviving mutants known to be equivalent, and why")
	efficacy := flag.Float64("efficacy", 95, "minimum percentage of covered mutants killed, per package")
	mcover := flag.Float64("mcover", 80, "minimum percentage of mutants covered by tests, per package")
	workers := flag.Int("workers", 0, "gremlins --workers (0: one per CPU)")
	timeoutCoef := flag.Int("timeout-coefficient", 0, "gremlins --timeout-coefficient (0: its default)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	known, err := readEquivalent(*list)
	if err != nil {
		fail(err)
	}
	chosen := targets
	if flag.NArg() > 0 {
		chosen = nil
		for _, name := range flag.Args() {
			i := slices.IndexFunc(targets, func(t target) bool { return t.name == name })
			if i < 0 {
				fail(fmt.Errorf("unknown package %q", name))
			}
			chosen = append(chosen, targets[i])
		}
	}
	var problems []string
	for _, t := range chosen {
		// The thresholds are checked here rather than by gremlins'
		// --threshold-* flags, since its efficacy counts equivalent
		// mutants as failures of the tests.
		args := []string{"--threshold-mcover", fmt.Sprint(*mcover)}
		if *workers > 0 {
			args = append(args, "--workers", fmt.Sprint(*workers))
		}
		if *timeoutCoef > 0 {
			args = append(args, "--timeout-coefficient", fmt.Sprint(*timeoutCoef))
		}
		p, err := runTarget(ctx, t, args, known, *efficacy, *mcover)
		if err != nil {
			fail(err)
		}
		problems = append(problems, p...)
	}
	for _, e := range known {
		if !e.seen && slices.ContainsFunc(chosen, func(t target) bool { return strings.HasPrefix(e.file, strings.TrimPrefix(t.dir, "./")+"/") }) {
			fmt.Printf("note: %s no longer survives; remove it from %s\n", e, *list)
		}
	}
	if len(problems) > 0 {
		fmt.Println()
		for _, p := range problems {
			fmt.Println("FAIL:", p)
		}
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "mutants:", err)
	os.Exit(2)
}

// result is the part of gremlins' JSON report used here.
type result struct {
	Efficacy  float64 `json:"test_efficacy"`
	MCover    float64 `json:"mutations_coverage"`
	Killed    int     `json:"mutants_killed"`
	Lived     int     `json:"mutants_lived"`
	NotViable int     `json:"mutants_not_viable"`
	NotCov    int     `json:"mutants_not_covered"`
	Files     []struct {
		Name      string `json:"file_name"`
		Mutations []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
			Line   int    `json:"line"`
			Column int    `json:"column"`
		} `json:"mutations"`
	} `json:"files"`
}

func runTarget(ctx context.Context, t target, extra []string, known []*equivalent, minEff, minCov float64) ([]string, error) {
	out, err := os.CreateTemp("", "gremlins-*.json")
	if err != nil {
		return nil, err
	}
	out.Close()
	defer os.Remove(out.Name())
	args := []string{"unleash", t.dir, "--output", out.Name(), "--output-statuses", "lt"}
	for _, e := range t.exclude {
		args = append(args, "--exclude-files", e)
	}
	args = append(args, extra...)
	fmt.Printf("\n--- mutation testing %s: gremlins %s\n", t.name, strings.Join(args, " "))
	start := time.Now()
	cmd := exec.CommandContext(ctx, "gremlins", args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	runErr := cmd.Run()
	took := time.Since(start).Round(time.Second)
	var exitErr *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exitErr) {
		return nil, fmt.Errorf("run gremlins: %w", runErr)
	}
	b, err := os.ReadFile(out.Name())
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("%s: gremlins wrote no report (%v, exit %v)", t.name, err, runErr)
	}
	var r result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: gremlins report: %w", t.name, err)
	}
	problems, equivalents := survivors(t, r, known)
	// Efficacy as the issue defines it, killed of covered, counting
	// equivalent mutants out: no test can kill them.
	efficacy := 100.0
	if n := r.Killed + r.Lived - equivalents; n > 0 {
		efficacy = 100 * float64(r.Killed) / float64(n)
	}
	fmt.Printf("=== %s: %s; killed %d, lived %d (%d listed equivalent), not covered %d, not viable %d; efficacy %.2f%% without equivalents (min %.0f%%; gremlins' own figure %.2f%%), mutant coverage %.2f%% (min %.0f%%)\n",
		t.name, took, r.Killed, r.Lived, equivalents, r.NotCov, r.NotViable, efficacy, minEff, r.Efficacy, r.MCover, minCov)
	if efficacy < minEff {
		problems = append(problems, fmt.Sprintf("%s: efficacy %.2f%% is below %.0f%%", t.name, efficacy, minEff))
	}
	if r.MCover < minCov {
		problems = append(problems, fmt.Sprintf("%s: mutant coverage %.2f%% is below %.0f%%", t.name, r.MCover, minCov))
	}
	if runErr != nil {
		problems = append(problems, fmt.Sprintf("%s: gremlins failed: %v", t.name, runErr))
	}
	return problems, nil
}

// survivors names the surviving mutants not listed as equivalent, and
// counts the listed ones (marking them seen).
func survivors(t target, r result, known []*equivalent) (problems []string, equivalents int) {
	for _, f := range r.Files {
		file := filepath.ToSlash(filepath.Join(strings.TrimPrefix(t.dir, "./"), f.Name))
		for _, m := range f.Mutations {
			if m.Status != "LIVED" {
				continue
			}
			src := sourceLine(file, m.Line)
			i := slices.IndexFunc(known, func(e *equivalent) bool { return e.file == file && e.mutator == m.Type && e.source == src })
			if i >= 0 {
				known[i].seen = true
				equivalents++
				continue
			}
			problems = append(problems, fmt.Sprintf("%s:%d:%d: %s survives: %q\n      kill it with a test, or if no test can (the program behaves the same), add to .ci/mutants-equivalent.txt:\n      %s | %s | %s | <why it is equivalent>",
				file, m.Line, m.Column, m.Type, src, file, m.Type, src))
		}
	}
	return problems, equivalents
}

// sourceLine is line n of file, trimmed: mutants are listed by their line's
// text, so the list stays valid when code above them moves.
func sourceLine(file string, n int) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for i := 1; sc.Scan(); i++ {
		if i == n {
			return strings.TrimSpace(sc.Text())
		}
	}
	return ""
}

// equivalent is one line of the list: file | mutator | source line | why.
type equivalent struct {
	file, mutator, source, why string
	seen                       bool
}

func (e *equivalent) String() string { return e.file + " | " + e.mutator + " | " + e.source }

func readEquivalent(path string) ([]*equivalent, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var list []*equivalent
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, " | ")
		if len(parts) < 4 || strings.TrimSpace(parts[len(parts)-1]) == "" {
			return nil, fmt.Errorf("%s:%d: want \"file | mutator | source line | why it is equivalent\"", path, i+1)
		}
		// The source line may itself hold " | ": everything between the
		// mutator and the last field is source.
		list = append(list, &equivalent{
			file:    strings.TrimSpace(parts[0]),
			mutator: strings.TrimSpace(parts[1]),
			source:  strings.TrimSpace(strings.Join(parts[2:len(parts)-1], " | ")),
			why:     strings.TrimSpace(parts[len(parts)-1]),
		})
	}
	return list, nil
}
