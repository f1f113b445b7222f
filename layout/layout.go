package layout

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tufup-go/tufup/internal/fsutil"
	"github.com/tufup-go/tufup/versions"
)

// Dir is an install directory:
//
//	current              the active version's name, replaced atomically
//	versions/<version>/  complete, verified releases; never modified in place
//	.tufup/              launcher state: metadata, downloads, cache, staging,
//	                     trash, lock, state.json, versions.json (+ its lock),
//	                     launcher.log
//
// Every folder under versions/ is complete, because folders only get there
// by a rename from staging after extraction and verification, and only leave
// by a rename into trash before they are deleted.
type Dir struct {
	root string
	fs   fsutil.FS // nil: the real disk
}

// New returns the install directory rooted at root. It does not touch disk.
func New(root string) Dir { return Dir{root: root} }

// WithFS returns d writing through fsys: tests pass a recorder to check
// that every rename into place follows the flush of what it renames.
func (d Dir) WithFS(fsys fsutil.FS) Dir {
	d.fs = fsys
	return d
}

func (d Dir) fsys() fsutil.FS {
	if d.fs == nil {
		return fsutil.OS{}
	}
	return d.fs
}

// Root is the directory holding current, versions/ and .tufup/.
func (d Dir) Root() string { return d.root }

// Versions is the folder of installed versions.
func (d Dir) Versions() string { return filepath.Join(d.root, "versions") }

// Version is the folder of one installed version.
func (d Dir) Version(v string) string { return filepath.Join(d.Versions(), v) }

// State is the launcher's private folder.
func (d Dir) State() string { return filepath.Join(d.root, ".tufup") }

// Metadata is where trusted TUF metadata is cached.
func (d Dir) Metadata() string { return filepath.Join(d.State(), "metadata") }

// Downloads holds targets being downloaded (partial files survive restarts
// so downloads resume) and downloaded targets not yet installed.
func (d Dir) Downloads() string { return filepath.Join(d.State(), "downloads") }

// Cache holds the uncompressed tar of the current version: the base that
// patches apply to.
func (d Dir) Cache() string { return filepath.Join(d.State(), "cache") }

// Log is the launcher's log file.
func (d Dir) Log() string { return filepath.Join(d.State(), "launcher.log") }

func (d Dir) pointer() string   { return filepath.Join(d.root, "current") }
func (d Dir) inUse() string     { return filepath.Join(d.State(), "inuse") }
func (d Dir) staging() string   { return filepath.Join(d.State(), "staging") }
func (d Dir) trash() string     { return filepath.Join(d.State(), "trash") }
func (d Dir) lockFile() string  { return filepath.Join(d.State(), "lock") }
func (d Dir) stateFile() string { return filepath.Join(d.State(), "state.json") }

// Create makes the folders of the layout that do not exist yet.
func (d Dir) Create() error {
	for _, dir := range []string{d.Versions(), d.Metadata(), d.Downloads(), d.Cache(), d.staging(), d.trash()} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create install folder: %w", err)
		}
	}
	return nil
}

// ErrNoCurrent means the current pointer does not exist: nothing has been
// installed yet.
var ErrNoCurrent = errors.New("no version installed yet")

// Current returns the version the current pointer names. It returns an error
// wrapping ErrNoCurrent when there is no pointer, and another error when the
// pointer is unreadable or names something that is not an installed version.
func (d Dir) Current() (string, error) {
	b, err := os.ReadFile(d.pointer())
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s: %w", d.pointer(), ErrNoCurrent)
	}
	if err != nil {
		return "", fmt.Errorf("read current pointer: %w", err)
	}
	v := strings.TrimSpace(string(b))
	if err := checkName(v); err != nil {
		return "", fmt.Errorf("current pointer %s: %w", d.pointer(), err)
	}
	if fi, err := os.Stat(d.Version(v)); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("current pointer %s names %q, which is not installed", d.pointer(), v)
	}
	return v, nil
}

// SetCurrent atomically points current at installed version v.
func (d Dir) SetCurrent(v string) error {
	if err := checkName(v); err != nil {
		return err
	}
	if fi, err := os.Stat(d.Version(v)); err != nil || !fi.IsDir() {
		return fmt.Errorf("cannot point current at %q: not installed", v)
	}
	write := func() error { return fsutil.WriteFileFS(d.fsys(), d.pointer(), []byte(v+"\n"), 0o644) }
	if err := retryBusy(write); err != nil {
		return fmt.Errorf("write current pointer: %w", err)
	}
	return nil
}

// Installed lists installed versions, oldest first. Folders whose names are
// not versions are ignored.
func (d Dir) Installed() ([]string, error) {
	entries, err := os.ReadDir(d.Versions())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list installed versions: %w", err)
	}
	type installed struct {
		name string
		v    versions.Version
	}
	var found []installed
	for _, e := range entries {
		if !e.IsDir() || checkName(e.Name()) != nil {
			continue
		}
		v, err := versions.Parse(e.Name())
		if err != nil {
			continue
		}
		found = append(found, installed{e.Name(), v})
	}
	sort.Slice(found, func(i, j int) bool { return found[i].v.Compare(found[j].v) < 0 })
	names := make([]string, len(found))
	for i, f := range found {
		names[i] = f.name
	}
	return names, nil
}

// NewStaging returns a fresh, not yet existing path under the staging folder
// for extracting version v.
func (d Dir) NewStaging(v string) (string, error) {
	if err := checkName(v); err != nil {
		return "", err
	}
	if err := os.MkdirAll(d.staging(), 0o755); err != nil {
		return "", fmt.Errorf("create staging folder: %w", err)
	}
	tmp, err := os.MkdirTemp(d.staging(), v+"-")
	if err != nil {
		return "", fmt.Errorf("create staging folder: %w", err)
	}
	// Extraction creates the folder itself, so it only gets a unique name.
	if err := os.Remove(tmp); err != nil {
		return "", fmt.Errorf("create staging folder: %w", err)
	}
	return tmp, nil
}

// Add moves a fully extracted and verified staging folder into place as
// version v. It fails if v is already installed.
func (d Dir) Add(staging, v string) error {
	if err := checkName(v); err != nil {
		return err
	}
	if err := os.MkdirAll(d.Versions(), 0o755); err != nil {
		return fmt.Errorf("create versions folder: %w", err)
	}
	if _, err := os.Lstat(d.Version(v)); err == nil {
		return fmt.Errorf("version %s is already installed", v)
	}
	return fsutil.RenameFS(d.fsys(), staging, d.Version(v))
}

// ErrInUse means a version cannot be removed because an app runs from it.
var ErrInUse = errors.New("in use by a running app")

// Remove uninstalls version v unless an app runs from it. The folder is
// first renamed out of versions/ in one step, so it is never seen half
// deleted; on Windows that rename fails while a file inside is in use, and
// then v stays installed and intact.
func (d Dir) Remove(v string) error {
	if err := checkName(v); err != nil {
		return err
	}
	unlock, err := d.lockForRemoval(v)
	if err != nil {
		return err
	}
	defer unlock()
	if err := os.MkdirAll(d.trash(), 0o755); err != nil {
		return fmt.Errorf("create trash folder: %w", err)
	}
	tmp, err := os.MkdirTemp(d.trash(), v+"-")
	if err != nil {
		return fmt.Errorf("remove version %s: %w", v, err)
	}
	target := filepath.Join(tmp, v)
	if err := os.Rename(d.Version(v), target); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("remove version %s (in use?): %w", v, err)
	}
	if err := removeAll(tmp); err != nil {
		return fmt.Errorf("version %s uninstalled, but its files in %s could not all be deleted yet: %w", v, tmp, err)
	}
	return nil
}

func (d Dir) openInUse(v string) (*os.File, error) {
	if err := checkName(v); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(d.inUse(), 0o755); err != nil {
		return nil, fmt.Errorf("create in-use folder: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(d.inUse(), v+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open in-use lock of %s: %w", v, err)
	}
	return f, nil
}

func (d Dir) versionInfo(v string) (os.FileInfo, error) { return os.Stat(d.Version(v)) }

// CleanLeftovers deletes what a crash or kill can leave behind: half
// extracted staging folders and half deleted versions in the trash. Call it
// only while holding the lock. Files that cannot be deleted yet (in use on
// Windows) are left for a later start.
func (d Dir) CleanLeftovers() error {
	var errs []error
	for _, dir := range []string{d.staging(), d.trash()} {
		entries, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		for _, e := range entries {
			if err := removeAll(filepath.Join(dir, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	// In-use locks of versions that are gone.
	if entries, err := os.ReadDir(d.inUse()); err == nil {
		for _, e := range entries {
			v := strings.TrimSuffix(e.Name(), ".lock")
			if _, err := os.Stat(d.Version(v)); errors.Is(err, fs.ErrNotExist) {
				os.Remove(filepath.Join(d.inUse(), e.Name()))
			}
		}
	}
	// Temporary files of interrupted atomic writes of the pointer.
	if matches, _ := filepath.Glob(filepath.Join(d.root, ".current.tmp*")); len(matches) > 0 {
		for _, m := range matches {
			if err := os.Remove(m); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("clean up leftovers: %w", err)
	}
	return nil
}

// checkName makes sure a version string is safe as a single folder name.
func checkName(v string) error {
	switch {
	case v == "":
		return errors.New("empty version")
	case v == "." || v == "..", strings.ContainsAny(v, `/\:`+"\x00"), strings.HasPrefix(v, "."):
		return fmt.Errorf("%q is not a valid version folder name", v)
	case len(v) > 128:
		return fmt.Errorf("version %.20q... is too long", v)
	}
	return nil
}
