package repo

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"github.com/tufup-go/tufup/versions"
)

// LauncherTarget names the target of a launcher release for one platform:
// "launcher-<goos>-<goarch>-<version>". Python tufup clients ignore it: it
// matches neither of tufup's archive and patch name patterns.
func LauncherTarget(goos, goarch, version string) string {
	return "launcher-" + goos + "-" + goarch + "-" + version
}

var platformName = regexp.MustCompile(`^[a-z0-9]+$`)

// AddLauncher publishes the launcher executable file as launcher release
// version for goos/goarch, so installed launchers with self_update on
// replace themselves with it.
func (r *Repo) AddLauncher(version, goos, goarch, file string) error {
	if !platformName.MatchString(goos) || !platformName.MatchString(goarch) {
		return fmt.Errorf("platform %s/%s: expected GOOS/GOARCH names such as linux/amd64", goos, goarch)
	}
	v, err := versions.Parse(version)
	if err != nil {
		return fmt.Errorf("launcher version: %w", err)
	}
	if fi, err := os.Stat(file); err != nil {
		return fmt.Errorf("launcher executable: %w", err)
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("launcher executable %s is not a regular file", file)
	}
	c, err := r.begin()
	if err != nil {
		return err
	}
	defer c.done()
	prefix := LauncherTarget(goos, goarch, "")
	for name := range c.next.targets.Signed.Targets {
		if len(name) <= len(prefix) || name[:len(prefix)] != prefix {
			continue
		}
		if old, err := versions.Parse(name[len(prefix):]); err == nil && v.Compare(old) <= 0 {
			return fmt.Errorf("launcher %s for %s/%s is not newer than the published %s", version, goos, goarch, name)
		}
	}
	if c.stageDir, err = os.MkdirTemp(r.RepoDir(), ".staging-"); err != nil {
		return fmt.Errorf("create staging directory: %w", err)
	}
	defer os.RemoveAll(c.stageDir)
	name := LauncherTarget(goos, goarch, version)
	staged := filepath.Join(c.stageDir, name)
	if err := copyFile(file, staged); err != nil {
		return err
	}
	if err := r.stageTarget(c, staged, name, map[string]any{"launcher": true}, nil); err != nil {
		return err
	}
	r.printf("targets: adding launcher %s for %s/%s", version, goos, goarch)
	return r.commit(c)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("stage %s: %w", src, err)
	}
	return out.Close()
}
