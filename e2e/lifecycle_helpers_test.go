//go:build unix

package e2e

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Helpers of the issue-14 lifecycle tests: a launcher running in the
// background, and --status --json checked against the files on disk.

// bgLauncher is a launcher started in the background.
type bgLauncher struct {
	cmd  *exec.Cmd
	done chan struct{}
	code int
}

// background starts the launcher without waiting for it.
func (in *install) background(env []string, args ...string) *bgLauncher {
	in.t.Helper()
	cmd := exec.Command(in.launcher, args...)
	cmd.Env = append(append(os.Environ(), "SAMPLEAPP_OUT="+in.out), env...)
	if err := cmd.Start(); err != nil {
		in.t.Fatal(err)
	}
	b := &bgLauncher{cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		var exitErr *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &exitErr):
			b.code = exitErr.ExitCode()
			if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				b.code = 128 + int(ws.Signal())
			}
		default:
			b.code = -1
		}
		close(b.done)
	}()
	in.t.Cleanup(func() { cmd.Process.Kill(); <-b.done })
	return b
}

func (b *bgLauncher) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := b.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

func (b *bgLauncher) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-b.done:
		return b.code
	case <-time.After(2 * time.Minute):
		t.Fatal("launcher did not end")
		return 0
	}
}

// waitRuns waits until the app recorded n runs in all.
func (in *install) waitRuns(n int) {
	in.t.Helper()
	waitFor(in.t, func() bool { return len(in.runs()) >= n })
}

// gate is a file a running sample app waits for (SAMPLEAPP_WAIT).
func gate(t *testing.T) (env string, open func()) {
	p := filepath.Join(t.TempDir(), "gate")
	return "SAMPLEAPP_WAIT=" + p, func() {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// statusJSON is what launcher --status --json prints, as far as these
// tests read it.
type statusJSON struct {
	Current   string            `json:"current"`
	Installed []string          `json:"installed"`
	HeldBack  map[string]string `json:"held_back"`
	LastCheck *struct {
		Result string `json:"result"`
	} `json:"last_check"`
	Probation *struct {
		Version  string `json:"version"`
		Previous string `json:"previous"`
		Starts   int    `json:"starts"`
		Failures int    `json:"failures"`
	} `json:"probation"`
	Versions []struct {
		Version   string `json:"version"`
		Phase     string `json:"phase"`
		Installed bool   `json:"installed"`
		Current   bool   `json:"current"`
		Why       string `json:"why"`
	} `json:"versions"`
}

// status runs launcher --status --json and checks that it matches the
// files on disk: current, the installed versions, and each version's
// installed flag.
func (in *install) status() statusJSON {
	in.t.Helper()
	r := in.run(nil, "--status", "--json")
	var s statusJSON
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil || r.code != 0 {
		in.t.Fatalf("--status --json: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if cur := in.current(); s.Current != cur {
		in.t.Fatalf("--status says current %q, the pointer says %q", s.Current, cur)
	}
	disk := in.installed()
	if !slices.Equal(s.Installed, disk) {
		in.t.Fatalf("--status says installed %v, versions/ holds %v", s.Installed, disk)
	}
	seen := 0
	for _, v := range s.Versions {
		if v.Installed != slices.Contains(disk, v.Version) || v.Current != (v.Version == s.Current) || v.Why == "" {
			in.t.Fatalf("--status describes %+v; on disk: installed %v, current %s", v, disk, s.Current)
		}
		if v.Installed {
			seen++
		}
		if (v.Phase == "held" || v.Phase == "no-entry") != (s.HeldBack[v.Version] != "") {
			in.t.Fatalf("--status: %s is %s, held_back says %q", v.Version, v.Phase, s.HeldBack[v.Version])
		}
	}
	if seen != len(disk) {
		in.t.Fatalf("--status describes %d installed versions, versions/ holds %v", seen, disk)
	}
	return s
}

// phase is the state --status gives version v ("" when it has no record).
func (s statusJSON) phase(v string) string {
	for _, i := range s.Versions {
		if i.Version == v {
			return i.Phase
		}
	}
	return ""
}

func (s statusJSON) why(v string) string {
	for _, i := range s.Versions {
		if i.Version == v {
			return i.Why
		}
	}
	return ""
}

// versionsRan lists the versions of the app runs of one launcher run.
func versionsRan(r result) []string {
	var out []string
	for _, run := range r.runs {
		out = append(out, run.Version)
	}
	return out
}

// repoTry runs tufup-repo and returns its output and whether it succeeded.
func (e *env) repoTry(args ...string) (string, bool) {
	e.t.Helper()
	cmd := exec.Command(e.bins.TufupRepo, append([]string{"-C", e.work}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

func hasLine(log, substr string) bool {
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, substr) {
			return true
		}
	}
	return false
}

func (b *bgLauncher) exited() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}
