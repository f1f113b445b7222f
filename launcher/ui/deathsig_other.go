//go:build !linux && !windows && !darwin

package ui

import "os/exec"

// dieWithParent: only Linux can tie a child's life to its parent's, so on
// the BSDs a window can outlive a launcher that is killed.
func dieWithParent(*exec.Cmd) {}
