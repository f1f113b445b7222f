package patch

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/tufup-go/tufup/internal/fsutil"
)

// genTree fills root with about totalBytes in files files, spread over
// nested folders the way an application bundle is (many small files, a few
// large ones), with content that compresses about as well as binaries.
func genTree(tb testing.TB, root string, files int, totalBytes int64) {
	tb.Helper()
	rnd := rand.New(rand.NewPCG(7, 11))
	// Sizes follow a heavy-tailed distribution scaled to totalBytes.
	weights := make([]float64, files)
	var sum float64
	for i := range weights {
		w := rnd.ExpFloat64()
		weights[i] = w * w * w
		sum += weights[i]
	}
	// Content: runs copied from a small random dictionary with random bytes
	// in between, which gzip shrinks to about 40% like typical binaries.
	dict := make([]byte, 16<<10)
	for i := range dict {
		dict[i] = byte(rnd.Uint32())
	}
	chunk := make([]byte, 0, 1<<20)
	for len(chunk) < cap(chunk)-128 {
		off, n := rnd.IntN(len(dict)-64), 8+rnd.IntN(56)
		chunk = append(chunk, dict[off:off+n]...)
		for range rnd.IntN(12) {
			chunk = append(chunk, byte(rnd.Uint32()))
		}
	}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range files {
		dir := filepath.Join(root, fmt.Sprintf("pkg%02d", i%37), fmt.Sprintf("sub%02d", i/37%24))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		size := int64(weights[i] / sum * float64(totalBytes))
		var buf bytes.Buffer
		for int64(buf.Len()) < size {
			off := rnd.IntN(len(chunk))
			n := min(int64(len(chunk)-off), size-int64(buf.Len()))
			buf.Write(chunk[off : off+int(n)])
		}
		p := filepath.Join(dir, fmt.Sprintf("file%05d.dat", i))
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			tb.Fatal(err)
		}
		os.Chtimes(p, t0, t0)
	}
}

func benchTree(b *testing.B, files int, total int64) (src string, tarBytes []byte) {
	src = filepath.Join(b.TempDir(), "src")
	genTree(b, src, files, total)
	var buf bytes.Buffer
	if err := WriteTar(context.Background(), src, &buf); err != nil {
		b.Fatal(err)
	}
	return src, buf.Bytes()
}

// BenchmarkWriteArchive reports MB/s of uncompressed tar archived and
// compressed, on a ~100 MB tree of 12,000 files.
func BenchmarkWriteArchive(b *testing.B) {
	src, tarBytes := benchTree(b, 12000, 100<<20)
	dst := filepath.Join(b.TempDir(), "out.tar.gz")
	b.SetBytes(int64(len(tarBytes)))
	var size int64
	for b.Loop() {
		if _, err := WriteArchive(context.Background(), src, dst); err != nil {
			b.Fatal(err)
		}
		fi, _ := os.Stat(dst)
		size = fi.Size()
	}
	b.ReportMetric(float64(size)/float64(len(tarBytes)), "gz/tar")
}

// BenchmarkExtract reports MB/s of uncompressed tar extracted, flushed to
// disk as Extract does, from a tar and from a .tar.gz.
func BenchmarkExtract(b *testing.B) {
	_, tarBytes := benchTree(b, 12000, 100<<20)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(tarBytes)
	zw.Close()
	for _, tc := range []struct {
		name string
		data []byte
		gzip bool
	}{{"tar", tarBytes, false}, {"targz", gz.Bytes(), true}} {
		b.Run(tc.name, func(b *testing.B) {
			parent := b.TempDir()
			b.SetBytes(int64(len(tarBytes)))
			i := 0
			for b.Loop() {
				dir := filepath.Join(parent, fmt.Sprint(i))
				i++
				var err error
				if tc.gzip {
					zr, _ := gzip.NewReader(bytes.NewReader(tc.data))
					err = Extract(context.Background(), zr, dir, int64(len(tarBytes)))
				} else {
					err = Extract(context.Background(), bytes.NewReader(tc.data), dir, int64(len(tarBytes)))
				}
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				os.RemoveAll(dir)
				b.StartTimer()
			}
		})
	}
}

// BenchmarkExtractFlush compares ways of making a 12,000-file extraction
// durable. It writes to the filesystem of TMPDIR; set it to the disk to
// measure. Run with -benchtime=3x: the serial mode takes a while.
func BenchmarkExtractFlush(b *testing.B) {
	_, tarBytes := benchTree(b, 12000, 100<<20)
	for _, m := range []flushMode{flushNone, flushSerial, flushParallel, flushSyncfs} {
		b.Run(m.String(), func(b *testing.B) {
			parent := b.TempDir()
			b.SetBytes(int64(len(tarBytes)))
			i := 0
			for b.Loop() {
				dir := filepath.Join(parent, fmt.Sprint(i))
				i++
				if err := extract(context.Background(), fsutil.OS{}, bytes.NewReader(tarBytes), dir, int64(len(tarBytes)), m); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				os.RemoveAll(dir)
				syncAll() // so no run pays for the previous one's writeback
				b.StartTimer()
			}
		})
	}
}
