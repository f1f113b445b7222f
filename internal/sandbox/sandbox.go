// Package sandbox sets up the real thing on one machine for the demo and the
// end-to-end tests: it builds the binaries, makes release bundles of the
// sample app, serves a repository over HTTP on 127.0.0.1 with a request log,
// and lays out an installed launcher.
package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Binaries are the built programs.
type Binaries struct {
	Launcher  string
	TufupRepo string
	SampleApp string
}

// Exe adds the executable suffix of the target OS.
func Exe(name, goos string) string {
	if goos == "windows" {
		return name + ".exe"
	}
	return name
}

// ModuleRoot finds the project's root folder (the one holding go.mod).
func ModuleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the module (go env GOMOD is empty)")
	}
	return filepath.Dir(mod), nil
}

// BuildOptions select how the binaries are built.
type BuildOptions struct {
	GOOS            string   // empty: this machine's
	Tags            []string // e.g. "crashtest"
	LauncherVersion string   // baked into the launcher
	// Log, when set, is told each package as its build starts and ends,
	// so a cold build (minutes) is not silent.
	Log func(format string, args ...any)
	// Cover builds with -cover: the programs then write coverage data
	// into $GOCOVERDIR when they exit.
	Cover bool
}

// Build compiles the launcher, tufup-repo and the sample app into outDir.
func Build(ctx context.Context, outDir string, o BuildOptions) (Binaries, error) {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return Binaries{}, err
	}
	goos := o.GOOS
	if goos == "" {
		goos = runtime.GOOS
	}
	version := o.LauncherVersion
	if version == "" {
		version = "0.0.0-test"
	}
	b := Binaries{
		Launcher:  filepath.Join(outDir, Exe("launcher", goos)),
		TufupRepo: filepath.Join(outDir, Exe("tufup-repo", goos)),
		SampleApp: filepath.Join(outDir, Exe("sampleapp", goos)),
	}
	builds := []struct {
		out, pkg string
		args     []string
	}{
		{b.Launcher, "./cmd/launcher", []string{"-ldflags", "-X main.version=" + version}},
		{b.TufupRepo, "./cmd/tufup-repo", nil},
		{b.SampleApp, "./scripts/sampleapp", nil},
	}
	for _, bd := range builds {
		args := []string{"build", "-o", bd.out}
		if len(o.Tags) > 0 {
			args = append(args, "-tags", strings.Join(o.Tags, ","))
		}
		if o.Cover {
			// atomic: the launcher writes its counters itself before exec
			// (runtime/coverage allows that only in this mode).
			args = append(args, "-cover", "-covermode=atomic")
		}
		args = append(append(args, bd.args...), bd.pkg)
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
		began := time.Now()
		if o.Log != nil {
			o.Log("go build %s ...", bd.pkg)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return Binaries{}, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		if o.Log != nil {
			o.Log("go build %s: done in %s", bd.pkg, time.Since(began).Round(100*time.Millisecond))
		}
	}
	return b, nil
}

// BundleOptions shape a release bundle of the sample app.
type BundleOptions struct {
	// DataSize is the size of a data file that changes a little between
	// versions, so patches are much smaller than archives.
	DataSize int
	// Crash makes the app crash at start (for probation tests).
	Crash bool
	// Extra files, path (slash-separated) to content.
	Extra map[string]string
}

// WriteBundle writes the folder of one release of the sample app: its
// executable, a VERSION file, a data file derived from version, and extras.
func WriteBundle(dir, version, sampleApp string, o BundleOptions) error {
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return err
	}
	exe, err := os.ReadFile(sampleApp)
	if err != nil {
		return fmt.Errorf("read sample app: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(sampleApp)), exe, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "VERSION"), []byte(version+"\n"), 0o644); err != nil {
		return err
	}
	if o.DataSize > 0 {
		if err := os.WriteFile(filepath.Join(dir, "data", "assets.bin"), dataFile(version, o.DataSize), 0o644); err != nil {
			return err
		}
	}
	if o.Crash {
		if err := os.WriteFile(filepath.Join(dir, "CRASH"), nil, 0o644); err != nil {
			return err
		}
	}
	for p, content := range o.Extra {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// dataFile is mostly the same bytes in every version (a fixed random
// stream), with a few hundred bytes changed per version: like a real asset
// file between releases.
func dataFile(version string, size int) []byte {
	base := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(base.Uint32())
	}
	var seed uint64
	for _, c := range version {
		seed = seed*131 + uint64(c)
	}
	v := rand.New(rand.NewPCG(seed, 3))
	for i := 0; i < 16; i++ {
		off := v.IntN(max(size-64, 1))
		for j := 0; j < 32 && off+j < size; j++ {
			b[off+j] = byte(v.Uint32())
		}
	}
	return b
}

// InstallOptions describe an installed launcher.
type InstallOptions struct {
	Config map[string]any // launcher.json
	Root   string         // the trusted root.json to ship
}

// Install lays out a fresh install in dir: the launcher, launcher.json and
// root.json, as an installer would.
func Install(dir, launcherBin string, o InstallOptions) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	exe, err := os.ReadFile(launcherBin)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(dir, filepath.Base(launcherBin))
	if err := os.WriteFile(dst, exe, 0o755); err != nil {
		return "", err
	}
	cfg, err := json.MarshalIndent(o.Config, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "launcher.json"), cfg, 0o644); err != nil {
		return "", err
	}
	root, err := os.ReadFile(o.Root)
	if err != nil {
		return "", fmt.Errorf("read trusted root: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "root.json"), root, 0o644); err != nil {
		return "", err
	}
	return dst, nil
}
