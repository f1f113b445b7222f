package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tufup-go/tufup/internal/sandbox"
	"github.com/tufup-go/tufup/patch"
)

// Issue 19: the patch base is the installed folder read through its tar's
// index; no tar is kept or written on the client.

// cacheNames lists .tufup/cache.
func (in *install) cacheNames() []string {
	in.t.Helper()
	entries, _ := os.ReadDir(filepath.Join(in.dir, ".tufup", "cache"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// A file of the installed version changed since it was installed (a user,
// an antivirus, the app itself): the patch cannot be applied to it, so the
// full archive is used in the same start. The patch is not blamed (it is
// used again for the next release), and the new version is intact.
func TestModifiedInstallFallsBack(t *testing.T) {
	e, in, bundles := updateAvailable(t, nil)
	data := filepath.Join(in.dir, "versions", "1.0.0", "data", "assets.bin")
	b, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(data, b, 0o644); err != nil {
		t.Fatal(err)
	}

	e.srv.ResetLog()
	in.start("1.1.0")
	if got := e.srv.Fetched("/targets/"); !slices.Equal(got, []string{"sampleapp-1.1.0.patch", "sampleapp-1.1.0.tar.gz"}) {
		t.Fatalf("fetched %v, want the patch, then the archive", got)
	}
	if !strings.Contains(in.log(), "changed since it was installed") {
		t.Fatalf("the log does not say the install was modified:\n%s", in.log())
	}
	assertSameTree(t, bundles["1.1.0"], filepath.Join(in.dir, "versions", "1.1.0"))

	bundles["1.2.0"] = e.publish("1.2.0", sandbox.BundleOptions{})
	e.srv.ResetLog()
	in.start("1.2.0")
	if got := e.srv.Fetched("/targets/"); !slices.Equal(got, []string{"sampleapp-1.2.0.patch"}) {
		t.Fatalf("fetched %v, want the patch only", got)
	}
	if fp, ok := in.rawState()["failed_patches"]; ok && string(fp) != "null" && string(fp) != "[]" {
		t.Fatalf("state.json failed_patches = %s, want none", fp)
	}
}

// An install made by a launcher that kept the current version's tar in the
// cache updates with patches from that tar, then keeps an index instead;
// after a rollback to that version, its index is the patch base.
func TestCachedTarMigratesToIndex(t *testing.T) {
	e, in, bundles := updateAvailable(t, nil)
	cache := filepath.Join(in.dir, ".tufup", "cache")
	if err := os.Remove(filepath.Join(cache, "sampleapp-1.0.0.tarindex")); err != nil {
		t.Fatal(err)
	}
	if _, err := patch.Gunzip(context.Background(), filepath.Join(e.targetsDir(), "sampleapp-1.0.0.tar.gz"), filepath.Join(cache, "sampleapp-1.0.0.tar"), 1<<30); err != nil {
		t.Fatal(err)
	}

	e.srv.ResetLog()
	in.start("1.1.0")
	if got := e.srv.Fetched("/targets/"); !slices.Equal(got, []string{"sampleapp-1.1.0.patch"}) {
		t.Fatalf("fetched %v, want the patch only (its base is the cached tar)", got)
	}
	if got, want := in.cacheNames(), []string{"sampleapp-1.0.0.tarindex", "sampleapp-1.1.0.tarindex"}; !slices.Equal(got, want) {
		t.Fatalf("cache holds %v, want %v", got, want)
	}

	in.start("1.0.0", "--rollback")
	bundles["1.2.0"] = e.publish("1.2.0", sandbox.BundleOptions{})
	e.srv.ResetLog()
	in.start("1.2.0")
	got := e.srv.Fetched("/targets/")
	if slices.ContainsFunc(got, func(s string) bool { return strings.HasSuffix(s, ".tar.gz") }) {
		t.Fatalf("fetched %v, want patches only (1.0.0's index is the base)", got)
	}
	assertIntact(t, in, bundles)
}
