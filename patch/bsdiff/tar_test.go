package bsdiff

import (
	"archive/tar"
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

type tarFile struct {
	name string
	body []byte
	link string // symlink target; then body is ignored
}

// makeTar writes files as tufup does: PAX, "./"-prefixed names, sorted.
func makeTar(t testing.TB, files []tarFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	slices.SortFunc(files, func(a, b tarFile) int { return cmpString(a.name, b.name) })
	mtime := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := tw.WriteHeader(&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX}); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		h := &tar.Header{Name: "./" + f.name, Mode: 0o644, ModTime: mtime, Format: tar.FormatPAX}
		if f.link != "" {
			h.Typeflag, h.Linkname = tar.TypeSymlink, f.link
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// releasePair makes two releases of a made-up app: a big binary, libraries,
// text files; in the second the binaries are recompiled, a member is
// removed, one added, one moved to another folder, one grown, one shrunk,
// one renamed with the same content, and the rest untouched.
func releasePair(rng *rand.Rand) (a, b []tarFile) {
	a = []tarFile{
		{name: "app", body: binaryLike(rng, 150_000)},
		{name: "lib/core.so", body: binaryLike(rng, 90_000)},
		{name: "lib/old-only.so", body: binaryLike(rng, 20_000)},
		{name: "lib/current", link: "core.so"},
		{name: "res/big.dat", body: binaryLike(rng, 120_000)},
		{name: "res/empty", body: nil},
		{name: "res/moved/logo.png", body: randBytes(rng, 7000)},
		{name: "res/grows.txt", body: []byte("line\n")},
		{name: "res/shrinks.txt", body: bytes.Repeat([]byte("text "), 3000)},
		{name: "res/renamed-before.bin", body: randBytes(rng, 3333)},
		{name: "VERSION", body: []byte("1.0.0\n")},
	}
	for i := range 40 {
		a = append(a, tarFile{name: fmt.Sprintf("doc/page%02d.html", i), body: bytes.Repeat([]byte{byte(i)}, 100*i)})
	}
	byName := map[string]tarFile{}
	for _, f := range a {
		byName[f.name] = f
	}
	change := func(name string, body []byte) { byName[name] = tarFile{name: name, body: body} }
	move := func(from, to string) {
		f := byName[from]
		delete(byName, from)
		f.name = to
		byName[to] = f
	}
	change("app", mutate(rng, byName["app"].body))
	change("lib/core.so", mutate(rng, byName["lib/core.so"].body))
	change("res/big.dat", mutate(rng, byName["res/big.dat"].body))
	delete(byName, "lib/old-only.so")
	change("lib/new-only.so", binaryLike(rng, 15_000))
	move("res/moved/logo.png", "res/img/logo.png")
	move("res/renamed-before.bin", "res/renamed-after.bin")
	change("res/grows.txt", bytes.Repeat([]byte("line\n"), 2000))
	change("res/shrinks.txt", byName["res/shrinks.txt"].body[:500])
	change("VERSION", []byte("1.1.0\n"))
	b = slices.Collect(maps.Values(byName))
	return a, b
}

func TestReadLayout(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	files, _ := releasePair(rng)
	tb := makeTar(t, files)
	lay, err := readLayout(bytes.NewReader(tb), int64(len(tb)))
	if err != nil {
		t.Fatal(err)
	}
	if len(lay.members) != len(files)+1 {
		t.Fatalf("found %d members, want %d", len(lay.members), len(files)+1)
	}
	next := int64(0)
	for i, m := range lay.members {
		if m.hdrOff != next || m.dataOff <= m.hdrOff {
			t.Fatalf("member %d (%s) at header %d, data %d; previous ended at %d", i, m.name, m.hdrOff, m.dataOff, next)
		}
		if i > 0 {
			f := files[i-1]
			if m.name != f.name || m.regular != (f.link == "") || !bytes.Equal(tb[m.dataOff:m.dataEnd()], f.body) {
				t.Fatalf("member %d is %q at %d+%d, want %q with its content", i, m.name, m.dataOff, m.size, f.name)
			}
		}
		next = m.dataEnd()
	}
	if lay.end != next || !bytes.Equal(tb[lay.end:], make([]byte, len(tb)-int(lay.end))) {
		t.Fatalf("end of archive at %d, want %d followed by zeros", lay.end, next)
	}
	for _, notTar := range [][]byte{randBytes(rng, 5000), []byte("short"), make([]byte, 4096)} {
		if lay, err := readLayout(bytes.NewReader(notTar), int64(len(notTar))); err == nil && len(lay.members) > 0 {
			t.Errorf("readLayout found %d members in a non-tar", len(lay.members))
		}
	}
}

func TestPairTars(t *testing.T) {
	lay := func(ms ...member) tarLayout { return tarLayout{members: ms} }
	reg := func(name string, size int64) member { return member{name: name, size: size, regular: true} }
	old := lay(reg("a/x.bin", 10), reg("b/x.bin", 100), reg("c/y", 7), reg("d", 0), member{name: "e"})
	nw := lay(reg("a/x.bin", 50), reg("z/x.bin", 90), reg("q", 7), reg("r", 8), reg("d", 0), member{name: "e"}, reg("s", 0))
	got := pairTars(old, nw)
	want := []int{0, 1, 2, -1, 3, 4, -1}
	if !slices.Equal(got, want) {
		t.Fatalf("pairTars = %v, want %v", got, want)
	}
}

// TestRoundTripTars diffs release tars, with default settings and with tiny
// windows and budget, and checks that the tar-aware plan was used and that
// its patch is no bigger than a whole-file diff's by more than a little.
func TestRoundTripTars(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	a, b := releasePair(rng)
	oldTar, newTar := makeTar(t, a), makeTar(t, b)
	if _, ok := planTar(bytes.NewReader(oldTar), int64(len(oldTar)), bytes.NewReader(newTar), int64(len(newTar))); !ok {
		t.Fatal("planTar does not see the tars as tars")
	}
	whole := defaultConfig()
	whole.tar = false
	wholePatch := checkRoundTrip(t, oldTar, newTar, whole)
	tarPatch := checkRoundTrip(t, oldTar, newTar, defaultConfig())
	small := checkRoundTrip(t, oldTar, newTar, smallConfig())
	t.Logf("tar %d bytes: whole-file patch %d, tar-aware %d, tar-aware with small windows %d", len(newTar), len(wholePatch), len(tarPatch), len(small))
	if float64(len(tarPatch)) > 1.05*float64(len(wholePatch)) {
		t.Errorf("tar-aware patch %d bytes, more than 5%% over the whole-file patch's %d", len(tarPatch), len(wholePatch))
	}
	// Unrelated tars, and a tar against a non-tar, in both directions.
	_, c := releasePair(rand.New(rand.NewPCG(99, 99)))
	otherTar := makeTar(t, c)
	checkRoundTrip(t, oldTar, otherTar, smallConfig())
	checkRoundTrip(t, randBytes(rng, 10_000), newTar, defaultConfig())
	checkRoundTrip(t, newTar, randBytes(rng, 10_000), defaultConfig())
	// A truncated tar is not a tar; still a fine input.
	checkRoundTrip(t, oldTar[:len(oldTar)/2+17], newTar, defaultConfig())
}
