package patch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tufup-go/tufup/patch/bsdiff"
)

const chainFixture = "../testdata/tufup-0.10-demoapp"

var chainVersions = []string{"1.0.0", "1.1.0", "1.2.0", "2.0.0a1"}

// fixtureTarInfo reads tar_size and tar_hash of a patch from the fixture's
// signed targets metadata.
func fixtureTarInfo(t *testing.T, patchName string) TarInfo {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chainFixture, "repository", "metadata", "targets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var md struct {
		Signed struct {
			Targets map[string]struct {
				Custom struct {
					Tufup struct {
						TarHash string `json:"tar_hash"`
						TarSize int64  `json:"tar_size"`
					} `json:"tufup"`
				} `json:"custom"`
			} `json:"targets"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(b, &md); err != nil {
		t.Fatal(err)
	}
	tu := md.Signed.Targets[patchName].Custom.Tufup
	if tu.TarHash == "" {
		t.Fatalf("no tar_hash for %s in the fixture", patchName)
	}
	return TarInfo{Size: tu.TarSize, SHA256: tu.TarHash}
}

func fixturePatches() []string {
	var ps []string
	for _, v := range chainVersions[1:] {
		ps = append(ps, filepath.Join(chainFixture, "repository", "targets", "demoapp-"+v+".patch"))
	}
	return ps
}

// gunzipBase returns the fixture's first archive, uncompressed, in a fresh
// folder.
func gunzipBase(t *testing.T) (dir, base string) {
	t.Helper()
	dir = t.TempDir()
	base = filepath.Join(dir, "base.tar")
	if _, err := Gunzip(context.Background(), filepath.Join(chainFixture, "repository", "targets", "demoapp-1.0.0.tar.gz"), base, 1<<30); err != nil {
		t.Fatal(err)
	}
	return dir, base
}

// listDir returns the names in dir, to check that nothing is left behind.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// TestApplyChainTufup applies the chain of patches Python tufup made, as a
// client updating from 1.0.0 to 2.0.0a1 does, and checks the result against
// the signed metadata and against the uncompressed 2.0.0a1 archive.
func TestApplyChainTufup(t *testing.T) {
	dir, base := gunzipBase(t)
	out := filepath.Join(dir, "out.tar")
	want := fixtureTarInfo(t, "demoapp-2.0.0a1.patch")
	if err := ApplyChain(context.Background(), base, fixturePatches(), out, want); err != nil {
		t.Fatal(err)
	}
	got, err := HashFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("chain gave %+v, want %+v", got, want)
	}
	ref := filepath.Join(t.TempDir(), "ref.tar")
	if _, err := Gunzip(context.Background(), filepath.Join(chainFixture, "repository", "targets", "demoapp-2.0.0a1.tar.gz"), ref, 1<<30); err != nil {
		t.Fatal(err)
	}
	if a, b := mustRead(t, out), mustRead(t, ref); !bytes.Equal(a, b) {
		t.Fatal("chain result differs from the 2.0.0a1 archive's tar")
	}
	if names := listDir(t, dir); !slices.Equal(names, []string{"base.tar", "out.tar"}) {
		t.Fatalf("left in the folder: %v", names)
	}
	// One patch is a chain too.
	one := filepath.Join(dir, "one.tar")
	if err := ApplyChain(context.Background(), base, fixturePatches()[:1], one, fixtureTarInfo(t, "demoapp-1.1.0.patch")); err != nil {
		t.Fatal(err)
	}
}

// TestApplyChainOurs builds release tars of the fixture's bundles, makes the
// patches with bsdiff.Diff and applies them as a chain.
func TestApplyChainOurs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var tars, patches []string
	for _, v := range chainVersions {
		p := filepath.Join(dir, v+".tar")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteTar(ctx, filepath.Join(chainFixture, "bundles", "demoapp-"+v), f); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if len(tars) > 0 {
			pp := filepath.Join(dir, v+".patch")
			var buf bytes.Buffer
			if err := bsdiff.Diff(ctx, tars[len(tars)-1], p, &buf); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(pp, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			patches = append(patches, pp)
		}
		tars = append(tars, p)
	}
	want, err := HashFile(tars[len(tars)-1])
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.tar")
	if err := ApplyChain(ctx, tars[0], patches, out, want); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustRead(t, out), mustRead(t, tars[len(tars)-1])) {
		t.Fatal("chain result differs from the last tar")
	}
}

func TestApplyChainFailures(t *testing.T) {
	want := fixtureTarInfo(t, "demoapp-2.0.0a1.patch")
	patches := fixturePatches()
	corrupt := filepath.Join(t.TempDir(), "corrupt.patch")
	b := mustRead(t, patches[1])
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(corrupt, b, 0o644); err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name    string
		ctx     context.Context
		patches []string
		want    TarInfo
		errHas  string
		errIs   error
	}{
		{"wrong hash", context.Background(), patches, TarInfo{Size: want.Size, SHA256: strings.Repeat("0", 64)}, "sha256", ErrChainMismatch},
		{"wrong size", context.Background(), patches, TarInfo{Size: want.Size + 1, SHA256: want.SHA256}, "bytes", ErrChainMismatch},
		{"patches out of order", context.Background(), []string{patches[1], patches[0], patches[2]}, want, "patch", nil},
		{"corrupt patch in the middle", context.Background(), []string{patches[0], corrupt, patches[2]}, want, "corrupt.patch", nil},
		{"corrupt last patch", context.Background(), []string{patches[0], patches[1], corrupt}, want, "corrupt.patch", nil},
		{"missing patch", context.Background(), []string{patches[0], "no-such.patch"}, want, "no-such.patch", os.ErrNotExist},
		{"no patches", context.Background(), nil, want, "no patches", nil},
		{"no expected hash", context.Background(), patches, TarInfo{Size: want.Size}, "sha256", nil},
		{"canceled", canceled, patches, want, "canceled", context.Canceled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, base := gunzipBase(t)
			out := filepath.Join(dir, "out.tar")
			err := ApplyChain(c.ctx, base, c.patches, out, c.want)
			if err == nil {
				t.Fatal("ApplyChain succeeded")
			}
			if !strings.Contains(err.Error(), c.errHas) || (c.errIs != nil && !errors.Is(err, c.errIs)) {
				t.Fatalf("error %q does not say %q (or wrap %v)", err, c.errHas, c.errIs)
			}
			if names := listDir(t, dir); !slices.Equal(names, []string{"base.tar"}) {
				t.Fatalf("left in the folder after failing: %v", names)
			}
		})
	}
	// A file already at outTar is left as it was.
	dir, base := gunzipBase(t)
	out := filepath.Join(dir, "out.tar")
	if err := os.WriteFile(out, []byte("previous"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ApplyChain(context.Background(), base, patches, out, TarInfo{Size: 1, SHA256: want.SHA256}); err == nil {
		t.Fatal("ApplyChain succeeded with the wrong size")
	}
	if got := string(mustRead(t, out)); got != "previous" {
		t.Fatalf("outTar changed to %d bytes", len(got))
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
