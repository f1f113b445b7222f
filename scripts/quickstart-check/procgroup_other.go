//go:build !unix

package main

import "os/exec"

// newProcessGroup does nothing here: the walkthroughs are POSIX shell
// sessions, checked on Unix.
func newProcessGroup(*exec.Cmd) {}

// killProcessGroup kills the session's shell; processes it started in the
// background may outlive it on this OS.
func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		cmd.Process.Kill()
	}
}
