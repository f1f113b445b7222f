package kit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/tufup-go/tufup/internal/fsutil"
	"github.com/tufup-go/tufup/versions"
)

// ReleasePlatforms are the platforms a release of this project ships
// launcher binaries for.
var ReleasePlatforms = []versions.Platform{
	{OS: "windows", Arch: "amd64"}, {OS: "windows", Arch: "arm64"},
	{OS: "darwin", Arch: "amd64"}, {OS: "darwin", Arch: "arm64"},
	{OS: "linux", Arch: "amd64"}, {OS: "linux", Arch: "arm64"},
}

// ModulePath is this project's Go module.
const ModulePath = "github.com/tufup-go/tufup"

// FindModule returns the root of a checkout of this project that dir is
// in, using the go command; an error when there is none or no Go.
func FindModule(ctx context.Context, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Path}} {{.Dir}}")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list -m in %s: %w", dir, err)
	}
	path, root, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if path != ModulePath {
		return "", fmt.Errorf("%s is in module %s, not %s", dir, path, ModulePath)
	}
	return root, nil
}

// BuildLaunchers builds the launcher of the checkout at module for each
// platform into outDir as launcher-OS-ARCH[.exe], reporting version, and
// writes their SHA256SUMS. Builds are reproducible: no cgo, -trimpath, no
// VCS stamp, Windows builds for the GUI subsystem (no console window
// flashes when a shortcut starts the launcher).
func BuildLaunchers(ctx context.Context, module, outDir, version string, platforms []versions.Platform) ([]string, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	var sums strings.Builder
	for _, p := range platforms {
		name := LauncherFileName(p)
		out := filepath.Join(outDir, name)
		ldflags := "-s -w -X main.version=" + version
		if p.OS == "windows" {
			ldflags = "-H=windowsgui " + ldflags
		}
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", out, "./cmd/launcher")
		cmd.Dir = module
		cmd.Env = append(os.Environ(), "GOOS="+p.OS, "GOARCH="+p.Arch, "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build the launcher for %s: %w\n%s", p, err, b)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), name)
		files = append(files, out)
	}
	sumsFile := filepath.Join(outDir, "SHA256SUMS")
	if err := fsutil.WriteFile(sumsFile, []byte(sums.String()), 0o644); err != nil {
		return nil, err
	}
	return append(files, sumsFile), nil
}
