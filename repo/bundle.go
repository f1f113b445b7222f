package repo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/tufup-go/tufup/internal/fsutil"
	"github.com/tufup-go/tufup/versions"
)

// SettingsFile holds tufup-repo's own settings, next to .tufup-repo-config.
// They are kept apart because Python tufup 0.10 passes every key of
// .tufup-repo-config to its Repository as a keyword argument, and fails on
// a key it does not know.
const SettingsFile = ".tufup-repo-settings.json"

// Settings are tufup-repo's own settings of a repository.
type Settings struct {
	// Entry is the app's executable inside a bundle, as launcher.json's
	// "entry" names it, so add refuses a bundle the launcher could not
	// start. Nil: not checked.
	Entry Entry `json:"entry,omitempty"`
}

// Entry maps platform keys ("os/arch", "os" or "default") to the entry
// point's path inside a bundle, as launcher.json's "entry" does; a plain
// string in JSON is the "default" path.
type Entry map[string]string

// UnmarshalJSON accepts a path or an object of platform keys to paths.
func (e *Entry) UnmarshalJSON(b []byte) error {
	var path string
	if err := json.Unmarshal(b, &path); err == nil {
		*e = Entry{"default": path}
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return errors.New(`"entry" must be a path or an object of platform ("os/arch", "os" or "default") to path, as in launcher.json`)
	}
	*e = m
	return nil
}

// MarshalJSON writes a lone "default" path as a plain string.
func (e Entry) MarshalJSON() ([]byte, error) {
	if p, ok := e["default"]; ok && len(e) == 1 {
		return json.Marshal(p)
	}
	return json.Marshal(map[string]string(e))
}

// ReadSettings reads dir's SettingsFile; a missing file is no settings.
func ReadSettings(dir string) (Settings, error) {
	path := filepath.Join(dir, SettingsFile)
	var s Settings
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("%s: %w (it holds {\"entry\": \"PATH\"})", path, err)
	}
	return s, nil
}

// WriteSettings writes dir's SettingsFile.
func WriteSettings(dir string, s Settings) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFile(filepath.Join(dir, SettingsFile), append(data, '\n'), 0o644)
}

// Settings returns the repository's SettingsFile as read by Open.
func (r *Repo) Settings() Settings { return r.settings }

// entryPaths lists the entry points a bundle for platform p must hold,
// each with whether it must be executable (a program for a Unix-like OS;
// Windows knows no executable bit). A universal bundle serves every
// platform, so it must hold every one.
func (e Entry) entryPaths(p versions.Platform) (map[string]bool, error) {
	need := map[string]bool{}
	add := func(key, path string) {
		goos, _, _ := strings.Cut(key, "/")
		exe := goos != "windows" && !strings.HasSuffix(strings.ToLower(path), ".exe")
		need[path] = need[path] || exe
	}
	if p.OS == "" {
		for key, path := range e {
			add(key, path)
		}
		return need, nil
	}
	name, keys := p.OS, []string{p.OS, "default"}
	if p.Arch != "" {
		name = p.OS + "/" + p.Arch
		keys = append([]string{name}, keys...)
	}
	for _, key := range keys {
		if path, ok := e[key]; ok {
			add(p.OS, path)
			return need, nil
		}
	}
	return nil, fmt.Errorf("the entry setting (%s) has no path for %s: add a %q or \"default\" key", SettingsFile, name, name)
}

// checkBundle refuses a bundle that would install nothing, or that lacks
// the entry point the launcher starts (or its executable bit), before
// anything is written: such a release can only fail on users' machines.
func checkBundle(dir string, p versions.Platform, entry Entry) error {
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files++
			return filepath.SkipAll
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bundle %s: %w", dir, err)
	}
	if files == 0 {
		return fmt.Errorf("bundle %s is empty: refusing to publish a release that installs nothing (is it the build's output folder, and did the build run?)", dir)
	}
	if entry == nil {
		return nil
	}
	need, err := entry.entryPaths(p)
	if err != nil {
		return err
	}
	for _, path := range slices.Sorted(maps.Keys(need)) {
		full := filepath.Join(dir, filepath.FromSlash(path))
		fi, err := os.Stat(full)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("bundle %s has no entry point %s (the entry setting in %s, or --entry): the launcher could not start this release; build the app into the bundle, or correct the entry", dir, path, SettingsFile)
		case err != nil:
			return fmt.Errorf("entry point %s: %w", path, err)
		case !fi.Mode().IsRegular():
			return fmt.Errorf("entry point %s in bundle %s is not a file (%v): the entry names the executable, not its folder", path, dir, fi.Mode().Type())
		case need[path] && runtime.GOOS != "windows" && fi.Mode()&0o111 == 0:
			return fmt.Errorf("entry point %s in bundle %s is not executable (mode %v): the launcher could not start it; make it executable (chmod +x) in the build", path, dir, fi.Mode().Perm())
		}
	}
	return nil
}
