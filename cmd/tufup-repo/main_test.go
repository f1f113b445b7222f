package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"tufup-repo": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// The scripts in testdata read like a user's sessions. $FIXTURE is the
// repository, keys and bundles real Python tufup 0.10 made.
func TestScripts(t *testing.T) {
	fixture, err := filepath.Abs(filepath.Join("..", "..", "testdata", "tufup-0.10-demoapp"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(env *testscript.Env) error {
			env.Setenv("FIXTURE", fixture)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"cpdir":    cmdCpdir,
			"treehash": cmdTreehash,
			"client":   cmdClient,
		},
	})
}

// cpdir SRC DST copies a directory tree.
func cmdCpdir(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: cpdir SRC DST")
	}
	ts.Check(os.CopyFS(ts.MkAbs(args[1]), os.DirFS(ts.MkAbs(args[0]))))
}

// treehash PATH... prints one line per file under each PATH (path, mode,
// sha256), so a script can prove a failed command wrote nothing.
func cmdTreehash(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: treehash PATH...")
	}
	for _, arg := range args {
		ts.Check(filepath.WalkDir(ts.MkAbs(arg), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(ts.MkAbs("."), p)
			if d.IsDir() {
				fmt.Fprintf(ts.Stdout(), "%s/\n", filepath.ToSlash(rel))
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fi, _ := d.Info()
			sum := sha256.Sum256(data)
			fmt.Fprintf(ts.Stdout(), "%s %v %s\n", filepath.ToSlash(rel), fi.Mode(), hex.EncodeToString(sum[:]))
			return nil
		}))
	}
}

// client METADIR TRUSTED_ROOT [TARGET...] checks the metadata as an
// installed go-tuf client holding TRUSTED_ROOT: it follows N.root.json and
// accepts timestamp, snapshot and targets, which must list every TARGET.
// "! client" expects a rejection.
func cmdClient(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: client METADIR TRUSTED_ROOT [TARGET...]")
	}
	err := clientCheck(ts.MkAbs(args[0]), ts.MkAbs(args[1]), args[2:])
	if neg {
		if err == nil {
			ts.Fatalf("client accepted the repository")
		}
		ts.Logf("client refused: %v", err)
		return
	}
	ts.Check(err)
}

func clientCheck(metaDir, trustedRoot string, want []string) error {
	root, err := os.ReadFile(trustedRoot)
	if err != nil {
		return err
	}
	tm, err := trustedmetadata.New(root)
	if err != nil {
		return err
	}
	tm.RefTime = time.Now()
	for {
		data, err := os.ReadFile(filepath.Join(metaDir, strconv.FormatInt(tm.Root.Signed.Version+1, 10)+".root.json"))
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			return err
		}
		if _, err := tm.UpdateRoot(data); err != nil {
			return err
		}
	}
	read := func(name string) []byte {
		data, _ := os.ReadFile(filepath.Join(metaDir, name))
		return data
	}
	if _, err := tm.UpdateTimestamp(read("timestamp.json")); err != nil {
		return err
	}
	if _, err := tm.UpdateSnapshot(read("snapshot.json"), false); err != nil {
		return err
	}
	targets, err := tm.UpdateTargets(read("targets.json"))
	if err != nil {
		return err
	}
	for _, name := range want {
		if targets.Signed.Targets[name] == nil {
			return fmt.Errorf("targets v%d does not list %s", targets.Signed.Version, name)
		}
	}
	return nil
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bundle, err := filepath.Abs(filepath.Join("..", "..", "testdata", "tufup-0.10-demoapp", "bundles", "demoapp-1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{}, exitUsage, "no command given"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"--bogus"}, exitUsage, "unknown flag"},
		{[]string{"--help"}, exitOK, ""},
		{[]string{"help", "add"}, exitOK, ""},
		{[]string{"-C", dir, "status"}, exitError, ".tufup-repo-config"},
		{[]string{"-C", dir, "init"}, exitUsage, "--app-name is required"},
		{[]string{"-C", dir, "init", "--app-name", "demoapp", "--expires", "root=-1"}, exitUsage, `--expires "root=-1"`},
		{[]string{"-C", dir, "init", "--app-name", "demoapp", "--threshold", "mirror=2"}, exitUsage, `unknown role "mirror"`},
		{[]string{"-C", dir, "init", "--app-name", "demoapp"}, exitOK, ""},
		{[]string{"-C", dir, "add", "1.0.0"}, exitUsage, "want VERSION BUNDLE_DIR"},
		{[]string{"-C", dir, "add", "1.0.0", bundle, "--meta", "{"}, exitUsage, "--meta is not valid JSON"},
		{[]string{"-C", dir, "add", "1.0.0", bundle, "--rollout", "150"}, exitUsage, "--rollout"},
		{[]string{"-C", dir, "add", "1.0.0", bundle, "--max-memory", "lots"}, exitUsage, "--max-memory"},
		{[]string{"-C", dir, "add", "1.0.0", bundle}, exitOK, ""},
		{[]string{"-C", dir, "add", "0.9", bundle}, exitError, "not newer than the latest release 1.0.0"},
		{[]string{"-C", dir, "sign"}, exitUsage, "want ROLE"},
		{[]string{"-C", dir, "sign", "mirror"}, exitError, `unknown role "mirror"`},
		{[]string{"-C", dir, "sign", "timestamp", "--expires", "x"}, exitUsage, "--expires"},
		{[]string{"-C", dir, "keys"}, exitUsage, "want a subcommand"},
		{[]string{"-C", dir, "keys", "rotate"}, exitUsage, `unknown subcommand "rotate"`},
		{[]string{"-C", dir, "keys", "add", "root", "nokey"}, exitError, "nokey.pub not found"},
		{[]string{"-C", dir, "threshold", "root", "2"}, exitError, "must be between 1 and its number of keys, 1"},
		{[]string{"-C", dir, "threshold", "root", "zero"}, exitUsage, "N:"},
		{[]string{"-C", dir, "rollout", "1.0.0", "50"}, exitOK, ""},
		{[]string{"-C", dir, "sign-file", "x.json"}, exitUsage, "--key NAME is required"},
		{[]string{"-C", dir, "publish", filepath.Join(dir, "missing.json")}, exitError, "missing.json"},
		{[]string{"-C", dir, "verify", "--root", filepath.Join(dir, "none.json")}, exitError, "trusted root"},
		{[]string{"-C", dir, "verify"}, exitOK, ""},
		{[]string{"-C", dir, "status", "--fail-on-warning"}, exitOK, ""},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		code := run(c.args, &stdout, &stderr)
		if code != c.code || !strings.Contains(stderr.String(), c.stderr) {
			t.Errorf("tufup-repo %s: exit %d, stderr %q; want exit %d, stderr containing %q", strings.Join(c.args, " "), code, stderr.String(), c.code, c.stderr)
		}
		if code == exitUsage && !strings.Contains(stderr.String(), "Usage: tufup-repo") {
			t.Errorf("tufup-repo %s: usage error without usage", strings.Join(c.args, " "))
		}
	}
}

// Every command documents itself.
func TestEveryCommandHasHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--help"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("--help: exit %d", code)
	}
	top := stdout.String()
	containsFlags := map[string][]string{
		"init":   {"--app-name", "--repo-dir", "--keys-dir", "--expires", "--threshold", "--encrypt", "--unsigned-out"},
		"add":    {"--required", "--meta", "--skip-patch", "--rollout", "--keys-dir", "--unsigned-out"},
		"sign":   {"--expires", "--keys-dir"},
		"verify": {"--root"},
		"serve":  {"--addr"},
	}
	for _, c := range commands() {
		if !strings.Contains(top, c.name) {
			t.Errorf("top help lacks %s", c.name)
		}
		stdout.Reset()
		if code := run([]string{c.name, "--help"}, &stdout, &stderr); code != exitOK {
			t.Errorf("%s --help: exit %d", c.name, code)
		}
		containsAll(t, stdout.String(), append([]string{"Usage: tufup-repo [-C DIR] " + c.name}, containsFlags[c.name]...)...)
	}
	containsAll(t, top, "Exit codes: 0 success, 1 error", "2 usage error", "TUFUP_KEY_PASSWORD")
}

func containsAll(t *testing.T, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("output lacks %q:\n%s", p, s)
		}
	}
}
