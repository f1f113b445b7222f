package fetch

import (
	"strings"
	"testing"
)

// The limits of a target path, each at its edge.
func TestTargetPathLimits(t *testing.T) {
	for _, name := range []string{
		strings.Repeat("a", 1024),
		"my app 1.0.tar.gz", // a space is the first printable character
		"a/b c/d~",
	} {
		if err := checkTargetPath(name); err != nil {
			t.Errorf("checkTargetPath(%.40q...) = %v, want nil", name, err)
		}
	}
	for _, name := range []string{
		strings.Repeat("a", 1025),
		"a\x1fb",
		"a\x7fb",
		`a\b`,
		"a/./b",
	} {
		if err := checkTargetPath(name); err == nil {
			t.Errorf("checkTargetPath(%.40q...) accepted it", name)
		}
	}
}

// The signed length and hashes a download is checked against must be
// usable; an empty target is fine.
func TestVerifierRefusesUnusableTargets(t *testing.T) {
	sha256Hex := strings.Repeat("ab", 32)
	if _, err := newVerifier(TargetInfo{Name: "empty", Length: 0, Hashes: map[string]string{"sha256": sha256Hex}}); err != nil {
		t.Errorf("empty target: %v", err)
	}
	for what, ti := range map[string]TargetInfo{
		"negative length": {Length: -1, Hashes: map[string]string{"sha256": sha256Hex}},
		"not hex":         {Length: 1, Hashes: map[string]string{"sha256": strings.Repeat("zz", 32)}},
		"short digest":    {Length: 1, Hashes: map[string]string{"sha256": strings.Repeat("ab", 31)}},
		"no known hash":   {Length: 1, Hashes: map[string]string{"md5": strings.Repeat("ab", 16)}},
	} {
		ti.Name = "app.tar.gz"
		if _, err := newVerifier(ti); err == nil || !strings.Contains(err.Error(), "app.tar.gz") {
			t.Errorf("%s: err = %v, want an error naming the target", what, err)
		}
	}
}
