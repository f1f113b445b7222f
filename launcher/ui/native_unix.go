//go:build !windows && !darwin

package ui

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// native is the desktop's own dialog tool, when a display is there.
func native() backend {
	if !displayReachable(os.Getenv) {
		return none{}
	}
	return desktop{}
}

// displayReachable tells whether the X or Wayland display the environment
// names accepts connections. A stale DISPLAY (an old ssh session) would
// make zenity exit at once, which must not look like the user's Cancel.
func displayReachable(getenv func(string) string) bool {
	if w := getenv("WAYLAND_DISPLAY"); w != "" {
		if !filepath.IsAbs(w) {
			w = filepath.Join(getenv("XDG_RUNTIME_DIR"), w)
		}
		if dial("unix", w) {
			return true
		}
	}
	d := getenv("DISPLAY")
	host, rest, ok := strings.Cut(d, ":")
	if !ok {
		return false
	}
	number, _, _ := strings.Cut(rest, ".")
	n, err := strconv.Atoi(number)
	if err != nil {
		return false
	}
	if host == "" || host == "unix" {
		socket := "/tmp/.X11-unix/X" + number
		// Linux X servers also listen on the abstract socket of that name.
		return dial("unix", socket) || (runtime.GOOS == "linux" && dial("unix", "@"+socket))
	}
	return dial("tcp", net.JoinHostPort(host, strconv.Itoa(6000+n)))
}

func dial(network, addr string) bool {
	c, err := net.DialTimeout(network, addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// desktop draws through zenity (GNOME and most others), else yad, whose
// progress dialogs read the same lines on stdin: a percentage, or "#" and
// the text. kdialog only serves failure dialogs: its progress bar is
// driven over D-Bus instead.
type desktop struct{}

func lookTool(names ...string) string {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

func (desktop) open(v view) (window, error) {
	tool := lookTool("zenity", "yad")
	if tool == "" {
		return nil, errNoWindow
	}
	cmd := exec.Command(tool, "--progress", "--title="+v.Title, "--text="+v.Heading, "--percentage=0", "--width=460")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", tool, err)
	}
	w := &pipeWindow{cmd: cmd, stdin: stdin, gone: make(chan struct{})}
	go func() {
		// zenity and yad exit non-zero on Cancel or when the window is
		// closed; either way the window is gone.
		cmd.Wait()
		close(w.gone)
	}()
	w.show(v)
	return w, nil
}

type pipeWindow struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	gone  chan struct{}
	last  view
}

func (w *pipeWindow) show(v view) {
	if v == w.last {
		return
	}
	w.last = v
	// One "#" line is the label; the tools expand \n in it.
	text := strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(v.Heading + "\n" + v.Detail)
	// A write error means the window is gone; canceled tells.
	fmt.Fprintf(w.stdin, "%d\n#%s\n", min(v.Percent, 99), text)
}

func (w *pipeWindow) canceled() <-chan struct{} { return w.gone }

func (w *pipeWindow) close() {
	w.stdin.Close()
	w.cmd.Process.Kill()
	<-w.gone
}

func (desktop) fail(f Failure) (bool, error) {
	var cmd *exec.Cmd
	switch tool := lookTool("zenity", "kdialog", "yad"); {
	case tool == "":
		return false, errNoWindow
	case strings.HasSuffix(tool, "zenity"):
		cmd = exec.Command(tool, "--question", "--title="+f.Title, "--text="+f.Text(), "--no-markup",
			"--icon-name=dialog-error", "--ok-label=Retry", "--cancel-label=Close", "--width=460")
	case strings.HasSuffix(tool, "kdialog"):
		cmd = exec.Command(tool, "--title", f.Title, "--warningyesno", f.Text(), "--yes-label", "Retry", "--no-label", "Close")
	default:
		markup := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(f.Text())
		cmd = exec.Command(tool, "--title="+f.Title, "--text="+markup, "--image=dialog-error", "--width=460",
			"--button=Close:1", "--button=Retry:0")
	}
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true, nil // Retry
	case errors.As(err, &exit):
		return false, nil // Close, or the window closed
	default:
		return false, err
	}
}
