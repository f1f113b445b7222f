package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tufup-go/tufup/internal/sandbox"
)

// builds caches the binaries per build flavour for the whole test run.
var builds struct {
	sync.Mutex
	dir   string
	cover bool
	m     map[string]sandbox.Binaries
}

// CoverDirEnv names a folder: when set, the binaries are built with -cover
// and every run of them writes its coverage data there (GOCOVERDIR), for
// scripts/coverage to merge with the unit tests'.
const CoverDirEnv = "TUFUP_COVER_DIR"

func TestMain(m *testing.M) {
	if cov := os.Getenv(CoverDirEnv); cov != "" {
		abs, err := filepath.Abs(cov)
		if err == nil {
			err = os.MkdirAll(abs, 0o755)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", CoverDirEnv, err)
			os.Exit(1)
		}
		// Inherited by every program the tests start.
		os.Setenv("GOCOVERDIR", abs)
		builds.cover = true
	}
	dir, err := os.MkdirTemp("", "tufup-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	builds.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// binaries builds (once per run) the launcher, tufup-repo and the sample
// app; tags select a flavour such as "crashtest".
func binaries(t testing.TB, tags ...string) sandbox.Binaries {
	t.Helper()
	builds.Lock()
	defer builds.Unlock()
	key := strings.Join(tags, ",")
	if b, ok := builds.m[key]; ok {
		return b
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := filepath.Join(builds.dir, "flavour-"+strings.ReplaceAll(key, ",", "-"))
	b, err := sandbox.Build(ctx, out, sandbox.BuildOptions{Tags: tags, Cover: builds.cover})
	if err != nil {
		t.Fatalf("build binaries: %v", err)
	}
	if builds.m == nil {
		builds.m = map[string]sandbox.Binaries{}
	}
	builds.m[key] = b
	return b
}

// env is one build machine, one repository served over HTTP, and installs.
type env struct {
	t    *testing.T
	bins sandbox.Binaries
	work string // the build machine's folder (holds .tufup-repo-config)
	srv  *sandbox.Server
}

func newEnv(t *testing.T, tags ...string) *env {
	t.Helper()
	e := &env{t: t, bins: binaries(t, tags...), work: filepath.Join(t.TempDir(), "build")}
	if err := os.MkdirAll(e.work, 0o755); err != nil {
		t.Fatal(err)
	}
	e.repo("init", "--app-name", "sampleapp")
	srv, err := sandbox.Serve(filepath.Join(e.work, "repository"))
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	t.Cleanup(func() { srv.Close() })
	return e
}

// repo runs tufup-repo in the build machine's folder.
func (e *env) repo(args ...string) string {
	e.t.Helper()
	cmd := exec.Command(e.bins.TufupRepo, append([]string{"-C", e.work}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		e.t.Fatalf("tufup-repo %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// publish makes a bundle of the sample app and adds it as a release.
func (e *env) publish(version string, o sandbox.BundleOptions, addArgs ...string) string {
	e.t.Helper()
	bundle := e.bundle(version, o)
	e.repo(append([]string{"add", version, bundle}, addArgs...)...)
	return bundle
}

func (e *env) bundle(version string, o sandbox.BundleOptions) string {
	e.t.Helper()
	if o.DataSize == 0 {
		o.DataSize = 256 << 10
	}
	bundle := filepath.Join(e.work, "dist", "sampleapp-"+version)
	if err := sandbox.WriteBundle(bundle, version, e.bins.SampleApp, o); err != nil {
		e.t.Fatal(err)
	}
	return bundle
}

func (e *env) targetsDir() string  { return filepath.Join(e.work, "repository", "targets") }
func (e *env) metadataDir() string { return filepath.Join(e.work, "repository", "metadata") }

// install is one user's installed launcher.
type install struct {
	t        *testing.T
	dir      string
	launcher string
	out      string // the sample app's run log
}

// newInstall lays out a fresh install (launcher, launcher.json, root.json)
// pointing at the env's server; extra overrides launcher.json keys.
func (e *env) newInstall(extra map[string]any) *install {
	e.t.Helper()
	cfg := map[string]any{
		"app_name":      "sampleapp",
		"metadata_url":  e.srv.URL + "/metadata/",
		"targets_url":   e.srv.URL + "/targets/",
		"entry":         filepath.Base(e.bins.SampleApp),
		"check_timeout": "5s",
	}
	for k, v := range extra {
		if v == nil {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	dir := filepath.Join(e.t.TempDir(), "Sample App")
	launcher, err := sandbox.Install(dir, e.bins.Launcher, sandbox.InstallOptions{Config: cfg, Root: filepath.Join(e.metadataDir(), "root.json")})
	if err != nil {
		e.t.Fatal(err)
	}
	in := &install{t: e.t, dir: dir, launcher: launcher, out: filepath.Join(e.t.TempDir(), "runs.jsonl")}
	// A start with "update": "background" (or past download_timeout) leaves
	// a detached "launcher --update-only" behind; the install folder may be
	// removed only once it has exited. Registered after the folder's
	// TempDir, so it runs before its removal.
	e.t.Cleanup(func() { in.waitBackgroundUpdates(time.Minute) })
	return in
}

// waitBackgroundUpdates waits, up to limit, until every detached
// "launcher --update-only" the install's log says was started has exited,
// so that nothing writes to the install any more.
func (in *install) waitBackgroundUpdates(limit time.Duration) {
	in.t.Helper()
	deadline := time.Now().Add(limit)
	for _, pid := range backgroundPIDs(in.log()) {
		for updating(pid) {
			if time.Now().After(deadline) {
				in.t.Errorf("background update (pid %d) still running after %s", pid, limit)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// backgroundPIDs lists the detached updaters a launcher log names (the
// second pid of an "updating in the background" line; the first is the
// logging launcher's own).
func backgroundPIDs(log string) []int {
	var pids []int
	for _, line := range strings.Split(log, "\n") {
		_, rest, ok := strings.Cut(line, `msg="updating in the background" pid=`)
		if !ok {
			continue
		}
		if _, rest, ok = strings.Cut(rest, " pid="); !ok {
			continue
		}
		var pid int
		if _, err := fmt.Sscanf(rest, "%d", &pid); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// updating reports whether process pid is still a launcher updating in the
// background. It reads the command line, so a reused pid (or a Windows pid
// from a Wine test, which names no Linux process) is never waited for.
func updating(pid int) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte("--update-only")) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name; a zombie has exited.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// appRun is what the sample app recorded about one of its runs.
type appRun struct {
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

type result struct {
	pid            int // the launcher's process
	code           int
	stdout, stderr string
	runs           []appRun // app runs recorded during this launcher run
}

// run starts the launcher as a shortcut would, with extra environment.
func (in *install) run(env []string, args ...string) result {
	in.t.Helper()
	before := len(in.runs())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, in.launcher, args...)
	cmd.Env = append(append(os.Environ(), "SAMPLEAPP_OUT="+in.out), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Start()
	if err != nil {
		in.t.Fatalf("start launcher: %v", err)
	}
	pid := cmd.Process.Pid
	err = cmd.Wait()
	r := result{pid: pid, stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		r.code = exitErr.ExitCode()
	case err != nil:
		in.t.Fatalf("run launcher: %v", err)
	}
	r.runs = in.runs()[before:]
	return r
}

// start runs the launcher and requires that the app ran exactly once, from
// the wanted version.
func (in *install) start(want string, args ...string) appRun {
	in.t.Helper()
	r := in.run(nil, args...)
	if r.code != 0 || len(r.runs) != 1 {
		in.t.Fatalf("launcher exit %d, app ran %d times; want 0 and once\nstderr: %s\nlog:\n%s", r.code, len(r.runs), r.stderr, in.log())
	}
	got := r.runs[0]
	if got.Version != want {
		in.t.Fatalf("app %s ran, want %s\nlog:\n%s", got.Version, want, in.log())
	}
	if wantDir := filepath.Join(in.dir, "versions", want); !samePath(got.Dir, wantDir) {
		in.t.Fatalf("app ran from %s, want %s", got.Dir, wantDir)
	}
	return got
}

func (in *install) runs() []appRun {
	f, err := os.Open(in.out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		in.t.Fatal(err)
	}
	defer f.Close()
	var runs []appRun
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r appRun
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			in.t.Fatalf("app run log: %v", err)
		}
		runs = append(runs, r)
	}
	return runs
}

func (in *install) current() string {
	b, err := os.ReadFile(filepath.Join(in.dir, "current"))
	if err != nil {
		in.t.Fatalf("read current: %v", err)
	}
	return strings.TrimSpace(string(b))
}

func (in *install) installed() []string {
	entries, _ := os.ReadDir(filepath.Join(in.dir, "versions"))
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func (in *install) log() string {
	b, _ := os.ReadFile(filepath.Join(in.dir, ".tufup", "launcher.log"))
	return string(b)
}

func samePath(a, b string) bool {
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}

// assertSameTree requires got to hold exactly want's files: same names,
// bytes, permission bits and symlink targets.
func assertSameTree(t *testing.T, want, got string) {
	t.Helper()
	wantFiles, err := treeOf(want)
	if err != nil {
		t.Fatal(err)
	}
	gotFiles, err := treeOf(got)
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range wantFiles {
		g, ok := gotFiles[name]
		switch {
		case !ok:
			t.Errorf("%s: missing in %s", name, got)
		case g != w:
			t.Errorf("%s: got %s, want %s", name, g, w)
		}
	}
	for name := range gotFiles {
		if _, ok := wantFiles[name]; !ok {
			t.Errorf("%s: unexpected in %s", name, got)
		}
	}
}

// treeOf describes every entry under root: type, permission bits (where the
// OS has them) and content hash or link target.
func treeOf(root string) (map[string]string, error) {
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		perm := ""
		if runtime.GOOS != "windows" {
			perm = info.Mode().Perm().String()
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			files[filepath.ToSlash(rel)] = "symlink -> " + target
		case d.IsDir():
			files[filepath.ToSlash(rel)] = "dir " + perm
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			files[filepath.ToSlash(rel)] = fmt.Sprintf("file %s %d bytes %x", perm, len(b), sha(b))
		}
		return nil
	})
	return files, err
}

// copyTree copies a folder: files with their modes and
// times, symlinks as symlinks; lock files stay with the original.
func copyTree(src, dst string) error {
	return filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case info.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case info.Name() == "lock" || strings.HasSuffix(info.Name(), ".lock"):
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, b, info.Mode().Perm()); err != nil {
			return err
		}
		return os.Chtimes(target, info.ModTime(), info.ModTime())
	})
}

// setConfig changes one key of the launcher.json in dir.
func setConfig(t *testing.T, dir, key string, value any) {
	t.Helper()
	p := filepath.Join(dir, "launcher.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg[key] = value
	if b, err = json.MarshalIndent(cfg, "", "  "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
