package bzip2

import (
	"bytes"
	"compress/bzip2"
	"io"
	"math/rand/v2"
	"os/exec"
	"testing"

	"github.com/tufup-go/tufup/internal/testenv"
)

func compress(t testing.TB, chunks ...[]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, c := range chunks {
		if n, err := w.Write(c); err != nil || n != len(c) {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// inputs covers the edge cases of each stage: run lengths around 4 and 255,
// block boundaries inside runs, one and all byte values, few and many
// symbols (table counts), and data that needs long codes.
func inputs() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n, alphabet int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.IntN(alphabet))
		}
		return b
	}
	in := map[string][]byte{
		"empty":      nil,
		"one byte":   {7},
		"ff":         {0xff, 0xff},
		"four":       bytes.Repeat([]byte{1}, 4),
		"five":       bytes.Repeat([]byte{1}, 5),
		"255":        bytes.Repeat([]byte{2}, 255),
		"256":        bytes.Repeat([]byte{2}, 256),
		"259":        bytes.Repeat([]byte{2}, 259),
		"zeros 3MB":  make([]byte, 3<<20),
		"text":       bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog\n"), 5000),
		"random 2MB": random(2<<20, 256),
		"binary-ish": random(1<<20, 3),
		"all values": func() []byte {
			b := make([]byte, 256*10)
			for i := range b {
				b[i] = byte(i)
			}
			return b
		}(),
		"skewed": func() []byte {
			b := random(300_000, 256)
			for i := range b {
				if i%7 != 0 {
					b[i] = 0
				}
			}
			return b
		}(),
		"fibonacci":   fib(1 << 20),
		"small alpha": random(150, 2),
	}
	// Runs of every length from 1 to 300 back to back, across blocks.
	var runs []byte
	for len(runs) < 2_000_000 {
		n := rng.IntN(300) + 1
		runs = append(runs, bytes.Repeat([]byte{byte(rng.IntN(3))}, n)...)
	}
	in["runs"] = runs
	return in
}

// fib is a Fibonacci word: very repetitive, with skewed symbol counts that
// push Huffman codes long.
func fib(n int) []byte {
	a, b := []byte("a"), []byte("ab")
	for len(b) < n {
		a, b = b, append(append([]byte{}, b...), a...)
	}
	return b[:n]
}

func TestRoundTrip(t *testing.T) {
	for name, data := range inputs() {
		z := compress(t, data)
		got, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(z)))
		if err != nil {
			t.Fatalf("%s: compress/bzip2 cannot read our stream: %v", name, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("%s: round trip differs", name)
		}
	}
}

// TestWriteSplits checks that how the input is cut into Write calls does
// not matter.
func TestWriteSplits(t *testing.T) {
	data := inputs()["runs"][:600_000]
	whole := compress(t, data)
	var chunks [][]byte
	rng := rand.New(rand.NewPCG(3, 4))
	for rest := data; len(rest) > 0; {
		n := min(rng.IntN(1000)+1, len(rest))
		chunks, rest = append(chunks, rest[:n]), rest[n:]
	}
	if !bytes.Equal(compress(t, chunks...), whole) {
		t.Fatal("output depends on how the input was split into writes")
	}
}

// TestBzip2CLI has libbzip2 (the bzip2 program) check our streams,
// including their CRCs, and compares sizes with bzip2 -9's.
func TestBzip2CLI(t *testing.T) {
	bz := testenv.LookPath(t, "bzip2", "bzip2")
	for name, data := range inputs() {
		z := compress(t, data)
		cmd := exec.Command(bz, "-d", "-c")
		cmd.Stdin = bytes.NewReader(z)
		got, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: bzip2 -d: %v", name, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("%s: bzip2 -d gave different data", name)
		}
		cmd = exec.Command(bz, "-9", "-c")
		cmd.Stdin = bytes.NewReader(data)
		ref, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-12s %8d bytes -> ours %8d, bzip2 -9 %8d", name, len(data), len(z), len(ref))
		if float64(len(z)) > 1.02*float64(len(ref))+64 {
			t.Errorf("%s: %d bytes, more than 2%% (+64) over bzip2 -9's %d", name, len(z), len(ref))
		}
	}
}

func TestCRC(t *testing.T) {
	// Bit by bit, straight from the definition.
	ref := func(p []byte) uint32 {
		c := ^uint32(0)
		for _, b := range p {
			c ^= uint32(b) << 24
			for range 8 {
				if c&(1<<31) != 0 {
					c = c<<1 ^ crcPoly
				} else {
					c <<= 1
				}
			}
		}
		return ^c
	}
	data := inputs()["random 2MB"][:10_000]
	for _, n := range []int{0, 1, 7, 8, 9, 100, 10_000} {
		if got, want := ^crcUpdate(^uint32(0), data[:n]), ref(data[:n]); got != want {
			t.Fatalf("crc of %d bytes = %08x, want %08x", n, got, want)
		}
	}
	if got, want := ^crcRepeat(^uint32(0), 9, 300), ref(bytes.Repeat([]byte{9}, 300)); got != want {
		t.Fatalf("crcRepeat = %08x, want %08x", got, want)
	}
	// The check value of CRC-32/BZIP2.
	if got := ref([]byte("123456789")); got != 0xfc891918 {
		t.Fatalf("reference CRC of 123456789 = %08x", got)
	}
}

func TestCodeLengths(t *testing.T) {
	// Fibonacci weights make the deepest possible tree.
	freq := make([]int, 40)
	a, b := 1, 1
	for i := range freq {
		freq[i] = a
		a, b = b, a+b
	}
	lens := make([]uint8, len(freq))
	codeLengths(freq, lens, maxCodeLen)
	kraft := 0.0
	for _, l := range lens {
		if l < 1 || l > maxCodeLen {
			t.Fatalf("length %d out of range: %v", l, lens)
		}
		kraft += 1 / float64(uint64(1)<<l)
	}
	if kraft != 1 {
		t.Fatalf("code is not complete: Kraft sum %v", kraft)
	}
}

func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("hello hello hello"))
	f.Add(bytes.Repeat([]byte{0}, 1000))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(compress(t, data))))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}

func BenchmarkWriter(b *testing.B) {
	for _, name := range []string{"zeros 3MB", "random 2MB", "text"} {
		data := inputs()[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				w := NewWriter(io.Discard)
				w.Write(data)
				w.Close()
			}
		})
	}
}
