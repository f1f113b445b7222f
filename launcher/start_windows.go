package launcher

import (
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// canExec: Windows has no exec; the launcher waits for the app as a child
// and passes on its exit code.
const canExec = false

func execApp(string, []string, []string) error { return syscall.EWINDOWS }

// configureChild gives a console app its own console window unless the
// launcher was asked to share its console.
func configureChild(cmd *exec.Cmd, shareConsole bool) {
	const createNewConsole = 0x00000010
	if !shareConsole {
		cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: createNewConsole}
	}
}

// forwardSignals ignores Ctrl+C in the launcher: the app shares the console
// and receives it itself; the launcher waits for the app's exit code.
func forwardSignals(*os.Process) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt)
	return func() { signal.Stop(ch) }
}

func exitCode(err *exec.ExitError) int { return err.ExitCode() }
