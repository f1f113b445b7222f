package kit

import (
	"testing"

	"github.com/tufup-go/tufup/versions"
)

// Release versions become Debian versions that dpkg orders as PEP 440 does:
// pre-releases before the release ("~"), post-releases after ("+").
func TestDebNames(t *testing.T) {
	for _, tc := range []struct{ app, version, arch, wantName, wantVersion, wantArch string }{
		{"myapp", "1.2.0", "amd64", "myapp", "1.2.0", "amd64"},
		{"My_App", "2.0.0rc1", "arm64", "my-app", "2.0.0~rc1", "arm64"},
		{"myapp", "1.0.post2", "386", "myapp", "1.0+post2", "i386"},
		{"myapp", "1!3.0", "arm", "myapp", "1:3.0", "armhf"},
		{"myapp", "1.0.0-alpha.1", "amd64", "myapp", "1.0.0~alpha.1", "amd64"},
	} {
		k := &pkg{app: tc.app, version: tc.version, p: versions.Platform{OS: "linux", Arch: tc.arch}}
		name, version, arch, err := k.debNames()
		if err != nil || name != tc.wantName || version != tc.wantVersion || arch != tc.wantArch {
			t.Errorf("%s %s %s: got %q %q %q (%v), want %q %q %q", tc.app, tc.version, tc.arch, name, version, arch, err, tc.wantName, tc.wantVersion, tc.wantArch)
		}
	}
	k := &pkg{app: "myapp", version: "1.0", p: versions.Platform{OS: "linux", Arch: "wasm"}}
	if _, _, _, err := k.debNames(); err == nil {
		t.Error("an architecture Debian has no name for was accepted")
	}
}
