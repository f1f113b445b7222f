package bsdiff

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/dsnet/compress"
	"github.com/dsnet/compress/bzip2"
)

// applyChunk is how many bytes Apply handles at a time. Memory use is a few
// of these plus three bzip2 decoders (~10 MB each at most), whatever the sizes
// of the old file, the new file or the patch.
const applyChunk = 256 << 10

// maxSeek bounds seeks and the old position. bspatch keeps going with
// positions outside the old file (it adds nothing there), so such patches are
// valid; only beyond this bound (2 EiB) could the arithmetic overflow.
const maxSeek = 1 << 61

// maxIdle is how many triples in a row may add no bytes. bsdiff writes
// none; a seek to where the first add starts can need one.
const maxIdle = 16

// Apply streams a BSDIFF40 patch: old is read at random (only inside
// [0, oldSize)), the new file is written sequentially to w, and the return
// value is its size. It follows bspatch 4.3: an add that reaches outside the
// old file adds nothing for those bytes. Errors about the patch's content wrap
// ErrCorrupt and say what is wrong; memory use does not depend on any length
// in the patch.
func Apply(old io.ReaderAt, oldSize int64, patch io.ReaderAt, patchSize int64, w io.Writer) (int64, error) {
	if oldSize < 0 || patchSize < 0 {
		return 0, fmt.Errorf("bsdiff: negative size (old %d, patch %d)", oldSize, patchSize)
	}
	if patchSize < headerSize {
		return 0, corrupt("patch is %d bytes, shorter than the %d-byte header", patchSize, headerSize)
	}
	var hdr [headerSize]byte
	if n, err := patch.ReadAt(hdr[:], 0); n < headerSize {
		return 0, fmt.Errorf("bsdiff: read patch header: %w", err)
	}
	if string(hdr[:8]) != magic {
		return 0, corrupt("bad magic %q, want %q", hdr[:8], magic)
	}
	ctrlLen, diffLen, newSize := getInt(hdr[8:]), getInt(hdr[16:]), getInt(hdr[24:])
	switch {
	case ctrlLen < 0:
		return 0, corrupt("negative control block length %d", ctrlLen)
	case diffLen < 0:
		return 0, corrupt("negative diff block length %d", diffLen)
	case newSize < 0:
		return 0, corrupt("negative new file size %d", newSize)
	case ctrlLen > patchSize-headerSize:
		return 0, corrupt("control block length %d runs past the end of the %d-byte patch", ctrlLen, patchSize)
	case diffLen > patchSize-headerSize-ctrlLen:
		return 0, corrupt("diff block length %d runs past the end of the %d-byte patch", diffLen, patchSize)
	}
	diffOff := headerSize + ctrlLen
	extraOff := diffOff + diffLen
	a := applier{
		old:     old,
		oldSize: oldSize,
		w:       w,
		ctrl:    newStream("control", io.NewSectionReader(patch, headerSize, ctrlLen)),
		diff:    newStream("diff", io.NewSectionReader(patch, diffOff, diffLen)),
		extra:   newStream("extra", io.NewSectionReader(patch, extraOff, patchSize-extraOff)),
		buf:     make([]byte, applyChunk),
		oldBuf:  make([]byte, applyChunk),
	}
	if err := a.run(newSize); err != nil {
		return a.newPos, err
	}
	// bzip2 checks a block's CRC when the block has been read to its end,
	// and bspatch stops right before: ask each block for one more byte so
	// that damage in the last bytes is reported too. Data after what the
	// patch needs is tolerated, as bspatch does.
	// A block nothing was read from is not looked at, as bspatch does
	// not (an empty new file's patch may have empty blocks).
	for _, s := range []*stream{&a.ctrl, &a.diff, &a.extra} {
		if !s.used {
			continue
		}
		if err := s.checkEnd(); err != nil {
			return newSize, err
		}
	}
	return newSize, nil
}

// stream is one of the three decompressed blocks of a patch.
//
// The decoder is dsnet/compress's rather than the standard library's: on a
// release pair's diff block (244 MB of mostly zeros) it takes 0.64 s where
// compress/bzip2 takes 1.28 s, which is most of Apply's time. Like the
// standard one it checks every block's CRC.
type stream struct {
	name string
	r    io.Reader
	used bool
}

func newStream(name string, r io.Reader) stream {
	// NewReader only fails on a bad configuration, and there is none.
	z, _ := bzip2.NewReader(bufio.NewReaderSize(r, 64<<10), nil)
	return stream{name: name, r: z}
}

// readFull fills p, turning truncation and bad bzip2 data into ErrCorrupt
// errors naming the block.
func (s *stream) readFull(p []byte) error {
	s.used = true
	if _, err := s.guard(func() (int, error) { return io.ReadFull(s.r, p) }); err != nil {
		return s.readErr(err)
	}
	return nil
}

// checkEnd reads one byte more: more data or the clean end of the stream
// are fine, an error (such as the last block's CRC) is not.
func (s *stream) checkEnd() error {
	var b [1]byte
	if _, err := s.guard(func() (int, error) { return s.r.Read(b[:]) }); err != nil && err != io.EOF {
		return s.readErr(err)
	}
	return nil
}

// guard runs a read of the decoder. The decoder is fuzzed, but it reads
// hostile input: should a bug in it panic, that is a corrupt patch, not a
// crash.
func (s *stream) guard(read func() (int, error)) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = corrupt("%s block: decoder failed: %v", s.name, r)
		}
	}()
	return read()
}

func (s *stream) readErr(err error) error {
	var ce compress.Error
	switch {
	case errors.Is(err, ErrCorrupt):
		return err
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return corrupt("%s block ends early", s.name)
	case errors.As(err, &ce) && (ce.IsCorrupted() || ce.IsDeprecated()):
		return fmt.Errorf("%w: %s block: %w", ErrCorrupt, s.name, err)
	default:
		return fmt.Errorf("bsdiff: read %s block: %w", s.name, err)
	}
}

type applier struct {
	old            io.ReaderAt
	oldSize        int64
	w              io.Writer
	ctrl, diff     stream
	extra          stream
	buf, oldBuf    []byte
	newPos, oldPos int64
	triple         [tripleSize]byte
	tripleNum      int64
	idle           int
}

func (a *applier) run(newSize int64) error {
	for a.newPos < newSize {
		a.tripleNum++
		if err := a.ctrl.readFull(a.triple[:]); err != nil {
			return fmt.Errorf("control triple %d (new offset %d of %d): %w", a.tripleNum, a.newPos, newSize, err)
		}
		x, y, z := getInt(a.triple[0:]), getInt(a.triple[8:]), getInt(a.triple[16:])
		switch {
		case x < 0 || y < 0:
			return corrupt("control triple %d has negative length (add %d, extra %d)", a.tripleNum, x, y)
		case x > newSize-a.newPos:
			return corrupt("control triple %d adds %d bytes at new offset %d, past the new size %d", a.tripleNum, x, a.newPos, newSize)
		case y > newSize-a.newPos-x:
			return corrupt("control triple %d copies %d extra bytes at new offset %d, past the new size %d", a.tripleNum, y, a.newPos+x, newSize)
		}
		if x == 0 && y == 0 {
			// Such a triple only seeks. A run of them makes no progress,
			// and a few bytes of bzip2 can expand to millions of them.
			if a.idle++; a.idle > maxIdle {
				return corrupt("control triple %d: more than %d triples in a row add nothing", a.tripleNum, maxIdle)
			}
		} else {
			a.idle = 0
		}
		if err := a.add(x); err != nil {
			return err
		}
		if err := a.copyExtra(y); err != nil {
			return err
		}
		if z > maxSeek || z < -maxSeek || a.oldPos > maxSeek || a.oldPos < -maxSeek {
			return corrupt("control triple %d seeks by %d from old offset %d, out of range", a.tripleNum, z, a.oldPos)
		}
		a.oldPos += z
	}
	return nil
}

// add writes n bytes: diff bytes plus the old bytes at oldPos (none where
// oldPos is outside the old file).
func (a *applier) add(n int64) error {
	for n > 0 {
		c := min(n, int64(len(a.buf)))
		d := a.buf[:c]
		if err := a.diff.readFull(d); err != nil {
			return err
		}
		lo, hi := max(a.oldPos, 0), min(a.oldPos+c, a.oldSize)
		if lo < hi {
			o := a.oldBuf[:hi-lo]
			if k, err := a.old.ReadAt(o, lo); k < len(o) {
				if err == nil || err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return fmt.Errorf("bsdiff: read old file at offset %d: %w", lo, err)
			}
			addBytes(d[lo-a.oldPos:hi-a.oldPos], o)
		}
		if err := a.write(d); err != nil {
			return err
		}
		a.oldPos += c
		n -= c
	}
	return nil
}

func (a *applier) copyExtra(n int64) error {
	for n > 0 {
		c := min(n, int64(len(a.buf)))
		if err := a.extra.readFull(a.buf[:c]); err != nil {
			return err
		}
		if err := a.write(a.buf[:c]); err != nil {
			return err
		}
		n -= c
	}
	return nil
}

func (a *applier) write(p []byte) error {
	if _, err := a.w.Write(p); err != nil {
		return fmt.Errorf("bsdiff: write new file: %w", err)
	}
	a.newPos += int64(len(p))
	return nil
}

// addBytes sets dst[i] += src[i] (mod 256), eight bytes at a time: the low
// seven bits of each byte are added without carries crossing bytes, and the
// top bit is the xor of both top bits and the carry into it.
func addBytes(dst, src []byte) {
	const hi = 0x8080808080808080
	src = src[:len(dst)]
	i := 0
	for ; i+8 <= len(dst); i += 8 {
		x := binary.LittleEndian.Uint64(dst[i:])
		y := binary.LittleEndian.Uint64(src[i:])
		binary.LittleEndian.PutUint64(dst[i:], ((x&^hi)+(y&^hi))^((x^y)&hi))
	}
	for ; i < len(dst); i++ {
		dst[i] += src[i]
	}
}
