package e2e

// The attacks of the TUF specification, each against the real launcher
// binary and a real misbehaving server on 127.0.0.1. Each attack must end
// the same way: the update is refused, launcher.log names the cause,
// versions/ and the current pointer are unchanged, and the installed app
// starts as before. Where the attacker offers something installable, it is
// a working release (malware), so a missing defence shows as an installed
// app, not as an unrelated error. docs/threat-model.md maps these tests to
// the threats.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufup-go/tufup/internal/sandbox"
	"github.com/tufup-go/tufup/patch"
)

// threeReleases publishes 1.0.0, 1.1.0 and 1.2.0 (with patches) and keeps
// the repository's metadata after each.
func threeReleases(t *testing.T) (s *secEnv, s1, s2, s3 repoState) {
	s = newSecEnv(t)
	s.publish("1.0.0", sandbox.BundleOptions{})
	s1 = s.saveState()
	s.publish("1.1.0", sandbox.BundleOptions{})
	s2 = s.saveState()
	s.publish("1.2.0", sandbox.BundleOptions{})
	s3 = s.saveState()
	return s, s1, s2, s3
}

// with returns a copy of st with some files replaced.
func (st repoState) with(files map[string][]byte) repoState {
	out := maps.Clone(st)
	maps.Copy(out, files)
	return out
}

// Arbitrary installation: the server answers the signed archive's name with
// a working release of its own, exactly as long as the signed one.
func TestSecurityArbitraryInstallation(t *testing.T) {
	s := newSecEnv(t)
	s.publish("1.0.0", sandbox.BundleOptions{})
	in := s.newInstall(nil)
	in.start("1.0.0")
	// No patch: the launcher downloads the full archive.
	bundle := s.publish("1.1.0", sandbox.BundleOptions{}, "--skip-patch")
	const name = "sampleapp-1.1.0.tar.gz"
	real, err := os.ReadFile(filepath.Join(s.targetsDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	evil := s.malwareOfLength("1.1.0", int64(len(real)))
	// The substitute is a real, installable release: only the signed hash
	// stands between it and versions/.
	extracted := filepath.Join(t.TempDir(), "evil")
	tarPath := filepath.Join(t.TempDir(), "evil.tar")
	os.WriteFile(tarPath+".gz", evil, 0o644)
	if _, err := patch.Gunzip(context.Background(), tarPath+".gz", tarPath, 1<<30); err != nil {
		t.Fatal(err)
	}
	if err := patch.ExtractFile(context.Background(), tarPath, extracted); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(extracted, "MALWARE")); err != nil {
		t.Fatal(err)
	}

	s.serveFiles(map[string][]byte{"/targets/" + name: evil})
	in.refused("1.0.0", name, "sha256 is")
	if got := s.srv.Fetched("/targets/"); !slices.Contains(got, name) {
		t.Fatalf("the launcher never fetched the substituted archive (fetched %v): the attack did not run", got)
	}
	assertNoDownloads(t, in)

	s.honest()
	in.start("1.1.0")
	assertSameTree(t, bundle, filepath.Join(in.dir, "versions", "1.1.0"))
}

// assertNoDownloads requires that nothing downloaded stays behind.
func assertNoDownloads(t *testing.T, in *install) {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(in.dir, ".tufup", "downloads"))
	for _, e := range entries {
		t.Errorf("refused bytes kept in .tufup/downloads/%s", e.Name())
	}
}

// Wrong target bytes: one byte of the signed patch is changed in transit.
func TestSecurityWrongTargetBytes(t *testing.T) {
	s := newSecEnv(t)
	s.publish("1.0.0", sandbox.BundleOptions{})
	in := s.newInstall(nil)
	in.start("1.0.0")
	s.publish("1.1.0", sandbox.BundleOptions{})
	const name = "sampleapp-1.1.0.patch"
	data, err := os.ReadFile(filepath.Join(s.targetsDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(data)
	tampered[len(tampered)/2] ^= 0x01
	// A patch the server gets wrong makes the launcher fall back to the
	// full archive, so the attacker tampers with that too.
	archive, err := os.ReadFile(filepath.Join(s.targetsDir(), "sampleapp-1.1.0.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	archive[len(archive)/2] ^= 0x01
	s.serveFiles(map[string][]byte{"/targets/" + name: tampered, "/targets/sampleapp-1.1.0.tar.gz": archive})
	in.refused("1.0.0", name, "sha256 is")
	if !strings.Contains(in.log(), "downloading the full archive") {
		t.Fatalf("the refused patch did not lead to the archive:\n%s", in.log())
	}
	assertNoDownloads(t, in)

	// The refusal leaves nothing behind that stops the honest update, by
	// patch as before.
	s.honest()
	s.srv.ResetLog()
	in.start("1.1.0")
	if got := s.srv.Fetched("/targets/"); !slices.Equal(got, []string{name}) {
		t.Fatalf("honest update fetched %v, want the patch alone", got)
	}
}

// Endless data: metadata and targets that never end, with no length, a
// huge one, or a short one that the bytes then overrun. The launcher must
// stop reading near the limit (go-tuf's metadata limits, the signed target
// length), not when the server gives up.
func TestSecurityEndlessData(t *testing.T) {
	s := newSecEnv(t)
	s.publish("1.0.0", sandbox.BundleOptions{})
	s1 := s.saveState()
	s.publish("1.1.0", sandbox.BundleOptions{})
	patchBytes, err := os.ReadFile(filepath.Join(s.targetsDir(), "sampleapp-1.1.0.patch"))
	if err != nil {
		t.Fatal(err)
	}
	archiveBytes, err := os.ReadFile(filepath.Join(s.targetsDir(), "sampleapp-1.1.0.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	// A patch the server gets wrong makes the launcher fall back to the
	// full archive, so for the patch cases the archive misbehaves alike.
	const archivePath = "/targets/sampleapp-1.1.0.tar.gz"
	archiveAlike := map[string]struct {
		head   string
		prefix []byte
	}{
		"patch without length":                {"", archiveBytes},
		"patch with a huge length":            {"Content-Length: 1000000000000\r\n", archiveBytes},
		"patch overrunning its signed length": {fmt.Sprintf("Content-Length: %d\r\n", len(archiveBytes)), nil},
	}
	raw := newRawServer(t, s.srv.URL)
	cfg := map[string]any{"metadata_url": raw.URL + "/metadata/", "targets_url": raw.URL + "/targets/"}

	const giveUp = 256 << 20 // where the server stops by itself
	const bound = 64 << 20   // socket buffers may take a few MiB more than read
	for _, tc := range []struct {
		name, path, head string
		prefix           []byte
		cause            string
	}{
		{"timestamp without length", "/metadata/timestamp.json", "", nil, "more than the limit of"},
		{"timestamp with a huge length", "/metadata/timestamp.json", "Content-Length: 1000000000000\r\n", nil, "server announces 1000000000000 bytes"},
		{"timestamp overrunning a short length", "/metadata/timestamp.json", "Content-Length: 100\r\n", nil, "looking for beginning of value"},
		{"targets metadata without length", "/metadata/targets.json", "", nil, "more than the limit of"},
		{"patch without length", "/targets/sampleapp-1.1.0.patch", "", patchBytes, "more than the signed length"},
		{"patch with a huge length", "/targets/sampleapp-1.1.0.patch", "Content-Length: 1000000000000\r\n", patchBytes, "the signed length is"},
		{"patch overrunning its signed length", "/targets/sampleapp-1.1.0.patch", fmt.Sprintf("Content-Length: %d\r\n", len(patchBytes)), nil, "sha256 is"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := s.installAt(t, s1, "1.0.0", cfg)
			raw.wait(t)
			raw.sent.Store(0)
			raw.on(tc.path, raw.endless(tc.head, tc.prefix, giveUp))
			defer raw.on(tc.path, nil)
			if a, ok := archiveAlike[tc.name]; ok {
				raw.on(archivePath, raw.endless(a.head, a.prefix, giveUp))
				defer raw.on(archivePath, nil)
			}
			// Checked even when refused fails, since reading on may also
			// change the error the launcher ends with.
			defer func() {
				raw.wait(t)
				sent := raw.sent.Load()
				t.Logf("the server sent %d KiB before the launcher stopped", sent>>10)
				if sent == 0 {
					t.Error("the hostile answer was never requested: the attack did not run")
				}
				if sent > bound {
					t.Errorf("the server sent %d MiB: the launcher kept reading", sent>>20)
				}
			}()
			in.refused("1.0.0", tc.cause)
		})
	}
}

// Slow retrieval: a server that sends a byte a second is given up on by the
// idle timeout (metadata also by check_timeout), and the app starts.
func TestSecuritySlowRetrieval(t *testing.T) {
	s := newSecEnv(t)
	s.publish("1.0.0", sandbox.BundleOptions{})
	s1 := s.saveState()
	s.publish("1.1.0", sandbox.BundleOptions{})
	cfg := map[string]any{"check_timeout": "3s", "idle_timeout": "1s"}
	for _, path := range []string{"/metadata/timestamp.json", "/targets/sampleapp-1.1.0.patch"} {
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			in := s.installAt(t, s1, "1.0.0", cfg)
			body, err := os.ReadFile(filepath.Join(s.work, "repository", filepath.FromSlash(path)))
			if err != nil {
				t.Fatal(err)
			}
			var sent atomic.Int64
			slow := trickle(body, &sent)
			s.intercept(func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != path {
					return false
				}
				slow(w, r)
				return true
			})
			defer s.honest()
			log := in.refused("1.0.0")
			if !strings.Contains(log, "stalled") && !strings.Contains(log, "deadline exceeded") {
				t.Fatalf("launcher.log does not name a timeout:\n%s", log)
			}
			if n := sent.Load(); n == 0 || n >= int64(len(body)) {
				t.Fatalf("the server trickled %d of %d bytes: the attack did not run, or was waited out", n, len(body))
			}
		})
	}
}

// Rollback: the client has seen the repository's second state (1.1.0
// installed); the attacker answers with metadata older than that, signed
// with whatever keys the attack assumes.
func TestSecurityRollback(t *testing.T) {
	s, s1, s2, s3 := threeReleases(t)
	v := func(st repoState, role string) int64 { return roleVersion(t, st[role+".json"]) }
	fresh := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Second)
	tsKey, snapKey := s.key("timestamp"), s.key("snapshot")
	for _, tc := range []struct {
		name   string
		attack func() repoState
		cause  string
		// stolenTimestampKey: the client rightly accepts the attacker's
		// timestamp, newer than the repository's, and stays on it until
		// the repository overtakes it or rotates the key (see
		// TestSecurityTimestampKeyCompromise).
		stolenTimestampKey bool
	}{
		{
			// A server or network attacker replays the first state whole.
			"timestamp", func() repoState { return s1 },
			fmt.Sprintf("new timestamp version %d must be >= %d", v(s1, "timestamp"), v(s2, "timestamp")),
			false,
		},
		{
			// With the timestamp key: a fresh timestamp naming the old snapshot.
			"snapshot", func() repoState {
				ts := forgeTimestamp(t, s3["timestamp.json"], v(s3, "timestamp")+1, v(s1, "snapshot"), fresh, tsKey)
				return s1.with(map[string][]byte{"timestamp.json": ts})
			},
			fmt.Sprintf("new snapshot version %d must be >= %d", v(s1, "snapshot"), v(s2, "snapshot")),
			false, // the forged timestamp is refused too
		},
		{
			// With the timestamp and snapshot keys: fresh ones naming the old targets.
			"targets", func() repoState {
				snap := parseRole[metadata.SnapshotType](t, s1["snapshot.json"])
				snap.Signed.Version = v(s3, "snapshot") + 1
				snap.Signed.Expires = fresh
				ts := forgeTimestamp(t, s3["timestamp.json"], v(s3, "timestamp")+1, snap.Signed.Version, fresh, tsKey)
				return s1.with(map[string][]byte{"timestamp.json": ts, "snapshot.json": signRole(t, snap, snapKey)})
			},
			fmt.Sprintf("expected targets.json version %d, got %d", v(s1, "targets"), v(s2, "targets")),
			true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := s.installAt(t, s2, "1.1.0", nil)
			seen := map[string]int64{}
			for _, role := range []string{"timestamp", "snapshot", "targets"} {
				seen[role] = in.cachedVersion(role)
			}
			s.serveState(tc.attack())
			in.refused("1.1.0", tc.cause)
			for role, was := range seen {
				now := in.cachedVersion(role)
				if now < was || (now != was && !(role == "timestamp" && tc.stolenTimestampKey)) {
					t.Errorf("cached %s metadata went from version %d to %d", role, was, now)
				}
			}
			s.honest()
			if !tc.stolenTimestampKey {
				in.start("1.2.0")
			}
		})
	}
}

// Indefinite freeze: the attacker replays metadata that has expired since,
// so the client would never hear of newer releases.
func TestSecurityFreeze(t *testing.T) {
	s, s1, s2, s3 := threeReleases(t)
	v := func(st repoState, role string) int64 { return roleVersion(t, st[role+".json"]) }
	past := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	fresh := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Second)
	keys := map[string]ed25519.PrivateKey{}
	for _, role := range []string{"timestamp", "snapshot", "targets"} {
		keys[role] = s.key(role)
	}
	expired := func(role string, st repoState) []byte {
		switch role {
		case "snapshot":
			m := parseRole[metadata.SnapshotType](t, st["snapshot.json"])
			m.Signed.Expires = past
			return signRole(t, m, keys[role])
		case "targets":
			m := parseRole[metadata.TargetsType](t, st["targets.json"])
			m.Signed.Expires = past
			return signRole(t, m, keys[role])
		}
		m := parseRole[metadata.TimestampType](t, st["timestamp.json"])
		m.Signed.Expires = past
		return signRole(t, m, keys[role])
	}
	for _, tc := range []struct {
		name   string
		attack func() repoState
		cause  string
		// stolenTimestampKey: see TestSecurityRollback.
		stolenTimestampKey bool
	}{
		{
			// The second state as the repository signed it then, its
			// timestamp expired by now (the period is a day).
			"timestamp", func() repoState {
				return s2.with(map[string][]byte{"timestamp.json": expired("timestamp", s2)})
			},
			"timestamp.json is expired", false,
		},
		{
			// With the timestamp key, fresh timestamps over an expired snapshot.
			"snapshot", func() repoState {
				ts := forgeTimestamp(t, s3["timestamp.json"], v(s3, "timestamp")+1, v(s2, "snapshot"), fresh, keys["timestamp"])
				return s2.with(map[string][]byte{"timestamp.json": ts, "snapshot.json": expired("snapshot", s2)})
			},
			"snapshot.json is expired", true,
		},
		{
			// With the timestamp and snapshot keys, over expired targets.
			"targets", func() repoState {
				return s2.with(map[string][]byte{"targets.json": expired("targets", s2)})
			},
			"new targets is expired", false,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := s.installAt(t, s1, "1.0.0", nil)
			s.serveState(tc.attack())
			in.refused("1.0.0", tc.cause)
			s.honest()
			if !tc.stolenTimestampKey {
				in.start("1.2.0")
			}
		})
	}
}

// Mix and match: each file is as new as or newer than what the client has
// seen, but they come from different states of the repository.
func TestSecurityMixAndMatch(t *testing.T) {
	s, s1, s2, s3 := threeReleases(t)
	v := func(st repoState, role string) int64 { return roleVersion(t, st[role+".json"]) }
	mix := func(ts, snap, targets repoState) repoState {
		return s3.with(map[string][]byte{
			"timestamp.json": ts["timestamp.json"], "snapshot.json": snap["snapshot.json"], "targets.json": targets["targets.json"],
		})
	}
	for _, tc := range []struct {
		name  string
		state repoState
		cause string
	}{
		{"new timestamp, older snapshot and targets", mix(s3, s2, s2), fmt.Sprintf("expected %d, got %d", v(s3, "snapshot"), v(s2, "snapshot"))},
		{"new timestamp and snapshot, older targets", mix(s3, s3, s2), fmt.Sprintf("expected targets version %d, got %d", v(s3, "targets"), v(s2, "targets"))},
		{"older timestamp, newer snapshot and targets", mix(s2, s3, s3), fmt.Sprintf("expected %d, got %d", v(s2, "snapshot"), v(s3, "snapshot"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := s.installAt(t, s1, "1.0.0", nil)
			s.serveState(tc.state)
			in.refused("1.0.0", tc.cause)
			s.honest()
			in.start("1.2.0")
		})
	}
}

// Signatures: metadata listing a malicious release, signed below the
// threshold or by keys the root does not trust.
func TestSecuritySignatures(t *testing.T) {
	s := newSecEnv(t)
	// Targets needs two signatures of two keys.
	s.repo("keys", "create", "targets2")
	s.repo("keys", "add", "targets", "targets2")
	s.repo("threshold", "targets", "2")
	s.publish("1.0.0", sandbox.BundleOptions{})
	s1 := s.saveState()
	s.publish("1.1.0", sandbox.BundleOptions{})
	s2 := s.saveState()
	v := func(role string) int64 { return roleVersion(t, s2[role+".json"]) }

	evilName, evil := s.malware("6.6.6")
	evilTargets := func() *metadata.Metadata[metadata.TargetsType] {
		m := parseRole[metadata.TargetsType](t, s2["targets.json"])
		addTarget(m, evilName, evil)
		return m
	}
	stranger, stranger2 := attackerKey(t), attackerKey(t)
	targetsKey, targets2Key := s.key("targets"), s.key("targets2")
	for _, tc := range []struct {
		name   string
		attack func() repoState
		cause  string
	}{
		{
			// One of the two targets keys was stolen.
			"targets below threshold", func() repoState {
				return s2.with(map[string][]byte{"targets.json": signRole(t, evilTargets(), targetsKey)})
			},
			"Verifying targets failed, not enough signatures, got 1, want 2",
		},
		{
			"targets by unknown keys", func() repoState {
				return s2.with(map[string][]byte{"targets.json": signRole(t, evilTargets(), stranger, stranger2)})
			},
			"Verifying targets failed, not enough signatures, got 0, want 2",
		},
		{
			// Signatures by another key under the ids of the trusted keys.
			"targets under trusted key ids", func() repoState {
				m := evilTargets()
				signRole(t, m, stranger, stranger2)
				for i, id := range []string{keyIDOf(targetsKey), keyIDOf(targets2Key)} {
					m.Signatures[i].KeyID = id
				}
				return s2.with(map[string][]byte{"targets.json": marshal(t, m)})
			},
			"Verifying targets failed, not enough signatures, got 0, want 2",
		},
		{
			"snapshot by an unknown key", func() repoState {
				targets := evilTargets()
				targets.Signed.Version = v("targets") + 1
				snap := parseRole[metadata.SnapshotType](t, s2["snapshot.json"])
				snap.Signed.Meta["targets.json"].Version = targets.Signed.Version
				return s2.with(map[string][]byte{
					"snapshot.json": signRole(t, snap, stranger),
					"targets.json":  signRole(t, targets, stranger, stranger2),
				})
			},
			"Verifying snapshot failed, not enough signatures, got 0, want 1",
		},
		{
			"timestamp by an unknown key", func() repoState {
				ts := forgeTimestamp(t, s2["timestamp.json"], v("timestamp")+1, v("snapshot"), time.Now().Add(24*time.Hour), stranger)
				return s2.with(map[string][]byte{"timestamp.json": ts})
			},
			"Verifying timestamp failed, not enough signatures, got 0, want 1",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := s.installAt(t, s1, "1.0.0", nil)
			s.serveState(tc.attack())
			s.serveFiles(map[string][]byte{"/targets/" + evilName: evil})
			in.refused("1.0.0", tc.cause)
			s.honest()
			in.start("1.1.0")
		})
	}
}

func keyIDOf(k ed25519.PrivateKey) string {
	id, _ := tufKey(k)
	return id
}

func marshal[T metadata.Roles](t *testing.T, m *metadata.Metadata[T]) []byte {
	t.Helper()
	data, err := m.ToBytes(false)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Root rotation: an install that shipped root v1 follows the N.root.json
// chain through rotated root, targets and timestamp keys and updates; the
// revoked targets key no longer counts.
func TestSecurityRootRotation(t *testing.T) {
	s := newSecEnv(t)
	s.publish("1.0.0", sandbox.BundleOptions{})
	in := s.newInstall(nil)
	in.start("1.0.0")
	if got := in.cachedVersion("root"); got != 1 {
		t.Fatalf("install starts from root v%d, want 1", got)
	}
	oldTargetsKey := s.key("targets")

	for _, rot := range [][2]string{{"targets", "targets-b"}, {"root", "root-b"}, {"timestamp", "timestamp-b"}} {
		s.repo("keys", "create", rot[1])
		s.repo("keys", "replace", rot[0], rot[1])
	}
	s.publish("1.1.0", sandbox.BundleOptions{})
	rootV := roleVersion(t, s.saveState()["root.json"])
	if rootV < 4 {
		t.Fatalf("three rotations made root v%d, want at least v4", rootV)
	}
	s.srv.ResetLog()
	in.start("1.1.0")
	if got := in.cachedVersion("root"); got != rootV {
		t.Fatalf("the launcher trusts root v%d, want v%d", got, rootV)
	}
	fetched := s.srv.Fetched("/metadata/")
	for n := int64(2); n <= rootV; n++ {
		if !slices.Contains(fetched, fmt.Sprintf("%d.root.json", n)) {
			t.Fatalf("the launcher did not follow the chain through %d.root.json (fetched %v)", n, fetched)
		}
	}

	// The revoked targets key signs a targets file listing malware, in
	// place of the next honest one.
	evilName, evil := s.malware("6.6.6")
	s.publish("1.2.0", sandbox.BundleOptions{})
	st := s.saveState()
	targets := parseRole[metadata.TargetsType](t, st["targets.json"])
	addTarget(targets, evilName, evil)
	s.serveState(st.with(map[string][]byte{"targets.json": signRole(t, targets, oldTargetsKey)}))
	s.serveFiles(map[string][]byte{"/targets/" + evilName: evil})
	in.refused("1.1.0", "Verifying targets failed, not enough signatures, got 0, want 1")
	s.honest()
	in.start("1.2.0")
}

// A new root that the trusted root's keys did not sign is refused, with
// everything it would bring: here keys of the attacker's for every role,
// and metadata they signed listing malware.
func TestSecurityRootNotSignedByTrustedKeys(t *testing.T) {
	s := newSecEnv(t)
	s.publish("1.0.0", sandbox.BundleOptions{})
	in := s.newInstall(nil)
	in.start("1.0.0")
	s.publish("1.1.0", sandbox.BundleOptions{})
	st := s.saveState()

	attacker := attackerKey(t)
	id, key := tufKey(attacker)
	root := parseRole[metadata.RootType](t, st["root.json"])
	root.Signed.Version++
	root.Signed.Keys[id] = key
	for _, role := range root.Signed.Roles {
		role.KeyIDs = []string{id}
		role.Threshold = 1
	}
	evilName, evil := s.malware("6.6.6")
	targets := parseRole[metadata.TargetsType](t, st["targets.json"])
	targets.Signed.Version++
	addTarget(targets, evilName, evil)
	snap := parseRole[metadata.SnapshotType](t, st["snapshot.json"])
	snap.Signed.Version++
	snap.Signed.Meta["targets.json"].Version = targets.Signed.Version
	ts := forgeTimestamp(t, st["timestamp.json"], roleVersion(t, st["timestamp.json"])+1, snap.Signed.Version,
		time.Now().UTC().Add(24*time.Hour).Truncate(time.Second), attacker)
	newRoot := signRole(t, root, attacker)
	s.serveState(st.with(map[string][]byte{
		fmt.Sprintf("%d.root.json", root.Signed.Version): newRoot,
		"root.json":      newRoot,
		"timestamp.json": ts,
		"snapshot.json":  signRole(t, snap, attacker),
		"targets.json":   signRole(t, targets, attacker),
	}))
	s.serveFiles(map[string][]byte{"/targets/" + evilName: evil})
	in.refused("1.0.0", "Verifying root failed, not enough signatures, got 0, want 1")
	if got := in.cachedVersion("root"); got != 1 {
		t.Fatalf("cached root went from v1 to v%d", got)
	}
	s.honest()
	in.start("1.1.0")
}

// A stolen timestamp key lets an attacker freeze clients on what they
// have (until the snapshot they have expires) by signing a timestamp far
// ahead of the repository's; clients then refuse the honest timestamp as a
// rollback. Rotating the timestamp key ends it: the new root no longer
// verifies the cached timestamp, so the client takes the repository's.
func TestSecurityTimestampKeyCompromise(t *testing.T) {
	s := newSecEnv(t)
	s.publish("1.0.0", sandbox.BundleOptions{})
	s1 := s.saveState()
	in := s.newInstall(nil)
	in.start("1.0.0")
	s.publish("1.1.0", sandbox.BundleOptions{})

	const ahead = 1 << 40
	ts := forgeTimestamp(t, s1["timestamp.json"], ahead, roleVersion(t, s1["snapshot.json"]),
		time.Now().UTC().AddDate(10, 0, 0).Truncate(time.Second), s.key("timestamp"))
	s.serveFiles(map[string][]byte{"/metadata/timestamp.json": ts})
	in.start("1.0.0")
	if got := in.cachedVersion("timestamp"); got != ahead {
		t.Fatalf("cached timestamp is v%d; the attacker's v%d, validly signed, should have been taken", got, ahead)
	}
	s.honest()
	in.refused("1.0.0", fmt.Sprintf("must be >= %d", ahead))

	s.repo("keys", "create", "timestamp-b")
	s.repo("keys", "replace", "timestamp", "timestamp-b")
	in.start("1.1.0")
	if got := in.cachedVersion("timestamp"); got >= ahead {
		t.Fatalf("cached timestamp is still the attacker's v%d", got)
	}
}

// No downgrade: a repository (signed by its real keys) that lists only
// releases older than the installed one installs nothing.
func TestSecurityNoDowngrade(t *testing.T) {
	s := newSecEnv(t)
	s.publish("1.0.0", sandbox.BundleOptions{})
	s.publish("1.1.0", sandbox.BundleOptions{})
	in := s.newInstall(nil)
	in.start("1.1.0")
	s.repo("remove-latest")
	seen := in.cachedVersion("targets")

	before := in.versionsTree()
	logged := len(in.log())
	s.srv.ResetLog()
	in.start("1.1.0")
	log := in.log()[logged:]
	if !strings.Contains(log, "up to date") {
		t.Fatalf("launcher.log does not say the install is up to date:\n%s", log)
	}
	if got := in.cachedVersion("targets"); got <= seen {
		t.Fatalf("cached targets metadata is v%d, was v%d: the launcher never saw the repository listing only 1.0.0", got, seen)
	}
	if got := s.srv.Fetched("/targets/"); len(got) != 0 {
		t.Fatalf("the launcher downloaded %v", got)
	}
	if after := in.versionsTree(); !maps.Equal(before, after) {
		t.Fatalf("versions/ changed:\nbefore %v\nafter  %v", before, after)
	}
}
