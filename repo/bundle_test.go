package repo

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tufup-go/tufup/versions"
)

// A bundle for one platform must hold that platform's entry point; a
// universal bundle every platform's; Unix programs must be executable.
func TestCheckBundleEntry(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("myapp.exe", 0o644) // a Windows program needs no executable bit
	write("bin/myapp", 0o755)
	entry := Entry{"windows": "myapp.exe", "darwin/arm64": "MyApp.app/Contents/MacOS/MyApp", "default": "bin/myapp"}
	for _, c := range []struct {
		platform versions.Platform
		wantErr  string
	}{
		{versions.Platform{OS: "windows", Arch: "amd64"}, ""},
		{versions.Platform{OS: "linux"}, ""},
		{versions.Platform{OS: "darwin", Arch: "arm64"}, "no entry point MyApp.app/Contents/MacOS/MyApp"},
		{versions.Platform{}, "no entry point MyApp.app/Contents/MacOS/MyApp"},
	} {
		err := checkBundle(dir, c.platform, entry)
		if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("platform %+v: %v, want error containing %q", c.platform, err, c.wantErr)
		}
	}
	if err := checkBundle(dir, versions.Platform{OS: "linux"}, Entry{"windows": "myapp.exe"}); err == nil || !strings.Contains(err.Error(), `no path for linux`) {
		t.Errorf("entry without a path for linux: %v", err)
	}
	if runtime.GOOS != "windows" {
		write("bin/tool", 0o644)
		if err := checkBundle(dir, versions.Platform{}, Entry{"default": "bin/tool"}); err == nil || !strings.Contains(err.Error(), "not executable") {
			t.Errorf("non-executable entry: %v", err)
		}
		if err := checkBundle(dir, versions.Platform{}, Entry{"windows": "bin/tool"}); err != nil {
			t.Errorf("a Windows-only entry needs no executable bit: %v", err)
		}
	}
}
