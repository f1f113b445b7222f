package launcher

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestResolveDataDir(t *testing.T) {
	env := map[string]map[string]string{
		"windows":   {"LOCALAPPDATA": `C:\Users\Ana\AppData\Local`, "USERPROFILE": `C:\Users\Ana`},
		"darwin":    {"HOME": "/Users/ana"},
		"linux":     {"HOME": "/home/ana"},
		"linux-xdg": {"HOME": "/home/ana", "XDG_DATA_HOME": "/data/ana"},
	}
	cases := []struct {
		goos, envName, spec, want string
	}{
		{"linux", "linux", "", "/opt/app"},
		{"linux", "linux", "{userdata}/MyApp", "/home/ana/.local/share/MyApp"},
		{"linux", "linux-xdg", "{userdata}/MyApp", "/data/ana/MyApp"},
		{"linux", "linux", "{home}/.myapp", "/home/ana/.myapp"},
		{"linux", "linux", "state", "/opt/app/state"},
		{"linux", "linux", "/var/lib/myapp", "/var/lib/myapp"},
		{"darwin", "darwin", "{userdata}/MyApp", "/Users/ana/Library/Application Support/MyApp"},
		{"windows", "windows", `{userdata}\MyApp`, `C:\Users\Ana\AppData\Local\MyApp`},
		{"windows", "windows", `{home}\MyApp`, `C:\Users\Ana\MyApp`},
	}
	for _, c := range cases {
		got, err := ResolveDataDir(c.spec, "/opt/app", c.goos, func(k string) string { return env[c.envName][k] })
		if err != nil {
			t.Errorf("%s %q: %v", c.goos, c.spec, err)
			continue
		}
		// Paths are joined with this OS's separator; compare slash forms.
		if filepath.ToSlash(got) != filepath.ToSlash(filepath.FromSlash(c.want)) && strings.ReplaceAll(got, "/", `\`) != c.want {
			t.Errorf("%s %q = %q, want %q", c.goos, c.spec, got, c.want)
		}
	}
}

func TestResolveDataDirErrors(t *testing.T) {
	none := func(string) string { return "" }
	for _, c := range []struct{ goos, spec, want string }{
		{"windows", "{userdata}/x", "LOCALAPPDATA"},
		{"linux", "{userdata}/x", "HOME"},
		{"linux", "{appdata}/x", "unknown placeholder {appdata}"},
	} {
		_, err := ResolveDataDir(c.spec, "/opt/app", c.goos, none)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "data_dir") {
			t.Errorf("%s %q: err = %v, want one naming data_dir and %s", c.goos, c.spec, err, c.want)
		}
	}
}
