package repo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"

	"github.com/tufup-go/tufup/internal/testenv"
)

// fixture is the repository real Python tufup 0.10.0 made.
var fixture = filepath.Join("..", "testdata", "tufup-0.10-demoapp")

func bundle(version string) string {
	return filepath.Join(fixture, "bundles", "demoapp-"+version)
}

// copyDir copies a directory tree (regular files and directories).
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// copyFixture returns a writable copy of the tufup fixture.
func copyFixture(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "fixture")
	copyDir(t, fixture, dir)
	return dir
}

// initRepo initialises a repository for app "demoapp" in a temporary
// directory; edit adjusts the config first.
func initRepo(t testing.TB, opts Options, edit func(*Config)) *Repo {
	t.Helper()
	dir := t.TempDir()
	cfg := DefaultConfig("demoapp")
	if edit != nil {
		edit(&cfg)
	}
	r, err := Init(dir, cfg, opts)
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	return r
}

// treeDigest describes every file under dir (path, mode, content hash), to
// prove that a failed command wrote nothing. The lock file is left out.
func treeDigest(t testing.TB, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == LockFile {
			return nil // empty, and left in place by design
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			b.WriteString(rel + "/\n")
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		b.WriteString(rel + " " + fi.Mode().String() + " " + hex.EncodeToString(sum[:]) + "\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// clientView verifies a repository's metadata as a go-tuf client holding
// trustedRoot does: follow N.root.json, then timestamp, snapshot, targets.
// It returns the trusted targets, or the first error go-tuf reports.
func clientView(metaDir string, trustedRoot []byte, now time.Time) (*metadata.Metadata[metadata.TargetsType], *metadata.Metadata[metadata.RootType], error) {
	tm, err := trustedmetadata.New(trustedRoot)
	if err != nil {
		return nil, nil, err
	}
	tm.RefTime = now
	for {
		next := filepath.Join(metaDir, strconv.FormatInt(tm.Root.Signed.Version+1, 10)+".root.json")
		data, err := os.ReadFile(next)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		if _, err := tm.UpdateRoot(data); err != nil {
			return nil, nil, err
		}
	}
	for _, step := range []struct {
		name   string
		update func([]byte) error
	}{
		{"timestamp.json", func(b []byte) error { _, err := tm.UpdateTimestamp(b); return err }},
		{"snapshot.json", func(b []byte) error { _, err := tm.UpdateSnapshot(b, false); return err }},
		{"targets.json", func(b []byte) error { _, err := tm.UpdateTargets(b); return err }},
	} {
		data, err := os.ReadFile(filepath.Join(metaDir, step.name))
		if err != nil {
			return nil, nil, err
		}
		if err := step.update(data); err != nil {
			return nil, nil, err
		}
	}
	return tm.Targets[metadata.TARGETS], tm.Root, nil
}

// mustClientView is clientView that fails the test on error.
func mustClientView(t testing.TB, metaDir string, trustedRoot []byte) *metadata.Metadata[metadata.TargetsType] {
	t.Helper()
	targets, _, err := clientView(metaDir, trustedRoot, time.Now())
	if err != nil {
		t.Fatalf("go-tuf client holding root v%s rejects %s: %v", rootVersionOf(trustedRoot), metaDir, err)
	}
	return targets
}

func rootVersionOf(data []byte) string {
	m, err := new(metadata.Metadata[metadata.RootType]).FromBytes(data)
	if err != nil {
		return "?"
	}
	return strconv.FormatInt(m.Signed.Version, 10)
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// mustVerify runs Verify and fails on any problem.
func mustVerify(t testing.TB, r *Repo, trustedRoot []byte) {
	t.Helper()
	problems, err := r.Verify(context.Background(), trustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("verify: %s", p)
	}
}

// python returns a python3 that has securesystemslib, or skips.
func python(t testing.TB) string {
	t.Helper()
	var candidates []string
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, "/usr/bin/python3")
	for _, p := range candidates {
		// securesystemslib only recommends the libraries its ed25519 keys
		// (nacl) and key encryption (cryptography) need.
		if exec.Command(p, "-c", "import securesystemslib.interface, nacl, cryptography").Run() == nil {
			return p
		}
	}
	testenv.Missing(t, "python3 with securesystemslib, nacl and cryptography", "apt-get install python3-securesystemslib python3-nacl python3-cryptography")
	return ""
}

func runPython(t testing.TB, py, script string, args ...string) string {
	t.Helper()
	cmd := exec.Command(py, append([]string{"-c", script}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// fixedPassword is a PasswordFunc that counts its calls.
type fixedPassword struct {
	pw    string
	calls int
}

func (f *fixedPassword) get(string, string) ([]byte, error) {
	f.calls++
	return []byte(f.pw), nil
}

func containsAll(t testing.TB, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%q does not contain %q", s, p)
		}
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func hexOf(b []byte) string { return hex.EncodeToString(b) }

func isUnix() bool { return runtime.GOOS != "windows" }
