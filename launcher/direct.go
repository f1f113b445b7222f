package launcher

import (
	"slices"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/patch"
	"github.com/tufup-go/tufup/versions"
)

// preferDirect replaces the plan's download with a direct patch from the
// current version to the chosen one (versions.DirectPatchName, published
// with tufup-repo add --patch-from) when the repository has one that is
// smaller than the chain of adjacent patches, or than the archive when
// there is no usable chain. Python tufup clients never see such patches.
func preferDirect(p *Plan, in planInput, warn func(string, ...any)) {
	if p == nil || in.current == nil || !in.haveBase {
		return
	}
	app := platformApp(in.app, in.goos, in.goarch, in.targets)
	for _, t := range in.targets {
		a, from, to, ok, err := versions.ParseDirectPatch(t.Name)
		if err != nil {
			warn("skipping direct patch", "target", t.Name, "error", err)
		}
		if !ok || a != app || from.Compare(*in.current) != 0 || to.Compare(p.To) != 0 || slices.Contains(in.failedPatches, t.Name) {
			continue
		}
		meta, err := parseCustom(t.Custom)
		if err != nil || meta.TarHash == "" || meta.TarSize <= 0 {
			warn("skipping direct patch without tar_hash and tar_size", "target", t.Name, "error", err)
			continue
		}
		tar := patch.TarInfo{Size: meta.TarSize, SHA256: meta.TarHash}
		if p.Tar.SHA256 != "" && p.Tar != tar {
			warn("skipping direct patch to another tar than the release's", "target", t.Name)
			continue
		}
		if float64(t.Length) > patchRatio*float64(p.Archive.Length) || t.Length >= p.DownloadSize() {
			continue
		}
		p.Patches, p.Tar, p.WhyFull = []fetch.TargetInfo{t}, tar, ""
	}
}
