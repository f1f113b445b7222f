package repo

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/cjson"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// maxMetadataSize bounds reads of metadata files; tufup repositories with
// thousands of releases stay far below it.
const maxMetadataSize = 64 << 20

// roleFile is one role's metadata, whatever its type, with the few
// operations publishing needs. It wraps go-tuf's generic Metadata[T].
type roleFile interface {
	role() string
	version() int64
	setVersion(int64)
	expires() time.Time
	setExpires(time.Time)
	signatures() []metadata.Signature
	setSignatures([]metadata.Signature)
	// signedBytes is the canonical JSON of the signed part: what is signed,
	// and what tells whether a role changed.
	signedBytes() ([]byte, error)
	marshal() ([]byte, error)
	clone() (roleFile, error)
}

type tufRole[T metadata.Roles] struct {
	m *metadata.Metadata[T]
}

func (r tufRole[T]) role() string {
	switch any(&r.m.Signed).(type) {
	case *metadata.RootType:
		return RoleRoot
	case *metadata.TargetsType:
		return RoleTargets
	case *metadata.SnapshotType:
		return RoleSnapshot
	default:
		return RoleTimestamp
	}
}

// common returns pointers to the version and expiry of any role type.
func (r tufRole[T]) common() (*int64, *time.Time) {
	switch s := any(&r.m.Signed).(type) {
	case *metadata.RootType:
		return &s.Version, &s.Expires
	case *metadata.TargetsType:
		return &s.Version, &s.Expires
	case *metadata.SnapshotType:
		return &s.Version, &s.Expires
	case *metadata.TimestampType:
		return &s.Version, &s.Expires
	}
	panic("unreachable")
}

func (r tufRole[T]) version() int64 { v, _ := r.common(); return *v }
func (r tufRole[T]) setVersion(n int64) {
	v, _ := r.common()
	*v = n
}
func (r tufRole[T]) expires() time.Time { _, e := r.common(); return *e }
func (r tufRole[T]) setExpires(t time.Time) {
	_, e := r.common()
	*e = t
}
func (r tufRole[T]) signatures() []metadata.Signature { return r.m.Signatures }
func (r tufRole[T]) setSignatures(s []metadata.Signature) {
	if s == nil {
		s = []metadata.Signature{}
	}
	r.m.Signatures = s
}
func (r tufRole[T]) signedBytes() ([]byte, error) { return cjson.EncodeCanonical(r.m.Signed) }

// marshal writes the file as python-tuf's JSONSerializer(compact=False)
// does: indent 1, sorted keys, ASCII only, no trailing newline.
func (r tufRole[T]) marshal() ([]byte, error) {
	data, err := json.Marshal(r.m)
	if err != nil {
		return nil, err
	}
	return pythonJSON(data, " ")
}

func (r tufRole[T]) clone() (roleFile, error) {
	data, err := json.Marshal(r.m)
	if err != nil {
		return nil, err
	}
	m, err := new(metadata.Metadata[T]).FromBytes(data)
	if err != nil {
		return nil, err
	}
	return tufRole[T]{m}, nil
}

// roleSet holds the four top-level roles of a repository.
type roleSet struct {
	root      *metadata.Metadata[metadata.RootType]
	targets   *metadata.Metadata[metadata.TargetsType]
	snapshot  *metadata.Metadata[metadata.SnapshotType]
	timestamp *metadata.Metadata[metadata.TimestampType]
}

func (s *roleSet) get(role string) roleFile {
	switch role {
	case RoleRoot:
		return tufRole[metadata.RootType]{s.root}
	case RoleTargets:
		return tufRole[metadata.TargetsType]{s.targets}
	case RoleSnapshot:
		return tufRole[metadata.SnapshotType]{s.snapshot}
	case RoleTimestamp:
		return tufRole[metadata.TimestampType]{s.timestamp}
	}
	panic("unknown role " + role)
}

func (s *roleSet) set(f roleFile) {
	switch f := f.(type) {
	case tufRole[metadata.RootType]:
		s.root = f.m
	case tufRole[metadata.TargetsType]:
		s.targets = f.m
	case tufRole[metadata.SnapshotType]:
		s.snapshot = f.m
	case tufRole[metadata.TimestampType]:
		s.timestamp = f.m
	}
}

func (s *roleSet) clone() (*roleSet, error) {
	out := &roleSet{}
	for _, role := range Roles {
		c, err := s.get(role).clone()
		if err != nil {
			return nil, fmt.Errorf("copy %s metadata: %w", role, err)
		}
		out.set(c)
	}
	return out, nil
}

// readMetadataFile reads a metadata file, bounded in size.
func readMetadataFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxMetadataSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxMetadataSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxMetadataSize)
	}
	return data, nil
}

// parseRole parses metadata bytes as the given role (or, when role is "",
// as whatever role its signed._type names).
func parseRole(data []byte, role string) (roleFile, error) {
	if role == "" {
		var probe struct {
			Signed struct {
				Type string `json:"_type"`
			} `json:"signed"`
		}
		if err := json.Unmarshal(data, &probe); err != nil {
			return nil, fmt.Errorf("not TUF metadata: %w", err)
		}
		role = probe.Signed.Type
	}
	var (
		f   roleFile
		err error
	)
	switch role {
	case RoleRoot:
		var m *metadata.Metadata[metadata.RootType]
		m, err = new(metadata.Metadata[metadata.RootType]).FromBytes(data)
		f = tufRole[metadata.RootType]{m}
	case RoleTargets:
		var m *metadata.Metadata[metadata.TargetsType]
		m, err = new(metadata.Metadata[metadata.TargetsType]).FromBytes(data)
		f = tufRole[metadata.TargetsType]{m}
	case RoleSnapshot:
		var m *metadata.Metadata[metadata.SnapshotType]
		m, err = new(metadata.Metadata[metadata.SnapshotType]).FromBytes(data)
		f = tufRole[metadata.SnapshotType]{m}
	case RoleTimestamp:
		var m *metadata.Metadata[metadata.TimestampType]
		m, err = new(metadata.Metadata[metadata.TimestampType]).FromBytes(data)
		f = tufRole[metadata.TimestampType]{m}
	default:
		return nil, fmt.Errorf("signed._type %q is not a top-level role (root, targets, snapshot, timestamp)", role)
	}
	if err != nil {
		return nil, fmt.Errorf("not valid %s metadata: %w", role, err)
	}
	return f, nil
}

// roleFileName is the unversioned file name of a role (consistent_snapshot
// is false in tufup repositories, so it is the name clients fetch).
func roleFileName(role string) string { return role + ".json" }

// rootFileName is the versioned root file every root version is kept in.
func rootFileName(version int64) string { return strconv.FormatInt(version, 10) + ".root.json" }

// loadRoles reads root.json, targets.json, snapshot.json and timestamp.json
// from a metadata directory.
func loadRoles(metaDir string) (*roleSet, error) {
	s := &roleSet{}
	for _, role := range Roles {
		path := filepath.Join(metaDir, roleFileName(role))
		data, err := readMetadataFile(path)
		if err != nil {
			return nil, fmt.Errorf("read %s metadata: %w", role, err)
		}
		f, err := parseRole(data, role)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		s.set(f)
	}
	return s, nil
}

// expiryIn returns now + days, to the second, in UTC, as tufup computes it.
func expiryIn(now time.Time, days float64) time.Time {
	return now.UTC().Truncate(time.Second).Add(time.Duration(days * float64(24*time.Hour)))
}

// roleKeys returns the key ids and threshold root assigns to role.
func roleKeys(root *metadata.RootType, role string) ([]string, int) {
	r, ok := root.Roles[role]
	if !ok || r == nil {
		return nil, 0
	}
	return r.KeyIDs, r.Threshold
}

func roleIDs(root *metadata.RootType, role string) []string {
	ids, _ := roleKeys(root, role)
	return ids
}

// sigCheck is the outcome of checking a role's signatures against the keys
// one root gives it.
type sigCheck struct {
	role      string
	threshold int
	valid     []string // key ids with a valid signature
	missing   []string // key ids of the role without a valid signature
	problems  []string // keys root lists that cannot be used
}

func (c sigCheck) ok() bool { return len(c.valid) >= c.threshold && c.threshold >= 1 }

// checkSignatures counts the valid signatures over payload by role's keys
// in root. Each distinct public key counts once, whatever its key ids.
func checkSignatures(root *metadata.RootType, role string, payload []byte, sigs []metadata.Signature) sigCheck {
	ids, threshold := roleKeys(root, role)
	c := sigCheck{role: role, threshold: threshold}
	seen := map[string]bool{}
	for _, id := range ids {
		key := root.Keys[id]
		if key == nil {
			c.problems = append(c.problems, fmt.Sprintf("key id %s of role %s is not in root's keys", id, role))
			c.missing = append(c.missing, id)
			continue
		}
		pub, err := ed25519Public(key)
		if err != nil {
			c.problems = append(c.problems, fmt.Sprintf("key %s of role %s: %v", shortID(id), role, err))
			c.missing = append(c.missing, id)
			continue
		}
		good := false
		for _, s := range sigs {
			if s.KeyID == id && ed25519.Verify(pub, payload, s.Signature) {
				good = true
				break
			}
		}
		if good && !seen[string(pub)] {
			seen[string(pub)] = true
			c.valid = append(c.valid, id)
		} else if !good {
			c.missing = append(c.missing, id)
		}
	}
	return c
}

func ed25519Public(k *metadata.Key) (ed25519.PublicKey, error) {
	if k.Type != metadata.KeyTypeEd25519 || k.Scheme != metadata.KeySchemeEd25519 {
		return nil, fmt.Errorf("keytype %q scheme %q is not supported (ed25519 only)", k.Type, k.Scheme)
	}
	b, err := hex.DecodeString(k.Value.PublicKey)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("public key is not 32 bytes of hex")
	}
	return ed25519.PublicKey(b), nil
}

// keyIDsFor returns the ids under which root lists public key pub.
func keyIDsFor(root *metadata.RootType, pub ed25519.PublicKey) []string {
	want := hex.EncodeToString(pub)
	var ids []string
	for id, k := range root.Keys {
		if k != nil && k.Type == metadata.KeyTypeEd25519 && strings.EqualFold(k.Value.PublicKey, want) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// addSignature signs payload with k under key id id, replacing an earlier
// signature by the same key id.
func addSignature(f roleFile, payload []byte, id string, k *Key) {
	sigs := slices.DeleteFunc(slices.Clone(f.signatures()), func(s metadata.Signature) bool { return s.KeyID == id })
	sigs = append(sigs, metadata.Signature{KeyID: id, Signature: k.sign(payload)})
	f.setSignatures(sigs)
}

// keepValidSignatures drops signatures that do not verify over payload
// with a key one of roots knows, e.g. signatures over an older content. A
// valid signature under a key id the roots do not use for that key (signed
// elsewhere with a differently computed id) is kept under root's id.
func keepValidSignatures(f roleFile, payload []byte, roots ...*metadata.RootType) {
	var kept []metadata.Signature
	seen := map[string]bool{}
	keep := func(id string, s metadata.Signature) {
		if !seen[id] {
			seen[id] = true
			s.KeyID = id
			kept = append(kept, s)
		}
	}
	for _, s := range f.signatures() {
		matched := false
		for _, root := range roots {
			if k := root.Keys[s.KeyID]; k != nil {
				if pub, err := ed25519Public(k); err == nil && ed25519.Verify(pub, payload, s.Signature) {
					keep(s.KeyID, s)
					matched = true
					break
				}
			}
		}
		if matched {
			continue
		}
		for _, root := range roots {
			ids := make([]string, 0, len(root.Keys))
			for id := range root.Keys {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			for _, id := range ids {
				if pub, err := ed25519Public(root.Keys[id]); err == nil && ed25519.Verify(pub, payload, s.Signature) {
					keep(id, s)
				}
			}
		}
	}
	f.setSignatures(kept)
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
