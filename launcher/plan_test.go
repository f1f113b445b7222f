package launcher

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/launcher/lifecycle"
	"github.com/tufup-go/tufup/versions"
)

// fixtureTargets reads the targets that real Python tufup 0.10 signed.
func fixtureTargets(t *testing.T) []fetch.TargetInfo {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "tufup-0.10-demoapp", "repository", "metadata", "targets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var md struct {
		Signed struct {
			Targets map[string]struct {
				Length int64             `json:"length"`
				Hashes map[string]string `json:"hashes"`
				Custom json.RawMessage   `json:"custom"`
			} `json:"targets"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(b, &md); err != nil {
		t.Fatal(err)
	}
	var out []fetch.TargetInfo
	for name, tf := range md.Signed.Targets {
		out = append(out, fetch.TargetInfo{Name: name, Length: tf.Length, Hashes: tf.Hashes, Custom: tf.Custom})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func mustVersion(t *testing.T, s string) *versions.Version {
	t.Helper()
	v, err := versions.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return &v
}

func names(ts []fetch.TargetInfo) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

func noWarn(t *testing.T) func(string, ...any) {
	return func(msg string, args ...any) { t.Errorf("unexpected warning: %s %v", msg, args) }
}

// The choices the issue lists for the Python-made fixture.
func TestPlanOnTufupFixture(t *testing.T) {
	targets := fixtureTargets(t)
	cases := []struct {
		current, channel string
		haveBase         bool
		wantTo           string // "" = no update
		wantPatches      []string
	}{
		{"", "stable", false, "1.2.0", nil},
		{"1.0.0", "stable", true, "1.2.0", []string{"demoapp-1.1.0.patch", "demoapp-1.2.0.patch"}},
		{"1.2.0", "alpha", true, "2.0.0a1", []string{"demoapp-2.0.0a1.patch"}},
		{"1.2.0", "beta", true, "", nil},
		{"1.2.0", "stable", true, "", nil},
		{"1.1.0", "stable", true, "1.2.0", []string{"demoapp-1.2.0.patch"}},
		{"1.0.0", "stable", false, "1.2.0", nil}, // no cached base: full archive
		// 1.2.0 is required: from 1.0.0 even the alpha channel stops there.
		{"1.0.0", "alpha", true, "1.2.0", []string{"demoapp-1.1.0.patch", "demoapp-1.2.0.patch"}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s-%s-base=%v", c.current, c.channel, c.haveBase), func(t *testing.T) {
			in := planInput{app: "demoapp", targets: targets, channel: versions.Channel(c.channel), haveBase: c.haveBase}
			if c.current != "" {
				in.current = mustVersion(t, c.current)
			}
			p := planUpdate(in, noWarn(t))
			if c.wantTo == "" {
				if p != nil {
					t.Fatalf("planned %s, want no update", p.To)
				}
				return
			}
			if p == nil || p.To.String() != c.wantTo {
				t.Fatalf("plan = %+v, want update to %s", p, c.wantTo)
			}
			if !slices.Equal(names(p.Patches), c.wantPatches) {
				t.Fatalf("patches = %v (full because %q), want %v", names(p.Patches), p.WhyFull, c.wantPatches)
			}
			if p.Archive.Name != "demoapp-"+c.wantTo+".tar.gz" {
				t.Fatalf("archive = %s", p.Archive.Name)
			}
			if len(p.Patches) > 0 && p.Tar.SHA256 == "" {
				t.Fatal("no tar_hash to verify the patched tar against")
			}
			if !strings.Contains(string(p.User), "release "+c.wantTo) {
				t.Fatalf("user metadata %s does not carry the release notes", p.User)
			}
		})
	}
}

func TestPlanFailedPatchIsNotRetried(t *testing.T) {
	in := planInput{app: "demoapp", targets: fixtureTargets(t), channel: versions.Stable, haveBase: true,
		current: mustVersion(t, "1.0.0"), failedPatches: []string{"demoapp-1.2.0.patch"}}
	p := planUpdate(in, noWarn(t))
	if p == nil || len(p.Patches) != 0 || !strings.Contains(p.WhyFull, "failed before") {
		t.Fatalf("plan = %+v; want the full archive because a patch failed before", p)
	}
}

// target builds a synthetic signed target for the rules tests.
func target(name string, length int64, custom string) fetch.TargetInfo {
	return fetch.TargetInfo{Name: name, Length: length, Hashes: map[string]string{"sha256": "00"}, Custom: json.RawMessage(custom)}
}

func archive(v string, length int64, extra string) fetch.TargetInfo {
	return target("app-"+v+".tar.gz", length, `{"tufup": {"required": false`+extra+`}, "user": null}`)
}

func patchOf(v string, length int64) fetch.TargetInfo {
	return target("app-"+v+".patch", length, `{"tufup": {"tar_hash": "ab", "tar_hash_algorithm": "sha256", "tar_size": 10}, "user": null}`)
}

func TestPlanRules(t *testing.T) {
	base := []fetch.TargetInfo{archive("1.0", 1000, ""), archive("1.1", 1000, ""), patchOf("1.1", 100)}
	cases := []struct {
		name    string
		targets []fetch.TargetInfo
		in      func(*planInput)
		wantTo  string
		wantWhy string // substring of WhyFull; "" means patches
	}{
		{"patch", base, nil, "1.1", ""},
		{"patches too big", []fetch.TargetInfo{archive("1.0", 1000, ""), archive("1.1", 1000, ""), patchOf("1.1", 801)}, nil, "1.1", "exceed 80%"},
		{"patches exactly 80%", []fetch.TargetInfo{archive("1.0", 1000, ""), archive("1.1", 1000, ""), patchOf("1.1", 800)}, nil, "1.1", ""},
		{"missing patch in chain", []fetch.TargetInfo{archive("1.0", 1000, ""), archive("1.1", 1000, ""), archive("1.2", 1000, ""), patchOf("1.2", 10)}, nil, "1.2", "no patch for 1.1"},
		{"no patches at all", []fetch.TargetInfo{archive("1.0", 1000, ""), archive("1.1", 1000, "")}, nil, "1.1", "no patch"},
		{"current withdrawn, an older release listed", []fetch.TargetInfo{archive("0.9", 1000, ""), archive("1.1", 1000, ""), patchOf("1.1", 10)}, nil, "1.1", "1.0 is no longer published"},
		{"legacy patch without tar_hash", []fetch.TargetInfo{archive("1.1", 1000, ""), target("app-1.1.patch", 10, `{"user": null}`)}, nil, "1.1", "tar_hash"},
		{"flat tufup 0.6 custom", []fetch.TargetInfo{archive("1.1", 1000, ""), target("app-1.1.patch", 10, `{"tar_hash": "ab", "tar_size": 10}`)}, nil, "1.1", ""},
		{"other apps and files ignored", append(slices.Clone(base), target("other-2.0.tar.gz", 10, `null`), target("notes.txt", 10, `null`)), nil, "1.1", ""},
		{"held back", base, func(in *planInput) { in.lifecycle = heldBack(t, "1.1") }, "", ""},
		{"held back, newer appears", append(slices.Clone(base), archive("1.2", 1000, ""), patchOf("1.2", 100)),
			func(in *planInput) { in.lifecycle = heldBack(t, "1.1") }, "1.2", ""},
		{"rollout excludes", []fetch.TargetInfo{archive("1.1", 1000, `, "rollout_percent": 50`), patchOf("1.1", 10)},
			func(in *planInput) { in.bucket = 0.5 }, "", ""},
		{"rollout includes", []fetch.TargetInfo{archive("1.1", 1000, `, "rollout_percent": 50`), patchOf("1.1", 10)},
			func(in *planInput) { in.bucket = 0.49 }, "1.1", ""},
		{"required ignores rollout", []fetch.TargetInfo{
			target("app-1.1.tar.gz", 1000, `{"tufup": {"required": true, "rollout_percent": 0}, "user": null}`), patchOf("1.1", 10)},
			func(in *planInput) { in.bucket = 0.99 }, "1.1", ""},
		{"first required is a stepping stone", []fetch.TargetInfo{
			target("app-1.1.tar.gz", 1000, `{"tufup": {"required": true}, "user": null}`), patchOf("1.1", 10),
			target("app-1.2.tar.gz", 1000, `{"tufup": {"required": true}, "user": null}`), patchOf("1.2", 10),
			archive("1.3", 1000, ""), patchOf("1.3", 10)}, nil, "1.1", ""},
		{"pre-release patch bridges stable releases", []fetch.TargetInfo{
			archive("1.1a1", 1000, ""), patchOf("1.1a1", 10), archive("1.1", 1000, ""), patchOf("1.1", 10)}, nil, "1.1", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := planInput{app: "app", targets: c.targets, channel: versions.Stable, haveBase: true, current: mustVersion(t, "1.0")}
			if c.in != nil {
				c.in(&in)
			}
			p := planUpdate(in, noWarn(t))
			if c.wantTo == "" {
				if p != nil {
					t.Fatalf("planned %s, want none", p.To)
				}
				return
			}
			if p == nil || p.To.String() != c.wantTo {
				t.Fatalf("plan = %+v, want %s", p, c.wantTo)
			}
			if c.wantWhy == "" && len(p.Patches) == 0 {
				t.Fatalf("full archive because %q, want patches", p.WhyFull)
			}
			if c.wantWhy != "" && (len(p.Patches) != 0 || !strings.Contains(p.WhyFull, c.wantWhy)) {
				t.Fatalf("patches %v, why %q; want full archive because %q", names(p.Patches), p.WhyFull, c.wantWhy)
			}
		})
	}
}

func TestPlanSkipsBadTargetsWithWarning(t *testing.T) {
	targets := []fetch.TargetInfo{
		archive("1.1", 1000, ""), patchOf("1.1", 10),
		target("app-not.a.version!.tar.gz", 10, `null`),
		target("app-1.2.tar.gz", 10, `"not an object"`),
		target("readme.txt", 10, `null`),
		target("other-9.0.tar.gz", 10, `null`),
	}
	var warnings []string
	warn := func(msg string, args ...any) { warnings = append(warnings, fmt.Sprint(msg, args)) }
	p := planUpdate(planInput{app: "app", targets: targets, channel: versions.Stable, haveBase: true, current: mustVersion(t, "1.0")}, warn)
	if p == nil || p.To.String() != "1.1" {
		t.Fatalf("plan = %+v, want 1.1", p)
	}
	joined := strings.Join(warnings, "\n")
	if len(warnings) != 2 || !strings.Contains(joined, "app-not.a.version!.tar.gz") || !strings.Contains(joined, "app-1.2.tar.gz") {
		t.Fatalf("warnings = %q; want one for each bad target, naming it", warnings)
	}
}

// heldBack is the lifecycle of an install of 1.0 that holds back held.
func heldBack(t *testing.T, held ...string) *lifecycle.Lifecycle {
	m := map[string]string{}
	for _, v := range held {
		m[v] = "rolled back by the user"
	}
	now := time.Now()
	disk := lifecycle.Disk{Current: "1.0", Installed: []string{"1.0"}}
	return lifecycle.New(lifecycle.Config{Entry: "app"}, lifecycle.Migrate(m, nil, disk.Installed, now), disk, now)
}

// A launcher takes the releases of its own OS and architecture, else its
// OS's, else the universal ones; patches chain within that platform.
func TestPlanPicksItsPlatform(t *testing.T) {
	plat := func(app, v string, length int64) fetch.TargetInfo {
		return target(app+"-"+v+".tar.gz", length, `{"tufup": {"required": false}, "user": null}`)
	}
	patch := func(app, v string) fetch.TargetInfo {
		return target(app+"-"+v+".patch", 10, `{"tufup": {"tar_hash": "ab", "tar_hash_algorithm": "sha256", "tar_size": 10}, "user": null}`)
	}
	targets := []fetch.TargetInfo{
		plat("app", "0.9", 1000), // a universal release from before the platforms
		plat("app-windows-amd64", "1.0", 1000), plat("app-windows-amd64", "1.1", 1000), patch("app-windows-amd64", "1.1"),
		plat("app-linux-amd64", "1.0", 1000), plat("app-linux-amd64", "1.2", 1000), patch("app-linux-amd64", "1.2"),
		plat("app-darwin", "1.3", 1000),
		plat("app-tools", "9.0", 1000), // another app, not a platform
	}
	for _, tc := range []struct {
		goos, goarch, current, wantArchive string
		wantPatches                        []string
	}{
		{"windows", "amd64", "", "app-windows-amd64-1.1.tar.gz", nil},
		{"windows", "amd64", "1.0", "app-windows-amd64-1.1.tar.gz", []string{"app-windows-amd64-1.1.patch"}},
		{"linux", "amd64", "1.0", "app-linux-amd64-1.2.tar.gz", []string{"app-linux-amd64-1.2.patch"}},
		{"darwin", "arm64", "", "app-darwin-1.3.tar.gz", nil},
		{"linux", "arm64", "", "app-0.9.tar.gz", nil},
		{"windows", "386", "", "app-0.9.tar.gz", nil},
	} {
		t.Run(tc.goos+"-"+tc.goarch+"-"+tc.current, func(t *testing.T) {
			in := planInput{app: "app", goos: tc.goos, goarch: tc.goarch, targets: targets, channel: versions.Stable, haveBase: true}
			if tc.current != "" {
				in.current = mustVersion(t, tc.current)
			}
			p := planUpdate(in, noWarn(t))
			if p == nil || p.Archive.Name != tc.wantArchive || !slices.Equal(names(p.Patches), tc.wantPatches) {
				t.Fatalf("plan = %+v, want archive %s and patches %v", p, tc.wantArchive, tc.wantPatches)
			}
		})
	}
}
