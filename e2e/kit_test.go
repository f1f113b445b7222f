package e2e

// Issue 17: tufup-repo kit writes the download page's files from one
// repository holding every platform's builds. These tests take the
// packages apart with the tools users' systems use (dpkg-deb, dpkg, tar,
// unzip's format) and start the launcher they hold.

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/tufup-go/tufup/internal/sandbox"
	"github.com/tufup-go/tufup/internal/testenv"
)

// kitEnv is a repository with releases for several platforms and a folder
// of launcher binaries as a release of this project ships them.
type kitEnv struct {
	*env
	launchers string
}

func newKitEnv(t *testing.T) *kitEnv {
	t.Helper()
	k := &kitEnv{env: newEnv(t), launchers: filepath.Join(t.TempDir(), "launchers")}
	if err := os.MkdirAll(k.launchers, 0o755); err != nil {
		t.Fatal(err)
	}
	k.addLauncher("launcher-linux-"+runtime.GOARCH, k.bins.Launcher)
	return k
}

// addLauncher puts a launcher binary into the launchers folder.
func (k *kitEnv) addLauncher(name, src string) {
	k.t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		k.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(k.launchers, name), b, 0o755); err != nil {
		k.t.Fatal(err)
	}
}

// publishFor publishes version for one platform ("" for all), the bundle
// marked with a PLATFORM file naming it, so a test can tell which build a
// launcher installed.
func (k *kitEnv) publishFor(version, platform, sampleApp string, extra ...string) {
	k.t.Helper()
	bundle := filepath.Join(k.work, "dist", strings.ReplaceAll(platform, "/", "-"), version)
	if err := sandbox.WriteBundle(bundle, version, sampleApp, sandbox.BundleOptions{DataSize: 64 << 10, Extra: map[string]string{"PLATFORM": platform}}); err != nil {
		k.t.Fatal(err)
	}
	args := []string{"add", version, bundle}
	if goos, goarch, ok := strings.Cut(platform, "/"); ok {
		args = append(args, "--os", goos, "--arch", goarch)
	}
	k.repo(append(args, extra...)...)
}

// kit runs tufup-repo kit into out with the env's launchers and server.
func (k *kitEnv) kit(out string, args ...string) string {
	k.t.Helper()
	base := []string{"kit", "--out", out, "--launchers", k.launchers, "--url", k.srv.URL,
		"--entry", "sampleapp", "--entry", "windows=sampleapp.exe"}
	return k.repo(append(base, args...)...)
}

// A repository holding windows/amd64, darwin/arm64 and linux builds: the
// .deb made for Linux installs into a throw-away root, and its launcher
// installs and starts the Linux build; dpkg-deb reads its control fields
// and contents; the .desktop file points at the launcher; the .tar.gz holds
// the same folder; the same inputs give the same bytes.
func TestKitLinuxDeb(t *testing.T) {
	dpkgDeb := testenv.LookPath(t, "dpkg-deb", "dpkg")
	k := newKitEnv(t)
	linux := "linux/" + runtime.GOARCH
	k.publishFor("1.0.0", "windows/amd64", k.bins.SampleApp)
	k.publishFor("1.0.0", "darwin/arm64", k.bins.SampleApp)
	k.publishFor("1.0.0", linux, k.bins.SampleApp)
	k.publishFor("1.1.0", "windows/amd64", k.bins.SampleApp) // Linux stays at 1.0.0
	icon := filepath.Join(t.TempDir(), "icon.png")
	if err := os.WriteFile(icon, []byte("\x89PNG\r\n\x1a\n not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "kit")
	flags := []string{"--platform", linux, "--name", "Sample App", "--id", "com.example.SampleApp",
		"--publisher", "Example Ltd <apps@example.com>", "--description", "A sample app", "--icon", icon}
	log := k.kit(out, flags...)
	debArch := map[string]string{"amd64": "amd64", "arm64": "arm64", "386": "i386"}[runtime.GOARCH]
	deb := filepath.Join(out, "sampleapp_1.0.0_"+debArch+".deb")
	tgz := filepath.Join(out, "sampleapp-1.0.0-linux-"+runtime.GOARCH+".tar.gz")
	for _, f := range []string{deb, tgz} {
		if !strings.Contains(log, "wrote "+f) {
			t.Fatalf("kit did not report %s:\n%s", f, log)
		}
	}

	fields, err := exec.Command(dpkgDeb, "-f", deb, "Package", "Version", "Architecture", "Maintainer", "Description").CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb -f: %v\n%s", err, fields)
	}
	for _, want := range []string{"Package: sampleapp", "Version: 1.0.0", "Architecture: " + debArch, "Maintainer: Example Ltd <apps@example.com>", "Description: A sample app"} {
		if !strings.Contains(string(fields), want) {
			t.Errorf("control fields lack %q:\n%s", want, fields)
		}
	}
	contents, err := exec.Command(dpkgDeb, "-c", deb).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb -c: %v\n%s", err, contents)
	}
	for _, want := range []string{
		"-rwxr-xr-x root/root .* ./opt/sampleapp/sampleapp\n",
		"-rw-r--r-- root/root .* ./opt/sampleapp/launcher.json\n",
		"-rw-r--r-- root/root .* ./opt/sampleapp/root.json\n",
		"-rw-r--r-- root/root .* ./opt/sampleapp/sampleapp.png\n",
		"-rw-r--r-- root/root .* ./usr/share/applications/com.example.SampleApp.desktop\n",
	} {
		if !regexpMatch(want, string(contents)) {
			t.Errorf("contents lack %q:\n%s", want, contents)
		}
	}

	root := installDeb(t, deb)
	desktop, err := os.ReadFile(filepath.Join(root, "usr/share/applications/com.example.SampleApp.desktop"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Name=Sample App\n", "Exec=/opt/sampleapp/sampleapp -- %F\n", "Icon=/opt/sampleapp/sampleapp.png\n", "StartupWMClass=sampleapp\n"} {
		if !strings.Contains(string(desktop), want) {
			t.Errorf(".desktop lacks %q:\n%s", want, desktop)
		}
	}
	// The launcher in /opt keeps each user's versions in their own data
	// folder ({userdata}/sampleapp) and installs the Linux build.
	userData := t.TempDir()
	in := &install{t: t, dir: filepath.Join(userData, "sampleapp"), launcher: filepath.Join(root, "opt/sampleapp/sampleapp"), out: filepath.Join(t.TempDir(), "runs.jsonl")}
	r := in.run([]string{"XDG_DATA_HOME=" + userData}, "hello")
	if r.code != 0 || len(r.runs) != 1 || r.runs[0].Version != "1.0.0" {
		t.Fatalf("launcher from the .deb: exit %d, runs %+v\nstderr: %s\nlog:\n%s", r.code, r.runs, r.stderr, in.log())
	}
	if got := readText(t, filepath.Join(in.dir, "versions", "1.0.0", "PLATFORM")); got != linux {
		t.Fatalf("the Linux launcher installed the %q build, want %s", got, linux)
	}
	if slices.Contains(k.srv.Fetched("/targets/"), "/targets/sampleapp-windows-amd64-1.1.0.tar.gz") {
		t.Fatal("the Linux launcher downloaded the Windows build")
	}

	// The tarball is the same folder plus the .desktop file.
	names := tarNames(t, tgz)
	for _, want := range []string{"sampleapp/sampleapp", "sampleapp/launcher.json", "sampleapp/root.json", "sampleapp/sampleapp.png", "sampleapp/com.example.SampleApp.desktop"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s lacks %s: %v", filepath.Base(tgz), want, names)
		}
	}

	// Same inputs, same bytes.
	out2 := filepath.Join(t.TempDir(), "kit")
	k.kit(out2, flags...)
	for _, f := range []string{deb, tgz} {
		if !bytes.Equal(readBytes(t, f), readBytes(t, filepath.Join(out2, filepath.Base(f)))) {
			t.Errorf("%s differs between two runs of kit on the same inputs", filepath.Base(f))
		}
	}
}

// installDeb installs the package into a throw-away root with dpkg --root
// (as root; dpkg needs its database there), or unpacks it with dpkg-deb -x
// otherwise, and returns the root.
func installDeb(t *testing.T, deb string) string {
	t.Helper()
	root := t.TempDir()
	if os.Geteuid() != 0 {
		if b, err := exec.Command("dpkg-deb", "-x", deb, root).CombinedOutput(); err != nil {
			t.Fatalf("dpkg-deb -x: %v\n%s", err, b)
		}
		return root
	}
	dpkg := testenv.LookPath(t, "dpkg", "dpkg")
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dpkg, "--root="+root, "--force-script-chrootless", "--log=/dev/null", "-i", deb)
	cmd.Env = append(os.Environ(), "PATH="+os.Getenv("PATH")+":/usr/sbin:/sbin")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dpkg --root -i: %v\n%s", err, b)
	}
	status := readText(t, filepath.Join(root, "var/lib/dpkg/status"))
	if !strings.Contains(status, "Package: sampleapp") || !strings.Contains(status, "Status: install ok installed") {
		t.Fatalf("dpkg does not list the package as installed:\n%s", status)
	}
	return root
}

// The .app bundle: layout, modes, Info.plist naming the executable that is
// there, launcher.json and root.json in Contents/Resources where the
// launcher reads them in a bundle, data_dir outside the bundle.
func TestKitMacBundle(t *testing.T) {
	k := newKitEnv(t)
	k.publishFor("2.0.0", "darwin/arm64", k.bins.SampleApp)
	// kit packs the binary it is given; a macOS build cannot run here, so
	// a marked stand-in shows where it lands.
	stand := filepath.Join(t.TempDir(), "launcher")
	if err := os.WriteFile(stand, []byte("macOS launcher stand-in"), 0o755); err != nil {
		t.Fatal(err)
	}
	k.addLauncher("launcher-darwin-arm64", stand)
	icns := filepath.Join(t.TempDir(), "app.icns")
	if err := os.WriteFile(icns, []byte("icns"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "kit")
	log := k.kit(out, "--platform", "darwin/arm64", "--name", "Sample App", "--id", "com.example.SampleApp", "--icon", icns)
	if !strings.Contains(log, "codesign") || !strings.Contains(log, "notarytool") {
		t.Errorf("kit does not print the signing steps:\n%s", log)
	}
	zr, err := zip.OpenReader(filepath.Join(out, "Sample App-2.0.0-darwin-arm64.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		files[f.Name] = f
	}
	read := func(name string) []byte {
		f := files[name]
		if f == nil {
			t.Fatalf("bundle lacks %s", name)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if exe := read("Sample App.app/Contents/MacOS/Sample App"); string(exe) != "macOS launcher stand-in" || files["Sample App.app/Contents/MacOS/Sample App"].Mode().Perm() != 0o755 {
		t.Errorf("the launcher is not Contents/MacOS/Sample App, mode 0755 (mode %v)", files["Sample App.app/Contents/MacOS/Sample App"].Mode())
	}
	if !bytes.Equal(read("Sample App.app/Contents/Resources/root.json"), readBytes(t, filepath.Join(k.metadataDir(), "root.json"))) {
		t.Error("Contents/Resources/root.json is not the repository's root")
	}
	read("Sample App.app/Contents/Resources/Sample App.icns")
	var cfg map[string]any
	if err := json.Unmarshal(read("Sample App.app/Contents/Resources/launcher.json"), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg["data_dir"] != "{userdata}/Sample App" || cfg["app_name"] != "sampleapp" || cfg["metadata_url"] != k.srv.URL+"/metadata/" {
		t.Errorf("launcher.json in the bundle: %v", cfg)
	}
	plist := plistStrings(t, read("Sample App.app/Contents/Info.plist"))
	for key, want := range map[string]string{
		"CFBundleExecutable": "Sample App", "CFBundleIdentifier": "com.example.SampleApp", "CFBundlePackageType": "APPL",
		"CFBundleShortVersionString": "2.0.0", "CFBundleIconFile": "Sample App", "CFBundleName": "Sample App",
	} {
		if plist[key] != want {
			t.Errorf("Info.plist %s = %q, want %q", key, plist[key], want)
		}
	}
}

// A seeded kit starts the app with the server down: the launcher checks the
// seed's archive against the signed targets metadata shipped with it; a
// seed whose archive was altered is not installed.
func TestKitSeedStartsOffline(t *testing.T) {
	k := newKitEnv(t)
	linux := "linux/" + runtime.GOARCH
	k.publishFor("1.0.0", linux, k.bins.SampleApp)
	out := filepath.Join(t.TempDir(), "kit")
	// The kit's launcher.json points at a port nothing listens on.
	k.repo("kit", "--out", out, "--launchers", k.launchers, "--url", "http://127.0.0.1:1/", "--entry", "sampleapp", "--platform", linux, "--seed")
	tgz := filepath.Join(out, "sampleapp-1.0.0-linux-"+runtime.GOARCH+".tar.gz")
	if !slices.Contains(tarNames(t, tgz), "sampleapp/seed/sampleapp-linux-"+runtime.GOARCH+"-1.0.0.tar.gz") {
		t.Fatalf("the seeded tarball lacks the archive: %v", tarNames(t, tgz))
	}

	unpack := func() (*install, string) {
		dir := t.TempDir()
		if b, err := exec.Command("tar", "-xzf", tgz, "-C", dir).CombinedOutput(); err != nil {
			t.Fatalf("tar: %v\n%s", err, b)
		}
		data := t.TempDir()
		return &install{t: t, dir: filepath.Join(data, "sampleapp"), launcher: filepath.Join(dir, "sampleapp", "sampleapp"), out: filepath.Join(t.TempDir(), "runs.jsonl")}, data
	}
	// As a per-machine install: the launcher's folder read-only, two users
	// each installing from the same seed into their own data folder.
	in, data := unpack()
	launcherDir := filepath.Dir(in.launcher)
	if out, err := exec.Command("chmod", "-R", "a-w", launcherDir).CombinedOutput(); err != nil {
		t.Fatalf("chmod: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("chmod", "-R", "u+w", launcherDir).Run() })
	before, err := treeOf(launcherDir)
	if err != nil {
		t.Fatal(err)
	}
	for user := range 2 {
		if user == 1 {
			data = t.TempDir()
			in = &install{t: t, dir: filepath.Join(data, "sampleapp"), launcher: in.launcher, out: in.out}
		}
		r := in.run([]string{"XDG_DATA_HOME=" + data})
		if r.code != 0 || len(r.runs) != 1 || r.runs[0].Version != "1.0.0" {
			t.Fatalf("user %d: seeded start with the server down: exit %d, runs %+v\nstderr: %s\nlog:\n%s", user, r.code, r.runs, r.stderr, in.log())
		}
		if !strings.Contains(in.log(), "installing the release shipped with the launcher") {
			t.Errorf("user %d: the log does not say the seed was installed:\n%s", user, in.log())
		}
	}
	after, err := treeOf(launcherDir)
	if err != nil {
		t.Fatal(err)
	}
	for name, digest := range before {
		if after[name] != digest {
			t.Errorf("the launcher changed %s in its read-only folder", name)
		}
	}
	if len(after) != len(before) {
		t.Errorf("the launcher's folder changed: %d entries before, %d after", len(before), len(after))
	}

	in, data = unpack()
	seed := filepath.Join(filepath.Dir(in.launcher), "seed", "sampleapp-linux-"+runtime.GOARCH+"-1.0.0.tar.gz")
	b := readBytes(t, seed)
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(seed, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r := in.run([]string{"XDG_DATA_HOME=" + data})
	if r.code == 0 || len(r.runs) != 0 {
		t.Fatalf("an altered seed started the app: exit %d, runs %+v", r.code, r.runs)
	}
	if !strings.Contains(in.log(), "seed archive does not match its signed metadata") {
		t.Errorf("the log does not name the altered seed:\n%s", in.log())
	}
}

// regexpMatch tells whether a line of s matches pattern.
func regexpMatch(pattern, s string) bool {
	return regexp.MustCompile("(?m)^" + pattern).MatchString(s)
}

func readText(t *testing.T, path string) string {
	t.Helper()
	return strings.TrimSpace(string(readBytes(t, path)))
}

func readBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tarNames lists a .tar.gz's member names, read by tar itself.
func tarNames(t *testing.T, path string) []string {
	t.Helper()
	out, err := exec.Command("tar", "-tzf", path).CombinedOutput()
	if err != nil {
		t.Fatalf("tar -tzf %s: %v\n%s", path, err, out)
	}
	return strings.Fields(string(out))
}

// plistStrings reads the <key>/<string> pairs of an Info.plist's dict.
func plistStrings(t *testing.T, b []byte) map[string]string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	out := map[string]string{}
	var key, elem string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("Info.plist is not well-formed XML: %v", err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			elem = tk.Name.Local
		case xml.CharData:
			switch elem {
			case "key":
				key = string(tk)
			case "string":
				out[key] = string(tk)
			}
		case xml.EndElement:
			elem = ""
		}
	}
}
