package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/tufup-go/tufup/internal/sandbox"
	"github.com/tufup-go/tufup/repo"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"launcher": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// The scripts in testdata are a user's terminal sessions with a launcher
// set up wrong in one way each: the command, the exact message and the exit
// code. A launcher finds launcher.json and root.json next to its executable,
// so "install-launcher DIR" puts a copy of it (this test binary, which runs
// as the launcher under that name) into DIR.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"install-launcher": cmdInstallLauncher,
			"mkrepo":           cmdMkrepo,
			"serve":            cmdServe,
			"silent-server":    cmdSilentServer,
			"expandenv":        cmdExpandenv,
			"exits":            cmdExits,
		},
	})
}

// install-launcher DIR links (or copies) the launcher into DIR.
func cmdInstallLauncher(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: install-launcher DIR")
	}
	self, err := os.Executable()
	ts.Check(err)
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dir, 0o755))
	dst := filepath.Join(dir, "launcher")
	if err := os.Link(self, dst); err == nil {
		return
	}
	data, err := os.ReadFile(self)
	ts.Check(err)
	ts.Check(os.WriteFile(dst, data, 0o755))
}

// mkrepo DIR APP VERSION... initializes a tufup repository in DIR (keys in
// DIR/keystore, served files in DIR/repository) and publishes each VERSION
// of APP: a bundle whose entry point APP is a script printing "APP VERSION".
func cmdMkrepo(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: mkrepo DIR APP [VERSION...]")
	}
	dir, app := ts.MkAbs(args[0]), args[1]
	ts.Check(os.MkdirAll(dir, 0o755))
	r, err := repo.Init(dir, repo.DefaultConfig(app), repo.Options{})
	ts.Check(err)
	for _, v := range args[2:] {
		bundle := filepath.Join(dir, "bundles", v)
		ts.Check(os.MkdirAll(bundle, 0o755))
		ts.Check(os.WriteFile(filepath.Join(bundle, app), fmt.Appendf(nil, "#!/bin/sh\necho %s %s \"$@\"\n", app, v), 0o755))
		ts.Check(r.Add(context.Background(), v, bundle, repo.AddOptions{}))
	}
}

// serve DIR VAR serves DIR over HTTP on 127.0.0.1 and sets VAR to its URL.
func cmdServe(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: serve DIR VAR")
	}
	s, err := sandbox.Serve(ts.MkAbs(args[0]))
	ts.Check(err)
	ts.Defer(func() { s.Close() })
	ts.Setenv(args[1], s.URL)
}

// silent-server VAR listens on 127.0.0.1, accepts connections and never
// answers, and sets VAR to its URL.
func cmdSilentServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: silent-server VAR")
	}
	s, err := sandbox.ServeSilent()
	ts.Check(err)
	ts.Defer(func() { s.Close() })
	ts.Setenv(args[0], "http://"+s.Addr)
}

// expandenv FILE replaces $VAR and ${VAR} in FILE with the script's
// environment (for URLs under $WORK in launcher.json).
func cmdExpandenv(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: expandenv FILE")
	}
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(os.Expand(string(data), ts.Getenv)), 0o644))
}

// exits CODE PROGRAM [ARGS...] runs PROGRAM as exec does and checks its
// exit code.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		got = exitErr.ExitCode()
	case err != nil:
		ts.Fatalf("run %s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}
