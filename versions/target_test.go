package versions

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	for _, c := range []struct {
		name, app, version string
		kind               Kind
	}{
		{"app-1.0.tar.gz", "app", "1.0", Archive},
		{"app-1.0.patch", "app", "1.0", Patch},
		{"demoapp-2.0.0a1.patch", "demoapp", "2.0.0a1", Patch},
		{"app-1-0.tar.gz", "app-1", "0", Archive},                     // greedy name, as tufup's regex
		{"my-app-1.2.0-rc.1.tar.gz", "my-app", "1.2.0-rc.1", Archive}, // no "." in names
		{"app-2-1-0.tar.gz", "app-2-1", "0", Archive},
		{"my_app-1!2.0.post1.tar.gz", "my_app", "1!2.0.post1", Archive},
		{"app-v1.0.0+build.5.tar.gz", "app", "v1.0.0+build.5", Archive},
		{"--1.0.tar.gz", "-", "1.0", Archive},
		{"приложение-1.0.tar.gz", "приложение", "1.0", Archive}, // Python's \w is Unicode-aware
		{"应用-1.0.patch", "应用", "1.0", Patch},
		{"app٣-1.0.tar.gz", "app٣", "1.0", Archive},
	} {
		got, err := ParseTarget(c.name)
		if err != nil {
			t.Errorf("ParseTarget(%q): %v", c.name, err)
			continue
		}
		if got.App != c.app || got.Version.String() != c.version || got.Kind != c.kind {
			t.Errorf("ParseTarget(%q) = %q %q %v, want %q %q %v", c.name, got.App, got.Version, got.Kind, c.app, c.version, c.kind)
		}
		if got.Name() != c.name {
			t.Errorf("ParseTarget(%q).Name() = %q", c.name, got.Name())
		}
	}
}

func TestParseTargetIgnoresOtherNames(t *testing.T) {
	for _, name := range []string{
		"app-1.0.zip", "app-1.0.tar", "app-1.0.tgz", "app-1.0.tar.bz2", "app-1.0.tar.gz.sig",
		"app.tar.gz", "app-.tar.gz", "-1.0.tar.gz", "1.0.tar.gz", "app.patch",
		"app 1.0.tar.gz", "my app-1.0.tar.gz", "dir/app-1.0.tar.gz", "app.v2-1.0.tar.gz",
		"e\u0301-1.0.tar.gz", // combining marks are not \w in Python
		"app-1.0.tar.gz\n", "", "root.json", "app-1.0.TAR.GZ",
	} {
		_, err := ParseTarget(name)
		if !errors.Is(err, ErrNotTarget) {
			t.Errorf("ParseTarget(%q) = %v, want ErrNotTarget", name, err)
		}
	}
}

func TestParseTargetBadVersion(t *testing.T) {
	for name, version := range map[string]string{
		"app-latest.tar.gz":        "latest",
		"app-1.0+local.tar.gz":     "1.0+local",
		"app-1.0.tar.gz.patch":     "1.0.tar.gz",
		"app-1.0.0.tar.gz.tar.gz":  "1.0.0.tar.gz",
		"app-1.0 (copy).tar.gz":    "1.0 (copy)",
		"app-1-0-1.0..1.patch":     "1.0..1",
		"app-\n1.0.tar.gz":         "",
		"app-1.0\u00a0beta.tar.gz": "1.0\u00a0beta",
	} {
		_, err := ParseTarget(name)
		if version == "" {
			// A newline in the version does not match "." in either Python or Go.
			if !errors.Is(err, ErrNotTarget) {
				t.Errorf("ParseTarget(%q) = %v, want ErrNotTarget", name, err)
			}
			continue
		}
		if err == nil || errors.Is(err, ErrNotTarget) {
			t.Errorf("ParseTarget(%q) = %v, want an invalid-version error", name, err)
			continue
		}
		for _, want := range []string{strconv.Quote(name), strconv.Quote(version)} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("ParseTarget(%q) error %q does not mention %s", name, err, want)
			}
		}
	}
}

func TestNames(t *testing.T) {
	v := mustParse(t, "1.2.0")
	if got := ArchiveName("app", v); got != "app-1.2.0.tar.gz" {
		t.Errorf("ArchiveName = %q", got)
	}
	if got := PatchName("app", v); got != "app-1.2.0.patch" {
		t.Errorf("PatchName = %q", got)
	}
	// Names keep the version as written, so they match the repository's.
	for _, s := range []string{"2.0.0A1", "1.0-r4", "v1.0.0-rc.1", "1!2.0"} {
		v := mustParse(t, s)
		for _, name := range []string{ArchiveName("app", v), PatchName("app", v)} {
			got, err := ParseTarget(name)
			if err != nil || got.App != "app" || got.Version.String() != s || got.Version.Compare(v) != 0 {
				t.Errorf("ParseTarget(%q) = %+v, %v; want app %q", name, got, err, s)
			}
		}
	}
	if Archive.String() != "archive" || Patch.String() != "patch" {
		t.Errorf("Kind strings: %v %v", Archive, Patch)
	}
}
