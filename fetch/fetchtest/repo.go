// Package fetchtest builds small, really signed TUF repositories on disk for
// tests: laid out as tufup serves them (unversioned snapshot and targets
// metadata, plain target names) or, with consistent snapshots, as the TUF
// specification and its conformance suite do (N.snapshot.json,
// N.targets.json, hash-prefixed target files).
package fetchtest

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// Repo is a repository under <Dir>/metadata and <Dir>/targets. Its
// metadata fields may be edited directly; Publish and PublishRoot sign and
// write them.
type Repo struct {
	Dir        string
	Consistent bool

	Root      *metadata.Metadata[metadata.RootType]
	Targets   *metadata.Metadata[metadata.TargetsType]
	Snapshot  *metadata.Metadata[metadata.SnapshotType]
	Timestamp *metadata.Metadata[metadata.TimestampType]

	t         testing.TB
	keys      map[string]ed25519.PrivateKey // current key of each role
	oldRoot   ed25519.PrivateKey            // signs the next root too, after a rotation
	firstRoot []byte
	published bool
}

// New creates and publishes a repository with version 1 of every role, one
// ed25519 key per role, and metadata valid for 30 days.
func New(t testing.TB, consistent bool) *Repo {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"metadata", "targets"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	expires := time.Now().UTC().Add(30 * 24 * time.Hour).Truncate(time.Second)
	r := &Repo{
		Dir:        dir,
		Consistent: consistent,
		Root:       metadata.Root(expires),
		Targets:    metadata.Targets(expires),
		Snapshot:   metadata.Snapshot(expires),
		Timestamp:  metadata.Timestamp(expires),
		t:          t,
		keys:       map[string]ed25519.PrivateKey{},
	}
	r.Root.Signed.ConsistentSnapshot = consistent
	for _, role := range []string{metadata.ROOT, metadata.TARGETS, metadata.SNAPSHOT, metadata.TIMESTAMP} {
		r.setKey(role, newKey(t))
	}
	r.PublishRoot()
	r.firstRoot = r.read("1.root.json")
	r.Publish()
	return r
}

// MetadataDir and TargetsDir are the folders a server publishes.
func (r *Repo) MetadataDir() string { return filepath.Join(r.Dir, "metadata") }
func (r *Repo) TargetsDir() string  { return filepath.Join(r.Dir, "targets") }

// TrustedRoot is version 1 of root.json: what an app ships.
func (r *Repo) TrustedRoot() []byte { return r.firstRoot }

// AddTarget stores data as target name (folders allowed) and lists it in
// the targets metadata with its length and sha256, as tufup does. Call
// Publish to sign the change.
func (r *Repo) AddTarget(name string, data []byte) *metadata.TargetFiles {
	r.t.Helper()
	sum := sha256.Sum256(data)
	dest := r.targetFile(name, hex.EncodeToString(sum[:]))
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(dest, data, 0o644); err != nil {
		r.t.Fatal(err)
	}
	return r.list(name, int64(len(data)), sum[:])
}

// AddTargetFile moves the file at src into the repository as target name,
// hashing it as a stream (for targets too big to hold in memory).
func (r *Repo) AddTargetFile(name, src string) *metadata.TargetFiles {
	r.t.Helper()
	f, err := os.Open(src)
	if err != nil {
		r.t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	f.Close()
	if err != nil {
		r.t.Fatal(err)
	}
	sum := h.Sum(nil)
	dest := r.targetFile(name, hex.EncodeToString(sum))
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Rename(src, dest); err != nil {
		r.t.Fatal(err)
	}
	return r.list(name, n, sum)
}

// TargetPath is where target name's bytes are served from on disk.
func (r *Repo) TargetPath(name string) string {
	tf := r.Targets.Signed.Targets[name]
	if tf == nil {
		r.t.Fatalf("no target %q", name)
	}
	return r.targetFile(name, hex.EncodeToString(tf.Hashes["sha256"]))
}

func (r *Repo) targetFile(name, sha string) string {
	if r.Consistent {
		dir, base := path.Split(name)
		name = dir + sha + "." + base
	}
	return filepath.Join(r.TargetsDir(), filepath.FromSlash(name))
}

func (r *Repo) list(name string, length int64, sha []byte) *metadata.TargetFiles {
	tf := metadata.TargetFile()
	tf.Path = name
	tf.Length = length
	tf.Hashes["sha256"] = sha
	r.Targets.Signed.Targets[name] = tf
	return tf
}

// Publish signs and writes targets, snapshot and timestamp, each with its
// version bumped (except the very first time), the way tufup publishes.
func (r *Repo) Publish() {
	r.t.Helper()
	if r.published {
		r.Targets.Signed.Version++
		r.Snapshot.Signed.Version++
		r.Timestamp.Signed.Version++
	}
	r.published = true
	r.Snapshot.Signed.Meta["targets.json"] = metadata.MetaFile(r.Targets.Signed.Version)
	r.Timestamp.Signed.Meta["snapshot.json"] = metadata.MetaFile(r.Snapshot.Signed.Version)
	r.writeRole(metadata.TARGETS, r.Targets.Signed.Version, r.Targets)
	r.writeRole(metadata.SNAPSHOT, r.Snapshot.Signed.Version, r.Snapshot)
	r.writeRole(metadata.TIMESTAMP, 0, r.Timestamp)
}

// PublishTimestamp re-signs the timestamp alone with its version bumped
// (the cron job that keeps a repository fresh).
func (r *Repo) PublishTimestamp() {
	r.t.Helper()
	r.Timestamp.Signed.Version++
	r.writeRole(metadata.TIMESTAMP, 0, r.Timestamp)
}

// PublishRoot signs the root with its current key (and the previous root
// key after a rotation) and writes N.root.json and root.json.
func (r *Repo) PublishRoot() {
	r.t.Helper()
	r.Root.ClearSignatures()
	r.sign(r.Root, r.keys[metadata.ROOT])
	if r.oldRoot != nil {
		r.sign(r.Root, r.oldRoot)
		r.oldRoot = nil
	}
	data := r.bytes(r.Root)
	r.write(fmt.Sprintf("%d.root.json", r.Root.Signed.Version), data)
	r.write("root.json", data)
}

// RotateKeys replaces the keys of the given roles with new ones and
// publishes the next root version, signed by the old and the new root key
// when root is among them. Call Publish afterwards to re-sign other roles.
func (r *Repo) RotateKeys(roles ...string) {
	r.t.Helper()
	for _, role := range roles {
		if role == metadata.ROOT {
			r.oldRoot = r.keys[metadata.ROOT]
		}
		old := r.keys[role]
		oldKey, err := metadata.KeyFromPublicKey(old.Public())
		if err != nil {
			r.t.Fatal(err)
		}
		oldID, err := oldKey.ID()
		if err != nil {
			r.t.Fatal(err)
		}
		if err := r.Root.Signed.RevokeKey(oldID, role); err != nil {
			r.t.Fatal(err)
		}
		r.setKey(role, newKey(r.t))
	}
	r.Root.Signed.Version++
	r.PublishRoot()
}

// Resign signs and writes the current state of targets, snapshot and
// timestamp without touching versions (for tests that craft metadata).
func (r *Repo) Resign() {
	r.t.Helper()
	r.writeRole(metadata.TARGETS, r.Targets.Signed.Version, r.Targets)
	r.writeRole(metadata.SNAPSHOT, r.Snapshot.Signed.Version, r.Snapshot)
	r.writeRole(metadata.TIMESTAMP, 0, r.Timestamp)
}

func (r *Repo) setKey(role string, k ed25519.PrivateKey) {
	key, err := metadata.KeyFromPublicKey(k.Public())
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.Root.Signed.AddKey(key, role); err != nil {
		r.t.Fatal(err)
	}
	r.keys[role] = k
}

type signable interface {
	Sign(signature.Signer) (*metadata.Signature, error)
	ClearSignatures()
	ToBytes(pretty bool) ([]byte, error)
}

func (r *Repo) sign(md signable, k ed25519.PrivateKey) {
	signer, err := signature.LoadSigner(k, crypto.Hash(0))
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := md.Sign(signer); err != nil {
		r.t.Fatal(err)
	}
}

func (r *Repo) bytes(md signable) []byte {
	data, err := md.ToBytes(true)
	if err != nil {
		r.t.Fatal(err)
	}
	return data
}

// writeRole signs md with role's key and writes it unversioned, plus
// versioned under consistent snapshots (version 0: never versioned).
func (r *Repo) writeRole(role string, version int64, md signable) {
	md.ClearSignatures()
	r.sign(md, r.keys[role])
	data := r.bytes(md)
	r.write(role+".json", data)
	if r.Consistent && version > 0 {
		r.write(fmt.Sprintf("%d.%s.json", version, role), data)
	}
}

func (r *Repo) write(name string, data []byte) {
	if err := os.WriteFile(filepath.Join(r.MetadataDir(), name), data, 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *Repo) read(name string) []byte {
	data, err := os.ReadFile(filepath.Join(r.MetadataDir(), name))
	if err != nil {
		r.t.Fatal(err)
	}
	return data
}

func newKey(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
