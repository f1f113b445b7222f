package bsdiff

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"runtime"
	"testing"
)

// limitWriter fails once more than n bytes are written, so a tiny patch
// declaring a huge new file cannot make the fuzzer write for ever.
type limitWriter struct{ n int }

var errLimit = errors.New("output limit")

func (w *limitWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errLimit
	}
	w.n -= len(p)
	return len(p), nil
}

// FuzzApply feeds arbitrary patches (and old files) to Apply: it must never
// panic, and what it allocates must not depend on lengths in the patch.
func FuzzApply(f *testing.F) {
	rng := rand.New(rand.NewPCG(21, 22))
	old := binaryLike(rng, 4000)
	f.Add(old, makePatch(f, old, mutate(rng, old), defaultConfig()))
	f.Add(old, makePatch(f, old, randBytes(rng, 100), defaultConfig()))
	f.Add([]byte("abcdef"), handmadePatch.bytes(f))
	f.Add([]byte{}, []byte(magic))
	f.Fuzz(func(t *testing.T, old, patch []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		n, err := Apply(bytes.NewReader(old), int64(len(old)), bytes.NewReader(patch), int64(len(patch)), &limitWriter{n: 1 << 20})
		runtime.ReadMemStats(&after)
		if err == nil && n < 0 {
			t.Fatalf("negative size %d without error", n)
		}
		// Three bzip2 decoders (~4 MB each at most) and two chunk buffers.
		if a := after.TotalAlloc - before.TotalAlloc; a > 64<<20 {
			t.Fatalf("Apply allocated %d bytes for a %d-byte patch", a, len(patch))
		}
	})
}

// FuzzRoundTrip checks that any pair of inputs gives a patch that turns the
// old one into the new one, with the default settings and the tiny ones.
func FuzzRoundTrip(f *testing.F) {
	rng := rand.New(rand.NewPCG(23, 24))
	old := binaryLike(rng, 3000)
	f.Add(old, mutate(rng, old), false)
	f.Add([]byte{}, []byte("x"), true)
	f.Add(makeTar(f, []tarFile{{name: "a", body: []byte("one")}, {name: "b", body: binaryLike(rng, 600)}}),
		makeTar(f, []tarFile{{name: "b", body: binaryLike(rng, 700)}, {name: "c/a", body: []byte("one!")}}), true)
	f.Fuzz(func(t *testing.T, old, nw []byte, small bool) {
		cfg := defaultConfig()
		if small {
			cfg = smallConfig()
			cfg.maxOld, cfg.window, cfg.maxNew = 256, 128, 200
		}
		patch := makePatch(t, old, nw, cfg)
		got, err := applyBytes(old, patch)
		if err != nil {
			t.Fatalf("apply: %v", err)
		}
		if !bytes.Equal(got, nw) {
			t.Fatal("round trip gave a different file")
		}
	})
}
