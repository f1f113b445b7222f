// Package bzip2 writes bzip2 streams (block size 900k, as bzip2 -9).
//
// It exists for the size of bsdiff patches: the Huffman stage chooses up to
// six code tables per block and which one codes each group of 50 symbols by
// iterative refinement, as libbzip2 does, which makes output several percent
// smaller than an encoder that assigns tables without looking at the data.
// Any bzip2 decoder reads the output (libbzip2, Go's compress/bzip2,
// Python's bz2); each Writer writes exactly one stream.
package bzip2

import (
	"errors"
	"io"
)

const (
	level = 9
	// maxBlock is how many bytes of run-length-encoded input a block
	// holds: the decoder's limit of level*100000, less libbzip2's margin.
	maxBlock = level*100000 - 19

	blockMagic = 0x314159265359
	endMagic   = 0x177245385090
)

// Writer compresses what is written to it into one bzip2 stream.
type Writer struct {
	bw       bitWriter
	err      error
	closed   bool
	wroteHdr bool

	// block holds the current block after the first run-length
	// encoding; runByte/runLen is the run being collected.
	block    []byte
	runByte  byte
	runLen   int
	blockCRC uint32 // of the original bytes in block, not inverted
	fileCRC  uint32

	enc encoder
}

// NewWriter returns a Writer that writes the compressed stream to w. Close
// it to finish the stream.
func NewWriter(w io.Writer) *Writer {
	z := &Writer{block: make([]byte, 0, maxBlock), blockCRC: ^uint32(0)}
	z.bw.w = w
	return z
}

var errClosed = errors.New("bzip2: write to closed Writer")

// Write compresses p.
func (z *Writer) Write(p []byte) (int, error) {
	if z.closed {
		return 0, errClosed
	}
	if z.err != nil {
		return 0, z.err
	}
	n := len(p)
	for len(p) > 0 {
		b := p[0]
		if z.runLen > 0 && b != z.runByte {
			z.endRun()
		}
		// Length of the run of b at the start of p, up to 255 in all.
		k := 1
		for k < len(p) && p[k] == b && z.runLen+k < 255 {
			k++
		}
		z.runByte = b
		z.runLen += k
		p = p[k:]
		if z.runLen == 255 {
			z.endRun()
		}
		if z.err != nil {
			return 0, z.err
		}
	}
	return n, nil
}

// endRun appends the run being collected to the block: up to four copies
// of the byte, and for four or more a count of the copies beyond four. A
// run never straddles blocks, which decoders do not allow.
func (z *Writer) endRun() {
	if len(z.block)+5 > maxBlock {
		z.flushBlock()
	}
	b, n := z.runByte, z.runLen
	z.blockCRC = crcRepeat(z.blockCRC, b, n)
	switch {
	case n < 4:
		for range n {
			z.block = append(z.block, b)
		}
	default:
		z.block = append(z.block, b, b, b, b, byte(n-4))
	}
	z.runLen = 0
}

func (z *Writer) writeHeader() {
	if !z.wroteHdr {
		z.bw.writeBits(8, 'B')
		z.bw.writeBits(8, 'Z')
		z.bw.writeBits(8, 'h')
		z.bw.writeBits(8, '0'+level)
		z.wroteHdr = true
	}
}

// flushBlock compresses the current block, if it has anything.
func (z *Writer) flushBlock() {
	if len(z.block) == 0 || z.err != nil {
		return
	}
	z.writeHeader()
	crc := ^z.blockCRC
	z.fileCRC = (z.fileCRC<<1 | z.fileCRC>>31) ^ crc
	z.bw.writeBits(24, blockMagic>>24)
	z.bw.writeBits(24, blockMagic&0xffffff)
	z.bw.writeBits(32, uint64(crc))
	z.bw.writeBits(1, 0) // not randomised
	z.enc.encode(&z.bw, z.block)
	z.block = z.block[:0]
	z.blockCRC = ^uint32(0)
	z.err = z.bw.err
}

// Close finishes the stream. It does not close the underlying writer.
func (z *Writer) Close() error {
	if z.closed {
		return z.err
	}
	z.closed = true
	if z.runLen > 0 {
		z.endRun()
	}
	z.flushBlock()
	if z.err != nil {
		return z.err
	}
	z.writeHeader()
	z.bw.writeBits(24, endMagic>>24)
	z.bw.writeBits(24, endMagic&0xffffff)
	z.bw.writeBits(32, uint64(z.fileCRC))
	z.bw.flush()
	z.err = z.bw.err
	return z.err
}

// bitWriter packs bits most significant first, as bzip2 does.
type bitWriter struct {
	w     io.Writer
	acc   uint64 // pending bits, right-aligned
	nacc  uint
	buf   []byte
	err   error
	total int64
}

// writeBits writes the low n (<= 32) bits of v.
func (b *bitWriter) writeBits(n uint, v uint64) {
	b.acc = b.acc<<n | v&(1<<n-1)
	b.nacc += n
	for b.nacc >= 8 {
		b.nacc -= 8
		b.buf = append(b.buf, byte(b.acc>>b.nacc))
	}
	if len(b.buf) >= 64<<10 {
		b.drain()
	}
}

func (b *bitWriter) drain() {
	if b.err == nil && len(b.buf) > 0 {
		_, b.err = b.w.Write(b.buf)
		b.total += int64(len(b.buf))
	}
	b.buf = b.buf[:0]
}

// flush pads to a whole byte and writes everything out.
func (b *bitWriter) flush() {
	if b.nacc > 0 {
		b.writeBits(8-b.nacc, 0)
	}
	b.drain()
}
