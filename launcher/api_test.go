package launcher_test

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tufup-go/tufup/internal/sandbox"
	"github.com/tufup-go/tufup/launcher"
	"github.com/tufup-go/tufup/repo"
)

// publisher is a real repository (real keys and signatures) served over
// HTTP on 127.0.0.1.
type publisher struct {
	t    *testing.T
	r    *repo.Repo
	srv  *sandbox.Server
	work string
}

func newPublisher(t *testing.T) *publisher {
	t.Helper()
	work := t.TempDir()
	r, err := repo.Init(work, repo.DefaultConfig("myapp"), repo.Options{Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sandbox.Serve(r.RepoDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &publisher{t: t, r: r, srv: srv, work: work}
}

func (p *publisher) add(version, notes string) {
	p.t.Helper()
	bundle := filepath.Join(p.work, "dist", version)
	os.MkdirAll(bundle, 0o755)
	if err := os.WriteFile(filepath.Join(bundle, "myapp"), []byte("#!/bin/sh\necho "+version+"\n"), 0o755); err != nil {
		p.t.Fatal(err)
	}
	// A data file shared by all versions makes the patch worth it.
	data := make([]byte, 64<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	if err := os.WriteFile(filepath.Join(bundle, "data.bin"), data, 0o644); err != nil {
		p.t.Fatal(err)
	}
	meta, _ := json.Marshal(map[string][]string{"changes": {notes}})
	if err := p.r.Add(context.Background(), version, bundle, repo.AddOptions{Meta: meta}); err != nil {
		p.t.Fatal(err)
	}
}

// installDir writes launcher.json and root.json as an installer would.
func (p *publisher) installDir() string {
	p.t.Helper()
	dir := p.t.TempDir()
	cfg := `{"app_name": "myapp", "entry": "myapp", "metadata_url": "` + p.srv.URL + `/metadata/", "targets_url": "` + p.srv.URL + `/targets/"}`
	if err := os.WriteFile(filepath.Join(dir, launcher.ConfigFile), []byte(cfg), 0o644); err != nil {
		p.t.Fatal(err)
	}
	root, err := os.ReadFile(filepath.Join(p.r.MetadataDir(), "root.json"))
	if err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, launcher.RootFile), root, 0o644); err != nil {
		p.t.Fatal(err)
	}
	return dir
}

// The in-app API: an app's "check for updates" button sees the release
// notes, installs, and the next start runs the new version.
func TestCheckAndInstallFromTheApp(t *testing.T) {
	p := newPublisher(t)
	p.add("1.0.0", "first")
	dir := p.installDir()
	l, err := launcher.Open(launcher.Options{ConfigDir: dir, Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := l.Prepare(ctx); err != nil {
		t.Fatal(err)
	}

	u, err := l.Check(ctx)
	if err != nil || u != nil {
		t.Fatalf("Check when up to date: %v, %v; want nil, nil", u, err)
	}
	p.add("1.1.0", "faster startup")
	u, err = l.Check(ctx)
	if err != nil || u == nil {
		t.Fatalf("Check: %v, %v; want the 1.1.0 update", u, err)
	}
	if u.To.String() != "1.1.0" || u.From != "1.0.0" || !strings.Contains(string(u.User), "faster startup") || len(u.Patches) != 1 {
		t.Fatalf("update = from %q to %s, notes %s, %d patches", u.From, u.To, u.User, len(u.Patches))
	}
	if cur, _ := l.Dir().Current(); cur != "1.0.0" {
		t.Fatalf("Check changed the install: current %s", cur)
	}
	if err := l.Install(ctx, u); err != nil {
		t.Fatal(err)
	}
	if cur, _ := l.Dir().Current(); cur != "1.1.0" {
		t.Fatalf("after Install current = %s", cur)
	}
	// A plan made before someone else updated is refused, not misapplied.
	if err := l.Install(ctx, u); err == nil {
		t.Fatal("Install of a stale update succeeded")
	}
	st, err := l.Status()
	if err != nil || !strings.Contains(string(st.UserMeta["1.1.0"]), "faster startup") {
		t.Fatalf("Status user metadata: %v %v", st.UserMeta, err)
	}
}
