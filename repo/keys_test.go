package repo

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

func fixtureRoot(t testing.TB) *metadata.Metadata[metadata.RootType] {
	t.Helper()
	m, err := new(metadata.Metadata[metadata.RootType]).FromBytes(readFile(t, filepath.Join(fixture, "repository", "metadata", "root.json")))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The key ids we compute are the ones Python tufup put in the fixture's
// root.json and private key files.
func TestKeyIDsMatchFixture(t *testing.T) {
	root := fixtureRoot(t)
	for _, role := range Roles {
		pub, err := ReadPublicKey(filepath.Join(fixture, "keystore", role+".pub"))
		if err != nil {
			t.Fatal(err)
		}
		ids := roleIDs(&root.Signed, role)
		if len(ids) != 1 || ids[0] != pub.ID() {
			t.Errorf("%s: computed key id %s, fixture root lists %v", role, pub.ID(), ids)
		}
		var kf keyFile
		data := readFile(t, filepath.Join(fixture, "keystore", role))
		if err := jsonUnmarshal(data, &kf); err != nil {
			t.Fatal(err)
		}
		if kf.KeyID != pub.ID() {
			t.Errorf("%s: private file says key id %s, computed %s", role, kf.KeyID, pub.ID())
		}
		// go-tuf's own id (without keyid_hash_algorithms) differs: this is
		// why ids must never be recomputed-and-enforced when reading.
		if goID, _ := root.Signed.Keys[ids[0]].ID(); goID == pub.ID() {
			t.Errorf("%s: go-tuf's key id equals securesystemslib's; the fixture should show they differ", role)
		}
	}
}

// Writing the fixture's keys again gives the fixture's files byte for byte.
func TestKeyFilesAreSecuresystemslibFormat(t *testing.T) {
	dir := t.TempDir()
	for _, role := range Roles {
		k, err := ReadPrivateKey(filepath.Join(fixture, "keystore", role), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := WriteKeyPair(dir, k, nil); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{role, role + ".pub"} {
			got := readFile(t, filepath.Join(dir, name))
			want := readFile(t, filepath.Join(fixture, "keystore", name))
			if string(got) != string(want) {
				t.Errorf("%s:\n got %s\nwant %s", name, got, want)
			}
		}
		fi, err := os.Stat(filepath.Join(dir, role))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 && isUnix() {
			t.Errorf("private key mode %v, want 0600", fi.Mode().Perm())
		}
	}
	// Never overwrite.
	k, _ := ReadPrivateKey(filepath.Join(fixture, "keystore", "root"), nil)
	if err := WriteKeyPair(dir, k, nil); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("overwrite: %v", err)
	}
}

func TestEncryptedKeyRoundTripAndWrongPassword(t *testing.T) {
	dir := t.TempDir()
	k, err := GenerateKey("secret-key")
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteKeyPair(dir, k, []byte("correct horse")); err != nil {
		t.Fatal(err)
	}
	data := readFile(t, filepath.Join(dir, "secret-key"))
	if parts := strings.Split(string(data), "@@@@"); len(parts) != 5 || parts[1] != "100000" || len(parts[0]) != 32 || len(parts[3]) != 32 {
		t.Fatalf("not securesystemslib's encrypted format: %s", data)
	}
	if strings.Contains(string(data), hexOf(k.private.Seed())) {
		t.Fatal("private key in clear in the encrypted file")
	}
	pw := &fixedPassword{pw: "correct horse"}
	got, err := ReadPrivateKey(filepath.Join(dir, "secret-key"), pw.get)
	if err != nil {
		t.Fatal(err)
	}
	if !got.private.Equal(k.private) || pw.calls != 1 {
		t.Errorf("decrypted key differs (password asked %d times)", pw.calls)
	}
	_, err = ReadPrivateKey(filepath.Join(dir, "secret-key"), (&fixedPassword{pw: "wrong"}).get)
	if !errors.Is(err, ErrWrongPassword) || !strings.Contains(err.Error(), "secret-key") {
		t.Errorf("wrong password: %v", err)
	}
	// A plain key never asks for a password.
	pw = &fixedPassword{pw: "unused"}
	if _, err := ReadPrivateKey(filepath.Join(fixture, "keystore", "root"), pw.get); err != nil || pw.calls != 0 {
		t.Errorf("plain key: %v, %d password calls", err, pw.calls)
	}
}

func TestDamagedKeyFilesAreClearErrors(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"notjson":    "hello",
		"rsa":        `{"keytype": "rsa", "scheme": "rsassa-pss-sha256", "keyval": {"public": "x", "private": "y"}}`,
		"shortpub":   `{"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "abcd", "private": "00"}}`,
		"mismatch":   `{"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "ac8ee33c9a3e996b5afc2e3421aabc58b59ae2f2ec710ddcb47c66c2ad5a6f18", "private": "0000000000000000000000000000000000000000000000000000000000000000"}}`,
		"publiconly": `{"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "ac8ee33c9a3e996b5afc2e3421aabc58b59ae2f2ec710ddcb47c66c2ad5a6f18"}}`,
		"badenc":     "zz@@@@100000@@@@00@@@@00@@@@00",
		"hugeiter":   "00@@@@999999999999@@@@00@@@@00000000000000000000000000000000@@@@00",
	}
	for name, content := range cases {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := ReadPrivateKey(path, (&fixedPassword{pw: "x"}).get)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Python's securesystemslib, which tufup uses, loads the key files we write,
// plain and encrypted, and computes the same key ids.
func TestPythonLoadsOurKeys(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	plain, _ := GenerateKey("plain")
	enc, _ := GenerateKey("enc")
	if err := WriteKeyPair(dir, plain, nil); err != nil {
		t.Fatal(err)
	}
	if err := WriteKeyPair(dir, enc, []byte("pässword")); err != nil {
		t.Fatal(err)
	}
	script := `
import sys
from securesystemslib.interface import import_ed25519_publickey_from_file as pub, import_ed25519_privatekey_from_file as priv
d = sys.argv[1]
for name, pw in (("plain", None), ("enc", "pässword")):
    k = priv(d + "/" + name, password=pw)
    p = pub(d + "/" + name + ".pub")
    print(name, k["keyid"], p["keyid"], k["keyval"]["public"] == p["keyval"]["public"])
`
	out := runPython(t, py, script, dir)
	want := "plain " + plain.ID() + " " + plain.ID() + " True\nenc " + enc.ID() + " " + enc.ID() + " True"
	if out != want {
		t.Errorf("python says:\n%s\nwant:\n%s", out, want)
	}
}

// We load encrypted keys Python's securesystemslib wrote, as tufup writes them.
func TestWeLoadPythonEncryptedKeys(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	runPython(t, py, `
import sys
from securesystemslib.interface import _generate_and_write_ed25519_keypair as gen
gen(filepath=sys.argv[1] + "/pykey", password="py secret")
`, dir)
	k, err := ReadPrivateKey(filepath.Join(dir, "pykey"), (&fixedPassword{pw: "py secret"}).get)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ReadPublicKey(filepath.Join(dir, "pykey.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if k.PublicHex() != pub.PublicHex() {
		t.Errorf("public halves differ")
	}
	// The id Python wrote into the encrypted JSON is the one we compute.
	pyID := runPython(t, py, `
import sys
from securesystemslib.interface import import_ed25519_privatekey_from_file as priv
print(priv(sys.argv[1], password="py secret")["keyid"])
`, filepath.Join(dir, "pykey"))
	if pyID != k.ID() {
		t.Errorf("python key id %s, ours %s", pyID, k.ID())
	}
	if _, err := ReadPrivateKey(filepath.Join(dir, "pykey"), (&fixedPassword{pw: "nope"}).get); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("wrong password: %v", err)
	}
}

// Python's securesystemslib, which python-tuf clients use, computes the same
// canonical bytes and accepts every signature we write, non-ASCII custom
// metadata included; and the files are what Python's json.dumps writes.
func TestPythonVerifiesOurSignatures(t *testing.T) {
	py := python(t)
	r := initRepo(t, Options{}, nil)
	if err := r.Add(context.Background(), "1.0.0", bundle("1.0.0"), AddOptions{Meta: json.RawMessage(`{"changes": ["caf\u00e9 \ud83d\ude00 <&>"], "n": -3}`)}); err != nil {
		t.Fatal(err)
	}
	script := `
import json, sys
from securesystemslib import formats, keys
meta = sys.argv[1]
root = json.load(open(meta + "/root.json"))["signed"]
for role in ("root", "targets", "snapshot", "timestamp"):
    doc = json.load(open(meta + "/" + role + ".json"))
    data = formats.encode_canonical(doc["signed"]).encode("utf-8")
    good = 0
    for sig in doc["signatures"]:
        k = dict(root["keys"][sig["keyid"]], keyid=sig["keyid"])
        good += keys.verify_signature(k, sig, data)
    same = json.dumps(doc, indent=1, sort_keys=True) == open(meta + "/" + role + ".json").read()
    print(role, good, len(doc["signatures"]), same)
cfg = sys.argv[2]
print("config", json.dumps(json.load(open(cfg)), indent=4, sort_keys=True) == open(cfg).read())
`
	out := runPython(t, py, script, r.MetadataDir(), filepath.Join(r.dir, ConfigFile))
	// "True": each file is byte for byte what Python's json.dumps writes.
	if want := "root 1 1 True\ntargets 1 1 True\nsnapshot 1 1 True\ntimestamp 1 1 True\nconfig True"; out != want {
		t.Errorf("python verification:\n%s\nwant:\n%s", out, want)
	}
}
