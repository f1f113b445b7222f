package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tufup-go/tufup/internal/sandbox"
	"github.com/tufup-go/tufup/internal/testenv"
	"github.com/tufup-go/tufup/launcher"
)

// Issue 11: installs where the launcher's folder is not the place for
// versions and state (Program Files, a signed .app, /opt), data_dir
// placeholders per OS, and launcher --paths.

// located is an install whose versions and state live in data, started
// with a command prefix (setpriv, to bind root by file modes) and an
// environment of its own.
type located struct {
	*install
	data   string
	prefix []string
	env    []string
}

func (in *install) at(data string, env ...string) located {
	return located{install: in, data: data, env: env}
}

// run starts the launcher as the user's shortcut would, through the prefix.
func (l located) run(args ...string) result {
	l.t.Helper()
	if len(l.prefix) == 0 {
		return l.install.run(l.env, args...)
	}
	before := len(l.runs())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, l.prefix[0], append(append(slices.Clone(l.prefix[1:]), l.launcher), args...)...)
	cmd.Env = append(append(os.Environ(), "SAMPLEAPP_OUT="+l.out), l.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		r.code = exitErr.ExitCode()
	case err != nil:
		l.t.Fatalf("run launcher: %v", err)
	}
	r.runs = l.runs()[before:]
	return r
}

// start runs the launcher and requires that the app ran once, from the
// wanted version under data, told by its environment where it lives.
func (l located) start(want string, args ...string) appRun {
	l.t.Helper()
	r := l.run(args...)
	logText, _ := os.ReadFile(filepath.Join(l.data, ".tufup", "launcher.log"))
	if r.code != 0 || len(r.runs) != 1 {
		l.t.Fatalf("launcher %q: exit %d, app ran %d times; want 0 and once\nstderr: %s\nlog in %s:\n%s", args, r.code, len(r.runs), r.stderr, l.data, logText)
	}
	got := r.runs[0]
	if got.Version != want || !samePath(got.Dir, filepath.Join(l.data, "versions", want)) {
		l.t.Fatalf("app %s ran from %s, want %s from %s\nlog:\n%s", got.Version, got.Dir, want, filepath.Join(l.data, "versions", want), logText)
	}
	if got.EnvVersion != want || !samePath(got.InstallDir, l.data) || !samePath(got.Launcher, l.launcher) {
		l.t.Fatalf("app environment: TUFUP_VERSION %q, TUFUP_INSTALL_DIR %q, TUFUP_LAUNCHER %q; want %s, %s, %s",
			got.EnvVersion, got.InstallDir, got.Launcher, want, l.data, l.launcher)
	}
	return got
}

// bindRootByModes returns a command prefix under which root too is bound by
// file modes: setpriv drops CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and
// CAP_FOWNER from the bounding set, so the launcher it runs cannot write
// in a 0555 folder. It returns nil when not running as root (modes bind
// already) or when setpriv is missing or has no effect here; the snapshot
// comparison still proves that nothing was written.
func bindRootByModes(t *testing.T, readOnlyDir string) []string {
	t.Helper()
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		return nil
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Log("setpriv (util-linux) missing: running as root, the read-only modes bind nothing; the folder snapshot is the proof")
		return nil
	}
	prefix := []string{setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"}
	probe := filepath.Join(readOnlyDir, "probe")
	out, err := exec.Command(prefix[0], append(prefix[1:], "sh", "-c", "echo x > \""+probe+"\"")...).CombinedOutput()
	if err == nil {
		os.Remove(probe)
		t.Logf("setpriv did not stop root from writing in a 0555 folder here; the folder snapshot is the proof")
		return nil
	}
	t.Logf("launcher runs under setpriv without CAP_DAC_OVERRIDE: writing in its folder fails (%s)", strings.TrimSpace(string(out)))
	return prefix
}

// folderSnapshot describes every entry under root, root included: type,
// mode, size and modification time. Reading files changes none of these;
// writing, creating, deleting or renaming anything changes at least one.
func folderSnapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		size := info.Size()
		if info.IsDir() {
			size = 0 // some file systems report a directory's allocation
		}
		snap[filepath.ToSlash(rel)] = fmt.Sprintf("%s %d %s", info.Mode(), size, info.ModTime().UTC().Format("2006-01-02T15:04:05.000000000"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func assertSameSnapshot(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for name, b := range before {
		switch a, ok := after[name]; {
		case !ok:
			t.Errorf("%s: %s was removed", what, name)
		case a != b:
			t.Errorf("%s: %s changed from %s to %s", what, name, b, a)
		}
	}
	for name, a := range after {
		if _, ok := before[name]; !ok {
			t.Errorf("%s: %s appeared (%s)", what, name, a)
		}
	}
}

// makeReadOnly gives root and everything in it the modes of a read-only
// install: 0555 folders and executables, 0444 other files. The modes are
// restored when the test ends, so its temporary folder can be removed.
func makeReadOnly(t *testing.T, root string) {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o444)
		if d.IsDir() || info.Mode()&0o111 != 0 {
			mode = 0o555
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return os.Chmod(p, mode)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, d := range dirs {
			os.Chmod(d, 0o755)
		}
	})
}

// The launcher installed read-only, its versions and state elsewhere: it
// bootstraps, updates, rolls back, reports, and never writes a byte in its
// own folder. Tests here run as root, which chmod does not stop, so the
// proof is the folder's snapshot (names, modes, sizes, mtimes) before and
// after; run as another user, the read-only modes also must not break
// anything.
func TestReadOnlyLauncherFolder(t *testing.T) {
	e := newEnv(t)
	bundles := map[string]string{"1.0.0": e.publish("1.0.0", sandbox.BundleOptions{})}
	data := filepath.Join(t.TempDir(), "User Data", "SampleApp")
	in := e.newInstall(map[string]any{"data_dir": data})
	makeReadOnly(t, in.dir)
	if runtime.GOOS != "windows" && os.Geteuid() != 0 {
		if f, err := os.Create(filepath.Join(in.dir, "probe")); err == nil {
			f.Close()
			t.Fatal("the launcher's folder is still writable after chmod 0555")
		}
	}
	l := in.at(data)
	l.prefix = bindRootByModes(t, in.dir)
	before := folderSnapshot(t, in.dir)

	l.start("1.0.0", "first", "start")
	assertSameTree(t, bundles["1.0.0"], filepath.Join(data, "versions", "1.0.0"))

	bundles["1.1.0"] = e.publish("1.1.0", sandbox.BundleOptions{})
	e.srv.ResetLog()
	l.start("1.1.0") // on probation: the app runs as a child
	if got := e.srv.Fetched("/targets/"); !slices.Equal(got, []string{"sampleapp-1.1.0.patch"}) {
		t.Fatalf("update fetched %v, want the patch (its base is cached in the data dir)", got)
	}
	assertSameTree(t, bundles["1.1.0"], filepath.Join(data, "versions", "1.1.0"))
	l.start("1.1.0")

	for _, flags := range [][]string{{"--status"}, {"--status", "--json"}, {"--paths"}, {"--paths", "--json"}} {
		if r := l.run(flags...); r.code != 0 || len(r.runs) != 0 || !strings.Contains(r.stdout, data) {
			t.Fatalf("launcher %s: exit %d, app runs %d, output without the data dir %s:\n%s%s", flags, r.code, len(r.runs), data, r.stdout, r.stderr)
		}
	}

	l.start("1.0.0", "--rollback")
	e.publish("1.2.0", sandbox.BundleOptions{})
	if r := l.run("--update-only"); r.code != 0 || len(r.runs) != 0 {
		t.Fatalf("--update-only: exit %d, app runs %d\n%s", r.code, len(r.runs), r.stderr)
	}
	l.start("1.2.0", "--no-update")
	l.start("1.2.0")

	assertSameSnapshot(t, "launcher folder", before, folderSnapshot(t, in.dir))
	b, err := os.ReadFile(filepath.Join(data, "current"))
	if err != nil || strings.TrimSpace(string(b)) != "1.2.0" {
		t.Fatalf("current pointer in the data dir: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(data, ".tufup", "launcher.log")); err != nil {
		t.Fatalf("no log in the data dir: %v", err)
	}
}

// {userdata} and {home} follow the OS's rules for the user who starts the
// launcher; one install serves several users, each with their own folder.
// (Windows' %LOCALAPPDATA% and all OSes' rules are unit-tested in
// launcher/datadir_test.go and launcher/docs_test.go.)
func TestDataDirPlaceholders(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("this test sets HOME and XDG_DATA_HOME; Windows' rules are unit-tested in package launcher")
	}
	e := newEnv(t)
	bundle := e.publish("1.0.0", sandbox.BundleOptions{})
	in := e.newInstall(map[string]any{"data_dir": "{userdata}/SampleApp"})
	before := folderSnapshot(t, in.dir)

	userdata := func(home, xdg string) string {
		switch {
		case runtime.GOOS == "darwin":
			return filepath.Join(home, "Library", "Application Support")
		case xdg != "" && filepath.IsAbs(xdg):
			return xdg
		}
		return filepath.Join(home, ".local", "share")
	}
	users := []struct{ name, home, xdg string }{
		{"ana with XDG_DATA_HOME", filepath.Join(t.TempDir(), "ana"), filepath.Join(t.TempDir(), "ana-xdg")},
		{"ben without XDG_DATA_HOME", filepath.Join(t.TempDir(), "ben"), ""},
		{"cem with a relative XDG_DATA_HOME (ignored)", filepath.Join(t.TempDir(), "cem"), "relative/data"},
	}
	for _, u := range users {
		want := filepath.Join(userdata(u.home, u.xdg), "SampleApp")
		user := in.at(want, "HOME="+u.home, "XDG_DATA_HOME="+u.xdg)
		user.start("1.0.0")
		assertSameTree(t, bundle, filepath.Join(want, "versions", "1.0.0"))
		r := user.run("--paths", "--json")
		var paths map[string]string
		if err := json.Unmarshal([]byte(r.stdout), &paths); err != nil || !samePath(paths["install_dir"], want) {
			t.Fatalf("%s: --paths --json install_dir %q (%v), want %s\n%s", u.name, paths["install_dir"], err, want, r.stdout)
		}
	}
	if runtime.GOOS != "darwin" {
		// XDG_DATA_HOME alone is enough: HOME is not needed then.
		xdg := filepath.Join(t.TempDir(), "xdg-only")
		in.at(filepath.Join(xdg, "SampleApp"), "HOME=", "XDG_DATA_HOME="+xdg).start("1.0.0")
	}

	// {home} is the home folder itself.
	home := filepath.Join(t.TempDir(), "dee")
	homeInstall := e.newInstall(map[string]any{"data_dir": "{home}/.sampleapp"})
	homeInstall.at(filepath.Join(home, ".sampleapp"), "HOME="+home).start("1.0.0")

	// Without the variables a placeholder needs, the launcher stops with a
	// usage error naming data_dir, and starts nothing.
	r := in.run([]string{"HOME=", "XDG_DATA_HOME="}, "first start")
	if r.code != 2 || len(r.runs) != 0 || !strings.Contains(r.stderr, "data_dir") || !strings.Contains(r.stderr, "$HOME") {
		t.Fatalf("no HOME: exit %d, app runs %d, stderr %q; want exit 2 naming data_dir and $HOME", r.code, len(r.runs), r.stderr)
	}
	assertSameSnapshot(t, "launcher folder", before, folderSnapshot(t, in.dir))
}

// launcher --paths prints where everything lives, as text and as JSON; it
// works before the first start and creates nothing; after a start, each
// path holds what it names.
func TestPathsMatchDataDir(t *testing.T) {
	e := newEnv(t)
	e.publish("1.0.0", sandbox.BundleOptions{})
	data := filepath.Join(t.TempDir(), "data", "SampleApp")
	in := e.newInstall(map[string]any{"data_dir": data})
	want := map[string]string{
		"launcher":        in.launcher,
		"config":          filepath.Join(in.dir, "launcher.json"),
		"trusted_root":    filepath.Join(in.dir, "root.json"),
		"install_dir":     data,
		"current_pointer": filepath.Join(data, "current"),
		"versions":        filepath.Join(data, "versions"),
		"state":           filepath.Join(data, ".tufup"),
		"metadata_cache":  filepath.Join(data, ".tufup", "metadata"),
		"downloads":       filepath.Join(data, ".tufup", "downloads"),
		"log":             filepath.Join(data, ".tufup", "launcher.log"),
	}
	check := func(what string, got map[string]string) {
		t.Helper()
		for k, w := range want {
			if g, ok := got[k]; !ok || !sameLocation(g, w) {
				t.Errorf("%s: %s = %q, want %q", what, k, g, w)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("%s: unexpected entry %s", what, k)
			}
		}
	}

	before := folderSnapshot(t, in.dir)
	r := in.run(nil, "--paths", "--json")
	var fromJSON map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &fromJSON); r.code != 0 || err != nil {
		t.Fatalf("--paths --json: exit %d, %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	check("--paths --json", fromJSON)
	r = in.run(nil, "--paths")
	if r.code != 0 {
		t.Fatalf("--paths: exit %d\n%s", r.code, r.stderr)
	}
	check("--paths", parsePathsText(t, r.stdout))
	if r := in.run(nil, "--status"); r.code != 0 || !strings.Contains(r.stdout, "install dir:  "+data) {
		t.Fatalf("--status before the first start: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Lstat(data); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("--paths or --status created the data dir (%v)", err)
	}
	assertSameSnapshot(t, "launcher folder", before, folderSnapshot(t, in.dir))

	in.at(data).start("1.0.0")
	if b, err := os.ReadFile(fromJSON["current_pointer"]); err != nil || strings.TrimSpace(string(b)) != "1.0.0" {
		t.Errorf("current pointer %s: %q, %v", fromJSON["current_pointer"], b, err)
	}
	if _, err := os.Stat(filepath.Join(fromJSON["versions"], "1.0.0", filepath.Base(e.bins.SampleApp))); err != nil {
		t.Errorf("versions: %v", err)
	}
	if _, err := os.Stat(filepath.Join(fromJSON["metadata_cache"], "timestamp.json")); err != nil {
		t.Errorf("metadata cache: %v", err)
	}
	if b, err := os.ReadFile(fromJSON["log"]); err != nil || !strings.Contains(string(b), "updated") {
		t.Errorf("log %s: %v\n%s", fromJSON["log"], err, b)
	}
	if fi, err := os.Stat(fromJSON["downloads"]); err != nil || !fi.IsDir() {
		t.Errorf("downloads: %v", err)
	}
	assertSameSnapshot(t, "launcher folder", before, folderSnapshot(t, in.dir))
}

// parsePathsText reads "name:  path" lines into the keys of --paths --json.
func parsePathsText(t *testing.T, out string) map[string]string {
	t.Helper()
	got := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		name, path, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			t.Fatalf("--paths line %q is not name: path", sc.Text())
		}
		got[strings.ReplaceAll(name, " ", "_")] = strings.TrimSpace(path)
	}
	return got
}

// sameLocation compares paths that may not exist yet, resolving symlinks in
// the part that does (a temp folder under /var on macOS is /private/var).
func sameLocation(a, b string) bool {
	return resolveExisting(a) == resolveExisting(b)
}

func resolveExisting(p string) string {
	p = filepath.Clean(p)
	var rest []string
	for {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(append([]string{r}, rest...)...)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Join(append([]string{p}, rest...)...)
		}
		rest = append([]string{filepath.Base(p)}, rest...)
		p = parent
	}
}

// An installer may ship the first version with the launcher (current and
// versions/<v>/ as the launcher would have made them), so that the first
// start needs no network; later updates come as usual, the first one as a
// full archive because no base tar is cached.
func TestInstallerShipsFirstVersion(t *testing.T) {
	e := newEnv(t)
	bundle := e.publish("1.0.0", sandbox.BundleOptions{})

	// Offline: a server that refuses connections.
	offline := e.newInstall(map[string]any{"metadata_url": "http://127.0.0.1:1/metadata/", "targets_url": "http://127.0.0.1:1/targets/"})
	preseed(t, offline.dir, "1.0.0", bundle)
	offline.start("1.0.0", "offline")
	if !strings.Contains(offline.log(), "update failed") {
		t.Fatalf("the failed check is not logged:\n%s", offline.log())
	}

	in := e.newInstall(nil)
	preseed(t, in.dir, "1.0.0", bundle)
	e.srv.ResetLog()
	in.start("1.0.0")
	if got := e.srv.Fetched("/targets/"); len(got) != 0 {
		t.Fatalf("the shipped version was downloaded again: %v", got)
	}
	e.publish("1.1.0", sandbox.BundleOptions{})
	e.srv.ResetLog()
	in.start("1.1.0")
	if got := e.srv.Fetched("/targets/"); !slices.Equal(got, []string{"sampleapp-1.1.0.tar.gz"}) {
		t.Fatalf("first update of a shipped version fetched %v, want the full archive", got)
	}
}

// preseed lays out version v as an installer would: the bundle copied to
// versions/<v>/ and current naming it.
func preseed(t *testing.T, installDir, v, bundle string) {
	t.Helper()
	if err := copyTree(bundle, filepath.Join(installDir, "versions", v)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(installDir, "current"), []byte(v+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// docs/launcher-cli.md's flag table lists exactly the flags launcher --help
// explains.
func TestLauncherCLIReferenceMatchesHelp(t *testing.T) {
	e := newEnv(t)
	in := e.newInstall(nil)
	r := in.run(nil, "--help")
	if r.code != 0 {
		t.Fatalf("--help: exit %d", r.code)
	}
	var inHelp []string
	for _, line := range strings.Split(r.stdout, "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "--") && strings.HasPrefix(line, "  ") {
			name, _, _ := strings.Cut(f[0], "[")
			inHelp = append(inHelp, name)
		}
	}
	doc, err := os.ReadFile(filepath.Join("..", "docs", "launcher-cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	var inDoc []string
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "| `--") {
			cell, _, _ := strings.Cut(strings.TrimPrefix(line, "| `"), "`")
			name, _, _ := strings.Cut(cell, " ")
			inDoc = append(inDoc, name)
		}
	}
	slices.Sort(inHelp)
	slices.Sort(inDoc)
	if len(inHelp) == 0 || !slices.Equal(inHelp, inDoc) {
		t.Fatalf("launcher --help explains %v, docs/launcher-cli.md documents %v", inHelp, inDoc)
	}

	// --help's summary of launcher.json names every key.
	_, config, ok := strings.Cut(r.stdout, "Configuration:")
	config, _, _ = strings.Cut(config, "Exit codes")
	if !ok {
		t.Fatalf("--help has no Configuration section:\n%s", r.stdout)
	}
	named := map[string]bool{}
	for _, w := range strings.FieldsFunc(config, func(c rune) bool { return c == ',' || c == ' ' || c == '\n' || c == '(' || c == ')' || c == ';' }) {
		named[w] = true
	}
	for _, k := range launcher.ConfigKeys() {
		if !named[k] {
			t.Errorf("launcher --help does not name launcher.json key %q", k)
		}
	}
}

// The nginx configuration docs/hosting.md gives, run by real nginx (with
// only the TLS lines, port and root replaced): launchers install and update
// through it, missing root versions are 404, targets and root versions are
// cached for long, other metadata briefly, and Range requests work.
func TestHostingDocNginxConfig(t *testing.T) {
	bin := "/usr/sbin/nginx"
	if _, err := os.Stat(bin); err != nil {
		bin = testenv.LookPath(t, "nginx", "nginx")
	}
	doc, err := os.ReadFile(filepath.Join("..", "docs", "hosting.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```nginx\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/hosting.md has no ```nginx block")
	}
	e := newEnv(t)
	e.publish("1.0.0", sandbox.BundleOptions{})
	srv := filepath.Join(t.TempDir(), "srv")
	if err := os.MkdirAll(srv, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(e.work, "repository"), filepath.Join(srv, "sampleapp")); err != nil {
		t.Fatal(err)
	}
	base := startDocNginx(t, bin, string(m[1]), srv)

	in := e.newInstall(map[string]any{"metadata_url": base + "/sampleapp/metadata/", "targets_url": base + "/sampleapp/targets/"})
	in.start("1.0.0")
	e.publish("1.1.0", sandbox.BundleOptions{})
	in.start("1.1.0")

	long, short := "public, max-age=31536000, immutable", "public, max-age=60"
	for _, c := range []struct {
		path, rangeHeader string
		status            int
		cacheControl      string
	}{
		{"/sampleapp/metadata/timestamp.json", "", 200, short},
		{"/sampleapp/metadata/targets.json", "", 200, short},
		{"/sampleapp/metadata/root.json", "", 200, short},
		{"/sampleapp/metadata/1.root.json", "", 200, long},
		{"/sampleapp/metadata/2.root.json", "", 404, ""},
		{"/sampleapp/targets/sampleapp-1.1.0.patch", "", 200, long},
		{"/sampleapp/targets/sampleapp-1.1.0.tar.gz", "bytes=10-19", 206, long},
	} {
		req, _ := http.NewRequest(http.MethodGet, base+c.path, nil)
		if c.rangeHeader != "" {
			req.Header.Set("Range", c.rangeHeader)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status || (c.status < 400 && resp.Header.Get("Cache-Control") != c.cacheControl) {
			t.Errorf("GET %s (Range %q): %d, Cache-Control %q; want %d, %q", c.path, c.rangeHeader, resp.StatusCode, resp.Header.Get("Cache-Control"), c.status, c.cacheControl)
		}
	}
}

// startDocNginx runs nginx with a server block taken from the docs, on a
// free port of 127.0.0.1 with root, and returns its base URL.
func startDocNginx(t *testing.T, bin, server, root string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	edits := []struct{ re, with string }{
		{`listen 443 ssl;`, "listen 127.0.0.1:" + strconv.Itoa(port) + ";"},
		{`(?m)^\s*ssl_certificate(_key)?\s.*$`, ""},
		{`root /srv/updates;`, "root " + strconv.Quote(root) + ";"},
	}
	for _, ed := range edits {
		re := regexp.MustCompile(ed.re)
		if !re.MatchString(server) {
			t.Fatalf("docs/hosting.md's nginx block no longer has %s; update this test", ed.re)
		}
		server = re.ReplaceAllLiteralString(server, ed.with)
	}
	dir := t.TempDir()
	// One process (no master, no workers): it runs as the test's user, so
	// it can read the test's private folders, and killing it leaves no
	// worker behind.
	conf := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 64; }
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    types { application/json json; }
    default_type application/octet-stream;
%[2]s
}
`, dir, server)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for i := 0; ; i++ {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited: %v\n%s\nconfig:\n%s", err, log, conf)
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr
		}
		if i == 500 {
			t.Fatalf("nginx does not listen on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// docs/migrating-from-tufup.md's recipe: an install that Python tufup kept
// up to date (files extracted over the app's folder) receives a release
// whose bundle holds the launcher under the app's old executable name, with
// launcher.json and root.json, and the app under a new name. The old
// shortcut then starts the launcher, which installs the same release side
// by side and from then on updates it the launcher's way.
func TestMigrationFromTufupInstallDir(t *testing.T) {
	e := newEnv(t)
	migrationBundle := func(version string) string {
		dir := filepath.Join(e.work, "dist", "migrated-"+version)
		if err := sandbox.WriteBundle(dir, version, e.bins.SampleApp, sandbox.BundleOptions{DataSize: 64 << 10}); err != nil {
			t.Fatal(err)
		}
		// The app gets a new name; the launcher takes the old one.
		if err := os.Rename(filepath.Join(dir, "sampleapp"), filepath.Join(dir, "sampleapp-main")); err != nil {
			t.Fatal(err)
		}
		if _, err := sandbox.Install(dir, e.bins.Launcher, sandbox.InstallOptions{
			Config: map[string]any{
				"app_name":     "sampleapp",
				"metadata_url": e.srv.URL + "/metadata/",
				"targets_url":  e.srv.URL + "/targets/",
				"entry":        "sampleapp-main",
			},
			Root: filepath.Join(e.metadataDir(), "root.json"),
		}); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, filepath.Base(e.bins.Launcher)), filepath.Join(dir, "sampleapp")); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	e.publish("1.0.0", sandbox.BundleOptions{})
	b2 := migrationBundle("2.0.0")
	// --skip-patch: these bundles hold the 16 MB launcher, whose patch
	// creation would dominate the test's time; patches are tested elsewhere.
	e.repo("add", "2.0.0", b2, "--skip-patch")

	// What tufup left on the user's machine at 1.0.0, then its update to
	// 2.0.0: the bundle copied over the folder.
	old := filepath.Join(t.TempDir(), "MyApp")
	if err := copyTree(filepath.Join(e.work, "dist", "sampleapp-1.0.0"), old); err != nil {
		t.Fatal(err)
	}
	if err := copyTree(b2, old); err != nil {
		t.Fatal(err)
	}
	in := &install{t: t, dir: old, launcher: filepath.Join(old, "sampleapp"), out: filepath.Join(t.TempDir(), "runs.jsonl")}

	// The old shortcut starts <folder>/sampleapp: now the launcher.
	e.srv.ResetLog()
	run := in.start("2.0.0", "opened", "from", "the old shortcut")
	if filepath.Base(run.Exe) != "sampleapp-main" || !slices.Equal(run.Args, []string{"opened", "from", "the old shortcut"}) {
		t.Fatalf("ran %s with %q", run.Exe, run.Args)
	}
	if got := e.srv.Fetched("/targets/"); !slices.Equal(got, []string{"sampleapp-2.0.0.tar.gz"}) {
		t.Fatalf("the first launcher start fetched %v, want the 2.0.0 archive", got)
	}
	assertSameTree(t, b2, filepath.Join(old, "versions", "2.0.0"))

	// Later releases keep the same layout and install side by side.
	e.repo("add", "2.1.0", migrationBundle("2.1.0"), "--skip-patch")
	in.start("2.1.0")
	if got := in.installed(); !slices.Equal(got, []string{"2.0.0", "2.1.0"}) {
		t.Fatalf("installed %v, want 2.0.0 and 2.1.0", got)
	}
}
