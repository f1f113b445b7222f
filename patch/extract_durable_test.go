package patch

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tufup-go/tufup/internal/fsutil"
	"github.com/tufup-go/tufup/internal/fsutil/fsutiltest"
)

// sampleTar writes sampleTree into a folder and returns the folder and
// its tar.
func sampleTar(t *testing.T) (string, []byte) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	os.Mkdir(src, 0o755)
	makeTree(t, src, sampleTree())
	var buf bytes.Buffer
	if err := WriteTar(context.Background(), src, &buf); err != nil {
		t.Fatal(err)
	}
	return src, buf.Bytes()
}

// noSyncfs is the real disk on a system without syncfs(2).
type noSyncfs struct{ fsutil.OS }

func (noSyncfs) SyncFS(*os.File) error { return errors.ErrUnsupported }

// Issue 21: whatever the flush mode, everything Extract wrote is flushed
// when it returns, so the caller may rename the folder into place: the
// recorded steps, followed by that rename, pass fsutiltest.Check.
func TestExtractFlushesEverythingItWrote(t *testing.T) {
	_, sample := sampleTar(t)
	// Folders that only appear in members' paths, without entries of
	// their own, must be flushed too.
	implicit := buildTar(t, []*tar.Header{fileHdr("a/b/c.txt", "x"), fileHdr("d/e.txt", "y")})
	cases := []struct {
		name string
		mode flushMode
		disk fsutil.FS
	}{
		{"serial", flushSerial, fsutil.OS{}},
		{"parallel", flushParallel, fsutil.OS{}},
		{"default", defaultFlush, fsutil.OS{}},
		{"default without syncfs", defaultFlush, noSyncfs{}},
	}
	for _, c := range cases {
		for _, tarBytes := range [][]byte{sample, implicit} {
			t.Run(c.name, func(t *testing.T) {
				rec := &fsutiltest.Recorder{Disk: c.disk}
				parent := t.TempDir()
				staging := filepath.Join(parent, "staging")
				if err := extract(context.Background(), rec, bytes.NewReader(tarBytes), staging, int64(len(tarBytes)), c.mode); err != nil {
					t.Fatal(err)
				}
				if err := fsutil.RenameFS(rec, staging, filepath.Join(parent, "placed")); err != nil {
					t.Fatal(err)
				}
				for _, problem := range fsutiltest.Check(rec.Events()) {
					t.Error(problem)
				}
			})
		}
	}
}

// failingDirSync is a disk without syncfs where flushing a folder fails.
type failingDirSync struct{ noSyncfs }

var errDiskOnFire = errors.New("disk on fire")

func (failingDirSync) Sync(f *os.File) error {
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return errDiskOnFire
	}
	return f.Sync()
}

// failingFileSync is a disk without syncfs where flushing a file fails.
type failingFileSync struct{ noSyncfs }

func (failingFileSync) Sync(f *os.File) error {
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		return errDiskOnFire
	}
	return f.Sync()
}

// A flush that fails fails the extraction, whatever the mode: the folder
// must not be renamed into place as if it were on disk.
func TestExtractReportsAFailedFlush(t *testing.T) {
	_, tarBytes := sampleTar(t)
	for _, c := range []struct {
		what string
		disk fsutil.FS
	}{{"folder", failingDirSync{}}, {"file", failingFileSync{}}} {
		for _, mode := range []flushMode{flushSerial, flushParallel, defaultFlush} {
			t.Run(c.what+"/"+mode.String(), func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "x")
				err := extract(context.Background(), c.disk, bytes.NewReader(tarBytes), dir, int64(len(tarBytes)), mode)
				if !errors.Is(err, errDiskOnFire) {
					t.Fatalf("err = %v, want the failed flush", err)
				}
				if _, err := os.Lstat(dir); !os.IsNotExist(err) {
					t.Errorf("%s left behind after a failed flush (%v)", dir, err)
				}
			})
		}
	}
}
