package patch

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/tufup-go/tufup/internal/fsutil"
)

// entry is what a test compares about one path in a tree.
type entry struct {
	Type   string // "file", "dir", "symlink"
	Mode   fs.FileMode
	SHA256 string
	Link   string
	MTime  time.Time // not for symlinks (tarfile does not set them either)
}

// snapshot describes every path under root, keyed by slash path.
func snapshot(t testing.TB, root string) map[string]entry {
	t.Helper()
	m := map[string]entry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := entry{Mode: fi.Mode().Perm(), MTime: fi.ModTime()}
		switch {
		case fi.IsDir():
			e.Type = "dir"
		case fi.Mode()&fs.ModeSymlink != 0:
			e.Type, e.Mode, e.MTime = "symlink", 0, time.Time{}
			e.Link, err = os.Readlink(p)
		case fi.Mode().IsRegular():
			e.Type = "file"
			var b []byte
			b, err = os.ReadFile(p)
			sum := sha256.Sum256(b)
			e.SHA256 = hex.EncodeToString(sum[:])
		default:
			e.Type = fi.Mode().Type().String()
		}
		m[rel] = e
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func diffSnapshots(t testing.TB, got, want map[string]entry) {
	t.Helper()
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, gok := got[k]
		w, wok := want[k]
		switch {
		case !gok:
			t.Errorf("%s missing", k)
		case !wok:
			t.Errorf("%s unexpected: %+v", k, g)
		case g.Type != w.Type || g.Mode != w.Mode || g.SHA256 != w.SHA256 || g.Link != w.Link || !g.MTime.Equal(w.MTime):
			t.Errorf("%s:\n got %+v\nwant %+v", k, g, w)
		}
	}
}

// Folder -> WriteArchive -> Extract gives the same tree: contents, modes,
// symlinks, mtimes (to the second, as archived) and empty folders.
func TestExtractRoundTrip(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	os.Mkdir(src, 0o755)
	makeTree(t, src, sampleTree())
	os.Chtimes(src, time.Unix(1700000000, 0), time.Unix(1700000000, 0))
	archive := filepath.Join(t.TempDir(), "app-1.0.tar.gz")
	info, err := WriteArchive(context.Background(), src, archive)
	if err != nil {
		t.Fatal(err)
	}
	want := snapshot(t, src)
	for k, e := range want {
		e.MTime = e.MTime.Truncate(time.Second)
		want[k] = e
	}
	if len(want) < 20 {
		t.Fatalf("sample tree has only %d entries", len(want))
	}

	t.Run("from tar.gz stream", func(t *testing.T) {
		f, err := os.Open(archive)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(t.TempDir(), "1.0")
		if err := Extract(context.Background(), zr, dst, info.Size); err != nil {
			t.Fatal(err)
		}
		diffSnapshots(t, snapshot(t, dst), want)
	})
	t.Run("Gunzip then ExtractFile", func(t *testing.T) {
		tarPath := filepath.Join(t.TempDir(), "app-1.0.tar")
		got, err := Gunzip(context.Background(), archive, tarPath, info.Size)
		if err != nil {
			t.Fatal(err)
		}
		if got != info {
			t.Fatalf("Gunzip returned %+v, WriteArchive %+v", got, info)
		}
		dst := filepath.Join(t.TempDir(), "1.0")
		if err := ExtractFile(context.Background(), tarPath, dst); err != nil {
			t.Fatal(err)
		}
		diffSnapshots(t, snapshot(t, dst), want)
	})
}

// Archives made by Python tufup extract to exactly the bundles they were
// made from, byte for byte and mode for mode, with the archive's mtimes
// (sub-second, as tufup records them).
func TestExtractTufupFixtures(t *testing.T) {
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "2.0.0a1"} {
		t.Run(v, func(t *testing.T) {
			archive := filepath.Join(fixture, "repository/targets/demoapp-"+v+".tar.gz")
			tarBytes := gunzipBytes(t, archive)
			mtimes := map[string]time.Time{}
			_, hdrs := readMembers(t, bytes.NewReader(tarBytes))
			for _, h := range hdrs {
				p := strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
				if p == "" {
					p = "."
				}
				mtimes[p] = h.ModTime
			}
			dst := filepath.Join(t.TempDir(), v)
			if err := Extract(context.Background(), bytes.NewReader(tarBytes), dst, int64(len(tarBytes))); err != nil {
				t.Fatal(err)
			}
			want := snapshot(t, filepath.Join(fixture, "bundles/demoapp-"+v))
			got := snapshot(t, dst)
			for k, e := range got {
				if e.MTime.IsZero() || !e.MTime.Equal(mtimes[k]) {
					t.Errorf("%s: mtime %v, archive says %v", k, e.MTime, mtimes[k])
				}
				if e.MTime.Nanosecond() == 0 {
					t.Errorf("%s: sub-second mtime lost", k)
				}
				e.MTime = time.Time{}
				got[k] = e
			}
			for k, e := range want {
				e.MTime = time.Time{}
				want[k] = e
			}
			diffSnapshots(t, got, want)
		})
	}
}

// A real tufup tar one byte longer than allowed is refused, and nothing is
// left; at exactly its size it extracts.
func TestExtractMaxSizeIsTarSize(t *testing.T) {
	tarBytes := gunzipBytes(t, filepath.Join(fixture, "repository/targets/demoapp-1.1.0.tar.gz"))
	parent := t.TempDir()
	dst := filepath.Join(parent, "x")
	err := Extract(context.Background(), bytes.NewReader(tarBytes), dst, int64(len(tarBytes))-1)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	assertGone(t, parent, dst)
	if err := Extract(context.Background(), bytes.NewReader(tarBytes), dst, int64(len(tarBytes))); err != nil {
		t.Fatalf("at exactly its size: %v", err)
	}
}

func TestExtractRefusesExistingDir(t *testing.T) {
	dst := t.TempDir()
	keep := filepath.Join(dst, "keep")
	os.WriteFile(keep, []byte("mine"), 0o644)
	tarBytes := gunzipBytes(t, filepath.Join(fixture, "repository/targets/demoapp-1.0.0.tar.gz"))
	err := Extract(context.Background(), bytes.NewReader(tarBytes), dst, int64(len(tarBytes)))
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("err = %v, want one saying %s exists", err, dst)
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "mine" {
		t.Fatalf("existing folder was touched: %q, %v", b, err)
	}
}

func TestExtractCancelled(t *testing.T) {
	tarBytes := gunzipBytes(t, filepath.Join(fixture, "repository/targets/demoapp-1.0.0.tar.gz"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	parent := t.TempDir()
	dst := filepath.Join(parent, "x")
	err := Extract(ctx, bytes.NewReader(tarBytes), dst, int64(len(tarBytes)))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	assertGone(t, parent, dst)
}

// Links that stay inside are fine: hard links to earlier files, symlinks
// to later members, up to the root, and through other in-tree links.
func TestExtractAllowsLinksInside(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on Windows")
	}
	tarBytes := buildTar(t, []*tar.Header{
		dirHdr("./"),
		linkHdr("./a/b/up", "../.."),
		linkHdr("./a/b/lib", "../../lib"),
		linkHdr("./a/b/via", "up/lib/x.so"),
		fileHdr("./lib/x.so.1", "shared object"),
		linkHdr("./lib/x.so", "x.so.1"),
		hardHdr("./lib/copy.so", "lib/x.so.1"),
	})
	dst := filepath.Join(t.TempDir(), "x")
	if err := Extract(context.Background(), bytes.NewReader(tarBytes), dst, int64(len(tarBytes))); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a/b/via", "a/b/lib/x.so", "lib/copy.so"} {
		b, err := os.ReadFile(filepath.Join(dst, p))
		if err != nil || string(b) != "shared object" {
			t.Errorf("%s: %q, %v", p, b, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dst, "lib/copy.so")); err != nil || !os.SameFile(fi, mustStat(t, filepath.Join(dst, "lib/x.so.1"))) {
		t.Errorf("lib/copy.so is not a hard link of lib/x.so.1 (%v)", err)
	}
}

func mustStat(t testing.TB, p string) fs.FileInfo {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

// Regular files lose setuid/setgid/sticky; folders keep the owner's rwx so
// they can be removed; both get their mtimes.
func TestExtractModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("permission bits")
	}
	mt := time.Unix(1600000000, 0)
	h := func(hdr *tar.Header, mode int64) *tar.Header {
		hdr.Mode, hdr.ModTime = mode, mt
		return hdr
	}
	tarBytes := buildTar(t, []*tar.Header{
		h(fileHdr("./suid", "x"), 0o4755),
		h(fileHdr("./sticky", "x"), 0o1777),
		h(fileHdr("./ro", "x"), 0o400),
		h(dirHdr("./locked/"), 0o500),
		h(fileHdr("./locked/in", "x"), 0o644),
	})
	dst := filepath.Join(t.TempDir(), "x")
	if err := Extract(context.Background(), bytes.NewReader(tarBytes), dst, int64(len(tarBytes))); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]fs.FileMode{"suid": 0o755, "sticky": 0o777, "ro": 0o400, "locked": fs.ModeDir | 0o700, "locked/in": 0o644} {
		fi := mustStat(t, filepath.Join(dst, p))
		if fi.Mode() != want || !fi.ModTime().Equal(mt) {
			t.Errorf("%s: mode %v mtime %v, want %v %v", p, fi.Mode(), fi.ModTime(), want, mt)
		}
	}
	if err := os.RemoveAll(dst); err != nil {
		t.Fatalf("extracted tree cannot be removed: %v", err)
	}
}

func TestMemberPathRules(t *testing.T) {
	for _, tc := range []struct {
		name  string
		dir   bool
		want  string
		error string
	}{
		{"./", true, "", ""},
		{".", true, "", ""},
		{"./a/b", false, "a/b", ""},
		{"a/b", false, "a/b", ""},
		{"./a/", true, "a", ""},
		{"./a/", false, "", "empty path component"},
		{"./", false, "", "root"},
		{"", true, "", "root"},
		{"a\x00b", false, "", "NUL"},
		{"a\xffb", false, "", "UTF-8"},
		{"a//b", false, "", "empty"},
		{"a/./b", false, "", "'.'"},
		{"././a", false, "", "'.'"},
		{"a/../b", false, "", "'..'"},
		{"/a", false, "", "absolute"},
		{"c:/a", false, "", "drive"},
		{`a\b`, false, "", "backslash"},
		{strings.Repeat("a", 255), false, strings.Repeat("a", 255), ""},
		{strings.Repeat("a", 256), false, "", "component longer than 255"},
		{strings.Repeat("a/", 2048), true, strings.Repeat("a/", 2047) + "a", ""},
		{strings.Repeat("a/", 2048) + "b", false, "", "longer than 4096"},
	} {
		got, err := memberPath(tc.name, tc.dir)
		if tc.error == "" && (err != nil || got != tc.want) || tc.error != "" && (err == nil || !strings.Contains(err.Error(), tc.error)) {
			t.Errorf("memberPath(%q, %v) = %q, %v; want %q, error containing %q", tc.name, tc.dir, got, err, tc.want, tc.error)
		}
	}
}

// tar building helpers for tests.

func fileHdr(name, data string) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(data)), Mode: 0o644, ModTime: time.Unix(1700000000, 0), Linkname: data}
}

func dirHdr(name string) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: time.Unix(1700000000, 0)}
}

func linkHdr(name, target string) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: time.Unix(1700000000, 0)}
}

func hardHdr(name, target string) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, Mode: 0o644, ModTime: time.Unix(1700000000, 0)}
}

// buildTar writes the headers; a regular file's content is carried in its
// Linkname field by fileHdr, so a test reads as a list of members.
func buildTar(t testing.TB, hdrs []*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		h := *h
		var data string
		if h.Typeflag == tar.TypeReg {
			data, h.Linkname = h.Linkname, ""
		}
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// assertGone checks that dir does not exist and parent holds nothing else
// than before the test put dir there (parent was empty).
func assertGone(t testing.TB, parent, dir string) {
	t.Helper()
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s still exists after a failed extraction (%v)", dir, err)
	}
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		t.Errorf("left behind next to the extraction folder: %s", e.Name())
	}
}

// Every flush mode extracts the same tree, and a failure part way through
// leaves nothing behind and no flush goroutines running.
func TestExtractFlushModes(t *testing.T) {
	src, good := sampleTar(t)
	want := snapshot(t, src)
	for k, e := range want {
		e.MTime = e.MTime.Truncate(time.Second)
		want[k] = e
	}
	bad := buildTar(t, append(manyFiles(100), fileHdr("../evil", "x")))
	for _, m := range []flushMode{flushNone, flushSerial, flushParallel, flushSyncfs, defaultFlush} {
		t.Run(m.String(), func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "x")
			if err := extract(context.Background(), fsutil.OS{}, bytes.NewReader(good), dst, int64(len(good)), m); err != nil {
				t.Fatal(err)
			}
			diffSnapshots(t, snapshot(t, dst), want)

			before, fdsBefore := runtime.NumGoroutine(), openFDs()
			parent := t.TempDir()
			err := extract(context.Background(), fsutil.OS{}, bytes.NewReader(bad), filepath.Join(parent, "x"), int64(len(bad)), m)
			if !errors.Is(err, ErrUnsafeArchive) {
				t.Fatalf("err = %v, want ErrUnsafeArchive", err)
			}
			assertGone(t, parent, filepath.Join(parent, "x"))
			if after := runtime.NumGoroutine(); after > before {
				t.Errorf("%d goroutines before a failed extraction, %d after", before, after)
			}
			if after := openFDs(); after > fdsBefore {
				t.Errorf("%d open files before a failed extraction, %d after", fdsBefore, after)
			}
		})
	}
}

func manyFiles(n int) []*tar.Header {
	var hdrs []*tar.Header
	for i := range n {
		hdrs = append(hdrs, fileHdr(fmt.Sprintf("./d%d/f%03d", i%7, i), strings.Repeat("x", i)))
	}
	return hdrs
}

// openFDs counts this process's open files where /proc tells (else 0).
func openFDs() int {
	entries, _ := os.ReadDir("/proc/self/fd")
	return len(entries)
}
