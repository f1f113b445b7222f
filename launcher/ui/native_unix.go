//go:build !windows && !darwin

package ui

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// native is the desktop's own dialog tool, when a display is there.
func native() backend {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return none{}
	}
	return desktop{}
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
