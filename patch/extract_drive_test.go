package patch

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"path/filepath"
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
