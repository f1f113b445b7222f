package e2e

import (
	"context"
	"math/rand/v2"
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

// An install that skipped releases downloads one direct patch (made with
// add --patch-from) instead of the chain, when the direct patch is the
// smaller; add publishes it only then.
func TestDirectPatchForSkippedReleases(t *testing.T) {
	e := newEnv(t)
	bundles := map[string]string{"1.0.0": e.publish("1.0.0", sandbox.BundleOptions{})}
	in := e.newInstall(nil)
	in.start("1.0.0")
	// 1.1.0 ships a big incompressible file that 1.2.0 drops again: the
	// chain carries it, a patch from 1.0.0 to 1.2.0 does not.
	noise := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{1}).Read(noise)
	bundles["1.1.0"] = e.publish("1.1.0", sandbox.BundleOptions{Extra: map[string]string{"data/big.bin": string(noise)}})
	bundles["1.2.0"] = e.publish("1.2.0", sandbox.BundleOptions{}, "--patch-from", "1.0.0")
	direct := "sampleapp-1.2.0.from-1.0.0.bsdiff"
	if _, err := os.Stat(filepath.Join(e.targetsDir(), direct)); err != nil {
		t.Fatalf("direct patch not published: %v", err)
	}

	e.srv.ResetLog()
	in.start("1.2.0")
	if got := e.srv.Fetched("/targets/"); !slices.Equal(got, []string{direct}) {
		t.Fatalf("fetched %v, want the direct patch only", got)
	}
	assertIntact(t, in, bundles)

	// Removing 1.1.0's big file is cheap, so from 1.1.0 to 1.3.0 the
	// direct patch is smaller than the two adjacent ones and is published;
	// a client on 1.2.0 takes its adjacent patch (the direct one is not
	// from its version).
	e.repo("add", "1.3.0", e.bundle("1.3.0", sandbox.BundleOptions{}), "--patch-from", "1.1.0")
	if _, err := os.Stat(filepath.Join(e.targetsDir(), "sampleapp-1.3.0.from-1.1.0.bsdiff")); err != nil {
		t.Fatalf("direct patch from 1.1.0 not published: %v", err)
	}
	e.srv.ResetLog()
	in.start("1.3.0")
	if got := e.srv.Fetched("/targets/"); !slices.Equal(got, []string{"sampleapp-1.3.0.patch"}) {
		t.Fatalf("fetched %v, want the adjacent patch", got)
	}

	// Withdrawing 1.3.0 withdraws the direct patches to it too.
	e.repo("remove-latest")
	md, err := os.ReadFile(filepath.Join(e.metadataDir(), "targets.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(md), "sampleapp-1.3.0.from-1.1.0.bsdiff") || !strings.Contains(string(md), direct) {
		t.Fatalf("after remove-latest targets.json lists:\n%s", md)
	}
}
