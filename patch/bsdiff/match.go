package bsdiff

import (
	"encoding/binary"
	"math/bits"
)

// matcher finds, for any string, the longest prefix of it that occurs in old,
// using old's suffix array; scan then builds bsdiff's runs from such matches.
type matcher struct {
	old []byte
	sa  []int32
	// idx, when old is large enough to be worth it, holds for every
	// two-byte prefix p the range idx[p]:idx[p+1] of sa whose suffixes start
	// with p, so a search starts with a range ~65536 times smaller. The last
	// suffix (one byte b) counts as prefix b<<8, where it sorts first.
	idx []int32

	// trust is the match length at the current offset from which scan
	// does not look for better ones (0: always look, as bsdiff does).
	trust int
	// maxMiss enables skipping searches where the current offset is good
	// (see goodOffset); 0 disables it.
	maxMiss int
	// grams, if not nil, lets scan skip searches for strings whose first
	// 8 bytes do not occur in old.
	grams gramFilter
}

// idxMin is the old size from which the prefix index pays for its 256 KiB.
const idxMin = 64 << 10

// Defaults for matcher.trust and matcher.maxMiss. On the Go toolchain's
// binaries they halve the searches and grow the patch by 0.4%.
const (
	defaultTrust   = 16
	defaultMaxMiss = 8
)

func newMatcher(old []byte, sa []int32, idx []int32) *matcher {
	m := &matcher{old: old, sa: sa, trust: defaultTrust, maxMiss: defaultMaxMiss}
	if len(old) >= idxMin {
		idx = idx[:1<<16+1]
		clear(idx)
		for i := range len(old) - 1 {
			idx[int(old[i])<<8|int(old[i+1])+1]++
		}
		idx[int(old[len(old)-1])<<8+1]++
		for p := 1; p < len(idx); p++ {
			idx[p] += idx[p-1]
		}
		m.idx = idx
	}
	return m
}

// search returns a position in old where the longest possible prefix of q
// occurs, and that prefix's length.
func (m *matcher) search(q []byte) (pos, n int) {
	if len(q) == 0 || len(m.sa) == 0 {
		return 0, 0
	}
	lo, hi, known := 0, len(m.sa), 0
	if m.idx != nil {
		b := int(q[0]) << 8
		// known is the prefix every suffix in lo:hi shares with q.
		lo, hi, known = int(m.idx[b]), int(m.idx[b+256]), 1
		if len(q) > 1 {
			p := b | int(q[1])
			if l, h := int(m.idx[p]), int(m.idx[p+1]); l < h {
				lo, hi = l, h
				if q[1] != 0 {
					known = 2
				}
			}
		}
		if lo == hi {
			return 0, 0
		}
	}
	// Binary search for where q would sort, keeping the common prefix of q
	// with both bounds: any suffix between them shares at least the smaller
	// of the two, so comparisons start there.
	l, h := lo-1, hi
	ll, lh := known, known
	for h-l > 1 {
		mid := int(uint(l+h) >> 1)
		s := m.old[m.sa[mid]:]
		c := min(ll, lh)
		c += commonPrefix(s[c:], q[c:])
		if c == len(q) || (c < len(s) && s[c] > q[c]) {
			h, lh = mid, c
		} else {
			l, ll = mid, c
		}
	}
	// The longest match is next to where q sorts.
	if l >= lo && (h >= hi || ll > lh) {
		return int(m.sa[l]), ll
	}
	return int(m.sa[h]), lh
}

// pointless reports whether a search at scan cannot change what bsdiff's
// loop does: the current offset is good for the next skipWindow bytes, or
// no 8 bytes ahead occur in old, so no match is the 9 bytes better than the
// current offset the loop needs to act.
func (m *matcher) pointless(nw []byte, scan, lastOffset int) bool {
	return (m.maxMiss > 0 && goodOffset(m.old, nw, scan+lastOffset, scan, m.maxMiss)) || m.grams.absent(nw[scan:])
}

// next is search(nw[scan:]) unless the current offset between old and new
// matches at least trust bytes there (and covers all bytes already scored):
// then the current match is what bsdiff's loop acts on, unless a far longer
// one exists elsewhere, which a later search finds.
func (m *matcher) next(nw []byte, scan, scsc, lastOffset int) (pos, n int) {
	if o := scan + lastOffset; m.trust > 0 && o >= 0 && o < len(m.old) {
		l0 := commonPrefix(m.old[o:], nw[scan:])
		if l0 >= m.trust && scan+l0 >= scsc {
			return o, l0
		}
	}
	return m.search(nw[scan:])
}

// skipWindow and skipMismatches define where a search is skipped: when old
// at the current offset differs from new in at most skipMismatches of the
// skipWindow bytes at scan, no match of up to skipWindow bytes elsewhere can
// beat it by the 8 bytes bsdiff's loop asks for.
const skipWindow = 64

// goodOffset reports whether old[o:] matches nw[scan:] in all but at most
// maxMiss of the next skipWindow bytes.
func goodOffset(old, nw []byte, o, scan, maxMiss int) bool {
	if o < 0 || o+skipWindow > len(old) || scan+skipWindow > len(nw) {
		return false
	}
	const lo7 = 0x7f7f7f7f7f7f7f7f
	a, b := old[o:o+skipWindow], nw[scan:scan+skipWindow]
	miss := 0
	for i := 0; i < skipWindow; i += 8 {
		x := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:])
		// High bit of each byte set where that byte of x is non-zero.
		nz := ((x & lo7) + lo7 | x) &^ lo7
		miss += bits.OnesCount64(nz)
	}
	return miss <= maxMiss
}

// gramFilter is a Bloom filter with one hash over the 8-byte strings of
// old, 8 bits per string: a string it says is absent is absent; one it says
// is present is absent about 12% of the time. Most of bsdiff's searches in
// a binary (four in five on the Go toolchain) find matches shorter than 8
// bytes, which this answers with one memory access instead of a binary
// search.
type gramFilter struct {
	bits  []uint64
	nbits uint64
}

func newGramFilter(old []byte) gramFilter {
	f := gramFilter{nbits: uint64(len(old)) * 8}
	f.bits = make([]uint64, (f.nbits+63)/64)
	for i := 0; i+8 <= len(old); i++ {
		k := f.slot(binary.LittleEndian.Uint64(old[i:]))
		f.bits[k/64] |= 1 << (k % 64)
	}
	return f
}

func (f gramFilter) slot(x uint64) uint64 {
	h := (x * 0x9e3779b97f4a7c15) >> 32
	return h * f.nbits >> 32
}

// absent reports whether the first 8 bytes of q certainly do not occur in
// old (false for shorter q, or without a filter).
func (f gramFilter) absent(q []byte) bool {
	if f.bits == nil || len(q) < 8 {
		return false
	}
	k := f.slot(binary.LittleEndian.Uint64(q))
	return f.bits[k/64]&(1<<(k%64)) == 0
}

// commonPrefix returns the length of the common prefix of a and b.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for ; i+8 <= n; i += 8 {
		if x := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]); x != 0 {
			return i + bits.TrailingZeros64(x)/8
		}
	}
	for ; i < n && a[i] == b[i]; i++ {
	}
	return i
}

// run is one step of a patch: add bytes of new made by adding diff bytes to
// old[oldPos:oldPos+add], then extra bytes of new copied as they are.
type run struct {
	add, oldPos, extra int64
}

// scan is bsdiff's algorithm for covering nw with runs against old: look for
// an exact match of the text ahead that is clearly better (by more than 8
// bytes) than continuing at the current offset between old and new, then
// extend the previous match forward and the new one backward as long as at
// least half of the bytes agree (the "approximate" matches that make diffs of
// recompiled binaries mostly zeros), split any overlap at the best point, and
// put what neither covers in the extra block. emit gets runs in order; their
// add and extra lengths sum to len(nw). stop is polled now and then; when it
// returns true, scan returns early.
func (m *matcher) scan(nw []byte, emit func(run), stop func() bool) {
	old := m.old
	oldLen, newLen := len(old), len(nw)
	var scan, length, pos, lastScan, lastPos, lastOffset int
	// matches reports whether new[i] equals the byte of old at the current
	// offset from it.
	matches := func(i int) bool {
		o := i + lastOffset
		return o >= 0 && o < oldLen && old[o] == nw[i]
	}
	polls := 0
	for scan < newLen {
		oldScore := 0
		scan += length
		for scsc := scan; scan < newLen; scan++ {
			if polls++; polls&0xffff == 0 && stop() {
				return
			}
			if m.pointless(nw, scan, lastOffset) {
				// Treat it as a search that found nothing, keeping
				// oldScore the count of matches in scan:scsc.
				if scsc <= scan {
					scsc = scan + 1
				} else if matches(scan) {
					oldScore--
				}
				length = 0
				continue
			}
			pos, length = m.next(nw, scan, scsc, lastOffset)
			for ; scsc < scan+length; scsc++ {
				if matches(scsc) {
					oldScore++
				}
			}
			if (length == oldScore && length != 0) || length > oldScore+8 {
				break
			}
			if matches(scan) {
				oldScore--
			}
		}
		if length == oldScore && scan != newLen {
			// The match ahead is the current offset's: keep going.
			continue
		}

		// Extend the previous match forward while at least half agrees.
		lenf := 0
		for i, s, best := 0, 0, 0; lastScan+i < scan && lastPos+i < oldLen; {
			if old[lastPos+i] == nw[lastScan+i] {
				s++
			}
			i++
			if s*2-i > best*2-lenf {
				best, lenf = s, i
			}
		}
		// Extend the new match backward likewise.
		lenb := 0
		if scan < newLen {
			for i, s, best := 1, 0, 0; scan >= lastScan+i && pos >= i; i++ {
				if old[pos-i] == nw[scan-i] {
					s++
				}
				if s*2-i > best*2-lenb {
					best, lenb = s, i
				}
			}
		}
		// Where the extensions overlap, cut where the forward one is best.
		if overlap := lastScan + lenf - (scan - lenb); overlap > 0 {
			s, best, lens := 0, 0, 0
			for i := range overlap {
				if nw[lastScan+lenf-overlap+i] == old[lastPos+lenf-overlap+i] {
					s++
				}
				if nw[scan-lenb+i] == old[pos-lenb+i] {
					s--
				}
				if s > best {
					best, lens = s, i+1
				}
			}
			lenf += lens - overlap
			lenb -= lens
		}
		emit(run{add: int64(lenf), oldPos: int64(lastPos), extra: int64(scan - lenb - (lastScan + lenf))})
		lastScan = scan - lenb
		lastPos = pos - lenb
		lastOffset = pos - scan
	}
}
