package fetch

import (
	"fmt"
	"sort"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// OfflineTargets returns the targets listed in targetsJSON, after checking
// that it is targets metadata signed to threshold by the targets keys of
// the trusted root rootJSON. It is for a release shipped together with the
// root (an installer's seed), which is exactly as trustworthy as the root
// itself: expiry, which guards a live repository against replayed old
// metadata, is not checked, so a seed keeps working in an installer built
// long ago, and nothing is fetched.
func OfflineTargets(rootJSON, targetsJSON []byte) ([]TargetInfo, error) {
	root, err := metadata.Root().FromBytes(rootJSON)
	if err != nil {
		return nil, fmt.Errorf("trusted root: %w", err)
	}
	targets, err := metadata.Targets().FromBytes(targetsJSON)
	if err != nil {
		return nil, fmt.Errorf("targets metadata: %w", err)
	}
	if err := root.VerifyDelegate(metadata.TARGETS, targets); err != nil {
		return nil, fmt.Errorf("targets metadata is not signed by the trusted root's targets keys: %w", err)
	}
	out := make([]TargetInfo, 0, len(targets.Signed.Targets))
	for name, tf := range targets.Signed.Targets {
		if err := checkTargetPath(name); err != nil {
			continue
		}
		out = append(out, targetInfo(name, tf))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// VerifyFile checks that the file at path is exactly target t: its signed
// length and every signed hash.
func VerifyFile(path string, t TargetInfo) error { return verifyFile(path, t) }
