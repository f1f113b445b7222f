// Command sampleapp is the small app the demo and the end-to-end tests
// publish and install. It reports what the launcher gave it: its version
// (from the VERSION file next to it), its arguments, its folder and the
// TUFUP_* environment.
//
// Behaviour for tests, all optional:
//
//	SAMPLEAPP_OUT=file   append a JSON line describing this run to file
//	SAMPLEAPP_EXIT=n     exit with code n
//	SAMPLEAPP_SLEEP=d    sleep for duration d before exiting
//	SAMPLEAPP_WAIT=file  keep running until file exists (a test decides when
//	                     a running version exits, with no guessed duration)
//	a file CRASH next to the executable makes it crash at start (exit 3)
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

type run struct {
	Version    string   `json:"version"`
	Args       []string `json:"args"`
	Exe        string   `json:"exe"`
	Dir        string   `json:"dir"`
	Cwd        string   `json:"cwd"`
	Launcher   string   `json:"launcher"`
	EnvVersion string   `json:"env_version"`
	InstallDir string   `json:"install_dir"`
	PID        int      `json:"pid"`
}

func main() {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sampleapp:", err)
		os.Exit(1)
	}
	dir := filepath.Dir(exe)
	v, _ := os.ReadFile(filepath.Join(dir, "VERSION"))
	cwd, _ := os.Getwd()
	r := run{
		Version:    strings.TrimSpace(string(v)),
		Args:       os.Args[1:],
		Exe:        exe,
		Dir:        dir,
		Cwd:        cwd,
		Launcher:   os.Getenv("TUFUP_LAUNCHER"),
		EnvVersion: os.Getenv("TUFUP_VERSION"),
		InstallDir: os.Getenv("TUFUP_INSTALL_DIR"),
		PID:        os.Getpid(),
	}
	if r.Args == nil {
		r.Args = []string{}
	}
	if out := os.Getenv("SAMPLEAPP_OUT"); out != "" {
		b, _ := json.Marshal(r)
		f, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			f.Write(append(b, '\n'))
			f.Close()
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "CRASH")); err == nil {
		fmt.Fprintf(os.Stderr, "sampleapp %s: crashing at start, as its CRASH file asks\n", r.Version)
		os.Exit(3)
	}
	fmt.Printf("sampleapp %s running from %s with arguments %q\n", r.Version, dir, r.Args)
	if d, err := time.ParseDuration(os.Getenv("SAMPLEAPP_SLEEP")); err == nil {
		time.Sleep(d)
	}
	if f := os.Getenv("SAMPLEAPP_WAIT"); f != "" {
		for {
			if _, err := os.Stat(f); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if code, err := strconv.Atoi(os.Getenv("SAMPLEAPP_EXIT")); err == nil {
		os.Exit(code)
	}
}
