package bsdiff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kr/binarydist"
)

// smallConfig makes windows, chunks and the memory budget tiny, so that
// inputs of a few hundred KB go through every path big files take, and
// makes the matcher search wherever bsdiff does.
func smallConfig() config {
	return config{workers: 3, maxOld: 64 << 10, window: 40 << 10, maxNew: 48 << 10, budget: 2 << 20, tar: true, exact: true, spillMem: 1000}
}

// makePatch diffs old into new with cfg and returns the patch.
func makePatch(t testing.TB, old, nw []byte, cfg config) []byte {
	t.Helper()
	dir := t.TempDir()
	oldPath, newPath := filepath.Join(dir, "old"), filepath.Join(dir, "new")
	if err := os.WriteFile(oldPath, old, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(newPath, nw, 0o644); err != nil {
		t.Fatal(err)
	}
	var patch bytes.Buffer
	if err := diffFiles(context.Background(), oldPath, newPath, &patch, cfg); err != nil {
		t.Fatalf("diff: %v", err)
	}
	return patch.Bytes()
}

func applyBytes(old, patch []byte) ([]byte, error) {
	var out bytes.Buffer
	n, err := Apply(bytes.NewReader(old), int64(len(old)), bytes.NewReader(patch), int64(len(patch)), &out)
	if err == nil && n != int64(out.Len()) {
		return nil, fmt.Errorf("Apply returned size %d, wrote %d bytes", n, out.Len())
	}
	return out.Bytes(), err
}

// checkRoundTrip makes a patch and checks that both Apply and kr/binarydist
// turn old into exactly new with it. It returns the patch.
func checkRoundTrip(t *testing.T, old, nw []byte, cfg config) []byte {
	t.Helper()
	patch := makePatch(t, old, nw, cfg)
	got, err := applyBytes(old, patch)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if !bytes.Equal(got, nw) {
		t.Fatalf("apply gave %d bytes differing from the %d-byte new file", len(got), len(nw))
	}
	var kr bytes.Buffer
	if err := binarydist.Patch(bytes.NewReader(old), &kr, bytes.NewReader(patch)); err != nil {
		t.Fatalf("kr/binarydist cannot apply our patch: %v", err)
	}
	if !bytes.Equal(kr.Bytes(), nw) {
		t.Fatalf("kr/binarydist applied our patch into a different file")
	}
	return patch
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// binaryLike returns n bytes that look like code: a few kinds of
// "instructions" with random operands, so that a recompiled variant (see
// mutate) is similar but shifted and with changed addresses.
func binaryLike(rng *rand.Rand, n int) []byte {
	b := make([]byte, 0, n+16)
	for len(b) < n {
		switch rng.IntN(4) {
		case 0:
			b = append(b, 0x48, 0x8b, byte(rng.IntN(8)), 0, 0, 0)
		case 1:
			b = append(b, 0xe8, byte(rng.Uint32()), byte(rng.Uint32()), 0, 0)
		case 2:
			b = append(b, 0x0f, 0x1f, 0x44, 0x00, 0x00)
		default:
			b = append(b, "runtime.mallocgc\x00"[rng.IntN(10):]...)
		}
	}
	return b[:n]
}

// mutate returns a variant of b: some bytes changed, some blocks inserted
// and deleted, the rest shifted.
func mutate(rng *rand.Rand, b []byte) []byte {
	out := slices.Clone(b)
	for range len(b) / 200 {
		if len(out) == 0 {
			break
		}
		out[rng.IntN(len(out))] ^= byte(rng.IntN(255) + 1)
	}
	for range 3 {
		if len(out) < 2 {
			break
		}
		at := rng.IntN(len(out))
		switch rng.IntN(2) {
		case 0:
			out = slices.Insert(out, at, randBytes(rng, rng.IntN(2000))...)
		default:
			out = slices.Delete(out, at, min(len(out), at+rng.IntN(2000)))
		}
	}
	return out
}

func TestRoundTripShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	big := binaryLike(rng, 300_000)
	random := randBytes(rng, 100_000)
	zeros := make([]byte, 200_000)
	cases := []struct {
		name     string
		old, new []byte
	}{
		{"both empty", nil, nil},
		{"old empty", nil, []byte("hello, world")},
		{"new empty", []byte("hello, world"), nil},
		{"one byte", []byte("a"), []byte("b")},
		{"identical", big, big},
		{"random unrelated", randBytes(rng, 50_000), randBytes(rng, 60_000)},
		{"appended", random, append(slices.Clone(random), randBytes(rng, 5000)...)},
		{"prepended", random, append(randBytes(rng, 5000), random...)},
		{"truncated", random, random[:70_000]},
		{"zeros to zeros shifted", zeros, append([]byte{1, 2, 3}, zeros[:150_000]...)},
		{"zeros with changes", zeros, func() []byte {
			b := slices.Clone(zeros)
			for i := 0; i < len(b); i += 9973 {
				b[i] = 7
			}
			return b
		}()},
		{"recompiled", big, mutate(rng, big)},
		{"recompiled twice", big, mutate(rng, mutate(rng, big))},
		{"reversed blocks", big, slices.Concat(big[200_000:], big[100_000:200_000], big[:100_000])},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, cfg := range []config{defaultConfig(), smallConfig()} {
				checkRoundTrip(t, c.old, c.new, cfg)
			}
		})
	}
}

// TestPatchSize checks that matching finds what bsdiff finds: a recompiled
// binary-like file must give a patch far smaller than the file compressed.
func TestPatchSize(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	old := binaryLike(rng, 400_000)
	nw := mutate(rng, old)
	patch := checkRoundTrip(t, old, nw, defaultConfig())
	unrelated := checkRoundTrip(t, binaryLike(rng, 400_000), nw, defaultConfig())
	t.Logf("patch %d bytes; against an unrelated file %d bytes", len(patch), len(unrelated))
	if len(patch)*5 > len(unrelated) {
		t.Errorf("patch of a small change is %d bytes, not much smaller than the %d bytes against an unrelated file", len(patch), len(unrelated))
	}
}

// TestDiffSpills checks that blocks too big for memory go through temporary
// files that are removed afterwards, on success and on failure.
func TestDiffSpills(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where os.CreateTemp("") puts spilled blocks
	rng := rand.New(rand.NewPCG(30, 31))
	old, nw := binaryLike(rng, 200_000), randBytes(rng, 100_000)
	patch := checkRoundTrip(t, old, nw, smallConfig())
	if len(patch) < 50_000 {
		t.Fatalf("patch of %d bytes is too small to have spilled", len(patch))
	}
	if es, _ := os.ReadDir(tmp); len(es) != 0 {
		t.Fatalf("left in the temporary folder: %v", es)
	}
	dir := t.TempDir()
	oldPath, newPath := filepath.Join(dir, "old"), filepath.Join(dir, "new")
	writeFile(t, oldPath, old)
	writeFile(t, newPath, nw)
	if err := diffFiles(context.Background(), oldPath, newPath, failWriter{}, smallConfig()); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("writing to a failing writer: %v", err)
	}
	if es, _ := os.ReadDir(tmp); len(es) != 0 {
		t.Fatalf("left in the temporary folder after failing: %v", es)
	}
}

func TestDiffCanceled(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(32, 33))
	a, b := releasePair(rng)
	oldPath, newPath := filepath.Join(dir, "old"), filepath.Join(dir, "new")
	writeFile(t, oldPath, makeTar(t, a))
	writeFile(t, newPath, makeTar(t, b))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	for _, cfg := range []config{defaultConfig(), smallConfig()} {
		if err := diffFiles(ctx, oldPath, newPath, &out, cfg); !errors.Is(err, context.Canceled) {
			t.Fatalf("Diff with a canceled context returned %v", err)
		}
	}
	if out.Len() != 0 {
		t.Fatalf("Diff wrote %d bytes before failing", out.Len())
	}
}

func TestDiffBadInputs(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	writeFile(t, f, []byte("x"))
	for _, c := range []struct{ old, new, want string }{
		{filepath.Join(dir, "missing"), f, "missing"},
		{f, filepath.Join(dir, "missing"), "missing"},
		{dir, f, "not a regular file"},
	} {
		err := Diff(context.Background(), c.old, c.new, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Diff(%s, %s) = %v, want an error saying %q", c.old, c.new, err, c.want)
		}
	}
}

// TestDiffLimit: under a memory limit the big old region is windowed (the
// patch still turns old into new), and the limit never raises the default.
func TestDiffLimit(t *testing.T) {
	def := defaultConfig()
	for _, m := range []int64{0, 64 << 30} {
		cfg := defaultConfig()
		cfg.limit(m)
		if cfg != def {
			t.Fatalf("limit %d changed the defaults: %+v, want %+v", m, cfg, def)
		}
	}
	cfg := defaultConfig()
	cfg.limit(128 << 20)
	if cfg.budget >= def.budget || cfg.maxOld >= def.maxOld || cfg.window > cfg.maxOld || cfg.maxNew > cfg.maxOld {
		t.Fatalf("a 128 MiB limit gives %+v", cfg)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	old := binaryLike(rng, int(cfg.maxOld)+3<<20)
	nw := mutate(rng, old)
	cfg.workers = 2
	checkRoundTrip(t, old, nw, cfg)
}
