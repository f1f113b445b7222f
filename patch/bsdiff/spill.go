package bsdiff

import (
	"fmt"
	"io"
	"os"
)

// defaultSpillMem is how much of a compressed block spill keeps in memory
// before moving it to a temporary file. Blocks of patches between similar
// files are a few MB; blocks for unrelated files can be as big as the new
// file.
const defaultSpillMem = 16 << 20

// spill holds one compressed block of a patch being made: the header needs
// every block's length, so blocks are written only once all are complete.
type spill struct {
	max int // bytes kept in memory
	mem []byte
	f   *os.File
	n   int64
}

func (s *spill) Write(p []byte) (int, error) {
	if s.f == nil && len(s.mem)+len(p) <= s.max {
		s.mem = append(s.mem, p...)
		s.n += int64(len(p))
		return len(p), nil
	}
	if s.f == nil {
		f, err := os.CreateTemp("", "bsdiff-block-*")
		if err != nil {
			return 0, fmt.Errorf("bsdiff: spill block to disk: %w", err)
		}
		s.f = f
		if _, err := f.Write(s.mem); err != nil {
			return 0, fmt.Errorf("bsdiff: spill block to disk: %w", err)
		}
		s.mem = nil
	}
	n, err := s.f.Write(p)
	s.n += int64(n)
	if err != nil {
		return n, fmt.Errorf("bsdiff: spill block to disk: %w", err)
	}
	return n, nil
}

// writeTo copies the block to w.
func (s *spill) writeTo(w io.Writer) error {
	if s.f == nil {
		_, err := w.Write(s.mem)
		return err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("bsdiff: read spilled block: %w", err)
	}
	_, err := io.Copy(w, s.f)
	return err
}

// close removes the temporary file, if any.
func (s *spill) close() {
	if s.f != nil {
		s.f.Close()
		os.Remove(s.f.Name())
		s.f = nil
	}
	s.mem = nil
}
