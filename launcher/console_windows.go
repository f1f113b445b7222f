package launcher

import (
	"io"
	"os"
	"sync"
)

// Output returns where the launcher's own messages (--help, --status,
// errors) go. A launcher built for the GUI subsystem and started from a
// terminal has no standard output: its first message attaches it to the
// terminal's console and goes there. Redirected output (a pipe, a file)
// is used as it is.
func Output() (stdout, stderr io.Writer) {
	missing := missingStdHandles()
	if !missing.out && !missing.err {
		return os.Stdout, os.Stderr
	}
	c := &lazyConsole{}
	stdout, stderr = io.Writer(os.Stdout), io.Writer(os.Stderr)
	if missing.out {
		stdout = c
	}
	if missing.err {
		stderr = c
	}
	return stdout, stderr
}

// lazyConsole attaches to the parent's console on the first write, so a
// start without messages never touches the console.
type lazyConsole struct {
	once sync.Once
	f    *os.File
}

func (c *lazyConsole) Write(p []byte) (int, error) {
	c.once.Do(func() {
		if attachParentConsole() {
			c.f, _ = os.OpenFile("CONOUT$", os.O_RDWR, 0)
		}
	})
	if c.f == nil {
		return len(p), nil // nowhere to show it; the log has what matters
	}
	return c.f.Write(p)
}
