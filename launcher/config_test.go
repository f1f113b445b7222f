package launcher

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const minimal = `{"app_name": "myapp", "metadata_url": "https://u.example/metadata", "targets_url": "https://u.example/targets/", "entry": "myapp"}`

func TestConfigDefaults(t *testing.T) {
	c, err := ParseConfig([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if c.Channel != "stable" || c.KeepVersions != 2 || c.Update != UpdateOnStart ||
		time.Duration(c.CheckTimeout) != DefaultCheckTimeout || *c.ProbationStarts != DefaultProbationStarts ||
		c.ProbationFailures != DefaultProbationFailures {
		t.Fatalf("defaults not filled in: %+v", c)
	}
	if c.MetadataURL != "https://u.example/metadata/" {
		t.Fatalf("metadata_url not given a trailing slash: %s", c.MetadataURL)
	}
}

func TestConfigValues(t *testing.T) {
	c, err := ParseConfig([]byte(`{"app_name": "myapp", "metadata_url": "file:///srv/m/", "targets_url": "file:///srv/t/",
		"entry": {"windows": "myapp.exe", "darwin/arm64": "arm/myapp", "darwin": "universal/myapp", "default": "bin/myapp"}, "channel": "b", "check_timeout": 1.5,
		"idle_timeout": "1m", "probation_starts": 0, "headers": {"Authorization": "Bearer x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ goos, goarch, want string }{
		{"windows", "amd64", "myapp.exe"},
		{"windows", "arm64", "myapp.exe"},
		{"darwin", "arm64", "arm/myapp"},
		{"darwin", "amd64", "universal/myapp"},
		{"linux", "amd64", "bin/myapp"},
	} {
		if e, err := c.Entry.For(tc.goos, tc.goarch); e != tc.want {
			t.Errorf("entry for %s/%s = %q (%v), want %q", tc.goos, tc.goarch, e, err, tc.want)
		}
	}
	c.Entry.PerOS = map[string]string{"windows/amd64": "a.exe"}
	if e, err := c.Entry.For("windows", "arm64"); err == nil || !strings.Contains(err.Error(), `"windows/arm64"`) {
		t.Errorf("entry for windows/arm64 = %q, %v; want an error naming the key to add", e, err)
	}
	if c.Channel != "beta" || time.Duration(c.CheckTimeout) != 1500*time.Millisecond || time.Duration(c.IdleTimeout) != time.Minute || *c.ProbationStarts != 0 {
		t.Errorf("values not read: %+v", c)
	}
}

// Each bad config is refused with an error naming the key at fault.
func TestConfigErrorsNameTheKey(t *testing.T) {
	cases := map[string]string{
		`{"app_name": "a", "metadata_url": "https://x/", "targets_url": "https://x/", "entry": "a", "chanel": "beta"}`:                               `"chanel"`,
		`{"metadata_url": "https://x/", "targets_url": "https://x/", "entry": "a"}`:                                                                  `"app_name"`,
		`{"app_name": "a", "targets_url": "https://x/", "entry": "a"}`:                                                                               `"metadata_url"`,
		`{"app_name": "a", "metadata_url": "ftp://x/", "targets_url": "https://x/", "entry": "a"}`:                                                   `"metadata_url"`,
		`{"app_name": "a", "metadata_url": "https://x/", "targets_url": "https://x/"}`:                                                               `"entry"`,
		`{"app_name": "a", "metadata_url": "https://x/", "targets_url": "https://x/", "entry": "../../bin/sh"}`:                                      `"entry"`,
		`{"app_name": "a", "metadata_url": "https://x/", "targets_url": "https://x/", "entry": "/bin/sh"}`:                                           `"entry"`,
		`{"app_name": "a", "metadata_url": "https://x/", "targets_url": "https://x/", "entry": "a", "channel": "nightly"}`:                           `"channel"`,
		`{"app_name": "a", "metadata_url": "https://x/", "targets_url": "https://x/", "entry": "a", "keep_versions": 1}`:                             `"keep_versions"`,
		`{"app_name": "a", "metadata_url": "https://x/", "targets_url": "https://x/", "entry": "a", "keep_versions": "2"}`:                           `"keep_versions"`,
		`{"app_name": "a", "metadata_url": "https://x/", "targets_url": "https://x/", "entry": "a", "update": "always"}`:                             `"update"`,
		`{"app_name": "a", "metadata_url": "https://x/", "targets_url": "https://x/", "entry": "a", "ui": "gui"}`:                                    `"ui"`,
		`{"app_name": "a", "metadata_url": "https://x/", "targets_url": "https://x/", "entry": "a", "check_timeout": "soon"}`:                        `"check_timeout"`,
		`{"app_name": "a", "metadata_url": "https://x/", "targets_url": "https://x/", "entry": "a", "probation_starts": 2, "probation_failures": 3}`: `"probation_failures"`,
		`{"app_name": "a", "metadata_url": "https://x/", "targets_url": "https://x/", "entry": "a", "headers": {"Bad Name": "x"}}`:                   `"headers"`,
	}
	for in, key := range cases {
		_, err := ParseConfig([]byte(in))
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("config %s\n  error %v, want one naming %s", in, err, key)
		}
	}
	if _, err := ParseConfig([]byte(`{"app_name": `)); err == nil || !strings.Contains(err.Error(), "JSON") {
		t.Errorf("broken JSON: %v", err)
	}
}

func TestConfigDirInMacOSBundle(t *testing.T) {
	root := t.TempDir()
	macos := filepath.Join(root, "MyApp.app", "Contents", "MacOS")
	resources := filepath.Join(root, "MyApp.app", "Contents", "Resources")
	os.MkdirAll(macos, 0o755)
	os.MkdirAll(resources, 0o755)
	exe := filepath.Join(macos, "MyApp")
	if got := ConfigDir(exe); got != macos {
		t.Fatalf("without Resources/launcher.json: %s, want %s", got, macos)
	}
	os.WriteFile(filepath.Join(resources, ConfigFile), []byte("{}"), 0o644)
	if got := ConfigDir(exe); got != resources {
		t.Fatalf("with Resources/launcher.json: %s, want %s", got, resources)
	}
	plain := filepath.Join(root, "opt", "myapp", "launcher")
	if got := ConfigDir(plain); got != filepath.Dir(plain) {
		t.Fatalf("outside a bundle: %s", got)
	}
}
