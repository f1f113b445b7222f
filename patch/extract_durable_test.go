package patch

import (
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
	_, tarBytes := sampleTar(t)
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
