package repo

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/tufup-go/tufup/versions"
)

// One repository holds several platforms' builds: each platform's targets
// are named for it, its patches are made against its own previous release,
// and versions may differ between platforms.
func TestAddPlatforms(t *testing.T) {
	r := initRepo(t, Options{}, nil)
	ctx := context.Background()
	win := versions.Platform{OS: "windows", Arch: "amd64"}
	linux := versions.Platform{OS: "linux", Arch: "amd64"}
	mac := versions.Platform{OS: "darwin"}
	for _, step := range []struct {
		version, bundle string
		p               versions.Platform
	}{
		{"1.0.0", "1.0.0", win}, {"1.0.0", "1.1.0", linux}, {"1.0.0", "1.0.0", mac},
		{"1.1.0", "1.1.0", win}, {"1.2.0", "1.2.0", linux},
	} {
		if err := r.Add(ctx, step.version, bundle(step.bundle), AddOptions{Platform: step.p}); err != nil {
			t.Fatalf("add %s for %s: %v", step.version, step.p, err)
		}
	}
	if err := r.Add(ctx, "1.0.5", bundle("1.1.0"), AddOptions{Platform: win}); err == nil || !strings.Contains(err.Error(), "demoapp-windows-amd64-1.1.0.tar.gz") {
		t.Fatalf("an older version for windows/amd64 was accepted or not explained: %v", err)
	}
	var got []string
	for name := range r.cur.targets.Signed.Targets {
		got = append(got, name)
	}
	slices.Sort(got)
	want := []string{
		"demoapp-darwin-1.0.0.tar.gz",
		"demoapp-linux-amd64-1.0.0.tar.gz", "demoapp-linux-amd64-1.2.0.patch", "demoapp-linux-amd64-1.2.0.tar.gz",
		"demoapp-windows-amd64-1.0.0.tar.gz", "demoapp-windows-amd64-1.1.0.patch", "demoapp-windows-amd64-1.1.0.tar.gz",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("targets %v\nwant %v", got, want)
	}
	// verify applies each patch to its own platform's previous archive.
	mustVerify(t, r, nil)

	st, err := r.Status()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := st.Write(&out); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"PLATFORM", "windows/amd64  1.1.0", "linux/amd64    1.2.0", "darwin         1.0.0"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("status lacks %q:\n%s", line, out.String())
		}
	}

	// remove-latest withdraws 1.2.0 (linux only); rollout reaches every platform of a version.
	if err := r.RemoveLatest(); err != nil {
		t.Fatal(err)
	}
	if err := r.SetRollout("1.0.0", 30); err != nil {
		t.Fatal(err)
	}
	rels, err := r.Releases()
	if err != nil {
		t.Fatal(err)
	}
	var summary []string
	for _, rel := range rels {
		summary = append(summary, rel.Platform.String()+" "+rel.Version.String()+" "+strings.Repeat("r", rel.Rollout/10))
	}
	wantSummary := []string{"darwin 1.0.0 rrr", "linux/amd64 1.0.0 rrr", "windows/amd64 1.0.0 rrr", "windows/amd64 1.1.0 rrrrrrrrrr"}
	if !slices.Equal(summary, wantSummary) {
		t.Fatalf("releases %q, want %q", summary, wantSummary)
	}
	mustVerify(t, r, nil)
}

// Without a platform, add keeps tufup's names: <app>-<version>.tar.gz.
func TestAddUniversalKeepsTufupNames(t *testing.T) {
	r := initRepo(t, Options{}, nil)
	ctx := context.Background()
	for _, v := range []string{"1.0.0", "1.1.0"} {
		if err := r.Add(ctx, v, bundle(v), AddOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"demoapp-1.0.0.tar.gz", "demoapp-1.1.0.tar.gz", "demoapp-1.1.0.patch"} {
		if r.cur.targets.Signed.Targets[name] == nil {
			t.Errorf("no target %s", name)
		}
	}
	st, err := r.Status()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	st.Write(&out)
	if strings.Contains(out.String(), "PLATFORM") {
		t.Errorf("a single-platform status shows platforms:\n%s", out.String())
	}
}
