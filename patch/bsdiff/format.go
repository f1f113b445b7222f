package bsdiff

import (
	"errors"
	"fmt"
)

// A BSDIFF40 patch is a 32-byte header followed by three bzip2 streams:
//
//	offset 0:  "BSDIFF40"
//	offset 8:  length of the compressed control block
//	offset 16: length of the compressed diff block
//	offset 24: size of the new file
//	offset 32: control block: triples (add x, extra y, seek z) of 8-byte ints
//	then:      diff block: x bytes per triple, added byte-wise to old bytes
//	then:      extra block (to the end of the patch): y bytes per triple, copied
//
// Integers are 8 bytes, sign and magnitude, little-endian (bsdiff's
// offtout): the magnitude in the low 63 bits, the sign in the top bit.
const (
	magic      = "BSDIFF40"
	headerSize = 32
	tripleSize = 24
)

// maxRun is the largest add or extra length put in one control triple.
// bspatch passes these lengths to BZ2_bzRead as a C int, so a run of 2 GiB or
// more would be rejected there as a corrupt patch; longer runs are split.
const maxRun = 1 << 30

// ErrCorrupt is wrapped by every error Apply returns about the patch itself
// (as opposed to errors reading the old file or writing the new one).
var ErrCorrupt = errors.New("corrupt bsdiff patch")

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// putInt writes v in bsdiff's sign-magnitude encoding.
func putInt(b []byte, v int64) {
	u := uint64(v)
	if v < 0 {
		u = uint64(-v) | 1<<63
	}
	for i := range 8 {
		b[i] = byte(u >> (8 * i))
	}
}

// getInt reads bsdiff's sign-magnitude encoding. The magnitude has 63 bits,
// so the result never overflows; "negative zero" reads as 0, as in bspatch.
func getInt(b []byte) int64 {
	var u uint64
	for i := range 8 {
		u |= uint64(b[i]) << (8 * i)
	}
	v := int64(u &^ (1 << 63))
	if u&(1<<63) != 0 {
		v = -v
	}
	return v
}
