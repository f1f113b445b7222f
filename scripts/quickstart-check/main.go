// Command quickstart-check proves that the docs' walkthroughs work when a
// new user follows them literally: it takes the ```sh blocks of each
// Markdown file, in order, and runs them as one bash session (so cd and
// variables carry over, as in the reader's terminal), starting in the root
// of this repository, with HOME set to a fresh empty folder.
//
//	go run ./scripts/quickstart-check [-keep] [-v] [FILE.md ...]
//
// Without files it checks docs/quickstart.md and docs/examples/hello/README.md.
//
// Rules for the Markdown: only blocks fenced with exactly ```sh run; other
// fences (```text, ```json, ```powershell) are for reading. The session
// stops at the first failing command (set -euo pipefail) and the check fails
// naming the block. A line <!-- expect: TEXT --> after a block requires
// TEXT in that block's output (stdout and stderr). Processes the blocks
// leave running (a server started with &) are killed at the end.
//
// Go's build and module caches and its settings (GOENV) are those of the
// caller, so the fresh HOME costs no downloads; everything else comes from
// the caller's environment, except XDG_* variables, which are removed.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

func main() {
	keep := flag.Bool("keep", false, "keep the temporary HOME of each run to look around")
	verbose := flag.Bool("v", false, "print the whole output of each run")
	timeout := flag.Duration("timeout", 10*time.Minute, "time limit of each file's run")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: quickstart-check [-keep] [-v] [FILE.md ...]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart-check:", err)
		os.Exit(1)
	}
	files := flag.Args()
	if len(files) == 0 {
		files = []string{
			filepath.Join(root, "docs", "quickstart.md"),
			filepath.Join(root, "docs", "examples", "hello", "README.md"),
		}
	}
	failed := false
	for _, f := range files {
		start := time.Now()
		res, err := checkFile(f, runOptions{dir: root, keep: *keep, timeout: *timeout})
		if *verbose && res != nil {
			os.Stdout.Write(res.output)
		}
		if res != nil && res.home != "" && *keep {
			fmt.Printf("%s: HOME was %s (kept)\n", f, res.home)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "FAIL %s\n%v\n", f, err)
			failed = true
			continue
		}
		fmt.Printf("ok   %s: %d blocks, %d expectations, %s\n", f, len(res.blocks), res.expectations(), time.Since(start).Round(time.Millisecond))
	}
	if failed {
		os.Exit(1)
	}
}

// block is one ```sh block and what its output must contain.
type block struct {
	line   int // where the block's first command is in the file
	code   string
	expect []string
}

// parse returns the ```sh blocks of a Markdown document, in order, with the
// <!-- expect: ... --> lines that follow each.
func parse(doc string) ([]block, error) {
	var blocks []block
	var cur *block
	for i, line := range strings.Split(doc, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur != nil {
			if trimmed == "```" {
				blocks = append(blocks, *cur)
				cur = nil
			} else {
				cur.code += line + "\n"
			}
			continue
		}
		switch {
		case trimmed == "```sh":
			cur = &block{line: i + 2}
		case strings.HasPrefix(trimmed, "<!-- expect:"):
			text, ok := strings.CutSuffix(strings.TrimPrefix(trimmed, "<!-- expect:"), "-->")
			text = strings.TrimSpace(text)
			if !ok || text == "" {
				return nil, fmt.Errorf("line %d: malformed expectation %q (want <!-- expect: TEXT -->)", i+1, trimmed)
			}
			if len(blocks) == 0 {
				return nil, fmt.Errorf("line %d: expectation %q before any ```sh block", i+1, text)
			}
			last := &blocks[len(blocks)-1]
			last.expect = append(last.expect, text)
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("line %d: ```sh block is not closed", cur.line-1)
	}
	return blocks, nil
}

type runOptions struct {
	dir     string // where the session starts
	keep    bool
	timeout time.Duration
}

type result struct {
	blocks []block
	home   string
	output []byte
}

func (r *result) expectations() int {
	n := 0
	for _, b := range r.blocks {
		n += len(b.expect)
	}
	return n
}

// marker separates the blocks' outputs; it is unlikely in any real output.
func marker(i int) string { return fmt.Sprintf("@@quickstart-check block %d@@", i) }

// checkFile runs the ```sh blocks of one Markdown file and checks them.
func checkFile(path string, o runOptions) (*result, error) {
	doc, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blocks, err := parse(string(doc))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(blocks) == 0 {
		return nil, fmt.Errorf("%s: no ```sh blocks", path)
	}
	res := &result{blocks: blocks}
	tmp, err := os.MkdirTemp("", "quickstart-check-")
	if err != nil {
		return res, err
	}
	if o.keep {
		res.home = filepath.Join(tmp, "home")
	} else {
		defer os.RemoveAll(tmp)
	}
	home := filepath.Join(tmp, "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		return res, err
	}

	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	for i, b := range blocks {
		fmt.Fprintf(&script, "printf '\\n%s\\n'\n%s", marker(i), b.code)
	}
	scriptPath := filepath.Join(tmp, "session.sh")
	if err := os.WriteFile(scriptPath, []byte(script.String()), 0o644); err != nil {
		return res, err
	}
	env, err := sessionEnv(home)
	if err != nil {
		return res, err
	}

	// The output goes to a file, not a pipe: a process the session leaves
	// running in the background would keep a pipe open and the wait would
	// never end.
	out, err := os.Create(filepath.Join(tmp, "output.txt"))
	if err != nil {
		return res, err
	}
	defer out.Close()
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	cmd := exec.Command("bash", scriptPath)
	cmd.Dir = o.dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	newProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("start bash: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var runErr error
	select {
	case runErr = <-done:
	case <-ctx.Done():
		killProcessGroup(cmd)
		<-done
		runErr = fmt.Errorf("timed out after %s", o.timeout)
	}
	// Whatever the blocks left running (a server) goes with the session.
	killProcessGroup(cmd)
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		return res, err
	}
	if res.output, err = io.ReadAll(out); err != nil {
		return res, err
	}
	return res, verify(path, blocks, res.output, runErr)
}

// verify finds each block's output and checks the session's outcome and
// every expectation.
func verify(path string, blocks []block, output []byte, runErr error) error {
	outputs := make([]string, len(blocks))
	reached := -1
	rest := string(output)
	for i := range blocks {
		_, after, ok := strings.Cut(rest, marker(i)+"\n")
		if !ok {
			break
		}
		reached = i
		rest = after
		if i+1 < len(blocks) {
			mine, _, _ := strings.Cut(after, "\n"+marker(i+1))
			outputs[i] = mine
		} else {
			outputs[i] = after
		}
	}
	if runErr != nil {
		if reached < 0 {
			return fmt.Errorf("the session failed before its first block: %v\n%s", runErr, output)
		}
		b := blocks[reached]
		return fmt.Errorf("%s:%d: a command of this block failed (%v):\n%s\noutput of the block:\n%s",
			path, b.line, runErr, indent(b.code), indent(tail(outputs[reached], 60)))
	}
	if reached != len(blocks)-1 {
		return fmt.Errorf("%s: the session ended after block %d of %d without an error (an exit in a block?)", path, reached+1, len(blocks))
	}
	var errs []error
	for i, b := range blocks {
		for _, want := range b.expect {
			if !strings.Contains(outputs[i], want) {
				errs = append(errs, fmt.Errorf("%s:%d: output does not contain %q\nblock:\n%s\noutput:\n%s",
					path, b.line, want, indent(b.code), indent(tail(outputs[i], 60))))
			}
		}
	}
	return errors.Join(errs...)
}

// sessionEnv is the caller's environment with HOME replaced, XDG_*
// removed, and Go's caches and settings pinned to the caller's.
func sessionEnv(home string) ([]string, error) {
	pinned := []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOENV"}
	out, err := exec.Command("go", append([]string{"env"}, pinned...)...).Output()
	if err != nil {
		return nil, fmt.Errorf("go env: %w", err)
	}
	values := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(values) != len(pinned) {
		return nil, fmt.Errorf("go env printed %d lines for %d variables", len(values), len(pinned))
	}
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name == "HOME" || strings.HasPrefix(name, "XDG_") || slices.Contains(pinned, name) {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "HOME="+home)
	for i, name := range pinned {
		env = append(env, name+"="+values[i])
	}
	return env, nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run quickstart-check inside this repository")
	}
	return filepath.Dir(mod), nil
}

func indent(s string) string {
	var b bytes.Buffer
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("    " + line + "\n")
	}
	return b.String()
}

func tail(s string, lines int) string {
	all := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(all) > lines {
		all = append([]string{fmt.Sprintf("... (%d lines before)", len(all)-lines)}, all[len(all)-lines:]...)
	}
	return strings.Join(all, "\n")
}
