package patch

import (
	"archive/tar"
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tufup-go/tufup/internal/fsutil"
)

// FuzzExtract feeds arbitrary bytes to Extract as a tar. It must never
// panic, never leave anything outside its folder, remove its folder when it
// fails, and, when it succeeds, leave only files, folders and symlinks that
// resolve inside the folder.
func FuzzExtract(f *testing.F) {
	// (The fixture tars are too large to be useful seeds: mutations of
	// 580 KB inputs run slowly and rarely reach new code.)
	f.Add(buildTar(f, []*tar.Header{
		dirHdr("./"), dirHdr("./a/"), fileHdr("./a/f", "data"), linkHdr("./a/l", "f"),
		linkHdr("./up", "a/.."), hardHdr("./h", "./a/f"), linkHdr("./a/b/up", "../.."),
	}))
	f.Add(buildTar(f, []*tar.Header{fileHdr("./a", "x"), fileHdr("a", "y"), linkHdr("./b", "../outside")}))
	f.Add(buildTar(f, []*tar.Header{linkHdr("./l", "."), fileHdr("./l/x", "x"), {Typeflag: tar.TypeFifo, Name: "p"}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		parent := filepath.Join(base, "parent")
		outside := filepath.Join(base, "outside")
		os.Mkdir(parent, 0o755)
		os.Mkdir(outside, 0o755)
		dir := filepath.Join(parent, "x")
		err := extract(context.Background(), fsutil.OS{}, bytes.NewReader(data), dir, int64(len(data)), flushNone)
		if entries, _ := os.ReadDir(outside); len(entries) != 0 {
			t.Fatalf("wrote outside: %v", entries)
		}
		if entries, _ := os.ReadDir(base); len(entries) != 2 {
			t.Fatalf("wrote next to the folder: %v", entries)
		}
		entries, _ := os.ReadDir(parent)
		if err != nil {
			if len(entries) != 0 {
				t.Fatalf("failed (%v) but left %v", err, entries)
			}
			return
		}
		if len(entries) != 1 {
			t.Fatalf("succeeded but parent holds %v", entries)
		}
		realDir, _ := filepath.EvalSymlinks(dir)
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			switch typ := d.Type(); {
			case typ == 0 || typ.IsDir():
			case typ&fs.ModeSymlink != 0:
				if r, err := filepath.EvalSymlinks(p); err == nil && r != realDir && !strings.HasPrefix(r, realDir+string(filepath.Separator)) {
					t.Fatalf("symlink %s resolves to %s, outside %s", p, r, realDir)
				}
			default:
				t.Fatalf("%s has type %v", p, typ)
			}
			return nil
		})
	})
}
