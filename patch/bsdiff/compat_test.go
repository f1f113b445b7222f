package bsdiff

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kr/binarydist"

	"github.com/tufup-go/tufup/internal/testenv"
)

const fixture = "../../testdata/tufup-0.10-demoapp/repository"

func gunzipFile(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

type fixtureTarget struct {
	Custom struct {
		Tufup struct {
			TarHash string `json:"tar_hash"`
			TarSize int64  `json:"tar_size"`
		} `json:"tufup"`
	} `json:"custom"`
}

func fixtureTargets(t *testing.T) map[string]fixtureTarget {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixture, "metadata", "targets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var md struct {
		Signed struct {
			Targets map[string]fixtureTarget `json:"targets"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(b, &md); err != nil {
		t.Fatal(err)
	}
	return md.Signed.Targets
}

var fixtureVersions = []string{"1.0.0", "1.1.0", "1.2.0", "2.0.0a1"}

// TestApplyTufupPatches applies the patches Python tufup 0.10 (bsdiff4)
// made, one after the other from the first archive, and checks each result
// against the size and hash in the signed metadata and against the
// uncompressed archive of that version.
func TestApplyTufupPatches(t *testing.T) {
	targets := fixtureTargets(t)
	cur := gunzipFile(t, filepath.Join(fixture, "targets", "demoapp-1.0.0.tar.gz"))
	for _, v := range fixtureVersions[1:] {
		name := "demoapp-" + v + ".patch"
		patch, err := os.ReadFile(filepath.Join(fixture, "targets", name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := applyBytes(cur, patch)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := targets[name].Custom.Tufup
		sum := sha256.Sum256(got)
		if int64(len(got)) != want.TarSize || hex.EncodeToString(sum[:]) != want.TarHash {
			t.Fatalf("%s gave %d bytes with sha256 %x, metadata says %d bytes, %s", name, len(got), sum, want.TarSize, want.TarHash)
		}
		if tar := gunzipFile(t, filepath.Join(fixture, "targets", "demoapp-"+v+".tar.gz")); !bytes.Equal(got, tar) {
			t.Fatalf("%s did not give the tar inside demoapp-%s.tar.gz", name, v)
		}
		cur = got
	}
}

// TestDiffTufupTars diffs the fixture's real tufup tars with our engine and
// compares the patch size with bsdiff4's.
func TestDiffTufupTars(t *testing.T) {
	for i, v := range fixtureVersions[1:] {
		old := gunzipFile(t, filepath.Join(fixture, "targets", "demoapp-"+fixtureVersions[i]+".tar.gz"))
		nw := gunzipFile(t, filepath.Join(fixture, "targets", "demoapp-"+v+".tar.gz"))
		ours := checkRoundTrip(t, old, nw, defaultConfig())
		theirs, err := os.Stat(filepath.Join(fixture, "targets", "demoapp-"+v+".patch"))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: ours %d bytes, bsdiff4's %d", v, len(ours), theirs.Size())
		if float64(len(ours)) > 1.05*float64(theirs.Size()) {
			t.Errorf("%s: our patch is %d bytes, more than 5%% over bsdiff4's %d", v, len(ours), theirs.Size())
		}
	}
}

// TestApplyBinarydistPatches applies patches made by kr/binarydist (which
// runs the bzip2 program).
func TestApplyBinarydistPatches(t *testing.T) {
	testenv.LookPath(t, "bzip2", "bzip2")
	rng := rand.New(rand.NewPCG(11, 12))
	old := binaryLike(rng, 100_000)
	for _, nw := range [][]byte{mutate(rng, old), nil, old, randBytes(rng, 3000)} {
		var patch bytes.Buffer
		if err := binarydist.Diff(bytes.NewReader(old), bytes.NewReader(nw), &patch); err != nil {
			t.Fatalf("binarydist.Diff: %v", err)
		}
		got, err := applyBytes(old, patch.Bytes())
		if err != nil {
			t.Fatalf("apply kr/binarydist's patch: %v", err)
		}
		if !bytes.Equal(got, nw) {
			t.Fatalf("kr/binarydist's patch applied into the wrong file")
		}
	}
}

// TestBsdiffCLI checks both directions against the bsdiff 4.3 tools: bspatch
// applies our patches exactly, and we apply bsdiff's.
func TestBsdiffCLI(t *testing.T) {
	bspatch := testenv.LookPath(t, "bspatch", "bsdiff")
	bsdiff := testenv.LookPath(t, "bsdiff", "bsdiff")
	rng := rand.New(rand.NewPCG(13, 14))
	base := binaryLike(rng, 200_000)
	pairs := [][2][]byte{
		{base, mutate(rng, base)},
		{nil, []byte("new")},
		{base, nil},
		{base, base},
		{randBytes(rng, 1000), randBytes(rng, 2000)},
	}
	a, b := releasePair(rng)
	pairs = append(pairs, [2][]byte{makeTar(t, a), makeTar(t, b)})
	for i, p := range pairs {
		dir := t.TempDir()
		oldPath, newPath := filepath.Join(dir, "old"), filepath.Join(dir, "new")
		writeFile(t, oldPath, p[0])
		writeFile(t, newPath, p[1])
		for _, cfg := range []config{defaultConfig(), smallConfig()} {
			var ours bytes.Buffer
			if err := diffFiles(context.Background(), oldPath, newPath, &ours, cfg); err != nil {
				t.Fatal(err)
			}
			patchPath, outPath := filepath.Join(dir, "ours.patch"), filepath.Join(dir, "out")
			writeFile(t, patchPath, ours.Bytes())
			if out, err := exec.Command(bspatch, oldPath, outPath, patchPath).CombinedOutput(); err != nil {
				t.Fatalf("pair %d: bspatch rejects our patch: %v\n%s", i, err, out)
			}
			if got, _ := os.ReadFile(outPath); !bytes.Equal(got, p[1]) {
				t.Fatalf("pair %d: bspatch applied our patch into the wrong file", i)
			}
		}
		if len(p[0]) == 0 || len(p[1]) == 0 {
			continue // bsdiff 4.3 mmaps its inputs, which fails for empty files
		}
		theirsPath := filepath.Join(dir, "theirs.patch")
		if out, err := exec.Command(bsdiff, oldPath, newPath, theirsPath).CombinedOutput(); err != nil {
			t.Fatalf("bsdiff: %v\n%s", err, out)
		}
		theirs, err := os.ReadFile(theirsPath)
		if err != nil {
			t.Fatal(err)
		}
		ours := makePatch(t, p[0], p[1], defaultConfig())
		t.Logf("pair %d: ours %d bytes, bsdiff's %d", i, len(ours), len(theirs))
		if len(p[0]) > 10_000 && float64(len(ours)) > 1.05*float64(len(theirs)) {
			t.Errorf("pair %d: our patch is %d bytes, more than 5%% over bsdiff's %d", i, len(ours), len(theirs))
		}
		got, err := applyBytes(p[0], theirs)
		if err != nil {
			t.Fatalf("pair %d: apply bsdiff's patch: %v", i, err)
		}
		if !bytes.Equal(got, p[1]) {
			t.Fatalf("pair %d: bsdiff's patch applied into the wrong file", i)
		}
	}
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBspatchHandmade checks that bspatch reads the hand-written patch of
// TestApplyHandmade (adds outside the old file, far seeks, unused triples)
// as Apply does.
func TestBspatchHandmade(t *testing.T) {
	bspatch := testenv.LookPath(t, "bspatch", "bsdiff")
	dir := t.TempDir()
	old := []byte("abcdef")
	writeFile(t, filepath.Join(dir, "old"), old)
	writeFile(t, filepath.Join(dir, "p"), handmadePatch.bytes(t))
	if out, err := exec.Command(bspatch, filepath.Join(dir, "old"), filepath.Join(dir, "new"), filepath.Join(dir, "p")).CombinedOutput(); err != nil {
		t.Fatalf("bspatch: %v\n%s", err, out)
	}
	want, err := applyBytes(old, handmadePatch.bytes(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "new")); !bytes.Equal(got, want) {
		t.Fatalf("bspatch gave %q, Apply %q", got, want)
	}
}

// pyPatch applies a patch the way Python's bsdiff4 1.2 does (tufup's
// engine, which cannot be installed here): each block decompressed whole
// with the bz2 module (libbzip2), then every control triple applied in
// order, with the same bounds checks.
const pyPatch = `
import bz2, sys
def off(b):
    v = int.from_bytes(b, "little")
    return -(v & ~(1 << 63)) if v >> 63 else v
old = open(sys.argv[1], "rb").read()
p = open(sys.argv[2], "rb").read()
assert p[:8] == b"BSDIFF40", "magic"
lc, ld, n = off(p[8:16]), off(p[16:24]), off(p[24:32])
ctrl = bz2.decompress(p[32:32 + lc])
diff = bz2.decompress(p[32 + lc:32 + lc + ld])
extra = bz2.decompress(p[32 + lc + ld:])
new = bytearray(n)
newpos = oldpos = di = ei = 0
for i in range(0, len(ctrl), 24):
    x, y, z = off(ctrl[i:i+8]), off(ctrl[i+8:i+16]), off(ctrl[i+16:i+24])
    assert x >= 0 and y >= 0 and newpos + x <= n, "corrupt add"
    for k in range(x):
        o = old[oldpos + k] if 0 <= oldpos + k < len(old) else 0
        new[newpos + k] = (diff[di + k] + o) & 0xff
    newpos += x; oldpos += x; di += x
    assert newpos + y <= n, "corrupt extra"
    new[newpos:newpos + y] = extra[ei:ei + y]
    newpos += y; ei += y; oldpos += z
assert newpos == n, "short"
open(sys.argv[3], "wb").write(new)
`

// TestPythonBsdiff4Semantics has Python apply our patches as bsdiff4 does,
// so that its bz2 module reads our blocks and it finds the triples it
// expects (it applies all of them, not only those bspatch needs).
func TestPythonBsdiff4Semantics(t *testing.T) {
	py := testenv.LookPath(t, "python3", "python3")
	rng := rand.New(rand.NewPCG(40, 41))
	base := binaryLike(rng, 60_000)
	a, b := releasePair(rng)
	pairs := [][2][]byte{
		{base, mutate(rng, base)},
		{nil, []byte("new")},
		{base, nil},
		{makeTar(t, a), makeTar(t, b)},
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "patch.py")
	writeFile(t, script, []byte(pyPatch))
	// First the script must apply a patch bsdiff4 made as Apply does.
	base100 := filepath.Join(dir, "1.0.0.tar")
	writeFile(t, base100, gunzipFile(t, filepath.Join(fixture, "targets", "demoapp-1.0.0.tar.gz")))
	fixturePatch := filepath.Join(fixture, "targets", "demoapp-1.1.0.patch")
	if out, err := exec.Command(py, script, base100, fixturePatch, filepath.Join(dir, "1.1.0.tar")).CombinedOutput(); err != nil {
		t.Fatalf("the script cannot apply bsdiff4's own patch: %v\n%s", err, out)
	}
	fp, err := os.ReadFile(fixturePatch)
	if err != nil {
		t.Fatal(err)
	}
	want, err := applyBytes(gunzipFile(t, filepath.Join(fixture, "targets", "demoapp-1.0.0.tar.gz")), fp)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "1.1.0.tar")); !bytes.Equal(got, want) {
		t.Fatal("the script and Apply disagree on bsdiff4's patch")
	}
	for i, p := range pairs {
		for _, cfg := range []config{defaultConfig(), smallConfig()} {
			oldPath, patchPath, outPath := filepath.Join(dir, "old"), filepath.Join(dir, "p"), filepath.Join(dir, "out")
			writeFile(t, oldPath, p[0])
			writeFile(t, patchPath, makePatch(t, p[0], p[1], cfg))
			if out, err := exec.Command(py, script, oldPath, patchPath, outPath).CombinedOutput(); err != nil {
				t.Fatalf("pair %d: Python rejects our patch: %v\n%s", i, err, out)
			}
			if got, _ := os.ReadFile(outPath); !bytes.Equal(got, p[1]) {
				t.Fatalf("pair %d: Python applied our patch into the wrong file", i)
			}
		}
	}
}
