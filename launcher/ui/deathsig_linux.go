package ui

import (
	"os/exec"
	"syscall"
)

// dieWithParent ends the dialog tool when the launcher dies (killed, or
// crashed), so no window stays behind showing progress that stopped.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
