//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A server a walkthrough starts in the background does not outlive the check.
func TestBackgroundProcessesAreStopped(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	_, err := check(t, "```sh\nsleep 300 &\necho $! > "+pidFile+"\n```\n")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	// The killed process may linger as a zombie of a reaped-late shell for
	// a moment; poll its state rather than guess a delay.
	for i := 0; ; i++ {
		alive := syscall.Kill(pid, 0) == nil
		if stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil && strings.Contains(string(stat), ") Z ") {
			alive = false
		}
		if !alive {
			break
		}
		if i == 100 {
			t.Fatalf("background process %d still runs after the check", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
