package versions

import (
	"cmp"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/blang/semver/v4"
)

// Version is a parsed release version: a PEP 440 public version or a SemVer
// 2.0 version, placed on one ordering (see Compare). The zero Version orders
// as the final release 0 and has an empty String.
type Version struct {
	text  string // exactly as given to Parse
	canon string // see Canonical

	// Numbers are decimal digits without leading zeros; "" is zero. This keeps
	// PEP 440's unbounded integers exact without big-number arithmetic.
	epoch   string
	release []string
	class   class
	pre     []ident // pre-release identifiers after the a/b/rc kind (SemVer rules)
	hasPost bool
	post    string
	hasDev  bool
	dev     string
}

// class is the coarse place of a version among the releases that share its
// epoch and release segment. The zero value is a final release, so that the
// zero Version is a final release too.
type class int8

const (
	classDevOnly class = iota - 5 // a dev release of a final: 1.0.dev1
	classOther                    // SemVer pre-release not spelled a/b/rc: 1.0.0-x.7
	classA                        // 1.0a1, 1.0.0-alpha.1
	classB                        // 1.0b1, 1.0.0-beta.2
	classRC                       // 1.0rc1, 1.0.0-rc.1
	classFinal                    // 1.0, 1.0.post1, 1.0.post1.dev1
)

// ident is one pre-release identifier, compared as SemVer 2.0 §11.4 says:
// numbers numerically, other text in ASCII order, numbers before text.
type ident struct {
	s   string
	num bool // s is a number: digits without leading zeros, "" is zero
}

// pep440 is the version pattern of PEP 440 Appendix B, applied to text that
// has been trimmed, stripped of a leading "v", split from any "+build" and
// lower-cased (ASCII only). Go's leftmost-first matching picks the same
// submatches as Python's backtracking re, e.g. "1.0a-1" is a1, not a0.post1.
var pep440 = regexp.MustCompile(`^` +
	`(?:([0-9]+)!)?` + // 1: epoch
	`([0-9]+(?:\.[0-9]+)*)` + // 2: release
	`(?:[-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?([0-9]+)?)?` + // 3, 4: pre
	`(?:-([0-9]+)|[-_.]?(post|rev|r)[-_.]?([0-9]+)?)?` + // 5 or 6, 7: post
	`(?:[-_.]?(dev)[-_.]?([0-9]+)?)?` + // 8, 9: dev
	`$`)

// semverPreKind recognises a SemVer pre-release whose first identifier is a
// PEP 440 pre-release spelling, optionally followed by its number:
// "alpha", "rc1", "beta-2", "preview".
var semverPreKind = regexp.MustCompile(`^(alpha|a|beta|b|preview|pre|c|rc)-?([0-9]*)$`)

// Parse parses a PEP 440 public version (normalised as PEP 440 says:
// epochs, any number of release segments, a/alpha, b/beta, c/rc/pre/preview,
// post/rev/r and "-N", dev, optional separators and numbers, any case, a
// leading "v", surrounding whitespace) or a SemVer 2.0 version.
//
// Text that is valid as both is read as PEP 440, as tufup reads it: "1.0.0-1"
// is the post-release 1.0.0.post1. A "+" suffix is accepted only as SemVer
// build metadata (ignored for ordering); PEP 440 local versions are rejected.
// Errors name the text.
func Parse(s string) (Version, error) {
	body := strings.TrimFunc(s, isPythonSpace)
	if len(body) > 0 && (body[0] == 'v' || body[0] == 'V') {
		body = body[1:]
	}
	if body == "" {
		return Version{}, fmt.Errorf("invalid version %q: empty", s)
	}
	if i := strings.IndexByte(body, '+'); i >= 0 {
		if _, err := semver.Parse(body); err != nil {
			return Version{}, fmt.Errorf("invalid version %q: %q is accepted only as SemVer build metadata (PEP 440 local versions are not public versions)", s, body[i:])
		}
		body = body[:i]
	}
	v, ok := parsePEP440(body)
	if !ok {
		sv, err := semver.Parse(body)
		if err != nil {
			return Version{}, fmt.Errorf("invalid version %q: neither PEP 440 nor SemVer 2.0", s)
		}
		v = fromSemver(sv)
	}
	v.text = s
	return v, nil
}

// isPythonSpace reports what Python's \s matches, which packaging strips:
// Go's unicode.IsSpace plus the ASCII information separators U+001C..U+001F.
func isPythonSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

func parsePEP440(body string) (Version, bool) {
	m := pep440.FindStringSubmatch(asciiLower(body))
	if m == nil {
		return Version{}, false
	}
	v := Version{epoch: trimNum(m[1]), class: classFinal}
	for _, part := range strings.Split(m[2], ".") {
		v.release = append(v.release, trimNum(part))
	}
	if m[3] != "" {
		v.class = kindClass(m[3])
		v.pre = []ident{{s: trimNum(m[4]), num: true}} // no number: 0
	}
	if m[5] != "" || m[6] != "" {
		v.hasPost, v.post = true, trimNum(m[5]+m[7]) // at most one is set
	}
	if m[8] != "" {
		v.hasDev, v.dev = true, trimNum(m[9])
	}
	if v.class == classFinal && !v.hasPost && v.hasDev {
		// PEP 440: a dev release of a final sorts before its pre-releases.
		v.class = classDevOnly
	}
	v.canon = v.pep440String()
	return v, true
}

// pep440String is PEP 440's normal form: [N!]N(.N)*[{a|b|rc}N][.postN][.devN].
func (v Version) pep440String() string {
	var b strings.Builder
	if v.epoch != "" {
		b.WriteString(v.epoch + "!")
	}
	for i, n := range v.release {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(showNum(n))
	}
	switch v.class {
	case classA:
		b.WriteString("a")
	case classB:
		b.WriteString("b")
	case classRC:
		b.WriteString("rc")
	}
	if len(v.pre) > 0 {
		b.WriteString(showNum(v.pre[0].s))
	}
	if v.hasPost {
		b.WriteString(".post" + showNum(v.post))
	}
	if v.hasDev {
		b.WriteString(".dev" + showNum(v.dev))
	}
	return b.String()
}

// fromSemver places a SemVer version on the PEP 440 ordering. A pre-release
// whose first identifier spells a PEP 440 kind (alpha, b, rc2, ...) gets that
// kind; its number, if any, and the remaining identifiers are compared by
// SemVer's rules within the kind, so "rc.1" and "rc1" both equal PEP 440's
// rc1. Any other pre-release sorts before all a/b/rc of its release.
func fromSemver(sv semver.Version) Version {
	v := Version{
		release: []string{uintNum(sv.Major), uintNum(sv.Minor), uintNum(sv.Patch)},
		class:   classFinal,
	}
	sv.Build = nil
	v.canon = sv.String()
	if len(sv.Pre) == 0 {
		return v
	}
	ids := make([]ident, 0, len(sv.Pre))
	for _, p := range sv.Pre {
		if p.IsNum {
			ids = append(ids, ident{s: uintNum(p.VersionNum), num: true})
		} else {
			ids = append(ids, ident{s: p.VersionStr})
		}
	}
	v.class, v.pre = classOther, ids
	if first := ids[0]; !first.num {
		if m := semverPreKind.FindStringSubmatch(asciiLower(first.s)); m != nil {
			v.class, v.pre = kindClass(m[1]), ids[1:]
			if m[2] != "" || len(v.pre) == 0 {
				// "rc1.x" is rc [1 x]; a bare "rc" is rc0 as in PEP 440.
				v.pre = append([]ident{{s: trimNum(m[2]), num: true}}, v.pre...)
			}
		}
	}
	return v
}

func kindClass(kind string) class {
	switch kind {
	case "a", "alpha":
		return classA
	case "b", "beta":
		return classB
	}
	return classRC // c, rc, pre, preview
}

// String returns the text exactly as given to Parse, so that names built from
// it (ArchiveName, PatchName) match the names in a repository.
func (v Version) String() string { return v.text }

// Canonical returns the normalised text: PEP 440's normal form for PEP 440
// versions ("V1.0-RC.1" gives "1.0rc1"), and for SemVer-only versions
// MAJOR.MINOR.PATCH[-PRE] without a leading "v" or build metadata. Versions
// with equal Canonical forms compare equal; the reverse does not hold, as in
// PEP 440: "1.0" and "1.0.0" compare equal.
func (v Version) Canonical() string { return v.canon }

// PreKind returns "a", "b" or "rc" for pre-releases and "" for final releases,
// which include dev and post releases of a final (tufup uses packaging's
// "version.pre is None"): "1.0a1.dev1" is "a", "1.0.dev1" and "1.0.post1" are
// "". SemVer pre-releases not spelled a/b/rc ("1.0.0-x.7") are "a", the least
// stable kind, so only the alpha channel offers them.
func (v Version) PreKind() string {
	switch v.class {
	case classA, classOther:
		return "a"
	case classB:
		return "b"
	case classRC:
		return "rc"
	}
	return ""
}

// Compare returns -1, 0 or +1 as v orders before, the same as, or after w.
// It is a total order: PEP 440's, as Python's packaging.version implements it
// (release segments padded with zeros; per release: dev releases, then
// pre-releases a < b < rc, then the final, then post releases; dev and post
// releases of each pre-release around it). SemVer versions join it with
// build metadata ignored, "-alpha"/"-beta"/"-rc" (and PEP 440's other
// spellings) as a/b/rc compared by SemVer's rules within each kind, and other
// SemVer pre-releases between a release's dev releases and its a kind.
// It suits slices.SortFunc(vs, Version.Compare).
func (v Version) Compare(w Version) int {
	if c := compareNum(v.epoch, w.epoch); c != 0 {
		return c
	}
	for i := range max(len(v.release), len(w.release)) {
		var a, b string // missing segments are zero
		if i < len(v.release) {
			a = v.release[i]
		}
		if i < len(w.release) {
			b = w.release[i]
		}
		if c := compareNum(a, b); c != 0 {
			return c
		}
	}
	if c := cmp.Compare(v.class, w.class); c != 0 {
		return c
	}
	for i := range min(len(v.pre), len(w.pre)) {
		if c := v.pre[i].compare(w.pre[i]); c != 0 {
			return c
		}
	}
	if c := cmp.Compare(len(v.pre), len(w.pre)); c != 0 {
		return c // SemVer: more identifiers sort later
	}
	// No post release sorts before any post release.
	if c := cmp.Compare(boolInt(v.hasPost), boolInt(w.hasPost)); c != 0 {
		return c
	}
	if c := compareNum(v.post, w.post); c != 0 {
		return c
	}
	// No dev release sorts after any dev release.
	if c := cmp.Compare(boolInt(w.hasDev), boolInt(v.hasDev)); c != 0 {
		return c
	}
	return compareNum(v.dev, w.dev)
}

func (a ident) compare(b ident) int {
	switch {
	case a.num && b.num:
		return compareNum(a.s, b.s)
	case a.num:
		return -1
	case b.num:
		return 1
	}
	return strings.Compare(a.s, b.s)
}

// compareNum compares numbers written as digits without leading zeros.
func compareNum(a, b string) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func trimNum(digits string) string { return strings.TrimLeft(digits, "0") }

func showNum(n string) string {
	if n == "" {
		return "0"
	}
	return n
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// asciiLower lower-cases ASCII letters only, so that no other letter can turn
// into one the patterns accept.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

func uintNum(n uint64) string { return trimNum(strconv.FormatUint(n, 10)) }
