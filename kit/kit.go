// Package kit writes what a developer puts on a download page, for each
// operating system and architecture: the launcher renamed to the app's
// name with its launcher.json and the repository's root.json, packed as
// users expect them there. Windows gets a per-user Setup.exe (NSIS) and a
// portable zip; macOS a zipped .app bundle; Linux a .deb and a .tar.gz,
// each with a .desktop file. With a seed, each package also carries the
// platform's current release archive and the signed targets metadata
// listing it, so the first start needs no network.
//
// Output is deterministic where the formats allow: files sorted, fixed
// times, root ownership, no host names or paths. The same inputs give the
// same bytes (Setup.exe depends on makensis, which is deterministic too for
// the same NSIS version).
package kit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/tufup-go/tufup/internal/fsutil"
	"github.com/tufup-go/tufup/launcher"
	"github.com/tufup-go/tufup/repo"
	"github.com/tufup-go/tufup/versions"
)

// Options say what to pack and how it is presented.
type Options struct {
	// Repo is the repository whose releases and root.json the kit ships.
	Repo *repo.Repo
	// Out is the folder the packages are written to.
	Out string
	// Platforms are the OS/architecture pairs to pack for.
	Platforms []versions.Platform
	// Launchers is a folder of launcher binaries named
	// launcher-OS-ARCH[.exe] (a release of this project, or scripts/release).
	Launchers string
	// Config is the launcher.json to ship. Keys a package needs are added
	// where absent: app_name, and data_dir for installed packages.
	Config []byte
	// Name is the app's display name (file, shortcut and bundle names):
	// default the app name.
	Name string
	// ID identifies the app to the desktop: the Windows AppUserModelID of
	// the shortcuts, the macOS bundle identifier, the .desktop file's name.
	// Default: the app name.
	ID string
	// Publisher names who ships the app (uninstall entry, .deb maintainer).
	Publisher string
	// Description is one line about the app.
	Description string
	// Version is the version the packages are named after; default the
	// newest release for each platform.
	Version string
	// Icons are icon files: .ico (Windows), .icns (macOS), .png (Linux).
	Icons []string
	// Seed packs each platform's current release for an offline first start.
	Seed bool
	// MakeNSIS is the makensis program; default "makensis" from PATH.
	MakeNSIS string
	// Log receives one line per file written.
	Log io.Writer
}

// pkg is what every package of one platform shares.
type pkg struct {
	o        *Options
	p        versions.Platform
	app      string
	version  string
	launcher []byte
	root     []byte
	seed     tree // seed/targets.json and the archive, or nil
	icon     string
}

// Make writes the packages of every requested platform into o.Out and
// returns their paths.
func Make(ctx context.Context, o Options) ([]string, error) {
	if len(o.Platforms) == 0 {
		return nil, errors.New("no platform to pack for")
	}
	if o.Name == "" {
		o.Name = o.Repo.Config().AppName
	}
	if o.ID == "" {
		o.ID = o.Repo.Config().AppName
	}
	if o.Publisher == "" {
		o.Publisher = o.Name
	}
	if o.Description == "" {
		o.Description = o.Name
	}
	if err := checkNames(o); err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	root, err := os.ReadFile(filepath.Join(o.Repo.MetadataDir(), "root.json"))
	if err != nil {
		return nil, fmt.Errorf("trusted root of the repository: %w", err)
	}
	rels, err := o.Repo.Releases()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	var written []string
	for _, p := range o.Platforms {
		if p.OS == "" || p.Arch == "" {
			return nil, fmt.Errorf("platform %s: give an OS and an architecture, such as windows/amd64", p)
		}
		k := &pkg{o: &o, p: p, app: o.Repo.Config().AppName, root: root}
		rel := current(rels, p)
		switch {
		case o.Version != "":
			k.version = o.Version
		case rel != nil:
			k.version = rel.Version.String()
		default:
			return nil, fmt.Errorf("%s: the repository has no release this platform's launcher would install; publish one (tufup-repo add VERSION DIR --os %s --arch %s) or give --version", p, p.OS, p.Arch)
		}
		if o.Seed {
			if rel == nil {
				return nil, fmt.Errorf("%s: --seed, but the repository has no release for this platform", p)
			}
			k.seed.add(launcher.SeedDir+"/targets.json", 0o644, nil)
			k.seed[0].src = filepath.Join(o.Repo.MetadataDir(), "targets.json")
			k.seed.addFile(launcher.SeedDir+"/"+rel.Archive, 0o644, filepath.Join(o.Repo.TargetsDir(), rel.Archive))
		}
		if k.launcher, err = launcherBinary(o.Launchers, p); err != nil {
			return nil, err
		}
		if k.icon, err = iconFor(o.Icons, p.OS); err != nil {
			return nil, err
		}
		var files []string
		switch p.OS {
		case "windows":
			files, err = k.windows(ctx)
		case "darwin":
			files, err = k.macOS()
		case "linux":
			files, err = k.linux()
		default:
			err = fmt.Errorf("%s: kit packs for windows, darwin and linux", p)
		}
		if err != nil {
			return nil, err
		}
		written = append(written, files...)
	}
	return written, nil
}

// current returns the release a launcher on p installs first: the newest
// of its own platform's releases, else of its OS's, else of the universal
// ones (as the launcher chooses).
func current(rels []repo.Release, p versions.Platform) *repo.Release {
	for _, fb := range versions.Fallbacks(p.OS, p.Arch) {
		var found *repo.Release
		for i := range rels {
			if rels[i].Platform == fb && rels[i].Archive != "" {
				found = &rels[i] // oldest first: the last one is the newest
			}
		}
		if found != nil {
			return found
		}
	}
	return nil
}

var (
	// displayName is what may name files and shortcuts on every OS.
	displayName = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N} ._+-]*$`)
	// appID is what an AppUserModelID, a bundle identifier and a .desktop
	// file name all accept.
	appID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*$`)
)

func checkNames(o Options) error {
	if !displayName.MatchString(o.Name) || len(o.Name) > 64 {
		return fmt.Errorf("--name %q: use letters, digits, spaces and . _ + - (up to 64), starting with a letter or digit", o.Name)
	}
	if !appID.MatchString(o.ID) || len(o.ID) > 128 {
		return fmt.Errorf("--id %q: use letters, digits, dots and dashes, such as com.example.MyApp", o.ID)
	}
	for _, s := range []string{o.Publisher, o.Description} {
		if strings.ContainsAny(s, "\"\r\n$`\\") {
			return fmt.Errorf("%q: publisher and description may not hold quotes, backslashes, $ or line breaks", s)
		}
	}
	return nil
}

// launcherBinary reads launcher-OS-ARCH[.exe] from dir.
func launcherBinary(dir string, p versions.Platform) ([]byte, error) {
	if dir == "" {
		return nil, errors.New("no launcher binaries: give --launchers DIR, a folder of launcher-OS-ARCH[.exe] (a release of tufup, or go run ./scripts/release in a checkout)")
	}
	name := LauncherFileName(p)
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("launcher for %s: %w (build it with go run ./scripts/release, or take it from a release of tufup)", p, err)
	}
	return b, nil
}

// LauncherFileName is the launcher binary's name for p in a release:
// launcher-OS-ARCH, with .exe for Windows.
func LauncherFileName(p versions.Platform) string {
	name := "launcher-" + p.OS + "-" + p.Arch
	if p.OS == "windows" {
		name += ".exe"
	}
	return name
}

// iconFor picks the icon file for goos by its extension.
func iconFor(icons []string, goos string) (string, error) {
	ext := map[string]string{"windows": ".ico", "darwin": ".icns", "linux": ".png"}[goos]
	for _, ic := range icons {
		if !slices.Contains([]string{".ico", ".icns", ".png"}, strings.ToLower(filepath.Ext(ic))) {
			return "", fmt.Errorf("icon %s: use .ico (Windows), .icns (macOS) or .png (Linux)", ic)
		}
		if strings.EqualFold(filepath.Ext(ic), ext) {
			return ic, checkIcon(ic)
		}
	}
	return "", nil
}

// iconMagic is how each icon format starts: a file of the wrong format
// would give a broken shortcut or bundle icon (and crashes makensis).
var iconMagic = map[string]string{".ico": "\x00\x00\x01\x00", ".icns": "icns", ".png": "\x89PNG\r\n\x1a\n"}

func checkIcon(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("icon: %w", err)
	}
	defer f.Close()
	ext := strings.ToLower(filepath.Ext(path))
	head := make([]byte, len(iconMagic[ext]))
	if _, err := io.ReadFull(f, head); err != nil || string(head) != iconMagic[ext] {
		return fmt.Errorf("icon %s is not a %s file", path, strings.TrimPrefix(ext, "."))
	}
	return nil
}

// config returns launcher.json for this platform: the given one with
// app_name filled in, and data_dir set to dataDir when absent and dataDir
// is not "". It is checked as the launcher will read it.
func (k *pkg) config(dataDir string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(k.o.Config, &m); err != nil {
		return nil, fmt.Errorf("launcher.json: %w", err)
	}
	set := func(key, value string) {
		if _, ok := m[key]; !ok {
			b, _ := json.Marshal(value)
			m[key] = b
		}
	}
	set("app_name", k.app)
	if dataDir != "" {
		set("data_dir", dataDir)
	}
	// Checked as the launcher on this platform reads it: ParseConfig
	// resolves entry for the OS kit runs on, so it gets this platform's.
	var entry launcher.Entry
	if err := json.Unmarshal(m["entry"], &entry); err != nil {
		return nil, fmt.Errorf("launcher.json: %w", err)
	}
	path, err := entry.For(k.p.OS, k.p.Arch)
	if err != nil {
		return nil, fmt.Errorf("launcher.json for %s: %w", k.p, err)
	}
	check := maps.Clone(m)
	check["entry"], _ = json.Marshal(path)
	checkJSON, _ := json.Marshal(check)
	cfg, err := launcher.ParseConfig(checkJSON)
	if err != nil {
		return nil, fmt.Errorf("launcher.json for %s: %w", k.p, err)
	}
	if cfg.AppName != k.app {
		return nil, fmt.Errorf("launcher.json: app_name %q is not the repository's app %q", cfg.AppName, k.app)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// base returns the files every install of this platform has, in one
// folder: the launcher as exe, launcher.json, root.json, the seed.
func (k *pkg) base(exe, dataDir string) (tree, error) {
	cfg, err := k.config(dataDir)
	if err != nil {
		return nil, err
	}
	var t tree
	t.add(exe, 0o755, k.launcher)
	t.add(launcher.ConfigFile, 0o644, cfg)
	t.add(launcher.RootFile, 0o644, k.root)
	t = append(t, k.seed...)
	return t, nil
}

// write writes a package file atomically and logs it.
func (k *pkg) write(name string, fill func(io.Writer) error) (string, error) {
	path := filepath.Join(k.o.Out, name)
	if err := fsutil.WriteFrom(path, 0o644, fill); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(k.o.Log, "wrote %s (%d bytes)\n", path, fi.Size())
	return path, nil
}

// fileName is name-version-os-arch plus suffix, the naming of every package.
func (k *pkg) fileName(name, suffix string) string {
	return name + "-" + k.version + "-" + k.p.OS + "-" + k.p.Arch + suffix
}
