package e2e

// Helpers of the window tests (ui_linux_test.go, ui_wine_test.go): a
// virtual X display, finding windows by title with xdotool, screenshots,
// keys, and a throttled download.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tufup-go/tufup/internal/testenv"
)

// displayName is the app name the window tests give launcher.json, and
// so the title they look for.
const displayName = "Sample App"

// xdisplay is a virtual X display (Xvfb) for the test.
type xdisplay struct {
	t   *testing.T
	env []string // DISPLAY=:N
}

// startXvfb starts Xvfb on a free display; it is stopped when the test
// ends. Without Xvfb, xdotool or ImageMagick's import the test skips
// (fails under TUFUP_TEST_STRICT).
func startXvfb(t *testing.T) *xdisplay {
	t.Helper()
	xvfb := testenv.LookPath(t, "Xvfb", "xvfb")
	testenv.LookPath(t, "xdotool", "xdotool")
	testenv.LookPath(t, "import", "imagemagick")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// -displayfd: Xvfb picks a free display and writes its number.
	cmd := exec.Command(xvfb, "-displayfd", "3", "-screen", "0", "1024x768x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Xvfb: %v", err)
	}
	w.Close()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
		r.Close()
	}()
	select {
	case n := <-line:
		if n == "" {
			t.Fatal("Xvfb did not report its display")
		}
		return &xdisplay{t: t, env: []string{"DISPLAY=:" + n, "WAYLAND_DISPLAY="}}
	case <-time.After(20 * time.Second):
		t.Fatal("Xvfb did not start in 20 s")
	}
	return nil
}

func (x *xdisplay) run(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), x.env...)
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

// until polls cond every 100 ms and fails the test with what when it is
// still false after within.
func (x *xdisplay) until(within time.Duration, what string, cond func() bool) {
	x.t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			x.t.Fatalf("%s within %s", what, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (x *xdisplay) search(name string) []string {
	out, _ := x.run("xdotool", "search", "--onlyvisible", "--name", name)
	return strings.Fields(out)
}

// window waits for a visible window whose title contains name and returns
// its id and full title.
func (x *xdisplay) window(name string, within time.Duration) (id, title string) {
	x.t.Helper()
	var ids []string
	x.until(within, fmt.Sprintf("no window titled %q appeared", name), func() bool {
		ids = x.search(name)
		return len(ids) > 0
	})
	id = ids[len(ids)-1]
	title, _ = x.run("xdotool", "getwindowname", id)
	return id, title
}

// gone waits until no visible window's title contains name.
func (x *xdisplay) gone(name string, within time.Duration) {
	x.t.Helper()
	x.until(within, fmt.Sprintf("window %q still there", name), func() bool { return len(x.search(name)) == 0 })
}

// destroyed waits until the window id no longer exists.
func (x *xdisplay) destroyed(id string, within time.Duration) {
	x.t.Helper()
	x.until(within, "window "+id+" still there", func() bool {
		_, err := x.run("xdotool", "getwindowname", id)
		return err != nil
	})
}

// cancelProgress waits for the progress window, requires its title,
// saves a screenshot once the speed and time left show, and presses
// Cancel (Escape).
func (x *xdisplay) cancelProgress(wantTitle, screenshot string, within time.Duration) {
	x.t.Helper()
	id, title := x.window(displayName, within)
	if title != wantTitle {
		x.t.Fatalf("window title %q, want %q", title, wantTitle)
	}
	time.Sleep(1500 * time.Millisecond)
	x.screenshot(id, screenshot)
	x.key(id, "Escape")
}

// key gives the window the keyboard focus and types keys (xdotool names:
// Escape, Return).
func (x *xdisplay) key(id string, keys ...string) {
	x.t.Helper()
	if out, err := x.run("xdotool", append([]string{"windowfocus", "--sync", id, "key", "--clearmodifiers"}, keys...)...); err != nil {
		x.t.Fatalf("xdotool key %v: %v %s", keys, err, out)
	}
}

// screenshot saves the window as name.png among the test's artifacts:
// $TUFUP_ARTIFACTS when set (CI keeps them), else a folder under the
// system's temporary folder, named in the test log.
func (x *xdisplay) screenshot(id, name string) string {
	x.t.Helper()
	dir := os.Getenv("TUFUP_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "tufup-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		x.t.Fatal(err)
	}
	p := filepath.Join(dir, name+".png")
	time.Sleep(500 * time.Millisecond) // a window just mapped may not be painted yet
	if out, err := x.run("import", "-window", id, p); err != nil {
		x.t.Fatalf("screenshot of window %s: %v %s", id, err, out)
	}
	x.t.Logf("screenshot: %s", p)
	return p
}

// toolSpy puts a wrapper named tool first on PATH that logs each start
// (its arguments, one line) before running the real tool, so a test can
// tell that no window was ever created. It returns the PATH entry and the
// log.
func toolSpy(t *testing.T, tool string) (pathEnv, log string) {
	t.Helper()
	real := testenv.LookPath(t, tool, tool)
	dir := t.TempDir()
	log = filepath.Join(dir, tool+".log")
	// One record per start, ended by an ASCII record separator, since the
	// arguments may hold newlines.
	script := fmt.Sprintf("#!/bin/sh\nprintf '%%s\\036' \"$*\" >> '%s'\nexec '%s' \"$@\"\n", log, real)
	if err := os.WriteFile(filepath.Join(dir, tool), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return "PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH"), log
}

// spyStarts lists the spied tool's starts, their arguments joined by spaces.
func spyStarts(log string) []string {
	b, _ := os.ReadFile(log)
	starts := strings.Split(string(b), "\x1e")
	return starts[:len(starts)-1]
}

// throttleTargets makes the server send archives and patches at about
// rate bytes per second (Range requests honoured, so downloads resume).
func throttleTargets(e *env, rate int) {
	e.srv.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/targets/") {
			return false
		}
		f, err := os.Open(filepath.Join(e.targetsDir(), filepath.Base(r.URL.Path)))
		if err != nil {
			return false
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return false
		}
		http.ServeContent(slowWriter{w, rate, r.Context()}, r, fi.Name(), fi.ModTime(), f)
		return true
	})
}

type slowWriter struct {
	http.ResponseWriter
	rate int
	ctx  context.Context // the request's: done when the client went away
}

func (s slowWriter) Write(b []byte) (int, error) {
	const chunk = 8 << 10
	written := 0
	for len(b) > 0 {
		n := min(chunk, len(b))
		m, err := s.ResponseWriter.Write(b[:n])
		written += m
		if err != nil {
			return written, err
		}
		s.ResponseWriter.(http.Flusher).Flush()
		b = b[n:]
		select {
		case <-s.ctx.Done():
			return written, s.ctx.Err()
		case <-time.After(time.Duration(n) * time.Second / time.Duration(s.rate)):
		}
	}
	return written, nil
}

// started is a launcher running in the background.
type started struct {
	cmd    *exec.Cmd
	done   chan struct{}
	code   int
	stderr bytes.Buffer
}

// startAsync starts the launcher of in with extra environment, as a
// shortcut would (no terminal), and returns at once.
func (in *install) startAsync(env []string, args ...string) *started {
	in.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	in.t.Cleanup(cancel)
	s := &started{done: make(chan struct{})}
	s.cmd = exec.CommandContext(ctx, in.launcher, args...)
	s.cmd.Env = append(append(os.Environ(), "SAMPLEAPP_OUT="+in.out), env...)
	s.cmd.Stderr = &s.stderr
	if err := s.cmd.Start(); err != nil {
		in.t.Fatal(err)
	}
	go func() {
		s.cmd.Wait()
		s.code = s.cmd.ProcessState.ExitCode()
		close(s.done)
	}()
	in.t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.done
	})
	return s
}

// wait waits for the launcher to exit and returns its exit code.
func (s *started) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-s.done:
		return s.code
	case <-time.After(within):
		t.Fatalf("the launcher did not exit within %s\nstderr: %s", within, s.stderr.String())
	}
	return 0
}
