package patch

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
)

// TarInfo is the size and SHA-256 of a file, as tufup records them for the
// uncompressed tar a patch must produce (custom.tufup.tar_size / tar_hash).
type TarInfo struct {
	Size   int64
	SHA256 string // lowercase hex
}

// Hasher is an io.Writer that measures what goes through it, so a file can
// be hashed while it is written or read instead of in a second pass.
// The zero value is not usable; call NewHasher.
type Hasher struct {
	h hash.Hash
	n int64
}

// NewHasher returns a Hasher that has seen no bytes.
func NewHasher() *Hasher { return &Hasher{h: sha256.New()} }

// Write never fails.
func (h *Hasher) Write(p []byte) (int, error) {
	h.h.Write(p)
	h.n += int64(len(p))
	return len(p), nil
}

// Info returns the size and hash of everything written so far.
func (h *Hasher) Info() TarInfo {
	return TarInfo{Size: h.n, SHA256: hex.EncodeToString(h.h.Sum(nil))}
}

// HashFile returns the size and SHA-256 of the file at path.
func HashFile(path string) (TarInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return TarInfo{}, fmt.Errorf("hash: %w", err)
	}
	defer f.Close()
	h := NewHasher()
	if _, err := io.CopyBuffer(h, f, make([]byte, copyBufSize)); err != nil {
		return TarInfo{}, fmt.Errorf("hash %s: %w", path, err)
	}
	return h.Info(), nil
}

// copyBufSize is the buffer for streaming copies: large enough that syscalls
// and hashing calls are a small part of the cost, small enough to not matter
// for memory.
const copyBufSize = 256 << 10
