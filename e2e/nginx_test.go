package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tufup-go/tufup/internal/sandbox"
	"github.com/tufup-go/tufup/internal/testenv"
)

// nginxTargets lists the targets nginx served with a body since entry skip.
func nginxTargets(t *testing.T, accessLog string, skip int) ([]string, int) {
	var got []string
	all := testenv.NginxLog(t, accessLog)
	for _, r := range all[skip:] {
		if name, ok := strings.CutPrefix(r.URI, "/targets/"); ok && (r.Status == 200 || r.Status == 206) {
			got = append(got, name)
		}
	}
	return got, len(all)
}

// Issue 6: the same update, end to end, from Debian's nginx, as production
// repositories are served by a static web server.
func TestUpdateFromNginx(t *testing.T) {
	e := newEnv(t)
	base, accessLog := testenv.StartNginx(t, filepath.Join(e.work, "repository"))
	bundles := map[string]string{"1.0.0": e.publish("1.0.0", sandbox.BundleOptions{DataSize: 1 << 20})}
	in := e.newInstall(map[string]any{"metadata_url": base + "/metadata/", "targets_url": base + "/targets/"})

	in.start("1.0.0")
	got, seen := nginxTargets(t, accessLog, 0)
	if !slices.Equal(got, []string{"sampleapp-1.0.0.tar.gz"}) {
		t.Fatalf("bootstrap fetched %v from nginx", got)
	}
	bundles["1.1.0"] = e.publish("1.1.0", sandbox.BundleOptions{DataSize: 1 << 20})
	bundles["1.2.0"] = e.publish("1.2.0", sandbox.BundleOptions{DataSize: 1 << 20})
	in.start("1.2.0")
	got, _ = nginxTargets(t, accessLog, seen)
	if !slices.Equal(got, []string{"sampleapp-1.1.0.patch", "sampleapp-1.2.0.patch"}) {
		t.Fatalf("update fetched %v from nginx, want the two patches", got)
	}
	for _, r := range testenv.NginxLog(t, accessLog) {
		if !strings.HasPrefix(r.UserAgent, "sampleapp-launcher/") {
			t.Errorf("request %s had User-Agent %q", r.URI, r.UserAgent)
		}
	}
	assertIntact(t, in, bundles)
	if _, err := os.Stat(filepath.Join(in.dir, "versions", "1.2.0")); err != nil {
		t.Fatal(err)
	}
}
