package patch

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/tufup-go/tufup/internal/fsutil"
	"github.com/tufup-go/tufup/patch/bsdiff"
)

// extractIndexedBytes extracts tarBytes into a new folder with its index
// and returns both paths.
func extractIndexedBytes(t *testing.T, tarBytes []byte) (dir, index string) {
	t.Helper()
	parent := t.TempDir()
	dir, index = filepath.Join(parent, "v"), filepath.Join(parent, "v.idx")
	got, err := ExtractIndexed(context.Background(), fsutil.OS{}, bytes.NewReader(tarBytes), dir, int64(len(tarBytes)), index, TarInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if want := hashBytes(tarBytes); got != want {
		t.Fatalf("ExtractIndexed reported %+v, the tar is %+v", got, want)
	}
	return dir, index
}

func hashBytes(b []byte) TarInfo {
	h := NewHasher()
	h.Write(b)
	return h.Info()
}

// assertServes reads the whole tar from the index, sequentially and at
// random places, and compares with want.
func assertServes(t *testing.T, index, dir string, want []byte) {
	t.Helper()
	it, err := OpenIndexedTar(index, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if it.Size() != int64(len(want)) || it.Info() != hashBytes(want) {
		t.Fatalf("index says %+v, the tar is %+v", it.Info(), hashBytes(want))
	}
	got, err := io.ReadAll(io.NewSectionReader(it, 0, it.Size()))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the tar served from the index differs from the one extracted")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		off := rng.Int64N(int64(len(want)))
		n := rng.IntN(300 << 10)
		buf := make([]byte, n)
		k, err := it.ReadAt(buf, off)
		wantN := min(n, len(want)-int(off))
		if k != wantN || (k < n && err != io.EOF) || (k == n && err != nil) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v; want %d", n, off, k, err, wantN)
		}
		if !bytes.Equal(buf[:k], want[off:off+int64(k)]) {
			t.Fatalf("ReadAt(%d bytes at %d) gave other bytes than the tar's", n, off)
		}
	}
}

// TestIndexedTarServesTufupTars: Python tufup's tars (PAX headers with
// float mtimes, its own member order) come back byte for byte from the
// extracted folder and the index.
func TestIndexedTarServesTufupTars(t *testing.T) {
	for _, v := range chainVersions {
		t.Run(v, func(t *testing.T) {
			tarBytes := gunzipBytes(t, filepath.Join(chainFixture, "repository", "targets", "demoapp-"+v+".tar.gz"))
			dir, index := extractIndexedBytes(t, tarBytes)
			assertServes(t, index, dir, tarBytes)
		})
	}
}

// TestIndexedTarManyChunks: a tar whose headers need several index chunks,
// with files of every size around the block size and empty ones.
func TestIndexedTarManyChunks(t *testing.T) {
	var hdrs = []*tar.Header{dirHdr("./"), dirHdr("./d/")}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 1500 {
		data := make([]byte, rng.IntN(1500))
		for j := range data {
			data[j] = byte(rng.IntN(256))
		}
		hdrs = append(hdrs, fileHdr(fmt.Sprintf("./d/f%04d%s", i, bytes.Repeat([]byte("-long"), i%40)), string(data)))
	}
	hdrs = append(hdrs, linkHdr("./d/link", "f0000"), hardHdr("./d/hard", "./d/f0000"))
	tarBytes := buildTar(t, hdrs)
	dir, index := extractIndexedBytes(t, tarBytes)
	fi, err := os.Stat(index)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tar %d bytes, index %d bytes", len(tarBytes), fi.Size())
	assertServes(t, index, dir, tarBytes)
}

// TestIndexedTarDetectsChanges: whatever changed in the installed folder
// or the index, reading gives ErrBaseModified, never other bytes.
func TestIndexedTarDetectsChanges(t *testing.T) {
	tarBytes := gunzipBytes(t, filepath.Join(chainFixture, "repository", "targets", "demoapp-1.0.0.tar.gz"))
	file := func(dir string) string { return filepath.Join(dir, "lib", "core.bin") }
	cases := map[string]func(t *testing.T, dir, index string){
		"same size, other content": func(t *testing.T, dir, _ string) {
			b := mustRead(t, file(dir))
			b[0] ^= 1
			os.WriteFile(file(dir), b, 0o644)
		},
		"longer": func(t *testing.T, dir, _ string) {
			f, _ := os.OpenFile(file(dir), os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString("x")
			f.Close()
		},
		"removed": func(t *testing.T, dir, _ string) { os.Remove(file(dir)) },
		"replaced by a folder": func(t *testing.T, dir, _ string) {
			os.Remove(file(dir))
			os.Mkdir(file(dir), 0o755)
		},
		"index damaged": func(t *testing.T, _, index string) {
			b := mustRead(t, index)
			b[len(b)/2] ^= 1
			os.WriteFile(index, b, 0o644)
		},
		"index truncated": func(t *testing.T, _, index string) { os.Truncate(index, 20) },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			dir, index := extractIndexedBytes(t, tarBytes)
			if _, err := os.Stat(file(dir)); err != nil {
				t.Fatalf("fixture has no %s: %v", file(dir), err)
			}
			change(t, dir, index)
			it, err := OpenIndexedTar(index, dir)
			if err == nil {
				defer it.Close()
				_, err = io.ReadAll(io.NewSectionReader(it, 0, it.Size()))
			}
			if !errors.Is(err, ErrBaseModified) {
				t.Fatalf("got %v, want an error wrapping ErrBaseModified", err)
			}
		})
	}
}

// TestApplyChainExtractTufup updates an install of 1.0.0 made from Python
// tufup's archive with Python tufup's patches, one and three at a time,
// with no tar on disk: the result is 2.0.0a1's files and an index that
// serves 2.0.0a1's tar.
func TestApplyChainExtractTufup(t *testing.T) {
	base := gunzipBytes(t, filepath.Join(chainFixture, "repository", "targets", "demoapp-1.0.0.tar.gz"))
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprint(n, " patches"), func(t *testing.T) {
			dir, index := extractIndexedBytes(t, base)
			it, err := OpenIndexedTar(index, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer it.Close()
			to := chainVersions[n]
			want := fixtureTarInfo(t, "demoapp-"+to+".patch")
			parent, tmp := t.TempDir(), t.TempDir()
			newDir, newIndex := filepath.Join(parent, to), filepath.Join(parent, to+".idx")
			if err := ApplyChainExtract(context.Background(), fsutil.OS{}, it, it.Size(), fixturePatches()[:n], tmp, newDir, newIndex, want); err != nil {
				t.Fatal(err)
			}
			ref := gunzipBytes(t, filepath.Join(chainFixture, "repository", "targets", "demoapp-"+to+".tar.gz"))
			refDir, _ := extractIndexedBytes(t, ref)
			diffSnapshots(t, snapshot(t, newDir), snapshot(t, refDir))
			assertServes(t, newIndex, newDir, ref)
			if left := listDir(t, tmp); len(left) != 0 {
				t.Fatalf("intermediate tars left behind: %v", left)
			}
		})
	}
}

// TestApplyChainExtractRefuses: a wrong result, a corrupt patch and a
// modified base leave neither the folder nor the index behind.
func TestApplyChainExtractRefuses(t *testing.T) {
	base := gunzipBytes(t, filepath.Join(chainFixture, "repository", "targets", "demoapp-1.0.0.tar.gz"))
	want := fixtureTarInfo(t, "demoapp-1.1.0.patch")
	corrupt := filepath.Join(t.TempDir(), "corrupt.patch")
	b := mustRead(t, fixturePatches()[0])
	b[len(b)-10] ^= 0xff
	if err := os.WriteFile(corrupt, b, 0o644); err != nil {
		t.Fatal(err)
	}
	wrong := want
	wrong.SHA256 = fmt.Sprintf("%064x", 1)
	cases := []struct {
		name    string
		patch   string
		want    TarInfo
		modify  bool
		wantErr error
	}{
		{"wrong hash", fixturePatches()[0], wrong, false, ErrChainMismatch},
		{"wrong size", fixturePatches()[0], TarInfo{Size: want.Size - 512, SHA256: want.SHA256}, false, ErrChainMismatch},
		{"corrupt patch", corrupt, want, false, bsdiff.ErrCorrupt},
		{"modified base", fixturePatches()[0], want, true, ErrBaseModified},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, index := extractIndexedBytes(t, base)
			if c.modify {
				f := filepath.Join(dir, "lib", "core.bin")
				b := mustRead(t, f)
				b[len(b)-1] ^= 1
				os.WriteFile(f, b, 0o644)
			}
			it, err := OpenIndexedTar(index, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer it.Close()
			parent := t.TempDir()
			err = ApplyChainExtract(context.Background(), fsutil.OS{}, it, it.Size(), []string{c.patch}, parent, filepath.Join(parent, "new"), filepath.Join(parent, "new.idx"), c.want)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("got %v, want an error wrapping %v", err, c.wantErr)
			}
			if left := listDir(t, parent); len(left) != 0 {
				t.Fatalf("left behind: %v", left)
			}
		})
	}
}

// TestIndexTarFile: an install that kept the tar its version came from
// (as launchers before the index did) gets the same index from that tar.
func TestIndexTarFile(t *testing.T) {
	dir, base := gunzipBase(t)
	folder, index := filepath.Join(dir, "v"), filepath.Join(dir, "v.idx")
	if err := ExtractFile(context.Background(), base, folder); err != nil {
		t.Fatal(err)
	}
	if err := IndexTarFile(context.Background(), base, index); err != nil {
		t.Fatal(err)
	}
	assertServes(t, index, folder, mustRead(t, base))
}
