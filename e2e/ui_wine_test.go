package e2e

// Issue 16 on Windows: the GUI-subsystem launcher.exe, run under Wine on a
// virtual X display, shows its Win32 progress window and failure dialog.
// Wine maps Win32 windows to X windows with the same titles, so xdotool
// finds, photographs and answers them as on Linux.

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tufup-go/tufup/internal/sandbox"
)

// publishLarge publishes a release of the Windows sample app with 1 MiB of
// data and no patch, so its download takes seconds when throttled.
func (w *wineEnv) publishLarge(version string) {
	w.t.Helper()
	bundle := filepath.Join(w.work, "dist", "sampleapp-"+version)
	if err := sandbox.WriteBundle(bundle, version, w.win.SampleApp, sandbox.BundleOptions{DataSize: 1 << 20}); err != nil {
		w.t.Fatal(err)
	}
	w.repo("add", version, bundle, "--skip-patch")
}

// startWine starts the launcher under Wine with extra environment and
// returns a channel that gets its exit code.
func (in *wineInstall) startWine(env []string) (<-chan int, *output) {
	in.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	in.t.Cleanup(cancel)
	cmd, out := in.command(ctx, env)
	if err := cmd.Start(); err != nil {
		in.t.Fatal(err)
	}
	code := make(chan int, 1)
	go func() { code <- wineExitCode(in.t, cmd.Wait()) }()
	in.t.Cleanup(func() { cmd.Process.Kill() })
	return code, out
}

func waitCode(t *testing.T, code <-chan int, out *output, within time.Duration) int {
	t.Helper()
	select {
	case c := <-code:
		return c
	case <-time.After(within):
		_, stderr := out.read()
		t.Fatalf("the launcher did not exit within %s\nstderr: %s", within, stderr)
	}
	return 0
}

func TestWineWindowCancelDuringAnUpdateStartsTheInstalledVersion(t *testing.T) {
	w := newWineEnv(t)
	x := startXvfb(t)
	w.publish("1.0.0", nil)
	// download_timeout must not end the update before Cancel does.
	in := w.newInstall(filepath.Join(t.TempDir(), "Sample App"), map[string]any{"display_name": displayName, "download_timeout": "2m"})
	in.start("1.0.0", nil)
	w.publishLarge("1.1.0")
	throttleTargets(w.env, 256<<10)

	code, out := in.startWine(x.env)
	x.cancelProgress("Updating Sample App from 1.0.0 to 1.1.0", "windows-update", time.Minute)
	if c := waitCode(t, code, out, time.Minute); c != 0 {
		_, stderr := out.read()
		t.Fatalf("exit %d after Cancel\n%s\nlog:\n%s", c, stderr, in.log())
	}
	runs := in.runs()
	if last := runs[len(runs)-1]; len(runs) != 2 || last.Version != "1.0.0" {
		t.Fatalf("after Cancel the app ran %d times, last %s; want 1.0.0 once more", len(runs), last.Version)
	}
	if in.current() != "1.0.0" || strings.Join(in.installed(), ",") != "1.0.0" {
		t.Fatalf("after Cancel: current %s, installed %v", in.current(), in.installed())
	}
	x.gone(displayName, 10*time.Second)
}

func TestWineWindowCancelDuringAFirstInstallExits(t *testing.T) {
	w := newWineEnv(t)
	x := startXvfb(t)
	w.publishLarge("1.0.0")
	in := w.newInstall(filepath.Join(t.TempDir(), "Sample App"), map[string]any{"display_name": displayName})
	throttleTargets(w.env, 256<<10)

	code, out := in.startWine(x.env)
	x.cancelProgress("Installing Sample App 1.0.0", "windows-first-install", time.Minute)
	if c := waitCode(t, code, out, time.Minute); c != 1 {
		_, stderr := out.read()
		t.Fatalf("exit %d after Cancel, want 1\n%s", c, stderr)
	}
	if len(in.runs()) != 0 || len(in.installed()) != 0 {
		t.Fatalf("after Cancel: app ran %d times, installed %v", len(in.runs()), in.installed())
	}
	if part, _ := filepath.Glob(filepath.Join(in.dir, ".tufup", "downloads", "*.part")); len(part) != 1 {
		t.Fatalf("no partial download kept for the next start: %v", part)
	}
	x.gone(displayName, 10*time.Second)
}

func TestWineNoWindowOnAStartWithNoUpdate(t *testing.T) {
	w := newWineEnv(t)
	x := startXvfb(t)
	w.publish("1.0.0", nil)
	in := w.newInstall(filepath.Join(t.TempDir(), "Sample App"), map[string]any{"display_name": displayName})
	in.start("1.0.0", nil)

	// Watch for any window naming the app for as long as the start runs.
	var seen atomic.Value
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			if out, _ := x.run("xdotool", "search", "--name", displayName); out != "" {
				seen.Store(out)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	in.start("1.0.0", x.env)
	close(stop)
	<-watched
	if s := seen.Load(); s != nil {
		t.Fatalf("a start with no update showed window %v", s)
	}
}

func TestWineFailureDialogOnAFirstStartWithTheServerDown(t *testing.T) {
	w := newWineEnv(t)
	x := startXvfb(t)
	w.publish("1.0.0", nil)
	in := w.newInstall(filepath.Join(t.TempDir(), "Sample App"), map[string]any{"display_name": displayName, "ui": "none"})
	w.srv.Close()
	plain := in.run(nil)
	setConfig(t, in.dir, "ui", "auto")
	os.Remove(filepath.Join(in.dir, ".tufup", "launcher.log"))

	code, out := in.startWine(x.env)
	id, title := x.window(displayName, time.Minute)
	if title != displayName {
		t.Fatalf("dialog title %q", title)
	}
	x.screenshot(id, "windows-first-start-failed")
	x.key(id, "Return") // Retry: the server is still down, so the dialog comes back
	x.destroyed(id, 10*time.Second)
	id, _ = x.window(displayName, 30*time.Second)
	x.key(id, "Escape")
	if c := waitCode(t, code, out, time.Minute); c != plain.code || c != 1 {
		t.Fatalf("exit %d after Close; without a window it is %d, want 1 both", c, plain.code)
	}
	if n := strings.Count(in.log(), `msg="first install failed`); n != 2 {
		t.Fatalf("%d attempts logged, want 2 (the start and the Retry):\n%s", n, in.log())
	}
}
