package versions

import (
	"errors"
	"fmt"
	"regexp"
)

// Kind tells full archives from patches.
type Kind int

// The kinds of target tufup publishes.
const (
	Archive Kind = iota // <app>-<version>.tar.gz: the whole release
	Patch               // <app>-<version>.patch: bsdiff from the previous release's tar
)

// String returns "archive" or "patch".
func (k Kind) String() string {
	if k == Patch {
		return "patch"
	}
	return "archive"
}

func (k Kind) suffix() string {
	if k == Patch {
		return ".patch"
	}
	return ".tar.gz"
}

// Target is a target file name of a tufup repository, taken apart.
type Target struct {
	App     string
	Version Version
	Kind    Kind
}

// Name returns the target's file name, the inverse of ParseTarget.
func (t Target) Name() string { return t.App + "-" + t.Version.String() + t.Kind.suffix() }

// ErrNotTarget is wrapped by ParseTarget's error for names that are not
// <app>-<version>.tar.gz or <app>-<version>.patch. tufup ignores such targets.
var ErrNotTarget = errors.New("not a tufup archive or patch name")

// targetName is tufup's file name pattern. Python's \w is Unicode-aware: it
// matches letters and numbers of every script (\p{L}, \p{N}) and "_", but not
// combining marks. The greedy name means "app-1-0.tar.gz" is app "app-1".
// Like Python's ".", "." does not match a newline; unlike Python's "$", "$"
// does not match before a final newline, so such a name is not a target.
var targetName = regexp.MustCompile(`^([\p{L}\p{N}_-]+)-(.+)(\.tar\.gz|\.patch)$`)

// ParseTarget takes a target file name apart as tufup does. Names of another
// shape give an error wrapping ErrNotTarget (callers ignore those targets);
// a matching name with an invalid version gives an error naming the target
// and the version (callers skip it with a warning).
func ParseTarget(name string) (Target, error) {
	m := targetName.FindStringSubmatch(name)
	if m == nil {
		return Target{}, fmt.Errorf("target %q: %w", name, ErrNotTarget)
	}
	v, err := Parse(m[2])
	if err != nil {
		return Target{}, fmt.Errorf("target %q: %w", name, err)
	}
	t := Target{App: m[1], Version: v, Kind: Archive}
	if m[3] == ".patch" {
		t.Kind = Patch
	}
	return t, nil
}

// ArchiveName returns the file name of app's full archive for v,
// e.g. "app-1.2.0.tar.gz".
func ArchiveName(app string, v Version) string {
	return Target{App: app, Version: v, Kind: Archive}.Name()
}

// PatchName returns the file name of app's patch to v, e.g. "app-1.2.0.patch".
func PatchName(app string, v Version) string {
	return Target{App: app, Version: v, Kind: Patch}.Name()
}
