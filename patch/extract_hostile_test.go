package patch

// One test per kind of hostile archive. Each builds the archive, extracts
// it next to a folder "outside" holding a secret, and checks that the
// extraction fails with the right sentinel, an error naming the member and
// saying why, that the extraction folder is gone, and that nothing outside
// it was created or changed.

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/tufup-go/tufup/internal/fsutil"
)

type hostile struct {
	tar     []byte
	maxSize int64 // 0: the tar's length
	wantErr error // ErrUnsafeArchive unless set
	member  string
	reason  string
}

// sandbox is base/{parent/, outside/secret}; extraction goes to parent/x.
func sandbox(t *testing.T) (base, parent, dir string) {
	base = t.TempDir()
	parent = filepath.Join(base, "parent")
	os.Mkdir(parent, 0o755)
	os.Mkdir(filepath.Join(base, "outside"), 0o755)
	os.WriteFile(filepath.Join(base, "outside", "secret"), []byte("secret"), 0o600)
	return base, parent, filepath.Join(parent, "x")
}

func (h hostile) check(t *testing.T) {
	t.Helper()
	base, parent, dir := sandbox(t)
	before := snapshot(t, base)
	maxSize := h.maxSize
	if maxSize == 0 {
		maxSize = int64(len(h.tar))
	}
	err := extract(context.Background(), fsutil.OS{}, bytes.NewReader(h.tar), dir, maxSize, flushNone)
	h.checkErr(t, err)
	assertGone(t, parent, dir)
	after := snapshot(t, base)
	for _, s := range []map[string]entry{before, after} {
		e := s["parent"]
		e.MTime = time.Time{} // creating and removing x changes it
		s["parent"] = e
		e = s["."]
		e.MTime = time.Time{}
		s["."] = e
	}
	diffSnapshots(t, after, before)
}

func (h hostile) checkErr(t *testing.T, err error) {
	t.Helper()
	want := h.wantErr
	if want == nil {
		want = ErrUnsafeArchive
	}
	if err == nil {
		t.Fatalf("extraction succeeded; want %v naming %q because %s", want, h.member, h.reason)
	}
	msg := err.Error()
	if !errors.Is(err, want) || !strings.Contains(msg, strconv.Quote(h.member)) || !strings.Contains(msg, h.reason) {
		t.Fatalf("err = %v\nwant %v naming %q because %q", err, want, h.member, h.reason)
	}
}

func TestExtractRefusesAbsolutePath(t *testing.T) {
	for _, name := range []string{"/tmp/tufup-evil", "/etc/cron.d/evil", "//server/share/evil"} {
		t.Run(name, func(t *testing.T) {
			hostile{
				tar:    buildTar(t, []*tar.Header{fileHdr("./ok", "ok"), fileHdr(name, "evil")}),
				member: name, reason: "absolute path",
			}.check(t)
		})
	}
	// The same with a path into the sandbox, so a write there would show.
	base, _, _ := sandbox(t)
	name := filepath.ToSlash(filepath.Join(base, "outside", "secret"))
	hostile{tar: buildTar(t, []*tar.Header{fileHdr(name, "evil")}), member: name, reason: "absolute path"}.check(t)
}

func TestExtractRefusesDotDot(t *testing.T) {
	for _, name := range []string{"../evil", "./../evil", "a/../../evil", "./../../outside/secret", "a/b/../../../outside/secret"} {
		t.Run(name, func(t *testing.T) {
			hostile{
				tar:    buildTar(t, []*tar.Header{dirHdr("./"), fileHdr("./a/b/ok", "ok"), fileHdr(name, "evil")}),
				member: name, reason: "'..'",
			}.check(t)
		})
	}
}

func TestExtractRefusesSymlinkEscapingRelative(t *testing.T) {
	for _, tc := range []struct{ name, target string }{
		{"./link", ".."},
		{"./link", "../outside"},
		{"./a/b/link", "../../../outside/secret"},
		{"./a/link", "./../../outside"},
	} {
		t.Run(tc.name+"->"+tc.target, func(t *testing.T) {
			hostile{
				tar:    buildTar(t, []*tar.Header{fileHdr("./a/b/ok", "ok"), linkHdr(tc.name, tc.target)}),
				member: tc.name, reason: "points outside",
			}.check(t)
		})
	}
}

func TestExtractRefusesSymlinkAbsolute(t *testing.T) {
	base, _, _ := sandbox(t)
	for _, target := range []string{"/etc", filepath.ToSlash(filepath.Join(base, "outside")), "//server/share"} {
		t.Run(target, func(t *testing.T) {
			hostile{
				tar:    buildTar(t, []*tar.Header{fileHdr("./ok", "ok"), linkHdr("./link", target)}),
				member: "./link", reason: "absolute path",
			}.check(t)
		})
	}
}

// "a/b/c/esc -> ../up/../.." cleans lexically to "a" and climbs only as
// many levels as esc is deep, yet resolves through "a/b/up -> ../.." to the
// root's grandparent.
func TestExtractRefusesSymlinkChainEscape(t *testing.T) {
	hostile{
		tar: buildTar(t, []*tar.Header{
			linkHdr("./a/b/up", "../.."),
			fileHdr("./a/b/c/ok", "ok"),
			linkHdr("./a/b/c/esc", "../up/../.."),
		}),
		member: "./a/b/c/esc", reason: "'..' after a folder name",
	}.check(t)
}

func TestExtractRefusesWriteThroughSymlink(t *testing.T) {
	t.Run("in-tree link", func(t *testing.T) {
		hostile{
			tar: buildTar(t, []*tar.Header{
				dirHdr("./sub/"),
				linkHdr("./link", "sub"),
				fileHdr("./link/file", "through the link"),
			}),
			member: "./link/file", reason: "which is a symlink",
		}.check(t)
	})
	t.Run("link to the root", func(t *testing.T) {
		hostile{
			tar: buildTar(t, []*tar.Header{
				linkHdr("./a/self", ".."),
				dirHdr("./a/self/x/"),
			}),
			member: "./a/self/x/", reason: "which is a symlink",
		}.check(t)
	})
	t.Run("under a file", func(t *testing.T) {
		hostile{
			tar:    buildTar(t, []*tar.Header{fileHdr("./f", "file"), fileHdr("./f/x", "inside a file")}),
			member: "./f/x", reason: "which is a file",
		}.check(t)
	})
}

func TestExtractRefusesHardlinkEscaping(t *testing.T) {
	base, _, _ := sandbox(t)
	for _, tc := range []struct{ target, reason string }{
		{"../outside/secret", "'..'"},
		{"./../../outside/secret", "'..'"},
		{filepath.ToSlash(filepath.Join(base, "outside", "secret")), "absolute path"},
		{"/etc/passwd", "absolute path"},
		{"./later", "not a file extracted before it"},
		{"./missing", "not a file extracted before it"},
		{"./link", "not a file extracted before it"},
		{"./dir", "not a file extracted before it"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			hostile{
				tar: buildTar(t, []*tar.Header{
					fileHdr("./ok", "ok"),
					dirHdr("./dir/"),
					linkHdr("./link", "ok"),
					hardHdr("./hard", tc.target),
					fileHdr("./later", "later"),
				}),
				member: "./hard", reason: tc.reason,
			}.check(t)
		})
	}
}

func TestExtractRefusesCharDevice(t *testing.T) {
	hostile{
		tar:    buildTar(t, []*tar.Header{fileHdr("./ok", "ok"), {Typeflag: tar.TypeChar, Name: "./null", Devmajor: 1, Devminor: 3, Mode: 0o666}}),
		member: "./null", reason: "character device",
	}.check(t)
}

func TestExtractRefusesBlockDevice(t *testing.T) {
	hostile{
		tar:    buildTar(t, []*tar.Header{fileHdr("./ok", "ok"), {Typeflag: tar.TypeBlock, Name: "./sda", Devmajor: 8, Mode: 0o660}}),
		member: "./sda", reason: "block device",
	}.check(t)
}

func TestExtractRefusesFIFO(t *testing.T) {
	hostile{
		tar:    buildTar(t, []*tar.Header{fileHdr("./ok", "ok"), {Typeflag: tar.TypeFifo, Name: "./pipe", Mode: 0o644}}),
		member: "./pipe", reason: "FIFO",
	}.check(t)
}

func TestExtractRefusesDuplicateEntry(t *testing.T) {
	for _, tc := range []struct {
		name   string
		first  *tar.Header
		second *tar.Header
	}{
		{"file twice", fileHdr("./a", "one"), fileHdr("./a", "two")},
		{"same path spelt differently", fileHdr("./a", "one"), fileHdr("a", "two")},
		{"folder twice", dirHdr("./d/"), dirHdr("d/")},
		{"root twice", dirHdr("./"), dirHdr(".")},
		{"file then folder", fileHdr("./a", "one"), dirHdr("./a/")},
		{"folder then file", dirHdr("./a/"), fileHdr("./a", "two")},
		{"symlink then file", linkHdr("./a", "ok"), fileHdr("./a", "two")},
		{"file then symlink", fileHdr("./a", "one"), linkHdr("./a", "ok")},
		{"file then hard link", fileHdr("./a", "one"), hardHdr("./a", "ok")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hostile{
				tar:    buildTar(t, []*tar.Header{fileHdr("./ok", "ok"), tc.first, tc.second}),
				member: tc.second.Name, reason: "duplicate entry",
			}.check(t)
		})
	}
}

func TestExtractRefusesMoreThanMaxSize(t *testing.T) {
	big := strings.Repeat("x", 100<<10)
	t.Run("declared sizes", func(t *testing.T) {
		// Refused from the header, before any data is read.
		hostile{
			tar:     buildTar(t, []*tar.Header{fileHdr("./a", big), fileHdr("./b", big)}),
			maxSize: 150 << 10, wantErr: ErrTooLarge,
			member: "./b", reason: "files declare more than",
		}.check(t)
	})
	t.Run("stream in member data", func(t *testing.T) {
		tarBytes := buildTar(t, []*tar.Header{fileHdr("./a", big)})
		hostile{
			tar: tarBytes, maxSize: 100 << 10, wantErr: ErrTooLarge,
			member: "./a", reason: "more than 102400 bytes",
		}.check(t)
		// Sizes that fit, in a stream that does not (headers count).
		hostile{
			tar: tarBytes, maxSize: 100<<10 + 100, wantErr: ErrTooLarge,
			member: "./a", reason: "more than 102500 bytes",
		}.check(t)
	})
	t.Run("stream in headers", func(t *testing.T) {
		var hdrs []*tar.Header
		for i := range 100 {
			hdrs = append(hdrs, fileHdr(fmt.Sprintf("./f%03d", i), ""))
		}
		hostile{
			tar: buildTar(t, hdrs), maxSize: 50 * 512, wantErr: ErrTooLarge,
			member: "./f049", reason: "more than 25600 bytes",
		}.check(t)
	})
	t.Run("trailing data", func(t *testing.T) {
		tarBytes := buildTar(t, []*tar.Header{fileHdr("./a", "a")})
		n := int64(len(tarBytes))
		hostile{
			tar: append(tarBytes, make([]byte, 1<<20)...), maxSize: n, wantErr: ErrTooLarge,
			member: "./a", reason: "more than",
		}.check(t)
	})
}

func TestExtractRefusesWindowsNames(t *testing.T) {
	for _, tc := range []struct{ name, reason string }{
		{`C:\evil`, "backslash"},
		{`C:/evil`, "drive path"},
		{`C:evil`, "drive path"},
		{`c:/Windows/System32/evil.dll`, "drive path"},
		{`\\server\share\evil`, "backslash"},
		{`\evil`, "backslash"},
		{`a\..\..\evil`, "backslash"},
		{`.\..\evil`, "backslash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hostile{
				tar:    buildTar(t, []*tar.Header{fileHdr("./ok", "ok"), fileHdr(tc.name, "evil")}),
				member: tc.name, reason: tc.reason,
			}.check(t)
		})
	}
	t.Run("symlink target", func(t *testing.T) {
		hostile{
			tar:    buildTar(t, []*tar.Header{linkHdr("./link", `C:\Windows`)}),
			member: "./link", reason: "backslash",
		}.check(t)
	})
}

// archive/tar expands sparse files to their declared size without reading
// anything: a 1 KB archive could fill the disk.
func TestExtractRefusesSparseFile(t *testing.T) {
	t.Run("PAX GNU sparse 1.0", func(t *testing.T) {
		var b bytes.Buffer
		records := paxRecords("GNU.sparse.major", "1", "GNU.sparse.minor", "0",
			"GNU.sparse.name", "./huge", "GNU.sparse.realsize", "10000000000")
		b.Write(rawHeader("./PaxHeaders/huge", tar.TypeXHeader, int64(len(records)), false))
		b.Write(padBlock([]byte(records)))
		sparseMap := padBlock([]byte("1\n0\n0\n")) // one empty data region
		b.Write(rawHeader("./GNUSparseFile.0/huge", tar.TypeReg, int64(len(sparseMap)), false))
		b.Write(sparseMap)
		b.Write(make([]byte, 1024))
		hostile{tar: b.Bytes(), member: "./huge", reason: "sparse"}.check(t)
	})
	t.Run("old GNU sparse", func(t *testing.T) {
		var b bytes.Buffer
		h := rawHeader("./huge", tar.TypeGNUSparse, 0, true)
		copy(h[483:495], fmt.Sprintf("%011o\x00", int64(10000000000))) // real size
		fixChecksum(h)
		b.Write(h)
		b.Write(make([]byte, 1024))
		hostile{tar: b.Bytes(), member: "./huge", reason: "sparse"}.check(t)
	})
}

// A gzip bomb: 64 MiB of zeros in about 64 KiB.
func gzipBomb(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "bomb.tar.gz")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	zw.Write(buildTar(t, []*tar.Header{fileHdr("./ok", "ok")}))
	zeros := make([]byte, 1<<20)
	for range 64 {
		zw.Write(zeros)
	}
	zw.Close()
	f.Close()
	return p
}

func TestGunzipRefusesBomb(t *testing.T) {
	bomb := gzipBomb(t)
	out := t.TempDir()
	dst := filepath.Join(out, "bomb.tar")
	_, err := Gunzip(context.Background(), bomb, dst, 1<<20)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), bomb) {
		t.Fatalf("err = %v, want ErrTooLarge naming %s", err, bomb)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Fatalf("Gunzip left %v behind", entries)
	}
	// The same bomb streamed into Extract stops at the limit too: the
	// zeros after the end-of-archive blocks still count.
	f, _ := os.Open(bomb)
	defer f.Close()
	zr, _ := gzip.NewReader(f)
	hostile{wantErr: ErrTooLarge, member: "./ok", reason: "more than 1048576 bytes"}.checkErr(t,
		extract(context.Background(), fsutil.OS{}, zr, filepath.Join(out, "x"), 1<<20, flushNone))
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Fatalf("Extract left %v behind", entries)
	}
}

// Raw tar blocks for what archive/tar's writer will not produce.

func rawHeader(name string, typ byte, size int64, gnu bool) []byte {
	b := make([]byte, 512)
	copy(b[0:100], name)
	copy(b[100:], "0000644\x00")
	copy(b[108:], "0000000\x00")
	copy(b[116:], "0000000\x00")
	copy(b[124:], fmt.Sprintf("%011o\x00", size))
	copy(b[136:], fmt.Sprintf("%011o\x00", 1700000000))
	b[156] = typ
	if gnu {
		copy(b[257:], "ustar  \x00")
	} else {
		copy(b[257:], "ustar\x0000")
	}
	fixChecksum(b)
	return b
}

func fixChecksum(b []byte) {
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b[:512] {
		sum += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
}

func padBlock(b []byte) []byte {
	return append(b, make([]byte, (512-len(b)%512)%512)...)
}

// paxRecords formats key/value pairs as "<len> key=value\n" records.
func paxRecords(kv ...string) string {
	var s strings.Builder
	for i := 0; i < len(kv); i += 2 {
		rec := " " + kv[i] + "=" + kv[i+1] + "\n"
		n := len(rec) + 1
		for len(strconv.Itoa(n))+len(rec) != n {
			n++
		}
		s.WriteString(strconv.Itoa(n) + rec)
	}
	return s.String()
}
