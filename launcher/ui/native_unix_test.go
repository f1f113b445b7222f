//go:build !windows && !darwin

package ui

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

func TestDisplayReachableOnlyWhenSomethingListens(t *testing.T) {
	dir, err := os.MkdirTemp("", "ui") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	wayland := filepath.Join(dir, "wayland-9")
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if displayReachable(env(map[string]string{"WAYLAND_DISPLAY": "wayland-9", "XDG_RUNTIME_DIR": dir})) {
		t.Fatal("a Wayland display nobody serves counted as reachable")
	}
	ln, err := net.Listen("unix", wayland)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if !displayReachable(env(map[string]string{"WAYLAND_DISPLAY": "wayland-9", "XDG_RUNTIME_DIR": dir})) {
		t.Fatal("a served Wayland display counted as unreachable")
	}

	// X: what Xvfb serves is shown by e2e/ui_linux_test.go; here, names
	// that are malformed or served by nobody.
	for _, d := range []string{"", "nonsense", ":x", ":987", "unix:987.0"} {
		if displayReachable(env(map[string]string{"DISPLAY": d})) {
			t.Errorf("DISPLAY=%q counted as reachable", d)
		}
	}
}
