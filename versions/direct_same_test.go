package versions

import (
	"strings"
	"testing"
)

// A direct patch from a version to itself is refused like one going back.
func TestParseDirectPatchRefusesSameVersion(t *testing.T) {
	for _, name := range []string{"app-1.2.0.from-1.2.0.bsdiff", "app-1.2.0.from-1.2.bsdiff"} {
		_, _, _, ok, err := ParseDirectPatch(name)
		if ok || err == nil || !strings.Contains(err.Error(), "older or same") {
			t.Errorf("ParseDirectPatch(%q) = ok %v, err %v; want it refused as going to the same version", name, ok, err)
		}
	}
}
