package bzip2

import (
	"slices"

	"github.com/tufup-go/tufup/patch/bsdiff/internal/sais"
)

const (
	runA, runB    = 0, 1
	groupSize     = 50 // symbols coded with one table
	maxGroups     = 6
	maxCodeLen    = 17 // what we build; the format allows 20
	refineRounds  = 4
	maxAlphabet   = 258
	largeCodeCost = 15
)

// encoder holds the scratch space of one block, reused across blocks.
type encoder struct {
	doubled []byte
	sa      []int32
	last    []byte   // the Burrows-Wheeler transform
	syms    []uint16 // after move-to-front and zero-run coding
	sel     []uint8
}

// encode writes one block after its header fields (magic, CRC, randomised
// bit): BWT pointer, symbol map, tables, selectors and the coded symbols.
func (e *encoder) encode(bw *bitWriter, block []byte) {
	origPtr := e.bwt(block)
	bw.writeBits(24, uint64(origPtr))

	// Symbol map: which of 16 ranges of 16 byte values occur, then
	// which values in each such range.
	var used [256]bool
	for _, b := range e.last {
		used[b] = true
	}
	var ranges uint64
	for r := range 16 {
		for _, u := range used[r*16 : r*16+16] {
			if u {
				ranges |= 1 << (15 - r)
				break
			}
		}
	}
	bw.writeBits(16, ranges)
	for r := range 16 {
		if ranges&(1<<(15-r)) == 0 {
			continue
		}
		var bits uint64
		for i, u := range used[r*16 : r*16+16] {
			if u {
				bits |= 1 << (15 - i)
			}
		}
		bw.writeBits(16, bits)
	}

	alphabet := e.mtf(&used)
	e.huffman(bw, alphabet)
}

// bwt sorts the rotations of block, leaving the last column in e.last and
// returning the row of the unrotated block. Suffixes of the block written
// twice sort as the rotations do: two suffixes starting in the first copy
// differ within one block length unless the rotations are equal, when
// their order does not matter.
func (e *encoder) bwt(block []byte) int {
	n := len(block)
	e.doubled = append(append(e.doubled[:0], block...), block...)
	e.sa = slices.Grow(e.sa[:0], 2*n)[:2*n]
	sais.SuffixArray(e.doubled, e.sa)
	e.last = slices.Grow(e.last[:0], n)[:n]
	k, orig := 0, 0
	for _, p := range e.sa {
		if int(p) >= n {
			continue
		}
		if p == 0 {
			orig = k
			e.last[k] = block[n-1]
		} else {
			e.last[k] = block[p-1]
		}
		k++
	}
	return orig
}

// mtf turns e.last into symbols: move-to-front positions over the byte
// values in use, runs of position 0 written in bijective base 2 with
// runA/runB, position j as j+1, and an end-of-block symbol. It returns the
// alphabet size.
func (e *encoder) mtf(used *[256]bool) int {
	var order [256]byte
	inUse := 0
	for v, u := range used {
		if u {
			order[inUse] = byte(v)
			inUse++
		}
	}
	e.syms = e.syms[:0]
	zeros := 0
	flushZeros := func() {
		// A run of z zeros is z+1 in binary without its top bit,
		// least significant digit first, digits runA (0) and runB (1).
		for z := zeros; z > 0; z = (z - 1) / 2 {
			if z&1 == 1 {
				e.syms = append(e.syms, runA)
			} else {
				e.syms = append(e.syms, runB)
			}
			if z < 3 {
				break
			}
		}
		zeros = 0
	}
	for _, b := range e.last {
		if order[0] == b {
			zeros++
			continue
		}
		if zeros > 0 {
			flushZeros()
		}
		j := 1
		for order[j] != b {
			j++
		}
		copy(order[1:j+1], order[:j])
		order[0] = b
		e.syms = append(e.syms, uint16(j+1))
	}
	if zeros > 0 {
		flushZeros()
	}
	alphabet := inUse + 2
	e.syms = append(e.syms, uint16(alphabet-1))
	return alphabet
}

// huffman chooses the code tables and writes them, the selectors and the
// coded symbols. Tables start as a split of the alphabet into ranges of
// about equal frequency; then each round gives every group of 50 symbols
// the table that codes it cheapest and rebuilds each table from the
// groups it got.
func (e *encoder) huffman(bw *bitWriter, alphabet int) {
	syms := e.syms
	nGroups := 6
	switch n := len(syms); {
	case n < 200:
		nGroups = 2
	case n < 600:
		nGroups = 3
	case n < 1200:
		nGroups = 4
	case n < 2400:
		nGroups = 5
	}
	var freq [maxAlphabet]int
	for _, s := range syms {
		freq[s]++
	}
	var lens [maxGroups][maxAlphabet]uint8
	remaining, lo := len(syms), 0
	for g := range nGroups {
		parts := nGroups - g
		target := remaining / parts
		hi, sum := lo, 0
		for hi < alphabet && (sum < target || hi == lo) {
			sum += freq[hi]
			hi++
		}
		if parts == 1 {
			for ; hi < alphabet; hi++ {
				sum += freq[hi]
			}
		}
		for v := range alphabet {
			if v < lo || v >= hi {
				lens[g][v] = largeCodeCost
			}
		}
		remaining -= sum
		lo = hi
	}

	nSel := (len(syms) + groupSize - 1) / groupSize
	e.sel = slices.Grow(e.sel[:0], nSel)[:nSel]
	var gfreq [maxGroups][maxAlphabet]int
	for range refineRounds {
		gfreq = [maxGroups][maxAlphabet]int{}
		for s := range nSel {
			group := syms[s*groupSize : min((s+1)*groupSize, len(syms))]
			best, bestCost := 0, int(^uint(0)>>1)
			for g := range nGroups {
				cost := 0
				for _, v := range group {
					cost += int(lens[g][v])
				}
				if cost < bestCost {
					best, bestCost = g, cost
				}
			}
			e.sel[s] = uint8(best)
			for _, v := range group {
				gfreq[best][v]++
			}
		}
		for g := range nGroups {
			codeLengths(gfreq[g][:alphabet], lens[g][:alphabet], maxCodeLen)
		}
	}

	bw.writeBits(3, uint64(nGroups))
	bw.writeBits(15, uint64(nSel))
	// Selectors, move-to-front coded, each in unary.
	var order [maxGroups]uint8
	for g := range order {
		order[g] = uint8(g)
	}
	for _, s := range e.sel {
		j := 0
		for order[j] != s {
			j++
		}
		copy(order[1:j+1], order[:j])
		order[0] = s
		bw.writeBits(uint(j+1), 1<<(j+1)-2) // j ones, then a zero
	}
	// Code lengths, each as a change from the previous: "10" adds one,
	// "11" takes one away, "0" ends the symbol.
	var codes [maxGroups][maxAlphabet]uint32
	for g := range nGroups {
		l := lens[g][:alphabet]
		cur := l[0]
		bw.writeBits(5, uint64(cur))
		for _, want := range l {
			for cur < want {
				bw.writeBits(2, 2)
				cur++
			}
			for cur > want {
				bw.writeBits(2, 3)
				cur--
			}
			bw.writeBits(1, 0)
		}
		assignCodes(l, codes[g][:alphabet])
	}
	for s := range nSel {
		g := e.sel[s]
		for _, v := range syms[s*groupSize : min((s+1)*groupSize, len(syms))] {
			bw.writeBits(uint(lens[g][v]), uint64(codes[g][v]))
		}
	}
}

// assignCodes gives canonical codes: shorter codes first, equal lengths in
// symbol order, which is how decoders rebuild them from the lengths.
func assignCodes(lens []uint8, codes []uint32) {
	code := uint32(0)
	for l := uint8(1); l <= 20; l++ {
		for v, n := range lens {
			if n == l {
				codes[v] = code
				code++
			}
		}
		code <<= 1
	}
}
