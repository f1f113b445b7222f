package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tufup-go/tufup/internal/sandbox"
)

// Issue 8: installed launchers that shipped with the first root.json keep
// updating while the publisher rotates the timestamp key and then moves
// root to 2-of-3 offline keys, and they refuse a root that is not signed by
// the keys of the root they trust, even one signed by a retired root key.
func TestKeyRotationInstalledLaunchersFollow(t *testing.T) {
	e := newEnv(t)
	small := sandbox.BundleOptions{DataSize: 16 << 10}
	e.publish("1.0.0", small)
	firstRoot := readRoot(t, filepath.Join(e.metadataDir(), "root.json"))
	if firstRoot.Version != 1 {
		t.Fatalf("a new repository has root v%d", firstRoot.Version)
	}

	// Every install ships with root v1.
	// regulars start before and after each rotation;
	// stale starts once now and next only after both rotations, so it walks
	// the whole N.root.json chain in one refresh;
	// fresh is installed now but first started after both rotations, so
	// it bootstraps from the shipped root v1;
	// ancient starts once now and next only after the attack: it walks the
	// honest chain, then meets the attacker's root.
	regulars := []*install{e.newInstall(nil), e.newInstall(nil)}
	stale, fresh, ancient := e.newInstall(nil), e.newInstall(nil), e.newInstall(nil)
	for _, in := range append(slices.Clone(regulars), stale, ancient) {
		in.start("1.0.0")
		if got := in.trustedRoot().Version; got != 1 {
			t.Fatalf("%s trusts root v%d after its first start, want v1", in.dir, got)
		}
	}
	e.publish("1.1.0", small)
	for _, in := range regulars {
		in.start("1.1.0")
	}

	// Rotate the timestamp key: root v2 lists timestamp2 instead.
	e.repo("keys", "create", "timestamp2")
	out := e.repo("keys", "replace", "timestamp", "timestamp2")
	afterTimestamp := readRoot(t, filepath.Join(e.metadataDir(), "root.json"))
	if afterTimestamp.Version != 2 || slices.Equal(afterTimestamp.Roles["timestamp"].KeyIDs, firstRoot.Roles["timestamp"].KeyIDs) {
		t.Fatalf("keys replace timestamp did not publish root v2 with a new timestamp key (root v%d)\n%s", afterTimestamp.Version, out)
	}
	e.publish("1.2.0", small)
	for _, in := range regulars {
		in.start("1.2.0")
		assertTrusts(t, in, afterTimestamp)
	}

	// Root moves to 2 of 3 keys kept offline (encrypted, passwords from the
	// environment as a CI job or an offline signing session would have
	// them), and the original root key is replaced.
	offline := filepath.Join(t.TempDir(), "offline-keys")
	if err := os.MkdirAll(offline, 0o700); err != nil {
		t.Fatal(err)
	}
	passwords := []string{
		"TUFUP_KEY_PASSWORD_ROOT2=correct horse 2",
		"TUFUP_KEY_PASSWORD_ROOT3=correct horse 3",
		"TUFUP_KEY_PASSWORD_ROOT4=correct horse 4",
	}
	for _, name := range []string{"root2", "root3", "root4"} {
		e.repoAt(offline, passwords, "keys", "create", name, "--encrypted")
	}
	for _, args := range [][]string{
		{"keys", "add", "root", "root2"},
		{"keys", "add", "root", "root3"},
		{"threshold", "root", "2"},
		{"keys", "replace", "root", "root4"},
	} {
		e.repoAt(e.work, passwords, append(args, "--keys-dir", offline)...)
	}
	rotated := readRoot(t, filepath.Join(e.metadataDir(), "root.json"))
	oldRootKey := firstRoot.Roles["root"].KeyIDs[0]
	if rr := rotated.Roles["root"]; rr.Threshold != 2 || len(rr.KeyIDs) != 3 || slices.Contains(rr.KeyIDs, oldRootKey) {
		t.Fatalf("after the root rotation root v%d has root role %+v; want 3 new keys, threshold 2", rotated.Version, rr)
	}
	e.publish("1.3.0", small)

	e.srv.ResetLog()
	for _, in := range append(slices.Clone(regulars), stale, fresh) {
		in.start("1.3.0")
		assertTrusts(t, in, rotated)
	}
	// stale and fresh came from v1 (regulars from v2): each version of the
	// chain was fetched by the launchers that needed it.
	fetched := e.srv.Fetched("/metadata/")
	for v := 2; v <= rotated.Version; v++ {
		name := strconv.Itoa(v) + ".root.json"
		want := 2 // stale and fresh
		if v > afterTimestamp.Version {
			want += len(regulars)
		}
		if got := countIn(fetched, name); got != want {
			t.Errorf("%s fetched %d times, want %d (fetched: %v)", name, got, want, fetched)
		}
	}

	// The attack: someone with write access to the update server, holding
	// the retired original root key and keys of their own, publishes root
	// v(N+1) signed by those, and targets, snapshot and timestamp signed by
	// their keys, listing a malicious release. Their folder is a repository
	// of its own made with tufup-repo around the stolen root key.
	backup := filepath.Join(t.TempDir(), "honest-repository")
	if err := os.CopyFS(backup, os.DirFS(filepath.Join(e.work, "repository"))); err != nil {
		t.Fatal(err)
	}
	attacker := filepath.Join(t.TempDir(), "attacker")
	if err := os.MkdirAll(filepath.Join(attacker, "keystore"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"root", "root.pub"} {
		copyFileAs(t, filepath.Join(e.work, "keystore", name), filepath.Join(attacker, "keystore", name))
	}
	e.repoAt(attacker, nil, "init", "--app-name", "sampleapp")
	evil := filepath.Join(attacker, "dist", "sampleapp-6.6.6")
	if err := sandbox.WriteBundle(evil, "6.6.6", e.bins.SampleApp, sandbox.BundleOptions{DataSize: 16 << 10, Extra: map[string]string{"PWNED": "evil"}}); err != nil {
		t.Fatal(err)
	}
	e.repoAt(attacker, nil, "add", "6.6.6", evil)
	for readRoot(t, filepath.Join(attacker, "repository", "metadata", "root.json")).Version < rotated.Version+1 {
		e.repoAt(attacker, nil, "sign", "root")
	}
	evilRoot := readRoot(t, filepath.Join(attacker, "repository", "metadata", "root.json"))
	if evilRoot.Version != rotated.Version+1 || evilRoot.Roles["root"].KeyIDs[0] != oldRootKey {
		t.Fatalf("the attacker's root is v%d with root keys %v; want v%d signed by the retired root key %s", evilRoot.Version, evilRoot.Roles["root"].KeyIDs, rotated.Version+1, oldRootKey)
	}
	served := e.metadataDir()
	evilMeta := filepath.Join(attacker, "repository", "metadata")
	copyFileAs(t, filepath.Join(evilMeta, "root.json"), filepath.Join(served, strconv.Itoa(evilRoot.Version)+".root.json"))
	for _, name := range []string{"root.json", "targets.json", "snapshot.json", "timestamp.json"} {
		copyFileAs(t, filepath.Join(evilMeta, name), filepath.Join(served, name))
	}
	copyFileAs(t, filepath.Join(attacker, "repository", "targets", "sampleapp-6.6.6.tar.gz"), filepath.Join(e.targetsDir(), "sampleapp-6.6.6.tar.gz"))

	// The attacker's repository is valid in itself: an install shipped with
	// the attacker's root takes the malicious release. So what stops the
	// others below is the root check, nothing else.
	victim := e.newInstall(nil)
	victim.start("6.6.6")

	e.srv.ResetLog()
	for _, in := range append(slices.Clone(regulars), stale, ancient) {
		want := "1.3.0"
		if in == ancient {
			want = "1.0.0"
		}
		logStart := in.logSize()
		in.start(want)
		log := in.logSince(logStart)
		if !strings.Contains(log, "update failed") || !strings.Contains(log, "Verifying root failed, not enough signatures") {
			t.Errorf("%s: the refused root is not logged as a root signature failure:\n%s", in.dir, log)
		}
		if slices.Contains(in.installed(), "6.6.6") {
			t.Errorf("%s installed the attacker's release", in.dir)
		}
		// ancient walked the honest chain before it met the attacker's root.
		assertTrusts(t, in, rotated)
	}
	if got := e.srv.Fetched("/targets/"); len(got) != 0 {
		t.Errorf("launchers that refused the root downloaded %v", got)
	}

	// The publisher puts the honest repository back and releases again:
	// the launchers that refused the attack are not stuck.
	if err := os.RemoveAll(filepath.Join(e.work, "repository")); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(e.work, "repository"), os.DirFS(backup)); err != nil {
		t.Fatal(err)
	}
	e.publish("1.4.0", small)
	for _, in := range append(slices.Clone(regulars), stale, ancient) {
		in.start("1.4.0")
		assertTrusts(t, in, rotated)
	}
}

// assertTrusts requires the install's launcher to trust exactly root: same
// version, same root and timestamp keys and thresholds.
func assertTrusts(t *testing.T, in *install, want rootInfo) {
	t.Helper()
	got := in.trustedRoot()
	if got.Version != want.Version {
		t.Fatalf("%s trusts root v%d, want v%d", in.dir, got.Version, want.Version)
	}
	for _, role := range []string{"root", "timestamp"} {
		g, w := got.Roles[role], want.Roles[role]
		if g.Threshold != w.Threshold || !slices.Equal(g.KeyIDs, w.KeyIDs) {
			t.Fatalf("%s trusts %s keys %v (threshold %d), want %v (threshold %d)", in.dir, role, g.KeyIDs, g.Threshold, w.KeyIDs, w.Threshold)
		}
	}
}

func countIn(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func copyFileAs(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
