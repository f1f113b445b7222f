//go:build linux

package e2e

// Issue 16 on Linux: the launcher started without a terminal shows its
// work through real zenity on a virtual X display (Xvfb). Windows are
// found by title with xdotool, photographed, and answered with keys.

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tufup-go/tufup/internal/sandbox"
)

// zenityDisplay is a virtual display and the environment that makes the
// launcher use it, with zenity's starts logged.
func zenityDisplay(t *testing.T) (x *xdisplay, env []string, spyLog string) {
	x = startXvfb(t)
	path, log := toolSpy(t, "zenity")
	return x, append(x.env, path), log
}

func TestWindowCancelDuringAnUpdateStartsTheInstalledVersion(t *testing.T) {
	x, env, _ := zenityDisplay(t)
	e := newEnv(t)
	e.publish("1.0.0", sandbox.BundleOptions{})
	// download_timeout must not end the update before Cancel does.
	in := e.newInstall(map[string]any{"display_name": displayName, "download_timeout": "2m"})
	in.start("1.0.0")
	// The full archive (about 2.5 MB), sent at 256 KiB/s: about 10 s.
	e.publish("1.1.0", sandbox.BundleOptions{DataSize: 1 << 20}, "--skip-patch")
	throttleTargets(e, 256<<10)

	s := in.startAsync(env)
	x.cancelProgress("Updating Sample App from 1.0.0 to 1.1.0", "linux-update", 20*time.Second)
	canceled := time.Now()
	if code := s.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("exit %d after Cancel\n%s", code, s.stderr.String())
	}
	runs := in.runs()
	if last := runs[len(runs)-1]; len(runs) != 2 || last.Version != "1.0.0" {
		t.Fatalf("after Cancel the app ran %d times, last %s; want 1.0.0 once more", len(runs), last.Version)
	}
	t.Logf("the installed version ran %s after Cancel", time.Since(canceled).Round(time.Millisecond))
	if in.current() != "1.0.0" || strings.Join(in.installed(), ",") != "1.0.0" {
		t.Fatalf("after Cancel: current %s, installed %v", in.current(), in.installed())
	}
	x.gone(displayName, 5*time.Second)
}

func TestWindowCancelDuringAFirstInstallExitsAndTheNextStartResumes(t *testing.T) {
	x, env, _ := zenityDisplay(t)
	e := newEnv(t)
	e.publish("1.0.0", sandbox.BundleOptions{DataSize: 1 << 20})
	in := e.newInstall(map[string]any{"display_name": displayName})
	throttleTargets(e, 256<<10)

	s := in.startAsync(env)
	x.cancelProgress("Installing Sample App 1.0.0", "linux-first-install", 20*time.Second)
	if code := s.wait(t, 15*time.Second); code != 1 || !strings.Contains(s.stderr.String(), "canceled") {
		t.Fatalf("exit %d after Cancel, want 1\n%s", code, s.stderr.String())
	}
	if len(in.runs()) != 0 || len(in.installed()) != 0 {
		t.Fatalf("after Cancel: app ran %d times, installed %v", len(in.runs()), in.installed())
	}
	x.gone(displayName, 5*time.Second)
	part, _ := filepath.Glob(filepath.Join(in.dir, ".tufup", "downloads", "*.part"))
	if len(part) != 1 {
		t.Fatalf("no partial download kept: %v", part)
	}
	kept, _ := os.Stat(part[0])

	e.srv.Intercept(nil)
	e.srv.ResetLog()
	in.start("1.0.0")
	var resumed bool
	for _, r := range e.srv.Requests() {
		resumed = resumed || (strings.HasSuffix(r.Path, ".tar.gz") && r.Range != "")
	}
	if !resumed || kept.Size() == 0 {
		t.Fatalf("the next start did not resume the %d bytes kept: %+v", kept.Size(), e.srv.Requests())
	}
}

func TestNoWindowOnAStartWithNoUpdateNorForAnUpdateProblem(t *testing.T) {
	_, env, spy := zenityDisplay(t)
	e := newEnv(t)
	e.publish("1.0.0", sandbox.BundleOptions{})
	in := e.newInstall(map[string]any{"display_name": displayName})
	in.start("1.0.0")
	r := in.run(env)
	if r.code != 0 || len(r.runs) != 1 || r.runs[0].Version != "1.0.0" {
		t.Fatalf("exit %d, runs %v\n%s", r.code, r.runs, r.stderr)
	}
	if starts := spyStarts(spy); len(starts) != 0 {
		t.Fatalf("a start with no update opened windows: %q", starts)
	}
	// With a version installed, an update problem shows nothing either.
	e.srv.Close()
	r = in.run(env)
	if r.code != 0 || len(r.runs) != 1 || r.runs[0].Version != "1.0.0" {
		t.Fatalf("server down: exit %d, runs %v\n%s", r.code, r.runs, r.stderr)
	}
	if starts := spyStarts(spy); len(starts) != 0 {
		t.Fatalf("an update problem with a version installed opened windows: %q", starts)
	}
}

func TestFailureDialogOnAFirstStartWithTheServerDown(t *testing.T) {
	x, env, spy := zenityDisplay(t)
	e := newEnv(t)
	e.publish("1.0.0", sandbox.BundleOptions{})
	in := e.newInstall(map[string]any{"display_name": displayName, "ui": "none"})
	e.srv.Close()
	// What the launcher does without a window: the exit code to keep.
	plain := in.run(nil)
	setConfig(t, in.dir, "ui", "auto")

	s := in.startAsync(env)
	id, title := x.window(displayName, 20*time.Second)
	if title != displayName {
		t.Fatalf("dialog title %q", title)
	}
	x.screenshot(id, "linux-first-start-failed")
	starts := spyStarts(spy)
	if len(starts) != 1 || !strings.Contains(starts[0], "no connection to its update server") ||
		!strings.Contains(starts[0], filepath.Join(in.dir, ".tufup", "launcher.log")) {
		t.Fatalf("dialog %q: want the cause in plain words and the log's path", starts)
	}
	x.key(id, "Return") // Retry: the server is still down, so the dialog comes back
	deadline := time.Now().Add(20 * time.Second)
	for len(spyStarts(spy)) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("Retry did not try again: %q\n%s", spyStarts(spy), in.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	id, _ = x.window(displayName, 20*time.Second)
	x.key(id, "Escape") // Close
	if code := s.wait(t, 15*time.Second); code != plain.code || code != 1 {
		t.Fatalf("exit %d after Close; without a window it is %d, want 1 both", code, plain.code)
	}
	x.gone(displayName, 5*time.Second)
}

// The dialog names each cause in the user's terms: a server that answers
// with an error, and a download that fails verification.
func TestFailureDialogNamesTheCause(t *testing.T) {
	for _, c := range []struct {
		name, want string
		break_     func(e *env)
	}{
		{"server error", "its update server answered with an error (HTTP 503)", func(e *env) {
			e.srv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
				http.Error(w, "maintenance", http.StatusServiceUnavailable)
				return true
			})
		}},
		{"not verified", "the download could not be verified", func(e *env) {
			archive := filepath.Join(e.targetsDir(), "sampleapp-1.0.0.tar.gz")
			b, err := os.ReadFile(archive)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 0xff
			if err := os.WriteFile(archive, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			x, env, spy := zenityDisplay(t)
			e := newEnv(t)
			e.publish("1.0.0", sandbox.BundleOptions{})
			in := e.newInstall(map[string]any{"display_name": displayName})
			c.break_(e)
			s := in.startAsync(env)
			id, _ := x.window(displayName, 20*time.Second)
			if starts := spyStarts(spy); len(starts) != 1 || !strings.Contains(starts[0], c.want) {
				t.Fatalf("dialog %q; want it to say %q", starts, c.want)
			}
			x.key(id, "Escape")
			if code := s.wait(t, 15*time.Second); code != 1 {
				t.Fatalf("exit %d after Close, want 1", code)
			}
		})
	}
}

// Retry in the failure dialog tries again: once the server is back, the
// first start installs and starts the app.
func TestRetryInstallsOnceTheServerIsBack(t *testing.T) {
	x, env, _ := zenityDisplay(t)
	e := newEnv(t)
	e.publish("1.0.0", sandbox.BundleOptions{})
	in := e.newInstall(map[string]any{"display_name": displayName})
	e.srv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
		return true
	})
	s := in.startAsync(env)
	id, _ := x.window(displayName, 20*time.Second)
	e.srv.Intercept(nil)
	x.key(id, "Return")
	if code := s.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d after Retry\n%s\nlog:\n%s", code, s.stderr.String(), in.log())
	}
	if runs := in.runs(); len(runs) != 1 || runs[0].Version != "1.0.0" || in.current() != "1.0.0" {
		t.Fatalf("after Retry: runs %+v, current %s", runs, in.current())
	}
}
