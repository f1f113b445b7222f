package layout

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The Windows behaviour of the install directory: files in use. These run
// on Windows and under Wine (e2e/windows_wine_test.go runs them there).
// They make their own temporary folders, because t.TempDir's cleanup uses
// os.RemoveAll, which Wine 8 cannot do (see removeAll).

func windowsTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "layout-windows-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := removeAll(dir); err != nil {
			t.Errorf("remove temporary folder: %v", err)
		}
	})
	return dir
}

func windowsInstall(t *testing.T, versions ...string) Dir {
	t.Helper()
	d := New(windowsTempDir(t))
	if err := d.Create(); err != nil {
		t.Fatal(err)
	}
	for _, v := range versions {
		if err := os.MkdirAll(filepath.Join(d.Version(v), "data"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d.Version(v), "data", "app.dat"), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// A reader that has the pointer open (another launcher reading it, a virus
// scanner) makes replacing it fail for as long as it keeps it open; the
// flip waits for it rather than failing the update.
func TestWindowsSetCurrentWhileReaderHasItOpen(t *testing.T) {
	d := windowsInstall(t, "1.0.0", "2.0.0")
	if err := d.SetCurrent("1.0.0"); err != nil {
		t.Fatal(err)
	}
	reader, err := os.Open(d.pointer())
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	tmp := filepath.Join(d.Root(), "other")
	if err := os.WriteFile(tmp, []byte("1.0.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, d.pointer()); err == nil {
		t.Skip("this system replaces a file that a reader has open; nothing to wait for")
	}
	closed := make(chan struct{})
	go func() {
		time.Sleep(200 * time.Millisecond)
		reader.Close()
		close(closed)
	}()
	if err := d.SetCurrent("2.0.0"); err != nil {
		t.Fatalf("SetCurrent while a reader had the pointer open: %v", err)
	}
	<-closed
	if v, err := d.Current(); err != nil || v != "2.0.0" {
		t.Fatalf("current = %q, %v; want 2.0.0", v, err)
	}
}

// A version with a file open elsewhere stays installed and whole; once the
// file is closed, Remove deletes the folder, trash and all.
func TestWindowsRemoveInUse(t *testing.T) {
	d := windowsInstall(t, "1.0.0", "2.0.0")
	f, err := os.Open(filepath.Join(d.Version("1.0.0"), "data", "app.dat"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = d.Remove("1.0.0")
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("Remove of a version with an open file: %v, want ErrInUse", err)
	}
	if b, err := os.ReadFile(filepath.Join(d.Version("1.0.0"), "data", "app.dat")); err != nil || string(b) != "1.0.0" {
		t.Fatalf("the version in use was touched: %q, %v", b, err)
	}
	f.Close()
	if err := d.Remove("1.0.0"); err != nil {
		t.Fatalf("Remove after the file was closed: %v", err)
	}
	if got, _ := d.Installed(); len(got) != 1 || got[0] != "2.0.0" {
		t.Fatalf("installed = %v, want only 2.0.0", got)
	}
	if trash, _ := os.ReadDir(d.trash()); len(trash) != 0 {
		t.Fatalf("trash holds %d entries", len(trash))
	}
}

// Leftover folders deep in staging and trash are deleted (under Wine 8 by
// the fallback, os.RemoveAll failing there).
func TestWindowsCleanLeftovers(t *testing.T) {
	d := windowsInstall(t)
	for _, p := range []string{
		filepath.Join(d.staging(), "1.1.0-123", "a", "b", "c.txt"),
		filepath.Join(d.trash(), "0.9.0-456", "0.9.0", "data", "app.dat"),
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.CleanLeftovers(); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{d.staging(), d.trash()} {
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("%s holds %d entries after CleanLeftovers", dir, len(entries))
		}
	}
}
