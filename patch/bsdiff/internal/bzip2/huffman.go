package bzip2

import "slices"

// codeLengths sets lens to Huffman code lengths for the symbol frequencies
// freq, none longer than maxLen. Every symbol gets a code, since a bzip2
// table lists a length for each: unused symbols count as used once. When
// the tree is too deep, the weights are flattened (halved, plus one) and
// the tree rebuilt, as libbzip2 does.
func codeLengths(freq []int, lens []uint8, maxLen int) {
	n := len(freq)
	var w [maxAlphabet]int
	for i, f := range freq {
		w[i] = max(f, 1)
	}
	for {
		if huffmanDepths(w[:n], lens) <= maxLen {
			return
		}
		for i := range n {
			w[i] = 1 + w[i]/2
		}
	}
}

// huffmanDepths sets depth[i] to the depth of leaf i in a Huffman tree for
// weights w (len(w) >= 2) and returns the largest depth. Leaves sorted by
// weight and internal nodes in order of creation form two queues whose
// fronts are always the two lightest nodes.
func huffmanDepths(w []int, depth []uint8) int {
	n := len(w)
	var leaves [maxAlphabet]int
	for i := range n {
		leaves[i] = i
	}
	slices.SortStableFunc(leaves[:n], func(a, b int) int { return w[a] - w[b] })
	// Nodes 0..n-1 are leaves, n.. internal; parent links for depths.
	var weight, parent [2 * maxAlphabet]int
	copy(weight[:n], w)
	li, ii, next := 0, n, n
	take := func() int {
		if li < n && (ii >= next || weight[leaves[li]] <= weight[ii]) {
			li++
			return leaves[li-1]
		}
		ii++
		return ii - 1
	}
	for next < 2*n-1 {
		a, b := take(), take()
		weight[next] = weight[a] + weight[b]
		parent[a], parent[b] = next, next
		next++
	}
	// The root is the last node; children come before parents, so
	// depths fill in from the root down.
	var d [2 * maxAlphabet]int
	d[next-1] = 0
	maxDepth := 0
	for i := next - 2; i >= 0; i-- {
		d[i] = d[parent[i]] + 1
	}
	for i := range n {
		depth[i] = uint8(d[i])
		maxDepth = max(maxDepth, d[i])
	}
	return maxDepth
}
