package versions

import (
	"regexp"
	"testing"
)

func TestPlatformAppNameRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		in, name, str string
	}{
		{"", "myapp", "universal"},
		{"darwin", "myapp-darwin", "darwin"},
		{"windows/amd64", "myapp-windows-amd64", "windows/amd64"},
		{"linux/arm64", "myapp-linux-arm64", "linux/arm64"},
	} {
		p, err := ParsePlatform(tc.in)
		if err != nil {
			t.Fatalf("ParsePlatform(%q): %v", tc.in, err)
		}
		if got := p.AppName("myapp"); got != tc.name {
			t.Errorf("%q: AppName = %q, want %q", tc.in, got, tc.name)
		}
		if p.String() != tc.str {
			t.Errorf("%q: String = %q, want %q", tc.in, p.String(), tc.str)
		}
		back, ok := PlatformOf("myapp", tc.name)
		if !ok || back != p {
			t.Errorf("PlatformOf(myapp, %q) = %v, %v; want %v", tc.name, back, ok, p)
		}
	}
}

func TestParsePlatformRejects(t *testing.T) {
	for _, s := range []string{"/amd64", "linux/x86", "win/amd64", "Linux", "linux/amd64/v2"} {
		if _, err := ParsePlatform(s); err == nil {
			t.Errorf("ParsePlatform(%q) accepted", s)
		}
	}
}

func TestPlatformOfOtherApps(t *testing.T) {
	for _, name := range []string{"other", "myapp-tools", "myapp-linux-x86", "myapp-", "myapp-linux-", "myappx-linux", "myapp-linux-amd64-extra"} {
		if p, ok := PlatformOf("myapp", name); ok {
			t.Errorf("PlatformOf(myapp, %q) = %v, want not myapp's", name, p)
		}
	}
}

// tufupPattern is Python tufup 0.10's target name regex, as Python's re
// reads it (for these ASCII names \w is [A-Za-z0-9_]).
var tufupPattern = regexp.MustCompile(`^(?P<name>[\w-]+)-(?P<version>.+)(?P<suffix>\.tar\.gz|\.patch)$`)

// A platform's target names read, with tufup's own greedy pattern, as the
// platform's app name and the release's version: what a Python tufup
// client configured with that app name selects.
func TestPlatformTargetsAsTufupReadsThem(t *testing.T) {
	for _, p := range []Platform{{}, {OS: "darwin"}, {OS: "windows", Arch: "amd64"}, {OS: "linux", Arch: "386"}} {
		for _, ver := range []string{"1.2.0", "2.0.0rc1", "1!3.0.post2", "1.0.dev4"} {
			v, err := Parse(ver)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{ArchiveName(p.AppName("my-app"), v), PatchName(p.AppName("my-app"), v)} {
				m := tufupPattern.FindStringSubmatch(name)
				if m == nil || m[1] != p.AppName("my-app") || m[2] != ver {
					t.Errorf("%s: tufup reads %q, want app %q version %q", name, m, p.AppName("my-app"), ver)
				}
				got, err := ParseTarget(name)
				if err != nil {
					t.Fatal(err)
				}
				back, ok := PlatformOf("my-app", got.App)
				if !ok || back != p {
					t.Errorf("%s: platform %v %v, want %v", name, back, ok, p)
				}
			}
		}
	}
}

func TestFallbacks(t *testing.T) {
	got := Fallbacks("darwin", "arm64")
	want := []Platform{{"darwin", "arm64"}, {"darwin", ""}, {}}
	if len(got) != len(want) {
		t.Fatalf("Fallbacks = %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Fallbacks[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}
