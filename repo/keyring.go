package repo

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// keyring finds private keys in key directories by their public key, the
// way tufup's "key dirs" work: a key is found by name in any directory, its
// public half in <name>.pub. Matching on the public key itself (rather than
// on key ids) keeps working with keys whose ids were computed differently.
type keyring struct {
	dirs     []string
	password PasswordFunc

	scanned bool
	// candidates maps a public key (hex) to private key files that may hold it.
	candidates map[string][]string
	// names maps a public key (hex) to the key names seen for it.
	names  map[string][]string
	loaded map[string]*Key // by private file path
}

func newKeyring(dirs []string, password PasswordFunc) *keyring {
	return &keyring{dirs: dirs, password: password, loaded: map[string]*Key{}}
}

func (kr *keyring) scan() {
	if kr.scanned {
		return
	}
	kr.scanned = true
	kr.candidates = map[string][]string{}
	kr.names = map[string][]string{}
	encrypted := map[string][]string{} // name -> encrypted private files
	pubByName := map[string][]string{} // name -> public keys (hex)
	for _, dir := range kr.dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue // a missing key dir simply holds no keys
		}
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			path := filepath.Join(dir, e.Name())
			if name, ok := strings.CutSuffix(e.Name(), ".pub"); ok {
				k, err := ReadPublicKey(path)
				if err != nil {
					continue
				}
				pubByName[name] = append(pubByName[name], k.PublicHex())
				kr.addName(k.PublicHex(), name)
				continue
			}
			data, err := readKeyFile(path)
			if err != nil {
				continue
			}
			if isEncryptedKey(data) {
				encrypted[e.Name()] = append(encrypted[e.Name()], path)
				continue
			}
			k, err := parseKeyJSON(data, true)
			if err != nil {
				continue
			}
			kr.candidates[k.PublicHex()] = append(kr.candidates[k.PublicHex()], path)
			kr.addName(k.PublicHex(), e.Name())
		}
	}
	for name, paths := range encrypted {
		for _, pub := range pubByName[name] {
			kr.candidates[pub] = append(kr.candidates[pub], paths...)
		}
	}
}

// rescan forgets what scan found, after keys were added.
func (kr *keyring) rescan() { kr.scanned = false }

func (kr *keyring) addName(pub, name string) {
	if !slices.Contains(kr.names[pub], name) {
		kr.names[pub] = append(kr.names[pub], name)
	}
}

// find returns the private key for public key pubHex, or nil when none of
// the key directories holds it. A key that is there but cannot be read
// (wrong password, damaged file) is an error: silently signing with fewer
// keys would hide it.
func (kr *keyring) find(pubHex string) (*Key, error) {
	kr.scan()
	pubHex = strings.ToLower(pubHex)
	for _, path := range kr.candidates[pubHex] {
		if k := kr.loaded[path]; k != nil {
			return k, nil
		}
		k, err := ReadPrivateKey(path, kr.password)
		if err != nil {
			return nil, err
		}
		if k.PublicHex() != pubHex {
			// An encrypted file named like a .pub of this key, holding
			// another key: not this one.
			continue
		}
		kr.loaded[path] = k
		return k, nil
	}
	return nil, nil
}

// findByName returns the private key file <name> from the first directory
// that has it.
func (kr *keyring) findByName(name string) (*Key, error) {
	for _, dir := range kr.dirs {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err != nil {
			continue
		}
		if k := kr.loaded[path]; k != nil {
			return k, nil
		}
		k, err := ReadPrivateKey(path, kr.password)
		if err != nil {
			return nil, err
		}
		kr.loaded[path] = k
		return k, nil
	}
	return nil, fmt.Errorf("private key %q not found in %s", name, strings.Join(kr.dirs, ", "))
}

// publicByName returns the public key <name>.pub (or, failing that, the
// public half of a plain private key file <name>) from the key directories.
func (kr *keyring) publicByName(name string) (*Key, error) {
	for _, dir := range kr.dirs {
		path := filepath.Join(dir, name+".pub")
		if _, err := os.Stat(path); err == nil {
			return ReadPublicKey(path)
		}
	}
	for _, dir := range kr.dirs {
		path := filepath.Join(dir, name)
		data, err := readKeyFile(path)
		if err != nil || isEncryptedKey(data) {
			continue
		}
		k, err := parseKeyJSON(data, true)
		if err != nil {
			return nil, fmt.Errorf("key file %s: %w", path, err)
		}
		k.Name = name
		return &Key{Name: name, Public: k.Public}, nil
	}
	return nil, fmt.Errorf("public key %s.pub not found in %s", name, strings.Join(kr.dirs, ", "))
}

// describe names a key for messages: its file name(s) when known, and the
// start of its key id.
func (kr *keyring) describe(id, pubHex string) string {
	kr.scan()
	names := kr.names[strings.ToLower(pubHex)]
	if len(names) == 0 {
		return "key " + shortID(id) + " (no key file found)"
	}
	return strings.Join(names, "/") + " (" + shortID(id) + ")"
}
