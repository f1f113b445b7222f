package e2e

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/cjson"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufup-go/tufup/internal/sandbox"
	"github.com/tufup-go/tufup/layout"
	"github.com/tufup-go/tufup/patch"
	"github.com/tufup-go/tufup/versions"
)

// interopFixture is what real Python tufup 0.10.0 made for issue 3: repository/,
// keystore/, .tufup-repo-config and the source bundle of each release.
var interopFixture = filepath.Join("..", "testdata", "tufup-0.10-demoapp")

// interopEnv serves a repository made by Python tufup to real launchers.
// The served folder's content can be replaced between launcher runs, as a
// publisher's later releases replace what a field client sees at the same
// address.
type interopEnv struct {
	t    *testing.T
	bins sandbox.Binaries
	www  string // the folder the server serves
	srv  *sandbox.Server
}

// newInteropEnv serves an untouched copy of the fixture's repository/.
func newInteropEnv(t *testing.T) *interopEnv {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fixture's app is a shell script")
	}
	e := &interopEnv{t: t, bins: binaries(t), www: filepath.Join(t.TempDir(), "www")}
	e.serve(filepath.Join(interopFixture, "repository"))
	srv, err := sandbox.Serve(e.www)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	t.Cleanup(func() { srv.Close() })
	return e
}

// serve replaces the served repository with a copy of repoDir.
func (e *interopEnv) serve(repoDir string) {
	e.t.Helper()
	if err := os.RemoveAll(e.www); err != nil {
		e.t.Fatal(err)
	}
	interopCopyTree(e.t, repoDir, e.www)
}

// project copies the fixture's build-machine folder (config, keystore,
// repository) for tufup-repo to work on.
func (e *interopEnv) project() string {
	e.t.Helper()
	dir := filepath.Join(e.t.TempDir(), "project")
	interopCopyTree(e.t, interopFixture, dir)
	if err := os.RemoveAll(filepath.Join(dir, "bundles")); err != nil {
		e.t.Fatal(err)
	}
	return dir
}

// repo runs tufup-repo as if started in dir.
func (e *interopEnv) repo(dir string, args ...string) string {
	e.t.Helper()
	out, err := exec.Command(e.bins.TufupRepo, append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		e.t.Fatalf("tufup-repo %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// newInstall lays out a launcher for demoapp shipping the fixture's
// original root.json, on the given channel.
func (e *interopEnv) newInstall(channel string) demoInstall {
	e.t.Helper()
	cfg := map[string]any{
		"app_name":      "demoapp",
		"metadata_url":  e.srv.URL + "/metadata/",
		"targets_url":   e.srv.URL + "/targets/",
		"entry":         "app",
		"channel":       channel,
		"check_timeout": "10s",
	}
	dir := filepath.Join(e.t.TempDir(), "Demo App")
	launcher, err := sandbox.Install(dir, e.bins.Launcher, sandbox.InstallOptions{
		Config: cfg,
		Root:   filepath.Join(interopFixture, "repository", "metadata", "root.json"),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return demoInstall{&install{t: e.t, dir: dir, launcher: launcher, out: filepath.Join(e.t.TempDir(), "unused.jsonl")}}
}

// demoInstall is an install of the fixture's demoapp, whose app is a shell
// script that prints its version and arguments (it keeps no run log).
type demoInstall struct{ *install }

// installAt returns an install that the launcher brought to version (one of
// the fixture's releases) while it was the newest, then serves the fixture's
// final repository again at the same address.
//
// Why not a fresh install, or `tufup-repo remove-latest` on a copy: a fresh
// install from the fixture gets 1.2.0 (hand-made hold-backs in state.json
// would not leave the state a real older client has), and the fixture holds
// the repository only as it was after its last release (targets, snapshot
// and timestamp version 5). remove-latest re-signs with higher versions (6,
// 7, 8), and a client that cached those rightly rejects the fixture's
// version 5 afterwards as a rollback attack. So the earlier state is rebuilt
// as Python tufup published it right after that release: tufup's init
// publishes version 1 of each role and every release adds one, so after n
// releases targets, snapshot and timestamp are at version n+1, and targets
// lists the first n releases' archives and patches (copied verbatim, custom
// metadata included, from the fixture). It is signed with the fixture's
// keystore and checked by the launcher against the fixture's original
// root.json. The install then holds what a field client holds: its metadata
// cache at version n+1, the base tar in .tufup/cache, its state; moving on
// to version 5 is the ordinary update path.
func (e *interopEnv) installAt(version, channel string) demoInstall {
	e.t.Helper()
	old := filepath.Join(e.t.TempDir(), "repository-at-"+version)
	interopHistoricRepo(e.t, version, old)
	e.serve(old)
	e.srv.ResetLog()
	in := e.newInstall(channel)
	in.startApp(version)
	if got := e.srv.Fetched("/targets/"); len(got) != 1 || got[0] != "demoapp-"+version+".tar.gz" {
		e.t.Fatalf("bootstrap of %s fetched %v, want its archive", version, got)
	}
	e.serve(filepath.Join(interopFixture, "repository"))
	e.srv.ResetLog()
	return in
}

// startApp runs the launcher with app arguments and requires that it
// started the fixture's app of the wanted version, which prints
// "app VERSION ARGS".
func (in demoInstall) startApp(want string, appArgs ...string) result {
	in.t.Helper()
	return in.startWith(want, nil, appArgs...)
}

// startWith is startApp with launcher flags before the app's arguments.
func (in demoInstall) startWith(want string, flags []string, appArgs ...string) result {
	in.t.Helper()
	args := append(append([]string(nil), flags...), appArgs...)
	r := in.run(nil, args...)
	wantOut := strings.Join(append([]string{"app", want}, appArgs...), " ") + "\n"
	if r.code != 0 || r.stdout != wantOut {
		in.t.Fatalf("launcher %q: exit %d, stdout %q; want exit 0 and %q\nstderr: %s\nlog:\n%s", args, r.code, r.stdout, wantOut, r.stderr, in.log())
	}
	if got := in.current(); got != want {
		in.t.Fatalf("current = %s, want %s", got, want)
	}
	return r
}

func (in demoInstall) state() layout.State {
	in.t.Helper()
	s, err := layout.New(in.dir).LoadState()
	if err != nil {
		in.t.Fatal(err)
	}
	return s
}

// cachedTargetsVersion is the version of the targets metadata the launcher
// trusts (its rollback floor).
func (in demoInstall) cachedTargetsVersion() int64 {
	in.t.Helper()
	md, err := metadata.Targets().FromFile(filepath.Join(in.dir, ".tufup", "metadata", "targets.json"))
	if err != nil {
		in.t.Fatal(err)
	}
	return md.Signed.Version
}

// tarIndex is the index through which the installed folder of version
// serves the tar it was extracted from, the base that patches apply to.
func (in demoInstall) tarIndex(version string) string {
	return filepath.Join(in.dir, ".tufup", "cache", "demoapp-"+version+".tarindex")
}

// oldStyleBase makes the install look like one made by a launcher that
// kept the current version's tar as the patch base: the tar in the cache
// (damaged if asked), no index. It returns the tar's path.
func (in demoInstall) oldStyleBase(version string, damaged bool) string {
	in.t.Helper()
	tar := filepath.Join(in.dir, ".tufup", "cache", "demoapp-"+version+".tar")
	interopGunzip(in.t, version, tar)
	if damaged {
		interopCorrupt(in.t, tar)
	}
	if err := os.Remove(in.tarIndex(version)); err != nil {
		in.t.Fatal(err)
	}
	return tar
}

// assertRelease requires that versions/<version> holds exactly the want
// tree, byte for byte, with its file modes.
func (in demoInstall) assertRelease(version, want string) {
	in.t.Helper()
	assertSameTree(in.t, want, filepath.Join(in.dir, "versions", version))
}

// interopBundle returns the tree a release of the fixture must extract to:
// the fixture's source bundle with the modes Python tufup packed. Git keeps
// only the executable bit, so the checkout's modes depend on the umask; the
// fixture's archives hold 0755 folders, 0755 executables and 0644 other
// files, and the copy gets those. The copy is checked against the fixture's
// own archive of that release (names, types, modes, bytes), so the
// comparison trusts neither the checkout nor our archive reader alone.
func interopBundle(t *testing.T, version string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "bundle-"+version)
	interopCopyTree(t, filepath.Join(interopFixture, "bundles", "demoapp-"+version), dst)
	archive := filepath.Join(interopFixture, "repository", "targets", "demoapp-"+version+".tar.gz")
	if _, err := os.Stat(archive); err == nil {
		want, err := treeOf(dst)
		if err != nil {
			t.Fatal(err)
		}
		got := interopArchiveTree(t, archive)
		for name, w := range want {
			if got[name] != w {
				t.Fatalf("interopFixture bundle %s and its archive differ at %s: bundle %s, archive %s", version, name, w, got[name])
			}
		}
		if len(got) != len(want) {
			t.Fatalf("interopFixture archive of %s has %d entries, its bundle %d", version, len(got), len(want))
		}
	}
	return dst
}

// interopArchiveTree describes a .tar.gz's members as treeOf describes a folder.
func interopArchiveTree(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	files := map[string]string{}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(hdr.Name, "./"), "/")
		perm := fs.FileMode(hdr.Mode).Perm().String()
		switch hdr.Typeflag {
		case tar.TypeDir:
			if name != "." && name != "" {
				files[name] = "dir " + perm
			}
		case tar.TypeSymlink:
			files[name] = "symlink -> " + hdr.Linkname
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			files[name] = fmt.Sprintf("file %s %d bytes %x", perm, len(b), sha(b))
		default:
			t.Fatalf("%s: unexpected member %s of type %c", path, hdr.Name, hdr.Typeflag)
		}
	}
}

// interopCopyTree copies a folder of regular files, giving folders mode 0755 and
// files 0755 or 0644 by their executable bit (see interopBundle).
func interopCopyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			return os.Chmod(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", p)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if info.Mode()&0o111 != 0 {
			mode = 0o755
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, b, mode); err != nil {
			return err
		}
		return os.Chmod(target, mode)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}

// interopHistoricRepo writes into dst the fixture's repository as Python tufup had
// published it right after release upTo (see installAt).
func interopHistoricRepo(t *testing.T, upTo string, dst string) {
	t.Helper()
	last, err := versions.Parse(upTo)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(interopFixture, "repository")
	metaDir := filepath.Join(dst, "metadata")
	for _, d := range []string{metaDir, filepath.Join(dst, "targets")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"root.json", "1.root.json"} {
		interopCopyFile(t, filepath.Join(src, "metadata", name), filepath.Join(metaDir, name))
	}
	root, err := metadata.Root().FromFile(filepath.Join(src, "metadata", "root.json"))
	if err != nil {
		t.Fatal(err)
	}

	targets, err := metadata.Targets().FromFile(filepath.Join(src, "metadata", "targets.json"))
	if err != nil {
		t.Fatal(err)
	}
	releases := 0
	for name := range targets.Signed.Targets {
		tn, err := versions.ParseTarget(name)
		if err != nil {
			t.Fatalf("interopFixture target %s: %v", name, err)
		}
		switch {
		case tn.Version.Compare(last) > 0:
			delete(targets.Signed.Targets, name)
		default:
			interopCopyFile(t, filepath.Join(src, "targets", name), filepath.Join(dst, "targets", name))
			if tn.Kind == versions.Archive {
				releases++
			}
		}
	}
	version := int64(releases + 1)
	targets.Signed.Version = version
	interopSign(t, root, targets, metadata.TARGETS, filepath.Join(metaDir, "targets.json"))

	snapshot, err := metadata.Snapshot().FromFile(filepath.Join(src, "metadata", "snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	snapshot.Signed.Version = version
	snapshot.Signed.Meta["targets.json"] = metadata.MetaFile(version)
	interopSign(t, root, snapshot, metadata.SNAPSHOT, filepath.Join(metaDir, "snapshot.json"))

	timestamp, err := metadata.Timestamp().FromFile(filepath.Join(src, "metadata", "timestamp.json"))
	if err != nil {
		t.Fatal(err)
	}
	timestamp.Signed.Version = version
	timestamp.Signed.Meta["snapshot.json"] = metadata.MetaFile(version)
	interopSign(t, root, timestamp, metadata.TIMESTAMP, filepath.Join(metaDir, "timestamp.json"))
}

// interopSign signs a role's metadata with its key from the fixture's keystore
// (file named after the role, as its .tufup-repo-config maps them) and
// writes it. The signature's key id is the one root.json lists: tufup's key
// ids are not what go-tuf would compute from the key (see tufup-compat.md).
func interopSign[T metadata.Roles](t *testing.T, root *metadata.Metadata[metadata.RootType], md *metadata.Metadata[T], role, path string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(interopFixture, "keystore", role))
	if err != nil {
		t.Fatal(err)
	}
	var kf struct {
		KeyVal struct{ Public, Private string } `json:"keyval"`
	}
	if err := json.Unmarshal(b, &kf); err != nil {
		t.Fatalf("keystore/%s: %v", role, err)
	}
	seed, err := hex.DecodeString(kf.KeyVal.Private)
	if err != nil || len(seed) != ed25519.SeedSize {
		t.Fatalf("keystore/%s: private key is not a hex ed25519 seed", role)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pubHex := hex.EncodeToString(priv.Public().(ed25519.PublicKey))
	keyID := ""
	for _, id := range root.Signed.Roles[role].KeyIDs {
		if k := root.Signed.Keys[id]; k != nil && k.Value.PublicKey == pubHex {
			keyID = id
		}
	}
	if keyID == "" {
		t.Fatalf("keystore/%s is not a %s key of root.json", role, role)
	}
	payload, err := cjson.EncodeCanonical(md.Signed)
	if err != nil {
		t.Fatal(err)
	}
	md.Signatures = []metadata.Signature{{KeyID: keyID, Signature: ed25519.Sign(priv, payload)}}
	if err := md.ToFile(path, true); err != nil {
		t.Fatal(err)
	}
}

func interopCopyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// interopGunzip writes the uncompressed tar of a fixture release to dst, as
// the launcher caches it after installing that release.
func interopGunzip(t *testing.T, version, dst string) patch.TarInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	src := filepath.Join(interopFixture, "repository", "targets", "demoapp-"+version+".tar.gz")
	info, err := patch.Gunzip(ctx, src, dst, 16<<20)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// interopCustom returns the tufup part of a fixture target's custom metadata.
func interopCustom(t *testing.T, name string) map[string]any {
	t.Helper()
	targets, err := metadata.Targets().FromFile(filepath.Join(interopFixture, "repository", "metadata", "targets.json"))
	if err != nil {
		t.Fatal(err)
	}
	tf := targets.Signed.Targets[name]
	if tf == nil || tf.Custom == nil {
		t.Fatalf("interopFixture target %s has no custom metadata", name)
	}
	var custom struct {
		Tufup map[string]any `json:"tufup"`
	}
	if err := json.Unmarshal(*tf.Custom, &custom); err != nil {
		t.Fatal(err)
	}
	return custom.Tufup
}
