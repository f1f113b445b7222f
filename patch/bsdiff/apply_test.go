package bsdiff

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/dsnet/compress/bzip2"
)

func bz2(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := bzip2.NewWriter(&buf, &bzip2.WriterConfig{Level: 9})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawPatch is a patch spelled out, to be assembled with deliberate faults.
type rawPatch struct {
	magic            string
	ctrl             [][3]int64
	diff, extra      []byte
	newSize          int64
	ctrlLen, diffLen *int64 // override the header's lengths
	ctrlBz2, diffBz2 []byte // override the compressed blocks
	extraBz2         []byte
	truncate         int // drop this many bytes from the end
}

func (p rawPatch) bytes(t testing.TB) []byte {
	var ctrl []byte
	for _, c := range p.ctrl {
		var b [tripleSize]byte
		putInt(b[0:], c[0])
		putInt(b[8:], c[1])
		putInt(b[16:], c[2])
		ctrl = append(ctrl, b[:]...)
	}
	cz, dz, ez := p.ctrlBz2, p.diffBz2, p.extraBz2
	if cz == nil {
		cz = bz2(t, ctrl)
	}
	if dz == nil {
		dz = bz2(t, p.diff)
	}
	if ez == nil {
		ez = bz2(t, p.extra)
	}
	hdr := make([]byte, headerSize)
	m := p.magic
	if m == "" {
		m = magic
	}
	copy(hdr, m)
	cl, dl := int64(len(cz)), int64(len(dz))
	if p.ctrlLen != nil {
		cl = *p.ctrlLen
	}
	if p.diffLen != nil {
		dl = *p.diffLen
	}
	putInt(hdr[8:], cl)
	putInt(hdr[16:], dl)
	putInt(hdr[24:], p.newSize)
	out := append(append(append(hdr, cz...), dz...), ez...)
	return out[:len(out)-p.truncate]
}

func ptr(v int64) *int64 { return &v }

func TestIntEncoding(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 255, 256, -256, 1 << 40, -(1 << 40), math.MaxInt64, -math.MaxInt64} {
		var b [8]byte
		putInt(b[:], v)
		if got := getInt(b[:]); got != v {
			t.Errorf("getInt(putInt(%d)) = %d", v, got)
		}
		if v < 0 && b[7]&0x80 == 0 || v >= 0 && b[7]&0x80 != 0 {
			t.Errorf("sign bit of %d wrong: % x", v, b)
		}
	}
	// bsdiff's encoding: magnitude little-endian, sign in the top bit.
	var b [8]byte
	putInt(b[:], -0x0102)
	if want := []byte{2, 1, 0, 0, 0, 0, 0, 0x80}; !bytes.Equal(b[:], want) {
		t.Errorf("putInt(-0x102) = % x, want % x", b, want)
	}
	if getInt([]byte{0, 0, 0, 0, 0, 0, 0, 0x80}) != 0 {
		t.Error("negative zero does not read as 0")
	}
}

func TestAddSubBytes(t *testing.T) {
	var a, b []byte
	for x := range 256 {
		for y := range 256 {
			a, b = append(a, byte(x)), append(b, byte(y))
		}
	}
	for _, off := range []int{0, 3} { // unaligned tails too
		sum := bytes.Clone(a[off:])
		addBytes(sum, b[off:])
		diff := bytes.Clone(a[off:])
		subBytes(diff, b[off:])
		for i := range sum {
			if sum[i] != a[off+i]+b[off+i] || diff[i] != a[off+i]-b[off+i] {
				t.Fatalf("%d±%d: add gave %d, sub %d", a[off+i], b[off+i], sum[i], diff[i])
			}
		}
	}
}

var handmadePatch = rawPatch{
	ctrl: [][3]int64{
		{3, 2, -5},   // "abc"+1, "XY", back to offset -2
		{4, 0, 100},  // old[-2:2] = "..ab": +0 +0 +1 +1
		{0, 1, -200}, // "Z", seek far before the start
		{2, 0, 0},    // outside old: diff bytes as they are
		{9, 9, 9},    // past the end: never read
	},
	diff:    []byte{1, 1, 1, 'p', 'q', 1, 1, 'r', 's'},
	extra:   []byte("XYZ"),
	newSize: 3 + 2 + 4 + 1 + 2,
}

// TestApplyHandmade checks bspatch's semantics on patches written by hand:
// adds that reach outside the old file add nothing there, seeks may go
// anywhere, and triples after the new size is reached are ignored.
func TestApplyHandmade(t *testing.T) {
	old := []byte("abcdef")
	got, err := applyBytes(old, handmadePatch.bytes(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := "bcdXYpqbcZrs"; string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestApplyCorrupt(t *testing.T) {
	old := []byte("0123456789")
	good := rawPatch{ctrl: [][3]int64{{4, 2, 1}, {3, 0, 0}}, diff: make([]byte, 7), extra: []byte("ab"), newSize: 9}
	if got, err := applyBytes(old, good.bytes(t)); err != nil || string(got) != "0123ab567" {
		t.Fatalf("the base patch does not apply: %q, %v", got, err)
	}
	goodBytes := good.bytes(t)
	cases := []struct {
		name  string
		patch []byte
		want  string
	}{
		{"empty", nil, "shorter than the 32-byte header"},
		{"short header", goodBytes[:31], "shorter than the 32-byte header"},
		{"bad magic", func() rawPatch { p := good; p.magic = "BSDIFF41"; return p }().bytes(t), "bad magic"},
		{"negative control length", func() rawPatch { p := good; p.ctrlLen = ptr(-1); return p }().bytes(t), "negative control block length"},
		{"negative diff length", func() rawPatch { p := good; p.diffLen = ptr(-5); return p }().bytes(t), "negative diff block length"},
		{"negative new size", func() rawPatch { p := good; p.newSize = -9; return p }().bytes(t), "negative new file size"},
		{"control length past end", func() rawPatch { p := good; p.ctrlLen = ptr(1 << 40); return p }().bytes(t), "control block length"},
		{"diff length past end", func() rawPatch { p := good; p.diffLen = ptr(math.MaxInt64); return p }().bytes(t), "diff block length"},
		{"control block not bzip2", func() rawPatch { p := good; p.ctrlBz2 = []byte("not bzip2 at all"); return p }().bytes(t), "control"},
		{"control block cut short", func() rawPatch { p := good; p.ctrlBz2 = bz2(t, make([]byte, 30)); return p }().bytes(t), "control block ends early"},
		{"control data too short", func() rawPatch { p := good; p.newSize = 20; return p }().bytes(t), "control block ends early"},
		{"negative add", func() rawPatch { p := good; p.ctrl = [][3]int64{{-4, 2, 1}}; return p }().bytes(t), "negative length"},
		{"negative extra", func() rawPatch { p := good; p.ctrl = [][3]int64{{4, -2, 1}}; return p }().bytes(t), "negative length"},
		{"add past new size", func() rawPatch { p := good; p.ctrl = [][3]int64{{10, 0, 0}}; return p }().bytes(t), "past the new size"},
		{"extra past new size", func() rawPatch { p := good; p.ctrl = [][3]int64{{4, 6, 0}}; return p }().bytes(t), "past the new size"},
		{"huge add", func() rawPatch { p := good; p.ctrl = [][3]int64{{math.MaxInt64, 0, 0}}; return p }().bytes(t), "past the new size"},
		{"diff block ends early", func() rawPatch { p := good; p.diff = make([]byte, 5); return p }().bytes(t), "diff block ends early"},
		{"diff block not bzip2", func() rawPatch { p := good; p.diffBz2 = bytes.Repeat([]byte("BZh9"), 8); return p }().bytes(t), "diff block"},
		{"diff block checksum", func() rawPatch {
			p := good
			p.diffBz2 = bz2(t, p.diff)
			p.diffBz2[10] ^= 1 // the first block's CRC, checked after its last byte
			return p
		}().bytes(t), "diff block"},
		{"extra block ends early", func() rawPatch { p := good; p.extra = []byte("a"); return p }().bytes(t), "extra block ends early"},
		{"extra block truncated", func() rawPatch { p := good; p.truncate = len(bz2(t, p.extra)) - 10; return p }().bytes(t), "extra block"},
		{"extra block missing", func() rawPatch { p := good; p.extraBz2 = []byte{}; return p }().bytes(t), "extra block"},
		{"seek out of range", func() rawPatch {
			p := good
			p.ctrl = [][3]int64{{4, 2, math.MaxInt64}, {3, 0, 0}}
			return p
		}().bytes(t), "out of range"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := Apply(bytes.NewReader(old), int64(len(old)), bytes.NewReader(c.patch), int64(len(c.patch)), &out)
			if err == nil {
				t.Fatalf("Apply accepted the patch, wrote %q", out.Bytes())
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not wrap ErrCorrupt and say %q", err, c.want)
			}
		})
	}
}

// TestApplyEmptyBlocks applies a patch to an empty file whose blocks are
// empty, not even bzip2 headers: bspatch and bsdiff4 accept it, since they
// never read them.
func TestApplyEmptyBlocks(t *testing.T) {
	p := rawPatch{ctrlBz2: []byte{}, diffBz2: []byte{}, extraBz2: []byte{}}.bytes(t)
	got, err := applyBytes([]byte("old"), p)
	if err != nil || len(got) != 0 {
		t.Fatalf("got %q, %v", got, err)
	}
}

// TestApplyIOErrors checks that failures reading the old file or writing
// the new one are reported as such, not as corrupt patches.
func TestApplyIOErrors(t *testing.T) {
	old := []byte("0123456789")
	p := rawPatch{ctrl: [][3]int64{{10, 0, 0}}, diff: make([]byte, 10), newSize: 10}.bytes(t)
	// The old file is shorter than the caller said.
	_, err := Apply(bytes.NewReader(old[:5]), 10, bytes.NewReader(p), int64(len(p)), io.Discard)
	if err == nil || errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "read old file") {
		t.Errorf("short old file: got %v", err)
	}
	_, err = Apply(bytes.NewReader(old), 10, bytes.NewReader(p), int64(len(p)), failWriter{})
	if err == nil || errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "write new file") {
		t.Errorf("failing writer: got %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
