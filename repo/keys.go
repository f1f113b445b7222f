package repo

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/cjson"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufup-go/tufup/internal/fsutil"
)

// keyIDHashAlgorithms is what securesystemslib (settings.HASH_ALGORITHMS)
// puts in every key it writes, and hashes into the key id, although TUF
// metadata stores keys without it.
var keyIDHashAlgorithms = []string{"sha256", "sha512"}

// maxKeyFileSize bounds reads of key files: a real one is a few hundred bytes.
const maxKeyFileSize = 64 << 10

// Key is an ed25519 key pair, or a public key alone, as securesystemslib
// stores it in a keys directory: the private key in the file <Name>, the
// public key in <Name>.pub.
type Key struct {
	Name   string
	Public ed25519.PublicKey
	// private is nil for a public key.
	private ed25519.PrivateKey
}

// KeyID returns the key id securesystemslib and Python tufup give an
// ed25519 public key: the sha256 hex digest of the canonical JSON of
// {keyid_hash_algorithms, keytype, keyval: {public}, scheme}.
func KeyID(pub ed25519.PublicKey) string {
	obj := map[string]any{
		"keyid_hash_algorithms": keyIDHashAlgorithms,
		"keytype":               metadata.KeyTypeEd25519,
		"keyval":                map[string]any{"public": hex.EncodeToString(pub)},
		"scheme":                metadata.KeySchemeEd25519,
	}
	data, err := cjson.EncodeCanonical(obj)
	if err != nil {
		// Only strings and lists: canonical encoding cannot fail.
		panic(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// ID returns the key's securesystemslib key id.
func (k *Key) ID() string { return KeyID(k.Public) }

// PublicHex returns the public key as the hex string TUF metadata stores.
func (k *Key) PublicHex() string { return hex.EncodeToString(k.Public) }

// HasPrivate reports whether k can sign.
func (k *Key) HasPrivate() bool { return k.private != nil }

// tufKey returns the key as root.json stores it (without
// keyid_hash_algorithms, as python-tuf writes it).
func (k *Key) tufKey() *metadata.Key {
	return &metadata.Key{
		Type:   metadata.KeyTypeEd25519,
		Scheme: metadata.KeySchemeEd25519,
		Value:  metadata.KeyVal{PublicKey: k.PublicHex()},
	}
}

// GenerateKey makes a new ed25519 key pair.
func GenerateKey(name string) (*Key, error) {
	if err := checkKeyName(name); err != nil {
		return nil, err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key %s: %w", name, err)
	}
	return &Key{Name: name, Public: pub, private: priv}, nil
}

// privateJSON is the private key file as securesystemslib writes it with
// json.dumps: keys in this order, ", " and ": " separators, no newline.
func (k *Key) privateJSON() []byte {
	return fmt.Appendf(nil, `{"keytype": "ed25519", "scheme": "ed25519", "keyid": "%s", "keyid_hash_algorithms": ["sha256", "sha512"], "keyval": {"public": "%s", "private": "%s"}}`,
		k.ID(), k.PublicHex(), hex.EncodeToString(k.private.Seed()))
}

// publicJSON is the .pub file as securesystemslib writes it.
func (k *Key) publicJSON() []byte {
	return fmt.Appendf(nil, `{"keytype": "ed25519", "scheme": "ed25519", "keyid_hash_algorithms": ["sha256", "sha512"], "keyval": {"public": "%s"}}`,
		k.PublicHex())
}

// WriteKeyPair writes dir/<name> (mode 0600; encrypted with password in
// securesystemslib's format unless password is empty) and dir/<name>.pub.
// Existing files are never overwritten.
func WriteKeyPair(dir string, k *Key, password []byte) error {
	if k.private == nil {
		return fmt.Errorf("key %s: no private key to write", k.Name)
	}
	privPath := filepath.Join(dir, k.Name)
	pubPath := privPath + ".pub"
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("key file %s already exists; not overwriting it", p)
		}
	}
	priv := k.privateJSON()
	if len(password) > 0 {
		enc, err := encryptKey(priv, password)
		if err != nil {
			return fmt.Errorf("encrypt key %s: %w", k.Name, err)
		}
		priv = enc
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create keys directory: %w", err)
	}
	// Public first: a private file without its .pub is harder to spot as
	// half-written than the other way round.
	if err := fsutil.WriteFile(pubPath, k.publicJSON(), 0o644); err != nil {
		return err
	}
	return fsutil.WriteFile(privPath, priv, 0o600)
}

// keyFile is the JSON of a securesystemslib key file, private or public.
type keyFile struct {
	KeyType string `json:"keytype"`
	Scheme  string `json:"scheme"`
	KeyID   string `json:"keyid"`
	KeyVal  struct {
		Public  *string `json:"public"`
		Private *string `json:"private"`
	} `json:"keyval"`
}

// ReadPublicKey reads a <name>.pub file.
func ReadPublicKey(path string) (*Key, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	k, err := parseKeyJSON(data, false)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	k.Name = strings.TrimSuffix(filepath.Base(path), ".pub")
	return k, nil
}

// ErrWrongPassword is returned (wrapped) when an encrypted key file does not
// decrypt with the password given.
var ErrWrongPassword = errors.New("wrong password (the key file's HMAC does not match)")

// PasswordFunc returns the password of an encrypted private key file. It
// is asked only for keys that are encrypted and needed.
type PasswordFunc func(keyName, path string) ([]byte, error)

// ReadPrivateKey reads a private key file, plain or encrypted; password is
// called only for an encrypted file.
func ReadPrivateKey(path string, password PasswordFunc) (*Key, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(path)
	if isEncryptedKey(data) {
		if password == nil {
			return nil, fmt.Errorf("key file %s is encrypted and no password source is set", path)
		}
		pw, err := password(name, path)
		if err != nil {
			return nil, fmt.Errorf("password for key %s (%s): %w", name, path, err)
		}
		plain, err := decryptKey(data, pw)
		if err != nil {
			return nil, fmt.Errorf("key file %s: %w", path, err)
		}
		data = plain
	}
	k, err := parseKeyJSON(data, true)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	k.Name = name
	return k, nil
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", path, err)
	}
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("key file %s: larger than %d bytes, not a key file", path, maxKeyFileSize)
	}
	return data, nil
}

// isEncryptedKey tells securesystemslib's encrypted form from its JSON form.
func isEncryptedKey(data []byte) bool {
	return bytes.Count(data, []byte(encDelimiter)) == 4
}

func parseKeyJSON(data []byte, private bool) (*Key, error) {
	var kf keyFile
	if err := json.Unmarshal(data, &kf); err != nil {
		return nil, fmt.Errorf("not a securesystemslib JSON key: %w", err)
	}
	if kf.KeyType != metadata.KeyTypeEd25519 || kf.Scheme != metadata.KeySchemeEd25519 {
		return nil, fmt.Errorf("keytype %q scheme %q: only ed25519 keys are supported", kf.KeyType, kf.Scheme)
	}
	if kf.KeyVal.Public == nil {
		return nil, errors.New("keyval.public is missing")
	}
	pub, err := hex.DecodeString(*kf.KeyVal.Public)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("keyval.public is not %d bytes of hex", ed25519.PublicKeySize)
	}
	k := &Key{Public: ed25519.PublicKey(pub)}
	if !private {
		return k, nil
	}
	if kf.KeyVal.Private == nil {
		return nil, errors.New("keyval.private is missing: this is a public key")
	}
	seed, err := hex.DecodeString(*kf.KeyVal.Private)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("keyval.private is not a %d-byte hex ed25519 seed", ed25519.SeedSize)
	}
	k.private = ed25519.NewKeyFromSeed(seed)
	if !bytes.Equal(k.private.Public().(ed25519.PublicKey), k.Public) {
		return nil, errors.New("keyval.private does not belong to keyval.public")
	}
	return k, nil
}

// sign returns the ed25519 signature of msg.
func (k *Key) sign(msg []byte) []byte { return ed25519.Sign(k.private, msg) }
