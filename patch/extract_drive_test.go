package patch

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"testing"
)

// Windows drive prefixes are refused for every drive letter, A to Z.
func TestExtractRefusesEveryDriveLetter(t *testing.T) {
	for _, name := range []string{"A:/evil", "a:evil", "Z:/evil", "z:evil"} {
		data := buildTar(t, []*tar.Header{fileHdr(name, "x")})
		err := Extract(context.Background(), bytes.NewReader(data), filepath.Join(t.TempDir(), "x"), int64(len(data)))
		if !errors.Is(err, ErrUnsafeArchive) {
			t.Errorf("member %q: err = %v, want ErrUnsafeArchive", name, err)
		}
	}
}

// Names Windows cannot hold (a colon, a trailing dot or space) are refused
// only on Windows; elsewhere they are ordinary names.
func TestExtractWindowsOnlyNameRules(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the Windows side is tested in extract_hostile_test.go")
	}
	for _, name := range []string{"ab:c", "notes.", "trailing "} {
		data := buildTar(t, []*tar.Header{fileHdr(name, "x")})
		if err := Extract(context.Background(), bytes.NewReader(data), filepath.Join(t.TempDir(), "x"), int64(len(data))); err != nil {
			t.Errorf("member %q: %v, want it extracted", name, err)
		}
	}
}
