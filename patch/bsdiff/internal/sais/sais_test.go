package sais

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// naiveSuffixArray sorts suffixes by comparing them: obviously right, slow.
func naiveSuffixArray(text []byte) []int32 {
	sa := make([]int32, len(text))
	for i := range sa {
		sa[i] = int32(i)
	}
	slices.SortFunc(sa, func(a, b int32) int { return bytes.Compare(text[a:], text[b:]) })
	return sa
}

func TestSuffixArray(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var texts [][]byte
	for _, s := range []string{"", "a", "aa", "ab", "ba", "aaa", "banana", "mississippi", "abracadabra", "cba", "abcabcabc", "\x00\x00\x01\x00", "\xff\xfe\xff\xfe\xff"} {
		texts = append(texts, []byte(s))
	}
	// Small alphabets make many equal LMS substrings, so several levels of
	// recursion; larger ones make all names distinct at the first level.
	for _, alphabet := range []int{1, 2, 3, 4, 16, 256} {
		for range 200 {
			b := make([]byte, rng.IntN(300))
			for i := range b {
				b[i] = byte(rng.IntN(alphabet))
			}
			texts = append(texts, b)
		}
	}
	// Periodic and nearly periodic texts.
	for period := 1; period < 9; period++ {
		b := make([]byte, 500)
		for i := range b {
			b[i] = byte(i % period)
		}
		texts = append(texts, b)
		c := slices.Clone(b)
		c[rng.IntN(len(c))] = 9
		texts = append(texts, c)
	}
	for _, text := range texts {
		want := naiveSuffixArray(text)
		got := make([]int32, len(text))
		SuffixArray(text, got)
		if !slices.Equal(got, want) {
			t.Fatalf("SuffixArray(%q) = %v, want %v", text, got, want)
		}
	}
}

func TestSuffixArrayLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	// Text with long repeats, like binaries: random blocks copied around.
	text := make([]byte, 200_000)
	for i := range text[:20_000] {
		text[i] = byte(rng.IntN(256))
	}
	for i := 20_000; i < len(text); {
		src := rng.IntN(i - 1000)
		n := min(rng.IntN(1000)+1, len(text)-i)
		copy(text[i:i+n], text[src:src+n])
		i += n
		if i < len(text) {
			text[i] = byte(rng.IntN(256))
			i++
		}
	}
	sa := make([]int32, len(text))
	SuffixArray(text, sa)
	seen := make([]bool, len(text))
	for r, p := range sa {
		if seen[p] {
			t.Fatalf("position %d appears twice", p)
		}
		seen[p] = true
		if r > 0 && bytes.Compare(text[sa[r-1]:], text[p:]) >= 0 {
			t.Fatalf("suffixes at ranks %d and %d out of order", r-1, r)
		}
	}
}
