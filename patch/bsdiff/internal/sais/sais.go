// Package sais builds suffix arrays by induced sorting (SA-IS, Nong, Zhang
// and Chan, "Two Efficient Algorithms for Linear Time Suffix Array
// Construction", 2009).
package sais

// Linear time; besides the text and the int32 array itself it needs one bit
// per symbol for the suffix types and, at each level of recursion, three
// int32 per alphabet symbol for the buckets (at most 2 bytes per input
// byte). The reduced problem of each recursion lives inside the caller's
// array.
//
// Terms: suffix i is S-type if it is smaller than suffix i+1, L-type if it is
// larger; the suffix past the end (a virtual sentinel smaller than every
// symbol) is S-type, so the last real suffix is L-type. Position i is LMS
// (leftmost S) if it is S-type and i-1 is L-type. Sorting the LMS suffixes is
// enough to induce the order of all others.

// SuffixArray fills sa (len(sa) == len(text) < 2^31) with the suffix array
// of text: sa[r] is the start of the suffix of rank r.
func SuffixArray(text []byte, sa []int32) {
	if len(sa) != len(text) {
		panic("sais: len(sa) != len(text)")
	}
	sais(text, sa, 256)
}

type symbol interface{ ~byte | ~int32 }

// sais sorts the suffixes of t, whose symbols are in [0, k), into sa.
func sais[T symbol](t []T, sa []int32, k int) {
	n := len(t)
	switch n {
	case 0:
		return
	case 1:
		sa[0] = 0
		return
	}
	st := classify(t)
	bkt := make([]int32, k)
	// The layout costs 8 bytes per symbol and saves looking up suffix
	// types while inducing. The alphabet of a recursion is at most half
	// the text before it, so this is at most 2 bytes per byte of input.
	var lay *layout
	if k <= n {
		lay = newLayout(t, st, k)
	}
	bucketEnds := func(t []T, bkt []int32) {
		if lay != nil {
			copy(bkt, lay.start[1:])
			return
		}
		bucketEnds(t, bkt)
	}
	induce := func(t []T, sa, bkt []int32, st types) {
		if lay != nil {
			induceLayout(t, sa, bkt, lay)
			return
		}
		induce(t, sa, bkt, st)
	}

	// Stage 1: sort the LMS substrings (from an LMS position up to and
	// including the next one) by one round of induced sorting that starts
	// from the LMS positions in arbitrary order within their buckets.
	for i := range sa {
		sa[i] = -1
	}
	bucketEnds(t, bkt)
	for i := n - 1; i >= 1; i-- {
		if st.lms(i) {
			c := t[i]
			bkt[c]--
			sa[bkt[c]] = int32(i)
		}
	}
	induce(t, sa, bkt, st)

	// Stage 2: name the sorted LMS substrings, equal substrings getting equal
	// names, which gives the reduced string of names in text order.
	m := 0
	if lay != nil {
		// LMS suffixes are S-type: only those parts of the buckets.
		for c := range k {
			for i := lay.bound[c]; i < lay.start[c+1]; i++ {
				if j := sa[i]; st.lms(int(j)) {
					sa[m] = j
					m++
				}
			}
		}
	} else {
		for _, j := range sa {
			if st.lms(int(j)) {
				sa[m] = j
				m++
			}
		}
	}
	for i := m; i < n; i++ {
		sa[i] = -1
	}
	// LMS positions are at least two apart, so j/2 is a free slot for
	// each: first for the length of its substring (0 for the last one,
	// which runs into the sentinel and equals no other), then its name.
	next := n
	for j := n - 1; j >= 1; j-- {
		if st.lms(j) {
			if next < n {
				sa[m+j/2] = int32(next - j + 1)
			} else {
				sa[m+j/2] = 0
			}
			next = j
		}
	}
	names := int32(0)
	prev, prevLen := 0, int32(0)
	for r := range m {
		j := int(sa[r])
		l := sa[m+j/2]
		// Equal symbols over equal lengths make equal types too: both
		// substrings end at an S-type position, and types follow from the
		// symbols right to left.
		if r == 0 || l == 0 || l != prevLen || !equalSymbols(t[prev:prev+int(l)], t[j:j+int(l)]) {
			names++
		}
		prev, prevLen = j, l
		sa[m+j/2] = names - 1
	}
	dst := n - 1
	for i := n - 1; i >= m; i-- {
		if sa[i] >= 0 {
			sa[dst] = sa[i]
			dst--
		}
	}
	reduced := sa[n-m:]

	// Stage 3: sort the reduced string's suffixes, which is the order of
	// the LMS suffixes. With all names distinct that order is immediate.
	if int(names) < m {
		bkt = nil // not needed during the recursion; freed for it
		sais(reduced, sa[:m], int(names))
		bkt = make([]int32, k)
	} else {
		for i, c := range reduced {
			sa[c] = int32(i)
		}
	}
	// Map ranks of the reduced string back to text positions, reusing the
	// reduced string's space for the list of LMS positions in text order.
	j := 0
	for i := 1; i < n; i++ {
		if st.lms(i) {
			reduced[j] = int32(i)
			j++
		}
	}
	for r := range m {
		sa[r] = reduced[sa[r]]
	}

	// Stage 4: place the sorted LMS suffixes at the ends of their buckets,
	// in order, and induce the rest.
	for i := m; i < n; i++ {
		sa[i] = -1
	}
	bucketEnds(t, bkt)
	for r := m - 1; r >= 0; r-- {
		j := sa[r]
		sa[r] = -1
		c := t[j]
		bkt[c]--
		sa[bkt[c]] = j
	}
	induce(t, sa, bkt, st)
}

// induce runs the two induced-sorting scans: L-type suffixes left to right
// from bucket starts, then S-type suffixes right to left from bucket ends.
func induce[T symbol](t []T, sa []int32, bkt []int32, st types) {
	n := len(t)
	bucketStarts(t, bkt)
	// The virtual sentinel comes first; the suffix before it is L-type.
	c := t[n-1]
	sa[bkt[c]] = int32(n - 1)
	bkt[c]++
	for i := 0; i < n; i++ {
		j := int(sa[i]) - 1
		if j >= 0 && !st.s(j) {
			c := t[j]
			sa[bkt[c]] = int32(j)
			bkt[c]++
		}
	}
	bucketEnds(t, bkt)
	for i := n - 1; i >= 0; i-- {
		j := int(sa[i]) - 1
		if j >= 0 && st.s(j) {
			c := t[j]
			bkt[c]--
			sa[bkt[c]] = int32(j)
		}
	}
}

// layout describes the buckets of an alphabet: bucket c is
// sa[start[c]:start[c+1]], its L-type suffixes first, then from bound[c]
// the S-type ones.
type layout struct {
	start []int32 // k+1
	bound []int32 // k
}

func newLayout[T symbol](t []T, st types, k int) *layout {
	lay := &layout{start: make([]int32, k+1), bound: make([]int32, k)}
	for i, c := range t {
		lay.start[int(c)+1]++
		if !st.s(i) {
			lay.bound[c]++
		}
	}
	for c := range k {
		lay.start[c+1] += lay.start[c]
		lay.bound[c] += lay.start[c]
	}
	return lay
}

// induceLayout is induce without suffix types: scanning bucket c, the
// suffix at i is L-type if i < bound[c], and the one before it, j, has the
// same type if t[j] == c, else L-type if t[j] > c. Only t[j] is looked up
// at random. (Entries induced into the bucket being scanned land ahead of
// the scan, within the bounds read at its start.)
func induceLayout[T symbol](t []T, sa []int32, bkt []int32, lay *layout) {
	n := len(t)
	k := len(lay.bound)
	copy(bkt, lay.start)
	c := t[n-1]
	sa[bkt[c]] = int32(n - 1)
	bkt[c]++
	for cur := range k {
		// In the L-type part of the bucket, j = p-1 is L-type unless
		// t[j] < cur; in the S-type part, only if t[j] > cur.
		lo, mid, hi := lay.start[cur], lay.bound[cur], lay.start[cur+1]
		for i := lo; i < mid; i++ {
			if j := sa[i] - 1; j >= 0 {
				if c := t[j]; int(c) >= cur {
					sa[bkt[c]] = j
					bkt[c]++
				}
			}
		}
		for i := mid; i < hi; i++ {
			if j := sa[i] - 1; j >= 0 {
				if c := t[j]; int(c) > cur {
					sa[bkt[c]] = j
					bkt[c]++
				}
			}
		}
	}
	copy(bkt, lay.start[1:])
	for cur := k - 1; cur >= 0; cur-- {
		lo, mid, hi := lay.start[cur], lay.bound[cur], lay.start[cur+1]
		for i := hi - 1; i >= mid; i-- {
			if j := sa[i] - 1; j >= 0 {
				if c := t[j]; int(c) <= cur {
					bkt[c]--
					sa[bkt[c]] = j
				}
			}
		}
		for i := mid - 1; i >= lo; i-- {
			if j := sa[i] - 1; j >= 0 {
				if c := t[j]; int(c) < cur {
					bkt[c]--
					sa[bkt[c]] = j
				}
			}
		}
	}
}

func equalSymbols[T symbol](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func countSymbols[T symbol](t []T, bkt []int32) {
	clear(bkt)
	for _, c := range t {
		bkt[c]++
	}
}

func bucketStarts[T symbol](t []T, bkt []int32) {
	countSymbols(t, bkt)
	sum := int32(0)
	for i, c := range bkt {
		bkt[i] = sum
		sum += c
	}
}

func bucketEnds[T symbol](t []T, bkt []int32) {
	countSymbols(t, bkt)
	sum := int32(0)
	for i, c := range bkt {
		sum += c
		bkt[i] = sum
	}
}

// types is a bit set: bit i is set when suffix i is S-type.
type types []uint64

func classify[T symbol](t []T) types {
	n := len(t)
	st := make(types, (n+63)/64)
	// Suffix n-1 is L-type (its successor is the sentinel).
	sType := false
	for i := n - 2; i >= 0; i-- {
		if t[i] < t[i+1] || (t[i] == t[i+1] && sType) {
			sType = true
			st[i/64] |= 1 << (i % 64)
		} else {
			sType = false
		}
	}
	return st
}

func (st types) s(i int) bool { return st[i/64]&(1<<(i%64)) != 0 }

// lms reports whether i is an LMS position; negative i is not.
func (st types) lms(i int) bool { return i > 0 && st.s(i) && !st.s(i-1) }
