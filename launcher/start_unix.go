//go:build !windows

package launcher

import (
	"os"
	"os/exec"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// canExec: on Unix the launcher replaces itself with the app.
const canExec = true

func execApp(path string, args, env []string) error {
	flushCoverage()
	return syscall.Exec(path, append([]string{path}, args...), env)
}

func configureChild(*exec.Cmd, bool) {}

// detach puts a background process in its own session, so the terminal's
// signals and the app's end do not stop it.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
}

// forwardSignals passes the signals a terminal or service manager sends to
// the launcher on to the app, which decides what they mean. stop ends it and
// tells whether any signal was passed on.
func forwardSignals(p *os.Process) (stop func() (forwarded bool)) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	var sent atomic.Bool
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case sig := <-ch:
				sent.Store(true)
				p.Signal(sig)
			case <-done:
				return
			}
		}
	}()
	return func() bool {
		signal.Stop(ch)
		close(done)
		<-finished
		// A signal that arrived as the app ended may still wait here.
		select {
		case <-ch:
			sent.Store(true)
		default:
		}
		return sent.Load()
	}
}

// exitCode follows the shell's convention: 128+n for a child killed by
// signal n.
func exitCode(err *exec.ExitError) int {
	if ws, ok := err.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return err.ExitCode()
}
