package repo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufup-go/tufup/patch"
)

func TestInitPublishesVersionOneOfEveryRole(t *testing.T) {
	var out bytes.Buffer
	r := initRepo(t, Options{Out: &out}, nil)
	meta := r.MetadataDir()
	root := readFile(t, filepath.Join(meta, "1.root.json"))
	if !bytes.Equal(root, readFile(t, filepath.Join(meta, "root.json"))) {
		t.Error("root.json differs from 1.root.json")
	}
	targets := mustClientView(t, meta, root)
	if targets.Signed.Version != 1 || len(targets.Signed.Targets) != 0 {
		t.Errorf("targets v%d with %d targets", targets.Signed.Version, len(targets.Signed.Targets))
	}
	_, rootMeta, _ := clientView(meta, root, time.Now())
	if rootMeta.Signed.ConsistentSnapshot {
		t.Error("consistent_snapshot is true")
	}
	// python-tuf's layout: indent 1, sorted keys, no trailing newline.
	for _, name := range []string{"root.json", "targets.json", "snapshot.json", "timestamp.json"} {
		data := readFile(t, filepath.Join(meta, name))
		if !bytes.HasPrefix(data, []byte("{\n \"signatures\": [\n  {\n   \"keyid\"")) || bytes.HasSuffix(data, []byte("\n")) {
			t.Errorf("%s is not in python-tuf's layout:\n%s", name, data)
		}
	}
	// Snapshot and timestamp meta hold only the version.
	for _, name := range []string{"snapshot.json", "timestamp.json"} {
		if bytes.Contains(readFile(t, filepath.Join(meta, name)), []byte("hashes")) {
			t.Errorf("%s lists hashes", name)
		}
	}
	// Expiry per tufup's defaults.
	now := time.Now()
	st, err := r.Status()
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range st.Roles {
		days := DefaultConfig("x").ExpirationDays[rs.Role]
		want := now.Add(time.Duration(days * 24 * float64(time.Hour)))
		if d := rs.Expires.Sub(want); d > time.Minute || d < -time.Minute {
			t.Errorf("%s expires %v, want about %v", rs.Role, rs.Expires, want)
		}
	}
	entries, _ := os.ReadDir(r.TargetsDir())
	if len(entries) != 0 {
		t.Errorf("targets/ not empty: %v", entries)
	}
	if _, err := Init(r.dir, DefaultConfig("demoapp"), Options{}); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Errorf("second init: %v", err)
	}
	containsAll(t, out.String(), "created key", "keystore/root", "1.root.json", "timestamp v1", ConfigFile)
}

func TestInitAddsKeysForThresholds(t *testing.T) {
	r := initRepo(t, Options{}, func(c *Config) { c.Thresholds[RoleRoot] = 3 })
	if got := r.Config().KeyMap[RoleRoot]; !slices.Equal(got, []string{"root", "root-2", "root-3"}) {
		t.Errorf("root keys %v", got)
	}
	root := readFile(t, filepath.Join(r.MetadataDir(), "root.json"))
	_, m, err := clientView(r.MetadataDir(), root, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if ids, th := roleKeys(&m.Signed, RoleRoot); len(ids) != 3 || th != 3 {
		t.Errorf("root role: %d keys, threshold %d", len(ids), th)
	}
}

// customOf decodes a target's custom metadata.
func customOf(t testing.TB, tf *metadata.TargetFiles) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(*tf.Custom, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAddThreeReleases(t *testing.T) {
	r := initRepo(t, Options{}, nil)
	ctx := context.Background()
	if err := r.Add(ctx, "1.0.0", bundle("1.0.0"), AddOptions{Meta: json.RawMessage(`{"changes": ["first"]}`)}); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(ctx, "1.1.0", bundle("1.1.0"), AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(ctx, "1.2.0", bundle("1.2.0"), AddOptions{Required: true, Meta: json.RawMessage(`{"changes": ["caf\u00e9 \ud83d\ude00"]}`)}); err != nil {
		t.Fatal(err)
	}
	root := readFile(t, filepath.Join(r.MetadataDir(), "1.root.json"))
	targets := mustClientView(t, r.MetadataDir(), root)
	names := make([]string, 0)
	for name := range targets.Signed.Targets {
		names = append(names, name)
	}
	slices.Sort(names)
	want := []string{"demoapp-1.0.0.tar.gz", "demoapp-1.1.0.patch", "demoapp-1.1.0.tar.gz", "demoapp-1.2.0.patch", "demoapp-1.2.0.tar.gz"}
	if !slices.Equal(names, want) {
		t.Fatalf("targets %v, want %v", names, want)
	}
	if targets.Signed.Version != 4 {
		t.Errorf("targets v%d after init and three adds, want 4", targets.Signed.Version)
	}
	// Custom metadata exactly as tufup writes it.
	got, _ := json.Marshal(customOf(t, targets.Signed.Targets["demoapp-1.0.0.tar.gz"]))
	if string(got) != `{"tufup":{"required":false},"user":{"changes":["first"]}}` {
		t.Errorf("1.0.0 custom %s", got)
	}
	got, _ = json.Marshal(customOf(t, targets.Signed.Targets["demoapp-1.1.0.tar.gz"]))
	if string(got) != `{"tufup":{"required":false},"user":null}` {
		t.Errorf("1.1.0 custom %s", got)
	}
	got, _ = json.Marshal(customOf(t, targets.Signed.Targets["demoapp-1.2.0.tar.gz"]))
	if string(got) != `{"tufup":{"required":true},"user":{"changes":["café 😀"]}}` {
		t.Errorf("1.2.0 custom %s", got)
	}
	// Non-ASCII is escaped in the file, as Python's json.dumps does.
	if !bytes.Contains(readFile(t, filepath.Join(r.MetadataDir(), "targets.json")), []byte(`"caf\u00e9 \ud83d\ude00"`)) {
		t.Error("targets.json does not escape non-ASCII as Python does")
	}
	// Each patch turns the previous uncompressed tar into this one's.
	tmp := t.TempDir()
	for i, v := range []string{"1.1.0", "1.2.0"} {
		prev := []string{"1.0.0", "1.1.0"}[i]
		pc := customOf(t, targets.Signed.Targets["demoapp-"+v+".patch"])["tufup"].(map[string]any)
		if pc["tar_hash_algorithm"] != "sha256" || len(pc) != 3 {
			t.Errorf("%s patch custom %v", v, pc)
		}
		base := filepath.Join(tmp, prev+".tar")
		if _, err := patch.Gunzip(ctx, filepath.Join(r.TargetsDir(), "demoapp-"+prev+".tar.gz"), base, maxTarSize); err != nil {
			t.Fatal(err)
		}
		newTar := filepath.Join(tmp, v+".tar")
		info, err := patch.Gunzip(ctx, filepath.Join(r.TargetsDir(), "demoapp-"+v+".tar.gz"), newTar, maxTarSize)
		if err != nil {
			t.Fatal(err)
		}
		if pc["tar_hash"] != info.SHA256 || pc["tar_size"] != float64(info.Size) {
			t.Errorf("%s: patch custom %v, tar is %+v", v, pc, info)
		}
		out := filepath.Join(tmp, v+".out")
		if err := patch.ApplyChain(ctx, base, []string{filepath.Join(r.TargetsDir(), "demoapp-"+v+".patch")}, out, info); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
	mustVerify(t, r, nil)

	// Not newer than the latest: refused, nothing written.
	before := treeDigest(t, r.dir)
	for _, v := range []string{"1.2.0", "1.1.5", "1.2.0rc1", "1.2"} {
		err := r.Add(ctx, v, bundle("1.2.0"), AddOptions{})
		if err == nil || !strings.Contains(err.Error(), "not newer than the latest release 1.2.0") {
			t.Errorf("add %s: %v", v, err)
		}
	}
	if err := r.Add(ctx, "1.3.0", bundle("1.2.0"), AddOptions{Meta: json.RawMessage(`{"rate": 0.5}`)}); err == nil || !strings.Contains(err.Error(), "integer") {
		t.Errorf("float in meta: %v", err)
	}
	if err := r.Add(ctx, "1.3.0", bundle("1.2.0"), AddOptions{Meta: json.RawMessage(`["x"]`)}); err == nil || !strings.Contains(err.Error(), "JSON object") {
		t.Errorf("list meta: %v", err)
	}
	for _, v := range []string{"not a version", " 1.3.0", "1.3.0\n", "1.3/0"} {
		if err := r.Add(ctx, v, bundle("1.2.0"), AddOptions{}); err == nil {
			t.Errorf("version %q accepted", v)
		}
	}
	if err := r.Add(ctx, "1.3.0", filepath.Join(t.TempDir(), "missing"), AddOptions{}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing bundle: %v", err)
	}
	if after := treeDigest(t, r.dir); after != before {
		t.Errorf("refused adds changed files:\n%s\nvs\n%s", before, after)
	}
}

func TestAddPreReleaseAndSkipPatch(t *testing.T) {
	r := initRepo(t, Options{}, nil)
	ctx := context.Background()
	if err := r.Add(ctx, "1.0.0", bundle("1.0.0"), AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(ctx, "2.0.0a1", bundle("2.0.0a1"), AddOptions{SkipPatch: true}); err != nil {
		t.Fatal(err)
	}
	// The patch to 2.0.0 starts from the pre-release, the highest below it.
	if err := r.Add(ctx, "2.0.0", bundle("1.2.0"), AddOptions{}); err != nil {
		t.Fatal(err)
	}
	rels, err := r.Releases()
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 3 || rels[1].Patch != "" || rels[2].Patch == "" {
		t.Fatalf("releases %+v", rels)
	}
	mustVerify(t, r, nil)
}

// A tufup-made repository is taken over: add 2.0.0 with its own config and
// keys; a client holding the fixture's original root.json accepts it, and
// the files tufup clients rely on keep their shape.
func TestTakeOverTufupRepository(t *testing.T) {
	dir := copyFixture(t)
	origRoot := readFile(t, filepath.Join(fixture, "repository", "metadata", "root.json"))
	before := map[string][]byte{}
	for _, name := range []string{"repository/metadata/root.json", "repository/metadata/1.root.json", ConfigFile, "keystore/targets", "keystore/targets.pub"} {
		before[name] = readFile(t, filepath.Join(dir, name))
	}
	r, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := filepath.Join(t.TempDir(), "bundle")
	copyDir(t, bundle("2.0.0a1"), b)
	if err := os.WriteFile(filepath.Join(b, "VERSION"), []byte("2.0.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(context.Background(), "2.0.0", b, AddOptions{Meta: json.RawMessage(`{"changes": ["release 2.0.0"]}`)}); err != nil {
		t.Fatal(err)
	}
	targets := mustClientView(t, filepath.Join(dir, "repository", "metadata"), origRoot)
	if targets.Signed.Version != 6 || len(targets.Signed.Targets) != 9 {
		t.Errorf("targets v%d with %d targets", targets.Signed.Version, len(targets.Signed.Targets))
	}
	for name, data := range before {
		if !bytes.Equal(data, readFile(t, filepath.Join(dir, name))) {
			t.Errorf("%s changed", name)
		}
	}
	// The existing entries are untouched; the new ones have tufup's shape.
	fixtureTargets, err := new(metadata.Metadata[metadata.TargetsType]).FromFile(filepath.Join(fixture, "repository", "metadata", "targets.json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, tf := range fixtureTargets.Signed.Targets {
		if !targets.Signed.Targets[name].Equal(*tf) || string(*targets.Signed.Targets[name].Custom) != string(*tf.Custom) {
			t.Errorf("%s changed", name)
		}
	}
	shape := func(tf *metadata.TargetFiles) string {
		c := customOf(t, tf)
		var keys []string
		for k, v := range c["tufup"].(map[string]any) {
			keys = append(keys, k)
			_ = v
		}
		slices.Sort(keys)
		hashes := []string{}
		for h := range tf.Hashes {
			hashes = append(hashes, h)
		}
		return strings.Join(keys, ",") + "|" + strings.Join(hashes, ",") + "|" + strings.Join(mapKeys(c), ",")
	}
	for _, pair := range [][2]string{{"demoapp-2.0.0.tar.gz", "demoapp-1.2.0.tar.gz"}, {"demoapp-2.0.0.patch", "demoapp-1.2.0.patch"}} {
		if got, want := shape(targets.Signed.Targets[pair[0]]), shape(targets.Signed.Targets[pair[1]]); got != want {
			t.Errorf("%s custom shape %s, tufup's %s", pair[0], got, want)
		}
	}
	for _, name := range []string{"snapshot.json", "timestamp.json"} {
		if bytes.Contains(readFile(t, filepath.Join(dir, "repository", "metadata", name)), []byte("hashes")) {
			t.Errorf("%s lists hashes", name)
		}
	}
	// The patch is from 2.0.0a1's tar (the highest version below), so a
	// 2.0.0a1 install updates by patch.
	mustVerify(t, r, origRoot)
}

func mapKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// A role that cannot reach its threshold is not published, and the error
// names the missing keys; with another key dir it is.
func TestBelowThresholdPublishesNothing(t *testing.T) {
	r := initRepo(t, Options{}, nil)
	if _, err := r.CreateKey("targets2", false); err != nil {
		t.Fatal(err)
	}
	if err := r.AddKey(RoleTargets, "targets2"); err != nil {
		t.Fatal(err)
	}
	if err := r.SetThreshold(RoleTargets, 2); err != nil {
		t.Fatal(err)
	}
	if got := r.Config().Thresholds[RoleTargets]; got != 2 {
		t.Errorf("config threshold %d", got)
	}
	// Move targets2's private key away (it is kept offline).
	offline := t.TempDir()
	if err := os.Rename(filepath.Join(r.KeysDir(), "targets2"), filepath.Join(offline, "targets2")); err != nil {
		t.Fatal(err)
	}
	before := treeDigest(t, r.dir)
	r2, err := Open(r.dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = r2.Add(context.Background(), "1.0.0", bundle("1.0.0"), AddOptions{})
	var te *ThresholdError
	if !errors.As(err, &te) {
		t.Fatalf("got %v, want a ThresholdError", err)
	}
	containsAll(t, err.Error(), "nothing published", "targets has 1 of 2", "targets2 (")
	if len(te.Shortfalls) != 1 || te.Shortfalls[0].Role != RoleTargets {
		t.Errorf("shortfalls %+v", te.Shortfalls)
	}
	if after := treeDigest(t, r.dir); after != before {
		t.Errorf("a refused add changed files:\n%s\nvs\n%s", before, after)
	}
	r3, err := Open(r.dir, Options{KeyDirs: []string{offline}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r3.Add(context.Background(), "1.0.0", bundle("1.0.0"), AddOptions{}); err != nil {
		t.Fatal(err)
	}
	targets := mustClientView(t, r.MetadataDir(), readFile(t, filepath.Join(r.MetadataDir(), "1.root.json")))
	if len(targets.Signatures) != 2 {
		t.Errorf("%d signatures", len(targets.Signatures))
	}
}

// Wrong password: a clear error, and nothing is written.
func TestWrongPasswordWritesNothing(t *testing.T) {
	pw := &fixedPassword{pw: "right"}
	r := initRepo(t, Options{Password: pw.get, NewPassword: func(string) ([]byte, error) { return []byte("right"), nil }},
		func(c *Config) { c.EncryptedKeys = []string{"targets"} })
	if !isEncryptedKey(readFile(t, filepath.Join(r.KeysDir(), "targets"))) {
		t.Fatal("targets key not encrypted")
	}
	before := treeDigest(t, r.dir)
	wrong, err := Open(r.dir, Options{Password: (&fixedPassword{pw: "wrong"}).get})
	if err != nil {
		t.Fatal(err)
	}
	err = wrong.Add(context.Background(), "1.0.0", bundle("1.0.0"), AddOptions{})
	if !errors.Is(err, ErrWrongPassword) || !strings.Contains(err.Error(), filepath.Join(r.KeysDir(), "targets")) {
		t.Fatalf("got %v", err)
	}
	if after := treeDigest(t, r.dir); after != before {
		t.Errorf("files changed:\n%s\nvs\n%s", before, after)
	}
	right, err := Open(r.dir, Options{Password: pw.get})
	if err != nil {
		t.Fatal(err)
	}
	if err := right.Add(context.Background(), "1.0.0", bundle("1.0.0"), AddOptions{}); err != nil {
		t.Fatal(err)
	}
	mustVerify(t, right, nil)
}

// Installed clients holding the first root follow rotations of the
// timestamp key and of the root key (to threshold 2 of 3).
func TestKeyRotationKeepsClientsUpdating(t *testing.T) {
	r := initRepo(t, Options{}, nil)
	ctx := context.Background()
	meta := r.MetadataDir()
	v1 := readFile(t, filepath.Join(meta, "1.root.json"))
	if err := r.Add(ctx, "1.0.0", bundle("1.0.0"), AddOptions{}); err != nil {
		t.Fatal(err)
	}
	// Timestamp key rotation.
	if _, err := r.CreateKey("timestamp2", false); err != nil {
		t.Fatal(err)
	}
	if err := r.ReplaceKey("timestamp", "timestamp2"); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(ctx, "1.1.0", bundle("1.1.0"), AddOptions{}); err != nil {
		t.Fatal(err)
	}
	targets, root, err := clientView(meta, v1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if root.Signed.Version != 2 || targets.Signed.Targets["demoapp-1.1.0.tar.gz"] == nil {
		t.Fatalf("after timestamp rotation: root v%d", root.Signed.Version)
	}
	if km := r.Config().KeyMap[RoleTimestamp]; !slices.Equal(km, []string{"timestamp2"}) {
		t.Errorf("key_map timestamp %v", km)
	}
	// Root: 2 of 3, then replace the original root key.
	for _, name := range []string{"root2", "root3", "root4"} {
		if _, err := r.CreateKey(name, false); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []func() error{
		func() error { return r.AddKey(RoleRoot, "root2") },
		func() error { return r.AddKey(RoleRoot, "root3") },
		func() error { return r.SetThreshold(RoleRoot, 2) },
		func() error { return r.ReplaceKey("root", "root4") },
		func() error { return r.Add(ctx, "1.2.0", bundle("1.2.0"), AddOptions{}) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	targets, root, err = clientView(meta, v1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ids, threshold := roleKeys(&root.Signed, RoleRoot)
	if root.Signed.Version != 6 || threshold != 2 || len(ids) != 3 || targets.Signed.Targets["demoapp-1.2.0.tar.gz"] == nil {
		t.Errorf("root v%d threshold %d keys %d", root.Signed.Version, threshold, len(ids))
	}
	oldRoot, _ := ReadPublicKey(filepath.Join(r.KeysDir(), "root.pub"))
	if slices.Contains(ids, oldRoot.ID()) {
		t.Error("old root key still a root key")
	}
	if km := r.Config().KeyMap[RoleRoot]; !slices.Equal(km, []string{"root2", "root3", "root4"}) {
		t.Errorf("key_map root %v", km)
	}
	// Without the old root key, rotating away from it is impossible: the
	// current root's threshold cannot be met.
	mustVerify(t, r, v1)

	// An attacker-style root v7 signed only by keys the current root does
	// not trust is refused by clients and by verify.
	evil, _ := GenerateKey("evil")
	m := root
	m.Signed.Version = 7
	m.Signed.Keys = map[string]*metadata.Key{evil.ID(): evil.tufKey()}
	for _, role := range Roles {
		m.Signed.Roles[role] = &metadata.Role{KeyIDs: []string{evil.ID()}, Threshold: 1}
	}
	f := tufRole[metadata.RootType]{m}
	f.setSignatures(nil)
	payload, _ := f.signedBytes()
	addSignature(f, payload, evil.ID(), evil)
	data, _ := f.marshal()
	if err := os.WriteFile(filepath.Join(meta, "7.root.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := clientView(meta, v1, time.Now()); err == nil {
		t.Error("go-tuf accepted a root not signed by the trusted root keys")
	}
	problems, err := r.Verify(ctx, v1)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) == 0 || !strings.Contains(problems[0].String(), "7.root.json") || !strings.Contains(problems[0].String(), "not signed to threshold by the keys of root v6") {
		t.Errorf("verify: %v", problems)
	}
}

// Offline root signing: the change is written unpublished, signed where
// the key is, and published.
func TestOfflineRootSigning(t *testing.T) {
	r := initRepo(t, Options{}, nil)
	offline := t.TempDir()
	if err := os.Rename(filepath.Join(r.KeysDir(), "root"), filepath.Join(offline, "root")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreateKey("root2", false); err != nil {
		t.Fatal(err)
	}
	before := treeDigest(t, r.RepoDir())
	file := filepath.Join(t.TempDir(), "root-v2.json")
	var out bytes.Buffer
	r2, err := Open(r.dir, Options{Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	// Without --unsigned-out: refused.
	if err := r2.AddKey(RoleRoot, "root2"); err == nil || !strings.Contains(err.Error(), "root (") {
		t.Fatalf("add key without the root key: %v", err)
	}
	r2.opts.UnsignedOut = file
	if err := r2.AddKey(RoleRoot, "root2"); err != nil {
		t.Fatal(err)
	}
	if after := treeDigest(t, r.RepoDir()); after != before {
		t.Error("unsigned-out published something")
	}
	containsAll(t, out.String(), "not published", file, "sign-file")
	// Publishing before it is signed fails, naming the root key.
	r3, _ := Open(r.dir, Options{})
	if err := r3.Publish(file); err == nil || !strings.Contains(err.Error(), "current root v1") {
		t.Fatalf("publish unsigned: %v", err)
	}
	out.Reset()
	if err := SignFile(file, "root", Options{KeyDirs: []string{offline}, Out: &out}); err != nil {
		t.Fatal(err)
	}
	containsAll(t, out.String(), "root v2", "threshold 1", "signed root v2")
	if err := r3.Publish(file); err != nil {
		t.Fatal(err)
	}
	v1 := readFile(t, filepath.Join(r.MetadataDir(), "1.root.json"))
	_, root, err := clientView(r.MetadataDir(), v1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if root.Signed.Version != 2 || len(roleIDs(&root.Signed, RoleRoot)) != 2 {
		t.Errorf("root v%d", root.Signed.Version)
	}
	// A stale file (version not next) is refused.
	if err := r3.Publish(file); err == nil || !strings.Contains(err.Error(), "only v3 can be published") {
		t.Errorf("republish: %v", err)
	}
	mustVerify(t, r3, nil)
}

// A repository whose root key never touches the build machine: init with
// only root.pub, sign root v1 offline, publish.
func TestInitWithOfflineRoot(t *testing.T) {
	offline := t.TempDir()
	k, _ := GenerateKey("root")
	if err := WriteKeyPair(offline, k, nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "keystore"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keystore", "root.pub"), readFile(t, filepath.Join(offline, "root.pub")), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "root-v1.json")
	if _, err := Init(dir, DefaultConfig("demoapp"), Options{}); err == nil {
		t.Fatal("init without the root key published")
	}
	r, err := Init(dir, DefaultConfig("demoapp"), Options{UnsignedOut: file})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r.MetadataDir(), "root.json")); err == nil {
		t.Fatal("root.json published")
	}
	if err := SignFile(file, "root", Options{KeyDirs: []string{offline}}); err != nil {
		t.Fatal(err)
	}
	r, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Publish(file); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(context.Background(), "1.0.0", bundle("1.0.0"), AddOptions{}); err != nil {
		t.Fatal(err)
	}
	mustClientView(t, r.MetadataDir(), readFile(t, file))
	mustVerify(t, r, nil)
}

func TestRolloutAndRemoveLatest(t *testing.T) {
	r := initRepo(t, Options{}, nil)
	ctx := context.Background()
	p := 25
	if err := r.Add(ctx, "1.0.0", bundle("1.0.0"), AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(ctx, "1.1.0", bundle("1.1.0"), AddOptions{Rollout: &p}); err != nil {
		t.Fatal(err)
	}
	custom := func(name string) string {
		targets := mustClientView(t, r.MetadataDir(), readFile(t, filepath.Join(r.MetadataDir(), "1.root.json")))
		var b bytes.Buffer
		if err := json.Compact(&b, *targets.Signed.Targets[name].Custom); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	if got := custom("demoapp-1.1.0.tar.gz"); got != `{"tufup":{"required":false,"rollout_percent":25},"user":null}` {
		t.Errorf("custom %s", got)
	}
	if err := r.SetRollout("1.1.0", 60); err != nil {
		t.Fatal(err)
	}
	rels, _ := r.Releases()
	if rels[1].Rollout != 60 || rels[0].Rollout != 100 {
		t.Errorf("rollouts %d %d", rels[0].Rollout, rels[1].Rollout)
	}
	if err := r.SetRollout("1.1.0", 100); err != nil {
		t.Fatal(err)
	}
	if got := custom("demoapp-1.1.0.tar.gz"); got != `{"tufup":{"required":false},"user":null}` {
		t.Errorf("custom at 100%% %s", got)
	}
	if err := r.SetRollout("9.9", 10); err == nil || !strings.Contains(err.Error(), "no release 9.9") {
		t.Errorf("unknown version: %v", err)
	}
	if err := r.SetRollout("1.1.0", 101); err == nil {
		t.Error("101% accepted")
	}
	if err := r.RemoveLatest(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"demoapp-1.1.0.tar.gz", "demoapp-1.1.0.patch"} {
		if _, err := os.Stat(filepath.Join(r.TargetsDir(), name)); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", name, err)
		}
	}
	rels, _ = r.Releases()
	if len(rels) != 1 || rels[0].Version.String() != "1.0.0" {
		t.Errorf("releases after remove-latest: %+v", rels)
	}
	// The version can be published again.
	if err := r.Add(ctx, "1.1.0", bundle("1.1.0"), AddOptions{}); err != nil {
		t.Fatal(err)
	}
	mustVerify(t, r, nil)
}

func TestSignRefreshesExpiryAndCascades(t *testing.T) {
	now := time.Now()
	clock := now
	r := initRepo(t, Options{Now: func() time.Time { return clock }}, nil)
	clock = now.Add(20 * time.Hour)
	if err := r.Sign(RoleTimestamp, 0); err != nil {
		t.Fatal(err)
	}
	ts := r.cur.timestamp.Signed
	if ts.Version != 2 || !ts.Expires.Equal(expiryIn(clock, 1)) || r.cur.snapshot.Signed.Version != 1 {
		t.Errorf("timestamp v%d expires %v; snapshot v%d", ts.Version, ts.Expires, r.cur.snapshot.Signed.Version)
	}
	if err := r.Sign(RoleTargets, 30); err != nil {
		t.Fatal(err)
	}
	if r.cur.targets.Signed.Version != 2 || !r.cur.targets.Signed.Expires.Equal(expiryIn(clock, 30)) ||
		r.cur.snapshot.Signed.Version != 2 || r.cur.timestamp.Signed.Version != 3 ||
		r.cur.snapshot.Signed.Meta["targets.json"].Version != 2 || r.cur.timestamp.Signed.Meta["snapshot.json"].Version != 2 {
		t.Errorf("after sign targets: targets v%d snapshot v%d timestamp v%d", r.cur.targets.Signed.Version, r.cur.snapshot.Signed.Version, r.cur.timestamp.Signed.Version)
	}
	if err := r.Sign("mirror", 0); err == nil {
		t.Error("unknown role accepted")
	}
	if _, _, err := clientView(r.MetadataDir(), readFile(t, filepath.Join(r.MetadataDir(), "root.json")), clock); err != nil {
		t.Fatal(err)
	}
}

// Two processes never publish at once: the second fails at once, naming
// the lock, and writes nothing.
func TestConcurrentChangeIsRefused(t *testing.T) {
	r := initRepo(t, Options{}, nil)
	other := flock.New(filepath.Join(r.dir, LockFile))
	if ok, err := other.TryLock(); !ok || err != nil {
		t.Fatalf("lock: %v %v", ok, err)
	}
	before := treeDigest(t, r.dir)
	err := r.Sign(RoleTimestamp, 0)
	if err == nil || !strings.Contains(err.Error(), "another tufup-repo is changing this repository") || !strings.Contains(err.Error(), LockFile) {
		t.Errorf("got %v", err)
	}
	if treeDigest(t, r.dir) != before {
		t.Error("files changed")
	}
	other.Unlock()
	if err := r.Sign(RoleTimestamp, 0); err != nil {
		t.Fatal(err)
	}
}

func TestReplaceKeyKeepsThresholdsReachable(t *testing.T) {
	r := initRepo(t, Options{}, func(c *Config) { c.Thresholds[RoleRoot] = 2 })
	before := treeDigest(t, r.dir)
	err := r.ReplaceKey("root", "root-2")
	if err == nil || !strings.Contains(err.Error(), "would leave root with 1 key(s) for a threshold of 2") {
		t.Errorf("got %v", err)
	}
	if err := r.ReplaceKey("nokey", "root"); err == nil || !strings.Contains(err.Error(), "nokey.pub not found") {
		t.Errorf("unknown old key: %v", err)
	}
	if treeDigest(t, r.dir) != before {
		t.Error("files changed")
	}
}

// A run cut off between writing snapshot.json and timestamp.json leaves a
// timestamp pointing at the old snapshot; the next run repairs it.
func TestInterruptedPublishIsRepairedByTheNextRun(t *testing.T) {
	r := initRepo(t, Options{}, nil)
	ts := readFile(t, filepath.Join(r.MetadataDir(), "timestamp.json"))
	if err := r.Add(context.Background(), "1.0.0", bundle("1.0.0"), AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.MetadataDir(), "timestamp.json"), ts, 0o644); err != nil {
		t.Fatal(err)
	}
	root := readFile(t, filepath.Join(r.MetadataDir(), "root.json"))
	if _, _, err := clientView(r.MetadataDir(), root, time.Now()); err == nil {
		t.Fatal("client accepted a timestamp naming an older snapshot")
	}
	r2, err := Open(r.dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.SetRollout("1.0.0", 100); err != nil { // changes nothing in targets
		t.Fatal(err)
	}
	mustClientView(t, r.MetadataDir(), root)
	mustVerify(t, r2, nil)
}
