package launcher

import (
	"slices"
	"strings"
	"testing"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/versions"
)

func directPatch(from, to string, length int64, hash string) fetch.TargetInfo {
	return target("app-"+to+".from-"+from+".bsdiff", length, `{"tufup": {"tar_hash": "`+hash+`", "tar_hash_algorithm": "sha256", "tar_size": 10}, "user": null}`)
}

// TestPreferDirect: an install that skipped releases takes the direct
// patch from its version when it is smaller than the chain (or the
// archive), and only then.
func TestPreferDirect(t *testing.T) {
	chain := []fetch.TargetInfo{
		archive("1.0", 1000, ""), archive("1.1", 1000, ""), patchOf("1.1", 300),
		archive("1.2", 1000, ""), patchOf("1.2", 300),
	}
	cases := []struct {
		name  string
		extra []fetch.TargetInfo
		in    func(*planInput)
		want  []string // patch names; nil: the full archive
	}{
		{"no direct patch", nil, nil, []string{"app-1.1.patch", "app-1.2.patch"}},
		{"smaller direct patch", []fetch.TargetInfo{directPatch("1.0", "1.2", 500, "ab")}, nil, []string{"app-1.2.from-1.0.bsdiff"}},
		{"direct patch as big as the chain", []fetch.TargetInfo{directPatch("1.0", "1.2", 600, "ab")}, nil, []string{"app-1.1.patch", "app-1.2.patch"}},
		{"direct patch from another version", []fetch.TargetInfo{directPatch("1.1", "1.2", 10, "ab")}, nil, []string{"app-1.1.patch", "app-1.2.patch"}},
		{"direct patch to another version", []fetch.TargetInfo{archive("1.3", 1000, ""), patchOf("1.3", 100), directPatch("1.0", "1.2", 10, "ab")}, nil,
			[]string{"app-1.1.patch", "app-1.2.patch", "app-1.3.patch"}},
		{"direct patch to another tar", []fetch.TargetInfo{directPatch("1.0", "1.2", 10, "cd")}, nil, []string{"app-1.1.patch", "app-1.2.patch"}},
		{"direct patch failed before", []fetch.TargetInfo{directPatch("1.0", "1.2", 10, "ab")},
			func(in *planInput) { in.failedPatches = []string{"app-1.2.from-1.0.bsdiff"} }, []string{"app-1.1.patch", "app-1.2.patch"}},
		{"no base", []fetch.TargetInfo{directPatch("1.0", "1.2", 10, "ab")}, func(in *planInput) { in.haveBase = false }, nil},
		{"chain broken, direct patch instead of the archive", []fetch.TargetInfo{directPatch("1.0", "1.2", 10, "ab")},
			func(in *planInput) { in.failedPatches = []string{"app-1.1.patch"} }, []string{"app-1.2.from-1.0.bsdiff"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := planInput{app: "app", targets: append(slices.Clone(chain), c.extra...), channel: versions.Stable, haveBase: true, current: mustVersion(t, "1.0")}
			if c.in != nil {
				c.in(&in)
			}
			p := planUpdate(in, noWarn(t))
			var warned []string
			preferDirect(p, in, func(msg string, _ ...any) { warned = append(warned, msg) })
			if (len(warned) > 0) != strings.Contains(c.name, "another tar") {
				t.Errorf("warnings %q", warned)
			}
			if got := names(p.Patches); !slices.Equal(got, c.want) {
				t.Fatalf("patches %v (why full: %q), want %v", got, p.WhyFull, c.want)
			}
		})
	}
}
