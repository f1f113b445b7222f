//go:build !windows

package launcher

import (
	"io"
	"os"
)

// Output returns where the launcher's own messages (--help, --status,
// errors) go: standard output and error. (A Windows GUI-subsystem build
// attaches to the terminal's console first; see console_windows.go.)
func Output() (stdout, stderr io.Writer) { return os.Stdout, os.Stderr }
