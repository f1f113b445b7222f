package bsdiff

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/tufup-go/tufup/patch/bsdiff/internal/sais"
)

// The figures that matter (a real release pair against bsdiff, bspatch and
// kr/binarydist, with peak RSS) come from scripts/bench; these benchmarks
// track the parts on synthetic data.

func BenchmarkSuffixArray(b *testing.B) {
	text := binaryLike(rand.New(rand.NewPCG(1, 1)), 4<<20)
	sa := make([]int32, len(text))
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		sais.SuffixArray(text, sa)
	}
}

func benchDiff(b *testing.B, old, nw []byte, cfg config) {
	dir := b.TempDir()
	oldPath, newPath := dir+"/old", dir+"/new"
	writeFile(b, oldPath, old)
	writeFile(b, newPath, nw)
	b.SetBytes(int64(len(nw)))
	var size int
	for b.Loop() {
		var patch bytes.Buffer
		if err := diffFiles(b.Context(), oldPath, newPath, &patch, cfg); err != nil {
			b.Fatal(err)
		}
		size = patch.Len()
	}
	b.ReportMetric(float64(size), "patch-bytes")
}

func BenchmarkDiffBinary(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	old := binaryLike(rng, 4<<20)
	benchDiff(b, old, mutate(rng, old), defaultConfig())
}

func BenchmarkDiffBinaryExact(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	old := binaryLike(rng, 4<<20)
	cfg := defaultConfig()
	cfg.exact = true
	benchDiff(b, old, mutate(rng, old), cfg)
}

func BenchmarkDiffTar(b *testing.B) {
	a, c := releasePair(rand.New(rand.NewPCG(3, 3)))
	benchDiff(b, makeTar(b, a), makeTar(b, c), defaultConfig())
}

func BenchmarkApply(b *testing.B) {
	rng := rand.New(rand.NewPCG(4, 4))
	old := binaryLike(rng, 4<<20)
	nw := mutate(rng, old)
	patch := makePatch(b, old, nw, defaultConfig())
	b.SetBytes(int64(len(nw)))
	for b.Loop() {
		if _, err := Apply(bytes.NewReader(old), int64(len(old)), bytes.NewReader(patch), int64(len(patch)), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
