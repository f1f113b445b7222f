package e2e

// Issue 16: apps in any language drive updates through the launcher, with
// launcher --check --json and launcher --update-only --json, and restart
// into the new version by starting the launcher again.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tufup-go/tufup/internal/sandbox"
	"github.com/tufup-go/tufup/internal/testenv"
)

func TestCheckJSONReportsTheUpdateAndInstallsNothing(t *testing.T) {
	e := newEnv(t)
	e.publish("1.0.0", sandbox.BundleOptions{})
	in := e.newInstall(nil)
	in.start("1.0.0")

	r := in.run(nil, "--check", "--json")
	var got map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 {
		t.Fatalf("--check --json: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if got["update_available"] != false || got["current"] != "1.0.0" {
		t.Fatalf("up to date: got %v", got)
	}

	e.publish("1.1.0", sandbox.BundleOptions{}, "--meta", `{"notes": "faster startup"}`)
	e.srv.ResetLog()
	r = in.run(nil, "--check", "--json")
	got = nil
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 {
		t.Fatalf("--check --json: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	notes, _ := got["user_meta"].(map[string]any)
	if got["update_available"] != true || got["version"] != "1.1.0" || got["current"] != "1.0.0" ||
		notes["notes"] != "faster startup" {
		t.Fatalf("update: got %v", got)
	}
	// The bytes to download are those of the patch the update would use.
	patch, err := os.Stat(filepath.Join(e.targetsDir(), "sampleapp-1.1.0.patch"))
	if err != nil {
		t.Fatal(err)
	}
	if got["download_bytes"] != float64(patch.Size()) {
		t.Fatalf("download_bytes %v, want the patch's %d", got["download_bytes"], patch.Size())
	}
	if f := e.srv.Fetched("/targets/"); len(f) != 0 || in.current() != "1.0.0" || len(r.runs) != 0 {
		t.Fatalf("--check downloaded %v, current %s, app ran %d times; want nothing done", f, in.current(), len(r.runs))
	}
	// Without --json, one line for people.
	if r := in.run(nil, "--check"); r.code != 0 || r.stdout != fmt.Sprintf("update available: 1.1.0 (%d bytes to download)\n", patch.Size()) {
		t.Fatalf("--check: exit %d, %q", r.code, r.stdout)
	}

	// A server that is down is a failure the app can read.
	e.srv.Close()
	r = in.run(nil, "--check", "--json")
	got = nil
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 1 || got["error"] == nil {
		t.Fatalf("--check --json with the server down: exit %d, %v, stdout %s", r.code, err, r.stdout)
	}
}

func TestUpdateOnlyJSONStreamsProgressThenTheResult(t *testing.T) {
	e := newEnv(t)
	e.publish("1.0.0", sandbox.BundleOptions{})
	in := e.newInstall(nil)
	in.start("1.0.0")
	// A full archive large enough for several progress lines.
	e.publish("1.1.0", sandbox.BundleOptions{DataSize: 4 << 20}, "--skip-patch")

	r := in.run(nil, "--update-only", "--json")
	if r.code != 0 || len(r.runs) != 0 {
		t.Fatalf("exit %d, app ran %d times\n%s", r.code, len(r.runs), r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var phases []string
	var lastDone, total int64
	for _, l := range lines[:len(lines)-1] {
		var ev struct {
			Phase, From, To string
			Done, Total     int64
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Phase == "" {
			t.Fatalf("event line %q: %v", l, err)
		}
		if len(phases) == 0 || phases[len(phases)-1] != ev.Phase {
			phases = append(phases, ev.Phase)
		}
		if ev.Phase == "download" {
			if ev.From != "1.0.0" || ev.To != "1.1.0" || ev.Done < lastDone || ev.Done > ev.Total {
				t.Fatalf("download event %q after %d bytes done", l, lastDone)
			}
			lastDone, total = ev.Done, ev.Total
		}
	}
	archive, err := os.Stat(filepath.Join(e.targetsDir(), "sampleapp-1.1.0.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(phases, ",") != "check,download,verify,install" || lastDone != total || total != archive.Size() {
		t.Fatalf("phases %v, %d of %d bytes, archive %d bytes\n%s", phases, lastDone, total, archive.Size(), r.stdout)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatal(err)
	}
	if res["result"] != "updated" || res["from"] != "1.0.0" || res["version"] != "1.1.0" || in.current() != "1.1.0" {
		t.Fatalf("result line %v, current %s", res, in.current())
	}

	r = in.run(nil, "--update-only", "--json")
	if strings.TrimSpace(r.stdout) != `{"phase":"check","from":"1.1.0","done":0,"total":0}`+"\n"+`{"result":"up to date","version":"1.1.0"}` || r.code != 0 {
		t.Fatalf("up to date: exit %d\n%s", r.code, r.stdout)
	}
}

// docs/examples/update_button.py, run as the app would run it: it checks,
// updates with progress, and restarts through the launcher into 1.1.0.
func TestPythonExampleChecksUpdatesAndRestarts(t *testing.T) {
	python := testenv.LookPath(t, "python3", "apt-get install python3")
	e := newEnv(t)
	e.publish("1.0.0", sandbox.BundleOptions{})
	in := e.newInstall(nil)
	in.start("1.0.0")
	e.publish("1.1.0", sandbox.BundleOptions{}, "--meta", `{"notes": "faster startup"}`)

	root, err := sandbox.ModuleRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, filepath.Join(root, "docs", "examples", "update_button.py"), "--from-the-example")
	cmd.Env = append(os.Environ(), "TUFUP_LAUNCHER="+in.launcher, "SAMPLEAPP_OUT="+in.out)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("update_button.py: %v\n%s", err, out)
	}
	for _, want := range []string{"update available: 1.1.0", "faster startup", "downloading 1.1.0: 100%", "updated from 1.0.0 to 1.1.0; restarting"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The restarted launcher runs on after the example exits.
	deadline := time.Now().Add(30 * time.Second)
	for {
		runs := in.runs()
		if n := len(runs); n > 1 {
			if got := runs[n-1]; got.Version != "1.1.0" || strings.Join(got.Args, " ") != "--from-the-example" {
				t.Fatalf("restart ran %s with %v; want 1.1.0 with the example's arguments", got.Version, got.Args)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app was not restarted\n%s\nlog:\n%s", out, in.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
