package launcher

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"
)

// readRoot reads the trusted root shipped next to the launcher and checks
// that it is root metadata signed by its own keys, so that a missing, empty
// or truncated root.json is reported as what it is (a packaging mistake,
// exit code 2) rather than as a failed update.
func readRoot(path string) ([]byte, error) {
	const fix = "ship the repository's metadata/root.json (made by tufup-repo init) as " + RootFile + " next to the launcher"
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("no trusted root at %s: %s", path, fix)
	case err != nil:
		return nil, fmt.Errorf("read trusted root: %w", err)
	case len(bytes.TrimSpace(b)) == 0:
		return nil, fmt.Errorf("trusted root %s is empty: %s", path, fix)
	}
	if _, err := trustedmetadata.New(b); err != nil {
		return nil, fmt.Errorf("trusted root %s is not valid TUF root metadata (%v): %s", path, err, fix)
	}
	return b, nil
}
