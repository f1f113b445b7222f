package versions

import (
	"fmt"
	"slices"
	"strings"
)

// Platform is what a release is built for, named as Go names operating
// systems and architectures (GOOS, GOARCH). The zero Platform is universal
// (one release for every platform); a Platform with an OS and no Arch is
// OS-wide (for instance a macOS release of universal binaries).
//
// A platform's releases are the targets of the app name AppName gives:
// "myapp-windows-amd64-1.2.0.tar.gz" is release 1.2.0 of myapp for
// windows/amd64. tufup's greedy name pattern reads that name as app
// "myapp-windows-amd64", version "1.2.0", so a Python tufup client whose
// app name is "myapp-windows-amd64" reads exactly that platform's releases
// and patches, and one whose app name is "myapp" reads only the universal
// releases.
type Platform struct {
	OS, Arch string
}

// knownOS and knownArch are Go's GOOS and GOARCH values (go tool dist
// list). Only these count as platform parts of a target's app name, so an
// app named "myapp-tools" is not mistaken for myapp on an OS "tools".
var (
	knownOS = []string{"aix", "android", "darwin", "dragonfly", "freebsd", "illumos", "ios", "js",
		"linux", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows"}
	knownArch = []string{"386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le",
		"mipsle", "ppc64", "ppc64le", "riscv64", "s390x", "wasm"}
)

// ParsePlatform reads "os/arch", "os" or "" (universal), checking the
// names against Go's GOOS and GOARCH values.
func ParsePlatform(s string) (Platform, error) {
	goos, goarch, _ := strings.Cut(s, "/")
	p := Platform{OS: goos, Arch: goarch}
	return p, p.check()
}

func (p Platform) check() error {
	switch {
	case p.OS == "" && p.Arch != "":
		return fmt.Errorf("platform %q: an architecture needs an operating system (such as linux/%s)", p, p.Arch)
	case p.OS != "" && !slices.Contains(knownOS, p.OS):
		return fmt.Errorf("platform %q: unknown operating system %q; use a GOOS name: %s", p, p.OS, strings.Join(knownOS, ", "))
	case p.Arch != "" && !slices.Contains(knownArch, p.Arch):
		return fmt.Errorf("platform %q: unknown architecture %q; use a GOARCH name: %s", p, p.Arch, strings.Join(knownArch, ", "))
	}
	return nil
}

// NewPlatform checks goos and goarch (either may be "", goarch only
// with a goos) and returns their Platform.
func NewPlatform(goos, goarch string) (Platform, error) {
	p := Platform{OS: goos, Arch: goarch}
	return p, p.check()
}

// String returns "os/arch", "os", or "universal" for the zero Platform.
func (p Platform) String() string {
	switch {
	case p.OS == "" && p.Arch == "":
		return "universal"
	case p.Arch == "":
		return p.OS
	}
	return p.OS + "/" + p.Arch
}

// AppName returns the app name in the target names of app's releases for
// p: "myapp-windows-amd64", "myapp-darwin", or "myapp" when p is universal.
func (p Platform) AppName(app string) string {
	if p.OS == "" {
		return app
	}
	if p.Arch == "" {
		return app + "-" + p.OS
	}
	return app + "-" + p.OS + "-" + p.Arch
}

// PlatformOf tells whether targetApp, the app name of a parsed target,
// names releases of app, and for which platform.
func PlatformOf(app, targetApp string) (Platform, bool) {
	if targetApp == app {
		return Platform{}, true
	}
	rest, ok := strings.CutPrefix(targetApp, app+"-")
	if !ok {
		return Platform{}, false
	}
	goos, goarch, _ := strings.Cut(rest, "-")
	p := Platform{OS: goos, Arch: goarch}
	if p.OS == "" || p.check() != nil || p.AppName(app) != targetApp {
		return Platform{}, false
	}
	return p, true
}

// Fallbacks returns the platforms whose releases suit a program running on
// goos/goarch, most specific first: its own, its OS-wide, universal.
func Fallbacks(goos, goarch string) []Platform {
	return []Platform{{OS: goos, Arch: goarch}, {OS: goos}, {}}
}
