package e2e

// Helpers for the rotation and rollout tests: tufup-repo in other folders
// and with key passwords, the metadata a launcher trusts, and many installs
// started concurrently.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// repoAt runs tufup-repo -C dir with extra environment (key passwords):
// for an offline key machine or an attacker's folder as well as the build
// machine's.
func (e *env) repoAt(dir string, extraEnv []string, args ...string) string {
	e.t.Helper()
	cmd := exec.Command(e.bins.TufupRepo, append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), extraEnv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		e.t.Fatalf("tufup-repo -C %s %s: %v\n%s", dir, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// roleInfo is what a root.json says about one role.
type roleInfo struct {
	KeyIDs    []string `json:"keyids"`
	Threshold int      `json:"threshold"`
}

// rootInfo is the part of a root.json the tests compare.
type rootInfo struct {
	Version int                 `json:"version"`
	Roles   map[string]roleInfo `json:"roles"`
}

func readRoot(t *testing.T, path string) rootInfo {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read root: %v", err)
	}
	var md struct {
		Signed rootInfo `json:"signed"`
	}
	if err := json.Unmarshal(b, &md); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if md.Signed.Version < 1 || md.Signed.Roles["root"].Threshold < 1 {
		t.Fatalf("%s does not look like a root: %+v", path, md.Signed)
	}
	return md.Signed
}

// trustedRoot is the root this install's launcher trusts now: the one go-tuf
// keeps in the metadata cache after each refresh.
func (in *install) trustedRoot() rootInfo {
	in.t.Helper()
	return readRoot(in.t, filepath.Join(in.dir, ".tufup", "metadata", "root.json"))
}

// logSize and logSince cut out what the launcher logged during one run.
func (in *install) logSize() int { return len(in.log()) }

func (in *install) logSince(n int) string {
	l := in.log()
	if n > len(l) {
		return l
	}
	return l[n:]
}

// tryStart runs the launcher once and returns the version the app ran as.
// Unlike start it never calls t.Fatal, so it can run in other goroutines;
// a launcher that fails, or that starts the app other than exactly once,
// is an error.
func (in *install) tryStart(ctx context.Context) (string, error) {
	before, err := readRuns(in.out)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, in.launcher)
	cmd.Env = append(os.Environ(), "SAMPLEAPP_OUT="+in.out)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("launcher in %s: %v\nstderr: %s\nlog:\n%s", in.dir, err, stderr.String(), in.log())
	}
	after, err := readRuns(in.out)
	if err != nil {
		return "", err
	}
	runs := after[len(before):]
	if len(runs) != 1 {
		return "", fmt.Errorf("launcher in %s started the app %d times, want once\nlog:\n%s", in.dir, len(runs), in.log())
	}
	if want := filepath.Join(in.dir, "versions", runs[0].Version); !samePath(runs[0].Dir, want) {
		return "", fmt.Errorf("launcher in %s started the app from %s, want %s", in.dir, runs[0].Dir, want)
	}
	return runs[0].Version, nil
}

func readRuns(path string) ([]appRun, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var runs []appRun
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r appRun
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("app run log %s: %w", path, err)
		}
		runs = append(runs, r)
	}
	return runs, sc.Err()
}

// startAll starts every install once, at most par launchers at a time, as
// many users starting the app on their own machines would, and returns the
// version each one started. Any launcher failure fails the test once all
// have run.
func startAll(t *testing.T, fleet []*install, par int) []string {
	t.Helper()
	got := make([]string, len(fleet))
	errs := make([]error, len(fleet))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	sem := make(chan struct{}, par)
	for i, in := range fleet {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			got[i], errs[i] = in.tryStart(ctx)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return got
}

// cloneInstall copies the install folder src to a new folder, as if a second
// user had installed and bootstrapped the same way. Files that the launcher
// never changes in place (its executable, version folders, cached tars;
// new ones are always written beside and renamed) are hard-linked to keep
// hundreds of clones cheap; everything else, the log and state included,
// is copied.
func cloneInstall(t *testing.T, src *install) *install {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "Sample App")
	shared := []string{filepath.Base(src.launcher), "versions", filepath.Join(".tufup", "cache")}
	err := filepath.WalkDir(src.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src.dir, p)
		to := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(to, info.Mode().Perm())
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		case !d.Type().IsRegular():
			return fmt.Errorf("%s: unexpected file type %v in an install", p, d.Type())
		}
		if slices.ContainsFunc(shared, func(s string) bool { return rel == s || strings.HasPrefix(rel, s+string(filepath.Separator)) }) {
			if err := os.Link(p, to); err == nil {
				return nil
			}
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("clone install: %v", err)
	}
	return &install{
		t:        t,
		dir:      dst,
		launcher: filepath.Join(dst, filepath.Base(src.launcher)),
		out:      filepath.Join(t.TempDir(), "runs.jsonl"),
	}
}

// rawState reads the install's .tufup/state.json as raw JSON fields.
func (in *install) rawState() map[string]json.RawMessage {
	in.t.Helper()
	b, err := os.ReadFile(filepath.Join(in.dir, ".tufup", "state.json"))
	if err != nil {
		in.t.Fatalf("read state: %v", err)
	}
	var s map[string]json.RawMessage
	if err := json.Unmarshal(b, &s); err != nil {
		in.t.Fatalf("state.json of %s: %v", in.dir, err)
	}
	return s
}

func (in *install) writeRawState(s map[string]json.RawMessage) {
	in.t.Helper()
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		in.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in.dir, ".tufup", "state.json"), b, 0o644); err != nil {
		in.t.Fatal(err)
	}
}
