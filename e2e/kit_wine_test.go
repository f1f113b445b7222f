package e2e

// Issue 17 under Wine: the Setup.exe tufup-repo kit makes installs per
// user without admin rights, creates the Start-menu shortcut and the
// uninstall entry, starts the launcher, which installs the Windows build
// from a repository of several platforms; its uninstaller removes all of
// it; a seeded Setup.exe starts the app with the server down.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tufup-go/tufup/internal/testenv"
)

func TestWineKitSetup(t *testing.T) {
	win := wineSetup(t)
	testenv.LookPath(t, "makensis", "nsis")
	k := newKitEnv(t)
	k.addLauncher("launcher-windows-amd64.exe", win.GUILauncher)
	k.publishFor("1.0.0", "windows/amd64", win.SampleApp)
	k.publishFor("1.0.0", "linux/"+runtime.GOARCH, k.bins.SampleApp)
	k.publishFor("1.0.0", "darwin/arm64", k.bins.SampleApp)
	local, roaming := wineFolders(t)

	// Names unique to this run: the Wine prefix is shared.
	name := fmt.Sprintf("KitApp%d", time.Now().UnixNano()%1e9)
	setup := func(seeded bool) (exe, installDir string) {
		out := filepath.Join(t.TempDir(), "kit")
		args := []string{"kit", "--out", out, "--launchers", k.launchers, "--platform", "windows/amd64",
			"--entry", "windows=sampleapp.exe", "--name", name, "--id", "Example." + name}
		if seeded {
			args = append(args, "--url", "http://127.0.0.1:1/", "--seed")
		} else {
			args = append(args, "--url", k.srv.URL)
		}
		k.repo(args...)
		installDir = filepath.Join(local, "Programs", name)
		t.Cleanup(func() { wineUninstall(t, installDir, name) })
		return filepath.Join(out, name+"-1.0.0-windows-amd64-Setup.exe"), installDir
	}

	exe, installDir := setup(false)
	in := &install{t: t, dir: installDir, out: filepath.Join(t.TempDir(), "runs.jsonl")}
	wine(t, in.out, exe, "/S")
	run := waitForRun(t, in)
	if run.Version != "1.0.0" {
		t.Fatalf("the app started after Setup.exe /S is %s, want 1.0.0\nlog:\n%s", run.Version, in.log())
	}
	if got := readText(t, filepath.Join(installDir, "versions", "1.0.0", "PLATFORM")); got != "windows/amd64" {
		t.Fatalf("the Windows launcher installed the %q build", got)
	}
	for _, f := range []string{name + ".exe", "launcher.json", "root.json", "Uninstall.exe"} {
		if _, err := os.Stat(filepath.Join(installDir, f)); err != nil {
			t.Errorf("the install folder in the user's profile lacks %s: %v", f, err)
		}
	}
	lnk := filepath.Join(roaming, "Microsoft", "Windows", "Start Menu", "Programs", name+".lnk")
	target := `\AppData\Local\Programs\` + name + `\` + name + ".exe"
	if b, err := os.ReadFile(lnk); err != nil {
		t.Errorf("no Start-menu shortcut: %v", err)
	} else if !bytes.Contains(b, []byte(target)) {
		t.Errorf("the Start-menu shortcut does not point at %s", target)
	}
	reg := wineCmd(t, "reg", "query", uninstallKey(name))
	if !strings.Contains(reg, `Uninstall.exe" /S`) || !strings.Contains(reg, "DisplayName") {
		t.Errorf("no uninstall entry for the user:\n%s", reg)
	}

	wineUninstall(t, installDir, name)
	if _, err := os.Stat(installDir); !os.IsNotExist(err) {
		t.Errorf("the uninstaller left %s (%v)", installDir, err)
	}
	if _, err := os.Stat(lnk); !os.IsNotExist(err) {
		t.Errorf("the uninstaller left the shortcut (%v)", err)
	}
	if out, err := exec.Command("wine", "reg", "query", uninstallKey(name)).CombinedOutput(); err == nil {
		t.Errorf("the uninstaller left the uninstall entry:\n%s", out)
	}

	// Seeded, with nothing listening at the repository's URL.
	exe, installDir = setup(true)
	in = &install{t: t, dir: installDir, out: filepath.Join(t.TempDir(), "runs.jsonl")}
	wine(t, in.out, exe, "/S")
	if run := waitForRun(t, in); run.Version != "1.0.0" {
		t.Fatalf("the seeded Setup.exe started %s, want 1.0.0", run.Version)
	}
	if !strings.Contains(in.log(), "installing the release shipped with the launcher") {
		t.Errorf("the log does not say the seed was installed:\n%s", in.log())
	}
}

func uninstallKey(name string) string {
	return `HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\Example.` + name
}

// wine runs a Windows program to its end, with the sample app's run log.
func wine(t *testing.T, appOut string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wine", args...)
	cmd.Env = append(os.Environ(), "WINEDEBUG=-all", "WINEDLLOVERRIDES=winemenubuilder.exe=d", "SAMPLEAPP_OUT="+winPath(appOut))
	// The launcher the installer starts inherits these; files, so that
	// waiting for wine does not also wait for it.
	f, err := os.Create(filepath.Join(t.TempDir(), "wine.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(f.Name())
		t.Fatalf("wine %s: %v\n%s", strings.Join(args, " "), err, b)
	}
}

func wineCmd(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("wine", args...)
	cmd.Env = append(os.Environ(), "WINEDEBUG=-all")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("wine %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// wineFolders returns the Linux paths of the user's %LOCALAPPDATA% and
// %APPDATA% in the Wine prefix.
func wineFolders(t *testing.T) (local, roaming string) {
	t.Helper()
	out := strings.Fields(strings.ReplaceAll(wineCmd(t, "cmd", "/c", "echo %LOCALAPPDATA%&echo %APPDATA%"), " ", "\x00"))
	if len(out) != 2 {
		t.Fatalf("cannot read %%LOCALAPPDATA%% and %%APPDATA%% from Wine: %q", out)
	}
	prefix := os.Getenv("WINEPREFIX")
	if prefix == "" {
		home, _ := os.UserHomeDir()
		prefix = filepath.Join(home, ".wine")
	}
	conv := func(p string) string {
		p = strings.ReplaceAll(p, "\x00", " ")
		if !strings.HasPrefix(strings.ToUpper(p), `C:\`) {
			t.Fatalf("unexpected Wine folder %q", p)
		}
		return filepath.Join(prefix, "drive_c", filepath.FromSlash(strings.ReplaceAll(p[3:], `\`, "/")))
	}
	return conv(out[0]), conv(out[1])
}

// waitForRun waits for the app the installer started to record its run.
func waitForRun(t *testing.T, in *install) appRun {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if runs := in.runs(); len(runs) > 0 {
			return runs[0]
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the app did not start after Setup.exe\nlog:\n%s", in.log())
	return appRun{}
}

// wineUninstall runs the installed uninstaller silently and waits for it:
// NSIS's uninstaller copies itself to %TEMP% and removes the install from
// there, after the started copy has exited.
func wineUninstall(t *testing.T, installDir, name string) {
	t.Helper()
	un := filepath.Join(installDir, "Uninstall.exe")
	if _, err := os.Stat(un); err != nil {
		return
	}
	wine(t, filepath.Join(t.TempDir(), "unused.jsonl"), un, "/S")
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(installDir); os.IsNotExist(err) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("the uninstaller did not remove %s within a minute", installDir)
}
