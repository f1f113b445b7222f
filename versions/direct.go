package versions

import (
	"fmt"
	"regexp"
)

// A direct patch goes from an older release straight to a newer one, for
// installs that skipped the releases between: one download smaller than
// the chain of adjacent patches. Its name, <app>-<to>.from-<from>.bsdiff,
// does not end in .tar.gz or .patch, so tufup's pattern (and ParseTarget)
// does not match it and Python tufup clients ignore it; they take the
// chain, which stays published.

// DirectPatchName returns the target name of app's patch from one release
// to another, e.g. "app-1.3.0.from-1.0.0.bsdiff".
func DirectPatchName(app string, from, to Version) string {
	return app + "-" + to.String() + ".from-" + from.String() + ".bsdiff"
}

var directPatchName = regexp.MustCompile(`^([\p{L}\p{N}_-]+)-(.+)\.from-(.+)\.bsdiff$`)

// ParseDirectPatch takes a DirectPatchName apart; ok is false for any other
// name. Versions that do not parse are an error naming the target.
func ParseDirectPatch(name string) (app string, from, to Version, ok bool, err error) {
	m := directPatchName.FindStringSubmatch(name)
	if m == nil {
		return "", Version{}, Version{}, false, nil
	}
	if to, err = Parse(m[2]); err == nil {
		from, err = Parse(m[3])
	}
	if err != nil {
		return "", Version{}, Version{}, false, fmt.Errorf("direct patch %q: %w", name, err)
	}
	if from.Compare(to) >= 0 {
		return "", Version{}, Version{}, false, fmt.Errorf("direct patch %q goes from %s to the older or same %s", name, from, to)
	}
	return m[1], from, to, true, nil
}
