//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// newProcessGroup starts the session in its own process group, so that
// whatever it leaves running can be found and stopped.
func newProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killProcessGroup kills the session's process group: the session's shell
// and everything it started (it is the group's leader, so the group's id
// is its pid).
func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
