package patch

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const fixture = "../testdata/tufup-0.10-demoapp"

// The hashes Python tufup signed into targets.json are an independent
// reference for HashFile.
func TestHashFileMatchesTufupMetadata(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(fixture, "repository/metadata/targets.json"))
	if err != nil {
		t.Fatal(err)
	}
	var md struct {
		Signed struct {
			Targets map[string]struct {
				Length int64
				Hashes map[string]string
			}
		}
	}
	if err := json.Unmarshal(raw, &md); err != nil {
		t.Fatal(err)
	}
	if len(md.Signed.Targets) == 0 {
		t.Fatal("no targets in fixture metadata")
	}
	for name, want := range md.Signed.Targets {
		got, err := HashFile(filepath.Join(fixture, "repository/targets", name))
		if err != nil {
			t.Fatal(err)
		}
		if got.Size != want.Length || got.SHA256 != want.Hashes["sha256"] {
			t.Errorf("%s: HashFile = %+v, metadata says size %d sha256 %s", name, got, want.Length, want.Hashes["sha256"])
		}
	}
}

func TestHasherStreamsInPieces(t *testing.T) {
	data := []byte(strings.Repeat("tufup ", 100000))
	h := NewHasher()
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 777)
		h.Write(rest[:n])
		rest = rest[n:]
	}
	sum := sha256.Sum256(data)
	want := TarInfo{Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
	if got := h.Info(); got != want {
		t.Fatalf("Info() = %+v, want %+v", got, want)
	}
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, data, 0o644)
	if got, err := HashFile(p); err != nil || got != want {
		t.Fatalf("HashFile = %+v, %v; want %+v", got, err, want)
	}
}

func TestHashFileMissingNamesPath(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope.tar")
	if _, err := HashFile(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("err = %v, want one naming %s", err, p)
	}
}
