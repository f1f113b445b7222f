package versions

import (
	"strconv"
	"strings"
	"testing"
)

func addSeeds(f *testing.F) {
	for _, c := range orderingChains {
		for _, s := range c.chain {
			f.Add(s)
		}
	}
	for _, g := range equalGroups {
		for _, c := range g {
			f.Add(c.in)
		}
	}
	for _, s := range []string{"", "v", "1.0+abc", "1.0.0-x+", "1!", "1.0a1a2", "app-1-0.tar.gz", "x-1.0.patch"} {
		f.Add(s)
	}
}

// FuzzParse checks that Parse never panics, that errors name the input, and
// that accepted versions keep their text, compare equal to themselves and to
// their Canonical form, and compare antisymmetrically with fixed versions.
func FuzzParse(f *testing.F) {
	addSeeds(f)
	var fixed []Version
	for _, s := range []string{"0", "1.0.dev1", "1.0.0-x.7", "1.0a1", "1.0.0-alpha.beta", "1.0rc1", "1.0", "1.0.post1", "1!0"} {
		fixed = append(fixed, mustParse(f, s))
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			if !strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Fatalf("Parse(%q) error %q does not name the input", s, err)
			}
			return
		}
		if v.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, v.String())
		}
		if v.Compare(v) != 0 {
			t.Fatalf("Parse(%q) does not equal itself", s)
		}
		c, err := Parse(v.Canonical())
		if err != nil {
			t.Fatalf("Parse(%q).Canonical() = %q does not parse: %v", s, v.Canonical(), err)
		}
		if c.Compare(v) != 0 || v.Compare(c) != 0 || c.Canonical() != v.Canonical() {
			t.Fatalf("Parse(%q) and its Canonical form %q differ", s, v.Canonical())
		}
		for _, w := range fixed {
			if vw, wv := v.Compare(w), w.Compare(v); vw != -wv {
				t.Fatalf("Compare(%q, %q) = %d, Compare(%q, %q) = %d", s, w, vw, w, s, wv)
			}
		}
	})
}

// FuzzParseTarget checks that ParseTarget never panics and that the names it
// accepts are rebuilt exactly by ArchiveName or PatchName.
func FuzzParseTarget(f *testing.F) {
	addSeeds(f)
	f.Add("app-1.0.tar.gz")
	f.Add("my-app-1.0.0-rc.1.patch")
	f.Fuzz(func(t *testing.T, name string) {
		tg, err := ParseTarget(name)
		if err != nil {
			if !strings.Contains(err.Error(), strconv.Quote(name)) {
				t.Fatalf("ParseTarget(%q) error %q does not name the target", name, err)
			}
			return
		}
		rebuilt := ArchiveName(tg.App, tg.Version)
		if tg.Kind == Patch {
			rebuilt = PatchName(tg.App, tg.Version)
		}
		if rebuilt != name {
			t.Fatalf("ParseTarget(%q) rebuilt as %q", name, rebuilt)
		}
	})
}
