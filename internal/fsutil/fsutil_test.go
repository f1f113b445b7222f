package fsutil

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFileReplaces(t *testing.T) {
	p := filepath.Join(t.TempDir(), "current")
	if err := WriteFile(p, []byte("1.0.0"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("1.1.0"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != "1.1.0" {
		t.Fatalf("got %q, %v; want 1.1.0", got, err)
	}
	assertOnly(t, filepath.Dir(p), "current")
}

func TestWriteFromFailureKeepsOld(t *testing.T) {
	p := filepath.Join(t.TempDir(), "state.json")
	if err := WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := WriteFrom(p, 0o600, func(w io.Writer) error {
		w.Write([]byte("half"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	got, _ := os.ReadFile(p)
	if string(got) != "old" {
		t.Fatalf("content %q after failed write, want old", got)
	}
	assertOnly(t, filepath.Dir(p), "state.json")
}

func assertOnly(t *testing.T, dir string, want string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != want {
		t.Errorf("directory holds %v, want only %s (no temporary files left)", names, want)
	}
}
