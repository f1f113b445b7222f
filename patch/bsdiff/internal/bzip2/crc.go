package bzip2

// bzip2's CRC is CRC-32 with polynomial 0x04c11db7 processed most
// significant bit first (not reflected, unlike hash/crc32's IEEE),
// initial value and final xor all ones.
const crcPoly = 0x04c11db7

var crcTable = func() (t [8][256]uint32) {
	for i := range 256 {
		c := uint32(i) << 24
		for range 8 {
			if c&(1<<31) != 0 {
				c = c<<1 ^ crcPoly
			} else {
				c <<= 1
			}
		}
		t[0][i] = c
	}
	// t[k][b] is the CRC contribution of byte b followed by k zero bytes,
	// so eight bytes can be folded in at once.
	for i := range 256 {
		c := t[0][i]
		for k := 1; k < 8; k++ {
			c = c<<8 ^ t[0][c>>24]
			t[k][i] = c
		}
	}
	return t
}()

// crcUpdate returns the CRC state after p, from state c (not inverted).
func crcUpdate(c uint32, p []byte) uint32 {
	for len(p) >= 8 {
		c ^= uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])
		c = crcTable[7][c>>24] ^ crcTable[6][c>>16&0xff] ^ crcTable[5][c>>8&0xff] ^ crcTable[4][c&0xff] ^
			crcTable[3][p[4]] ^ crcTable[2][p[5]] ^ crcTable[1][p[6]] ^ crcTable[0][p[7]]
		p = p[8:]
	}
	for _, b := range p {
		c = c<<8 ^ crcTable[0][byte(c>>24)^b]
	}
	return c
}

// crcRepeat returns the CRC state after n copies of b.
func crcRepeat(c uint32, b byte, n int) uint32 {
	for range n {
		c = c<<8 ^ crcTable[0][byte(c>>24)^b]
	}
	return c
}
