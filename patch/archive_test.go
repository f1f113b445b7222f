package patch

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// node describes one thing in a test tree. Exactly one of data (file),
// dir or link is meaningful.
type node struct {
	path  string
	mode  fs.FileMode
	data  []byte
	dir   bool
	link  string
	mtime time.Time
}

// sampleTree is a small bundle with everything an app folder may hold:
// executables, read-only files, empty folders, file and folder symlinks,
// names that sort differently as paths and as per-folder names, non-ASCII
// and very long names, old and sub-second mtimes.
func sampleTree() []node {
	rnd := rand.New(rand.NewPCG(1, 2))
	bin := make([]byte, 300<<10)
	for i := range bin {
		bin[i] = byte(rnd.IntN(7)) // compressible, like real binaries
	}
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	long := strings.Repeat("deep-folder-name/", 8) + strings.Repeat("x", 90) + ".txt"
	nodes := []node{
		{path: "app", mode: 0o755, data: []byte("#!/bin/sh\necho hello\n"), mtime: t0},
		{path: "VERSION", mode: 0o644, data: []byte("1.2.3\n"), mtime: t0.Add(1500 * time.Millisecond)},
		{path: "lib", dir: true, mode: 0o755, mtime: t0.Add(-time.Hour)},
		{path: "lib/core.bin", mode: 0o644, data: bin, mtime: time.Date(2001, 9, 9, 1, 46, 40, 0, time.UTC)},
		{path: "lib/libfoo.so.1", mode: 0o644, data: []byte("ELF?"), mtime: t0},
		{path: "lib/libfoo.so", link: "libfoo.so.1", mtime: t0},
		{path: "res", dir: true, mode: 0o755, mtime: t0.Add(2 * time.Hour)},
		{path: "res/empty", dir: true, mode: 0o700, mtime: t0.Add(3 * time.Hour)},
		{path: "res/readonly.txt", mode: 0o444, data: []byte("do not touch"), mtime: t0},
		{path: "res/lib", link: "../lib", mtime: t0},
		{path: "res/img", dir: true, mode: 0o755, mtime: t0},
		{path: "res/img/logo.dat", mode: 0o600, data: bytes.Repeat([]byte{0xff, 0, 1}, 7000), mtime: t0},
		{path: "a", dir: true, mode: 0o755, mtime: t0},
		{path: "a/x", mode: 0o644, data: []byte("in a"), mtime: t0},
		{path: "a-b", mode: 0o644, data: nil, mtime: t0},
		{path: "résumé.txt", mode: 0o640, data: []byte("non-ASCII name"), mtime: t0},
	}
	parts := strings.Split(long, "/")
	for i := 1; i < len(parts); i++ {
		nodes = append(nodes, node{path: strings.Join(parts[:i], "/"), dir: true, mode: 0o755, mtime: t0})
	}
	return append(nodes, node{path: long, mode: 0o644, data: []byte("long"), mtime: t0})
}

// makeTree creates nodes under root (which must exist). Folders get their
// mtime after everything inside them exists.
func makeTree(t testing.TB, root string, nodes []node) {
	t.Helper()
	for _, n := range nodes {
		p := filepath.Join(root, filepath.FromSlash(n.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case n.dir:
			err = os.MkdirAll(p, 0o755)
		case n.link != "":
			if runtime.GOOS == "windows" {
				continue
			}
			err = os.Symlink(n.link, p)
		default:
			err = os.WriteFile(p, n.data, 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// Modes and times last, deepest first, so writing into a folder does
	// not change its mtime and read-only folders do not block creation.
	for i := len(nodes) - 1; i >= 0; i-- {
		n := nodes[i]
		p := filepath.Join(root, filepath.FromSlash(n.path))
		if n.link != "" {
			// A link's own mtime goes into the tar too; left at its
			// creation time, two trees made a second apart would differ.
			if !n.mtime.IsZero() {
				setLinkTime(t, p, n.mtime)
			}
			continue
		}
		if err := os.Chmod(p, n.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, n.mtime, n.mtime); err != nil {
			t.Fatal(err)
		}
	}
}

// member is what a tar header and its data say about one entry.
type member struct {
	Name, Link string
	Type       byte
	Mode, Size int64
	MTime      int64
	SHA256     string
}

func (m member) String() string {
	return fmt.Sprintf("%s type=%c mode=%o size=%d link=%q sha=%.12s", m.Name, m.Type, m.Mode, m.Size, m.Link, m.SHA256)
}

// readMembers lists a tar's entries in order, with the full headers.
func readMembers(t testing.TB, r io.Reader) ([]member, []*tar.Header) {
	t.Helper()
	tr := tar.NewReader(r)
	var ms []member
	var hs []*tar.Header
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return ms, hs
		}
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.New()
		if _, err := io.Copy(sum, tr); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, member{Name: h.Name, Link: h.Linkname, Type: h.Typeflag, Mode: h.Mode, Size: h.Size,
			MTime: h.ModTime.Unix(), SHA256: hex.EncodeToString(sum.Sum(nil))})
		hs = append(hs, h)
	}
}

func gunzipBytes(t testing.TB, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeTarBytes(t testing.TB, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteTar(context.Background(), dir, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Our tar of a bundle lists the same members, in the same order, with the
// same types, modes, sizes and contents as Python tufup's archive of it.
// (The checked-in bundles lost their mtimes to git, so times are not compared.)
func TestWriteTarMatchesTufupLayout(t *testing.T) {
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "2.0.0a1"} {
		t.Run(v, func(t *testing.T) {
			want, _ := readMembers(t, bytes.NewReader(gunzipBytes(t, filepath.Join(fixture, "repository/targets/demoapp-"+v+".tar.gz"))))
			tarBytes := writeTarBytes(t, filepath.Join(fixture, "bundles/demoapp-"+v))
			got, hdrs := readMembers(t, bytes.NewReader(tarBytes))
			if len(got) != len(want) {
				t.Fatalf("%d members, tufup has %d:\n got %v\nwant %v", len(got), len(want), got, want)
			}
			for i := range want {
				got[i].MTime, want[i].MTime = 0, 0
				if got[i] != want[i] {
					t.Errorf("member %d:\n got %v\nwant %v", i, got[i], want[i])
				}
				if h := hdrs[i]; h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
					t.Errorf("%s: owner %d/%d %q/%q, want 0/0 and no names", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
				}
			}
			if len(tarBytes)%tarRecordSize != 0 {
				t.Errorf("tar size %d is not a multiple of %d as tarfile's are", len(tarBytes), tarRecordSize)
			}
		})
	}
}

func TestWriteTarOrderAndHeaders(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks and permission bits")
	}
	src := t.TempDir()
	makeTree(t, src, sampleTree())
	ms, hdrs := readMembers(t, bytes.NewReader(writeTarBytes(t, src)))
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	// tarfile's order: depth first, each folder's names sorted, so "a/"
	// and its contents come before "a-b" although "a-b" < "a/" as strings.
	wantPrefix := []string{"./", "./VERSION", "./a/", "./a/x", "./a-b", "./app", "./deep-folder-name/"}
	if strings.Join(names[:len(wantPrefix)], " ") != strings.Join(wantPrefix, " ") {
		t.Errorf("order %v, want it to start with %v", names, wantPrefix)
	}
	byName := map[string]member{}
	for i, m := range ms {
		byName[m.Name] = m
		h := hdrs[i]
		if h.ModTime.Nanosecond() != 0 || len(h.PAXRecords) > 0 && h.PAXRecords["mtime"] != "" {
			t.Errorf("%s: mtime %v has sub-second precision", h.Name, h.ModTime)
		}
	}
	for _, n := range sampleTree() {
		name := "./" + n.path
		if n.dir {
			name += "/"
		}
		m, ok := byName[name]
		switch {
		case !ok:
			t.Errorf("%s missing from tar", name)
		case n.link != "":
			if m.Type != tar.TypeSymlink || m.Link != n.link {
				t.Errorf("%v, want symlink to %s", m, n.link)
			}
		case m.Mode != int64(n.mode) || m.MTime != n.mtime.Unix():
			t.Errorf("%v mtime %d, want mode %o mtime %d", m, m.MTime, n.mode, n.mtime.Unix())
		}
	}
}

// The same folder gives the same bytes, wherever it is and however often
// it is archived; a different mtime gives different bytes.
func TestWriteTarDeterministic(t *testing.T) {
	nodes := sampleTree()
	a, b := filepath.Join(t.TempDir(), "one"), filepath.Join(t.TempDir(), "elsewhere", "two")
	for _, d := range []string{a, b} {
		os.MkdirAll(d, 0o755)
		makeTree(t, d, nodes)
		// The "./" entry records the folder's own mtime (whole seconds):
		// the two copies are made at different moments, which on a busy
		// machine can straddle a second.
		if err := os.Chtimes(d, nodes[0].mtime, nodes[0].mtime); err != nil {
			t.Fatal(err)
		}
	}
	first := writeTarBytes(t, a)
	if again := writeTarBytes(t, a); !bytes.Equal(first, again) {
		t.Fatal("two runs on the same folder differ")
	}
	if other := writeTarBytes(t, b); !bytes.Equal(first, other) {
		t.Fatal("a copy of the folder elsewhere gives a different tar")
	}
	ctx := context.Background()
	dst := t.TempDir()
	infoA, err := WriteArchive(ctx, a, filepath.Join(dst, "a.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	infoB, err := WriteArchive(ctx, b, filepath.Join(dst, "b.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	gzA, _ := os.ReadFile(filepath.Join(dst, "a.tar.gz"))
	gzB, _ := os.ReadFile(filepath.Join(dst, "b.tar.gz"))
	if infoA != infoB || !bytes.Equal(gzA, gzB) {
		t.Fatal("WriteArchive of two identical folders differs")
	}
	os.Chtimes(filepath.Join(b, "app"), time.Unix(1, 0), time.Unix(1, 0))
	if bytes.Equal(first, writeTarBytes(t, b)) {
		t.Fatal("changing an mtime did not change the tar: times are not recorded")
	}
}

func TestWriteArchiveReturnsTarInfo(t *testing.T) {
	src := t.TempDir()
	makeTree(t, src, sampleTree())
	dst := filepath.Join(t.TempDir(), "app-1.0.tar.gz")
	info, err := WriteArchive(context.Background(), src, dst)
	if err != nil {
		t.Fatal(err)
	}
	tarBytes := gunzipBytes(t, dst)
	sum := sha256.Sum256(tarBytes)
	want := TarInfo{Size: int64(len(tarBytes)), SHA256: hex.EncodeToString(sum[:])}
	if info != want {
		t.Fatalf("WriteArchive returned %+v, the gzip holds a tar with %+v", info, want)
	}
	if !bytes.Equal(tarBytes, writeTarBytes(t, src)) {
		t.Fatal("the archive's tar differs from WriteTar's")
	}
	entries, _ := os.ReadDir(filepath.Dir(dst))
	if len(entries) != 1 {
		t.Fatalf("output folder holds %d entries, want only the archive", len(entries))
	}
}

func TestWriteArchiveFailureLeavesNothing(t *testing.T) {
	src := t.TempDir()
	makeTree(t, src, sampleTree())
	dst := filepath.Join(t.TempDir(), "app-1.0.tar.gz")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := WriteArchive(ctx, src, dst); err == nil {
		t.Fatal("WriteArchive with a cancelled context succeeded")
	}
	if entries, _ := os.ReadDir(filepath.Dir(dst)); len(entries) != 0 {
		t.Fatalf("failed WriteArchive left %v", entries)
	}
}

func TestWriteTarRefusesEscapingSymlinks(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("creating symlinks needs privileges on Windows")
	}
	for _, tc := range []struct{ at, target string }{
		{"up", "../outside"},
		{"sub/up2", "../../outside"},
		{"abs", "/etc/passwd"},
		{"sub/sneaky", "x/../../.."},
	} {
		t.Run(tc.at, func(t *testing.T) {
			src := t.TempDir()
			os.Mkdir(filepath.Join(src, "sub"), 0o755)
			os.WriteFile(filepath.Join(src, "ok"), []byte("ok"), 0o644)
			if err := os.Symlink(tc.target, filepath.Join(src, filepath.FromSlash(tc.at))); err != nil {
				t.Fatal(err)
			}
			err := WriteTar(context.Background(), src, io.Discard)
			if err == nil || !strings.Contains(err.Error(), filepath.FromSlash(tc.at)) || !strings.Contains(err.Error(), tc.target) {
				t.Fatalf("err = %v, want one naming symlink %s and its target %s", err, tc.at, tc.target)
			}
		})
	}
}
