package versions

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// orderingChains are runs of versions in strictly ascending order. Every pair
// in a chain is checked both ways, so a chain of n gives n(n-1)/2 cases.
var orderingChains = []struct {
	source string
	chain  []string
}{
	// PEP 440, "Summary of permitted suffixes and relative ordering": the
	// spec's example list, without its local versions (not public).
	{"PEP 440 summary of suffixes", []string{
		"1.dev0", "1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12",
		"1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345",
		"1.0rc1.dev456", "1.0rc1", "1.0", "1.0.post456.dev34", "1.0.post456",
		"1.0.15", "1.1.dev1",
	}},
	// PEP 440, "Final releases": release segments compare numerically.
	{"PEP 440 final releases", []string{
		"0.9", "0.9.1", "0.9.2", "0.9.10", "0.9.11", "1.0", "1.0.1", "1.1", "2.0", "2.0.1",
	}},
	// PEP 440, "Version epochs".
	{"PEP 440 version epochs", []string{
		"1.0", "1.1", "2.0", "2013.10", "2014.04", "1!1.0", "1!1.1", "1!2.0",
	}},
	// PEP 440, "Examples of compliant version schemes".
	{"PEP 440 simple major.minor", []string{"0.1", "0.2", "0.3", "1.0", "1.1"}},
	{"PEP 440 simple major.minor.micro", []string{"1.1.0", "1.1.1", "1.1.2", "1.2.0"}},
	{"PEP 440 major.minor with alpha, beta and candidate releases", []string{
		"0.9", "1.0a1", "1.0a2", "1.0b1", "1.0rc1", "1.0", "1.1a1",
	}},
	{"PEP 440 major.minor with developmental, candidate and post releases", []string{
		"0.9", "1.0.dev1", "1.0.dev2", "1.0.dev3", "1.0.dev4", "1.0c1", "1.0c2",
		"1.0", "1.0.post1", "1.1.dev1",
	}},
	{"PEP 440 date based releases", []string{"2012.4", "2012.7", "2012.10", "2013.1", "2013.6"}},
	{"PEP 440 serial versioning", []string{"1", "2", "3"}},
	// PEP 440, "Pre-releases", "Post-releases", "Developmental releases": how
	// dev and post releases of a pre-release sit around it.
	{"PEP 440 pre, post and dev releases", []string{
		"1.0.dev1", "1.0a1.dev1", "1.0a1", "1.0a1.post1.dev1", "1.0a1.post1", "1.0b1",
		"1.0rc1", "1.0", "1.0.post1.dev1", "1.0.post1", "1.1.dev1",
	}},
	// SemVer 2.0, §11.2 and §11.3.
	{"SemVer 11.2 major, minor, patch", []string{"1.0.0", "2.0.0", "2.1.0", "2.1.1"}},
	{"SemVer 11.3 pre-release before release", []string{"1.0.0-alpha", "1.0.0"}},
	// SemVer 2.0, §11.4: the spec's own precedence example.
	{"SemVer 11.4 pre-release precedence", []string{
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
		"1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0",
	}},
	// SemVer 2.0, §2: each element increases numerically.
	{"SemVer 2 numeric elements", []string{"1.9.0", "1.10.0", "1.11.0"}},
	// SemVer 2.0, §9 examples. Pre-releases not spelled alpha/beta/rc come
	// before alpha (our design); among themselves §11.4 applies (numeric
	// identifiers before alphanumeric, shorter prefix first).
	{"SemVer 9 pre-release examples", []string{
		"1.0.0-0.3.7", "1.0.0-x.7.z.92", "1.0.0-x-y-z.--", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0",
	}},
	// Both on one ordering (issue 3): SemVer alpha/beta/rc are PEP 440 a/b/rc;
	// "-1" after a release is a PEP 440 post release, as tufup reads it.
	{"SemVer and PEP 440 together", []string{
		"2.0.0.dev1", "2.0.0-x.1", "2.0.0a0.post1", "2.0.0-alpha.1", "2.0.0a2",
		"2.0.0-alpha.beta", "2.0.0-beta.2", "2.0.0b3", "2.0.0rc1", "2.0.0-rc.1.1",
		"2.0.0rc2", "2.0.0", "2.0.0-1", "2.0.1-beta.1", "2.0.1",
	}},
}

func mustParse(t testing.TB, s string) Version {
	t.Helper()
	v, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return v
}

func TestOrderingSpecExamples(t *testing.T) {
	cases := 0
	for _, c := range orderingChains {
		for i, a := range c.chain {
			for _, b := range c.chain[i+1:] {
				cases++
				va, vb := mustParse(t, a), mustParse(t, b)
				if got := va.Compare(vb); got != -1 {
					t.Errorf("%s: Compare(%q, %q) = %d, want -1", c.source, a, b, got)
				}
				if got := vb.Compare(va); got != 1 {
					t.Errorf("%s: Compare(%q, %q) = %d, want 1", c.source, b, a, got)
				}
			}
		}
	}
	if cases < 40 {
		t.Fatalf("only %d ordering cases", cases)
	}
}

// equalGroups hold spellings of one version: each compares equal to the
// others and has the given Canonical form.
var equalGroups = [][]struct{ in, canon string }{
	// PEP 440 "Normalization" section, subsection by subsection.
	{{"1.1RC1", "1.1rc1"}, {"1.1rc1", "1.1rc1"}},                                                                     // case sensitivity
	{{"00", "0"}, {"0", "0"}, {"0.0", "0.0"}},                                                                        // integer normalization
	{{"09000", "9000"}, {"9000", "9000"}},                                                                            // integer normalization
	{{"1.1.a1", "1.1a1"}, {"1.1-a1", "1.1a1"}, {"1.1_a1", "1.1a1"}, {"1.1a1", "1.1a1"}},                              // pre-release separators
	{{"1.0a.1", "1.0a1"}, {"1.0a-1", "1.0a1"}, {"1.0a_1", "1.0a1"}},                                                  // pre-release separators
	{{"1.1alpha1", "1.1a1"}, {"1.1ALPHA-1", "1.1a1"}},                                                                // pre-release spelling
	{{"1.1beta2", "1.1b2"}, {"1.1-Beta.2", "1.1b2"}},                                                                 // pre-release spelling
	{{"1.1c3", "1.1rc3"}, {"1.1pre3", "1.1rc3"}, {"1.1preview3", "1.1rc3"}, {"1.1rc3", "1.1rc3"}},                    // pre-release spelling
	{{"1.2a", "1.2a0"}, {"1.2a0", "1.2a0"}},                                                                          // implicit pre-release number
	{{"1.2-post2", "1.2.post2"}, {"1.2post2", "1.2.post2"}, {"1.2_post_2", "1.2.post2"}, {"1.2.post2", "1.2.post2"}}, // post-release separators
	{{"1.0-r4", "1.0.post4"}, {"1.0-rev4", "1.0.post4"}, {"1.0.post4", "1.0.post4"}},                                 // post-release spelling
	{{"1.2.post", "1.2.post0"}, {"1.2-r", "1.2.post0"}},                                                              // implicit post release number
	{{"1.0-1", "1.0.post1"}, {"1.0.post1", "1.0.post1"}},                                                             // implicit post releases
	{{"1.2-dev2", "1.2.dev2"}, {"1.2dev2", "1.2.dev2"}, {"1.2.dev2", "1.2.dev2"}},                                    // development release separators
	{{"1.2.dev", "1.2.dev0"}, {"1.2-DEV", "1.2.dev0"}},                                                               // implicit development release number
	{{"v1.0", "1.0"}, {"V1.0", "1.0"}, {"  1.0\n", "1.0"}, {"\t1.0\u00a0", "1.0"}, {"1.0", "1.0"}},                   // preceding v, whitespace
	// PEP 440 "Final releases": shorter release segments are padded with zeros.
	{{"1.0", "1.0"}, {"1.0.0", "1.0.0"}, {"1", "1"}, {"1.0.0.0", "1.0.0.0"}},
	{{"1!1.0", "1!1.0"}, {"1!1.0.0", "1!1.0.0"}, {"01!1", "1!1"}},
	{{"0!1.0", "1.0"}, {"1.0", "1.0"}},
	// SemVer 2.0 §10: build metadata is ignored when determining precedence.
	{{"1.0.0-alpha+001", "1.0.0a0"}, {"1.0.0-alpha", "1.0.0a0"}},
	{{"1.0.0+20130313144700", "1.0.0"}, {"1.0.0+21AF26D3----117B344092BD", "1.0.0"}, {"1.0.0", "1.0.0"}},
	{{"1.0.0-beta+exp.sha.5114f85", "1.0.0b0"}, {"1.0.0-beta", "1.0.0b0"}},
	{{"1.0.0-x.7.z.92+build", "1.0.0-x.7.z.92"}, {"v1.0.0-x.7.z.92", "1.0.0-x.7.z.92"}},
	// SemVer spellings of PEP 440 pre-releases (issue 3).
	{{"1.0.0-rc.1", "1.0.0rc1"}, {"1.0.0rc1", "1.0.0rc1"}, {"1.0.0-RC1", "1.0.0rc1"}},
	{{"1.0.0-alpha.1.x", "1.0.0-alpha.1.x"}, {"1.0.0-alpha1.x", "1.0.0-alpha1.x"}, {"1.0.0-a-1.x", "1.0.0-a-1.x"}},
	// Numbers beyond 64 bits stay exact.
	{{"1.0.018446744073709551617", "1.0.18446744073709551617"}, {"1.0.18446744073709551617", "1.0.18446744073709551617"}},
}

func TestNormalisation(t *testing.T) {
	for _, group := range equalGroups {
		first := mustParse(t, group[0].in)
		for _, c := range group {
			v := mustParse(t, c.in)
			if got := v.Canonical(); got != c.canon {
				t.Errorf("Parse(%q).Canonical() = %q, want %q", c.in, got, c.canon)
			}
			if got := v.String(); got != c.in {
				t.Errorf("Parse(%q).String() = %q, want the text as given", c.in, got)
			}
			if got := first.Compare(v); got != 0 {
				t.Errorf("Compare(%q, %q) = %d, want 0", group[0].in, c.in, got)
			}
		}
	}
}

func TestNumbersBeyond64Bits(t *testing.T) {
	a := mustParse(t, "1.0.18446744073709551616")
	b := mustParse(t, "1.0.18446744073709551617")
	c := mustParse(t, "1.0.100000000000000000000")
	if a.Compare(b) != -1 || b.Compare(c) != -1 {
		t.Errorf("want %v < %v < %v", a, b, c)
	}
}

func TestParseInvalid(t *testing.T) {
	for _, s := range []string{
		"", "   ", "v", "vv1.0", "abc", "1.", ".1", "1..0", "-1.0", "1.0-", "1_0",
		"1.0a1a2", "1.0.dev1.post1", "1.0.post1.post2", "1.0.dev1.dev2", "1!2!3",
		"1.0 beta", "1.0-beta gamma", "１.0", "1.0.0-α", "1.0.0-x..y", "01.0.0-x",
		"1.0+abc", "1.0+abc.5", "1.0+5", "1.0.0+", "1.0.0-x+", "1.0.0+a..b",
		"latest", "1.0.0.tar.gz", "99999999999999999999.0.0-x",
	} {
		v, err := Parse(s)
		if err == nil {
			t.Errorf("Parse(%q) = %q, want an error", s, v.Canonical())
			continue
		}
		if !strings.Contains(err.Error(), strconv.Quote(s)) {
			t.Errorf("Parse(%q) error %q does not name the input", s, err)
		}
	}
}

func TestPreKind(t *testing.T) {
	for s, want := range map[string]string{
		"1.0": "", "1.0.dev1": "", "1.0.post1": "", "1.0.post1.dev1": "", "1!2.0": "",
		"1.0a1": "a", "1.0a1.dev1": "a", "1.0a1.post1": "a", "1.0alpha": "a",
		"1.0b2": "b", "1.0-beta.1": "b", "1.0.0-beta.x": "b",
		"1.0rc1": "rc", "1.0c1": "rc", "1.0pre": "rc", "1.0preview1": "rc", "1.0.0-rc.1.2": "rc",
		"1.0.0-x.7.z.92": "a", "1.0.0-0.3.7": "a", "1.0.0-alphabet": "a",
		"1.0.0+build": "", "1.0.0-1": "",
	} {
		if got := mustParse(t, s).PreKind(); got != want {
			t.Errorf("Parse(%q).PreKind() = %q, want %q", s, got, want)
		}
	}
}

func TestZeroVersion(t *testing.T) {
	var zero Version
	if zero.Compare(mustParse(t, "0")) != 0 || zero.Compare(mustParse(t, "0.0.1")) != -1 ||
		zero.Compare(mustParse(t, "0.dev1")) != 1 || zero.PreKind() != "" || zero.String() != "" {
		t.Errorf("the zero Version should be the final release 0 with empty text")
	}
}

// corpus returns n version strings drawn from every syntax the package
// accepts (and a little it rejects), reproducibly.
func corpus(n int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 0))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	out := make([]string, 0, n)
	for len(out) < n {
		var s string
		if r.IntN(3) == 0 { // SemVer
			s = pick("0.0.1", "1.0.0", "1.0.1", "2.0.0", "1.10.0")
			if r.IntN(4) > 0 {
				var ids []string
				for range 1 + r.IntN(3) {
					ids = append(ids, pick("alpha", "beta", "rc", "a", "b", "c", "pre", "preview",
						"x", "0", "1", "2", "11", "alpha1", "rc2", "RC", "Beta", "x-y", "--", "dev", "post"))
				}
				s += "-" + strings.Join(ids, ".")
			}
			s += pick("", "", "+build.5", "+001")
		} else { // PEP 440
			s = pick("", "", "", "", "1!", "0!", "2!") +
				pick("0", "1", "1.0", "1.0.0", "1.2", "1.10", "01.2", "2", "1.0.0.0.1") +
				pick("", "", "", "a", "a1", ".alpha2", "-b", "B3", "_beta.4", "c", "rc1", "-RC-2", "pre", "preview5", ".c.1", "a12") +
				pick("", "", "", ".post", "-1", "post2", "_rev3", ".r", "-r-4", ".POST.5", "-0") +
				pick("", "", "", ".dev", "dev1", "-dev-2", "_DEV3", ".dev456")
		}
		out = append(out, pick("", "", "", "", "v", " ")+s)
	}
	return out
}

// TestOrderingIsTotal checks that Compare is a total order over many
// versions of every kind: reflexive, antisymmetric, transitive, and
// consistent with sorting.
func TestOrderingIsTotal(t *testing.T) {
	var vs []Version
	for _, s := range corpus(600, 1) {
		if v, err := Parse(s); err == nil {
			vs = append(vs, v)
		}
	}
	for _, c := range orderingChains {
		for _, s := range c.chain {
			vs = append(vs, mustParse(t, s))
		}
	}
	if len(vs) < 600 {
		t.Fatalf("only %d versions parsed", len(vs))
	}
	for _, a := range vs {
		if a.Compare(a) != 0 {
			t.Fatalf("Compare(%q, itself) != 0", a)
		}
		for _, b := range vs {
			if ab, ba := a.Compare(b), b.Compare(a); ab != -ba || ab < -1 || ab > 1 {
				t.Fatalf("Compare(%q, %q) = %d but Compare(%q, %q) = %d", a, b, ab, b, a, ba)
			}
		}
	}
	r := rand.New(rand.NewPCG(2, 0))
	for range 200000 {
		a, b, c := vs[r.IntN(len(vs))], vs[r.IntN(len(vs))], vs[r.IntN(len(vs))]
		if a.Compare(b) <= 0 && b.Compare(c) <= 0 && a.Compare(c) > 0 {
			t.Fatalf("not transitive: %q <= %q <= %q but %q > %q", a, b, c, a, c)
		}
		if a.Compare(b) == 0 && a.Compare(c) != b.Compare(c) {
			t.Fatalf("equal %q and %q compare differently with %q", a, b, c)
		}
	}
	slices.SortFunc(vs, Version.Compare)
	for i := range vs {
		for j := i + 1; j < len(vs); j++ {
			if vs[i].Compare(vs[j]) > 0 {
				t.Fatalf("after sorting, %q (at %d) > %q (at %d)", vs[i], i, vs[j], j)
			}
		}
	}
}

func ExampleVersion_Compare() {
	var vs []Version
	for _, s := range []string{"1.0.0", "1.0.0-rc.1", "1.0.post1", "1.0a2", "1.0.0-alpha.1", "1.0.dev3"} {
		v, err := Parse(s)
		if err != nil {
			panic(err)
		}
		vs = append(vs, v)
	}
	slices.SortFunc(vs, Version.Compare)
	fmt.Println(vs)
	// Output: [1.0.dev3 1.0.0-alpha.1 1.0a2 1.0.0-rc.1 1.0.0 1.0.post1]
}

// A "+" anywhere, even first, is read as build metadata, and the error says
// why such a version is refused (PEP 440 local versions are not public).
func TestParsePlusIsExplained(t *testing.T) {
	for _, s := range []string{"+1", "+build.5", "1.0+abc"} {
		_, err := Parse(s)
		if err == nil || !strings.Contains(err.Error(), "accepted only as SemVer build metadata") {
			t.Errorf("Parse(%q) error %v, want one explaining build metadata", s, err)
		}
	}
}
