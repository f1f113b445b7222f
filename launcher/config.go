package launcher

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/tufup-go/tufup/versions"
)

// ConfigFile is the name of the launcher's configuration file, read from the
// folder of the launcher's executable.
const ConfigFile = "launcher.json"

// RootFile is the trusted root metadata shipped next to the launcher.
const RootFile = "root.json"

// Config is launcher.json. Every key is documented in docs/launcher-json.md;
// a test keeps the two in step.
type Config struct {
	// AppName is the name in the repository's target names (<app>-<version>.tar.gz).
	AppName string `json:"app_name"`
	// MetadataURL is the base URL of the TUF metadata (http, https or file).
	MetadataURL string `json:"metadata_url"`
	// TargetsURL is the base URL of the archives and patches.
	TargetsURL string `json:"targets_url"`
	// Entry is the app's executable, relative to a version folder: one path
	// for every platform, or an object keyed by "goos/goarch" or GOOS, with
	// an optional "default".
	Entry Entry `json:"entry"`
	// Channel is the newest kind of pre-release to install: stable, rc,
	// beta or alpha.
	Channel string `json:"channel,omitempty"`
	// KeepVersions is how many versions stay installed (at least 2: the
	// current and the previous, for rollback).
	KeepVersions int `json:"keep_versions,omitempty"`
	// Update is the update policy: "on-start" checks at every start and
	// installs an update before starting the app; "background" starts the
	// installed version at once and installs the update meanwhile, for the
	// next start; "never" only starts the installed version.
	Update string `json:"update,omitempty"`
	// CheckTimeout bounds the update check at start, so an unreachable or
	// silent server never delays the app by more than this.
	CheckTimeout Duration `json:"check_timeout,omitempty"`
	// IdleTimeout aborts a download that receives (almost) nothing for
	// this long.
	IdleTimeout Duration `json:"idle_timeout,omitempty"`
	// DownloadTimeout bounds how long an update's downloads may hold the
	// start of an installed version (on-start policy): past it, the
	// installed version starts and the update goes on in the background.
	DownloadTimeout Duration `json:"download_timeout,omitempty"`
	// Headers are sent with every request (for instance an Authorization
	// token); their values are never logged.
	Headers map[string]string `json:"headers,omitempty"`
	// DataDir is where versions and launcher state live; empty means next to
	// the launcher. Placeholders: {userdata} (the OS's per-user application
	// data folder) and {home}.
	DataDir string `json:"data_dir,omitempty"`
	// ProbationStarts is how many first starts of a new version are watched
	// for crashes (0 turns probation off).
	ProbationStarts *int `json:"probation_starts,omitempty"`
	// ProbationFailures is how many of those starts may fail before the
	// launcher rolls back by itself.
	ProbationFailures int `json:"probation_failures,omitempty"`
	// ProbationWindow is how long after start an exit counts as a failed
	// start when the exit code is not 0.
	ProbationWindow Duration `json:"probation_window,omitempty"`
	// SelfUpdate lets the launcher replace its own executable with newer
	// launcher releases published in the repository.
	SelfUpdate bool `json:"self_update,omitempty"`
	// Console keeps the console on Windows: the app inherits the launcher's
	// console (for console apps).
	Console bool `json:"console,omitempty"`
	// UI is how the launcher shows its work: "auto" (a window when it has
	// no terminal, a progress bar on the terminal when it has one),
	// "window", "terminal" or "none".
	UI string `json:"ui,omitempty"`
	// DisplayName is the app's name as users see it, in the progress
	// window and dialogs; empty means AppName.
	DisplayName string `json:"display_name,omitempty"`
}

// Defaults for keys left out of launcher.json.
const (
	DefaultKeepVersions      = 2
	DefaultCheckTimeout      = 5 * time.Second
	DefaultIdleTimeout       = 30 * time.Second
	DefaultDownloadTimeout   = 10 * time.Second
	DefaultProbationStarts   = 3
	DefaultProbationFailures = 2
	DefaultProbationWindow   = 10 * time.Second
	UpdateOnStart            = "on-start"
	UpdateBackground         = "background"
	UpdateNever              = "never"
	UIAuto                   = "auto"
	UIWindow                 = "window"
	UITerminal               = "terminal"
	UINone                   = "none"
)

// LoadConfig reads and checks a launcher.json file.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, fmt.Errorf("no %s at %s: the launcher reads its configuration from the folder of its executable; put %s there (see docs/launcher-json.md)", ConfigFile, path, ConfigFile)
	}
	if err != nil {
		return Config{}, fmt.Errorf("read launcher config: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseConfig decodes launcher.json, fills in defaults and checks every
// value. Errors name the key at fault.
func ParseConfig(b []byte) (Config, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return Config{}, jsonError(b, err)
	}
	known := make(map[string]bool)
	for _, k := range ConfigKeys() {
		known[k] = true
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var c Config
	for _, k := range keys {
		if !known[k] {
			return Config{}, fmt.Errorf("unknown key %q (the keys are listed in docs/launcher-json.md; check its spelling)", k)
		}
		// One key at a time, so a bad value is reported with its key.
		one, _ := json.Marshal(map[string]json.RawMessage{k: raw[k]})
		if err := json.Unmarshal(one, &c); err != nil {
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) {
				return Config{}, fmt.Errorf("key %q: expected %s, got a JSON %s (see docs/launcher-json.md)", k, jsonKind(typeErr.Type), typeErr.Value)
			}
			return Config{}, fmt.Errorf("key %q: %w", k, err)
		}
	}
	if err := c.fillAndCheck(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// ConfigKeys lists every key launcher.json may hold.
func ConfigKeys() []string {
	t := reflect.TypeOf(Config{})
	keys := make([]string, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		keys = append(keys, name)
	}
	return keys
}

func (c *Config) fillAndCheck() error {
	if c.AppName == "" {
		return errors.New(`key "app_name" is required`)
	}
	if strings.ContainsAny(c.AppName, `/\ `) {
		return fmt.Errorf(`key "app_name": %q is not a valid app name`, c.AppName)
	}
	for key, u := range map[string]*string{"metadata_url": &c.MetadataURL, "targets_url": &c.TargetsURL} {
		if *u == "" {
			return fmt.Errorf("key %q is required", key)
		}
		parsed, err := url.Parse(*u)
		if err != nil {
			return fmt.Errorf("key %q: %w", key, err)
		}
		switch parsed.Scheme {
		case "http", "https", "file":
		default:
			return fmt.Errorf("key %q: %q must be an http, https or file URL", key, *u)
		}
		if !strings.HasSuffix(*u, "/") {
			*u += "/"
		}
	}
	if c.Entry.All == "" && c.Entry.PerOS == nil {
		return fmt.Errorf(`key "entry" is missing: it names the app's executable inside a version folder, for example "entry": %q`, entryExample(runtime.GOOS, c.AppName))
	}
	if _, err := c.Entry.For(runtime.GOOS, runtime.GOARCH); err != nil {
		return err
	}
	if c.Channel == "" {
		c.Channel = string(versions.Stable)
	}
	ch, err := versions.ParseChannel(c.Channel)
	if err != nil {
		return fmt.Errorf(`key "channel": %w`, err)
	}
	c.Channel = string(ch)
	switch {
	case c.KeepVersions == 0:
		c.KeepVersions = DefaultKeepVersions
	case c.KeepVersions < 2:
		return fmt.Errorf(`key "keep_versions": %d is too few; the current and the previous version are always kept (minimum 2)`, c.KeepVersions)
	}
	switch c.Update {
	case "":
		c.Update = UpdateOnStart
	case UpdateOnStart, UpdateBackground, UpdateNever:
	default:
		return fmt.Errorf(`key "update": %q is not one of "on-start", "background", "never"`, c.Update)
	}
	for key, d := range map[string]*Duration{"check_timeout": &c.CheckTimeout, "idle_timeout": &c.IdleTimeout, "download_timeout": &c.DownloadTimeout, "probation_window": &c.ProbationWindow} {
		if *d < 0 {
			return fmt.Errorf("key %q: negative duration %s; give a duration such as \"5s\" or \"2m\"", key, time.Duration(*d))
		}
	}
	if c.CheckTimeout == 0 {
		c.CheckTimeout = Duration(DefaultCheckTimeout)
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = Duration(DefaultIdleTimeout)
	}
	if c.DownloadTimeout == 0 {
		c.DownloadTimeout = Duration(DefaultDownloadTimeout)
	}
	for name, value := range c.Headers {
		if name == "" || strings.ContainsAny(name, " :\r\n") || strings.ContainsAny(value, "\r\n") {
			return fmt.Errorf("key \"headers\": invalid header %q", name)
		}
	}
	if c.ProbationStarts == nil {
		n := DefaultProbationStarts
		c.ProbationStarts = &n
	}
	if *c.ProbationStarts < 0 {
		return fmt.Errorf(`key "probation_starts": %d is negative`, *c.ProbationStarts)
	}
	if c.ProbationFailures == 0 {
		c.ProbationFailures = min(DefaultProbationFailures, max(*c.ProbationStarts, 1))
	}
	if c.ProbationFailures < 1 || (*c.ProbationStarts > 0 && c.ProbationFailures > *c.ProbationStarts) {
		return fmt.Errorf(`key "probation_failures": %d must be between 1 and probation_starts (%d)`, c.ProbationFailures, *c.ProbationStarts)
	}
	if c.ProbationWindow == 0 {
		c.ProbationWindow = Duration(DefaultProbationWindow)
	}
	switch c.UI {
	case "":
		c.UI = UIAuto
	case UIAuto, UIWindow, UITerminal, UINone:
	default:
		return fmt.Errorf(`key "ui": %q is not one of "auto", "window", "terminal", "none"`, c.UI)
	}
	return nil
}

// Entry is the app's executable inside a version folder.
type Entry struct {
	All   string
	PerOS map[string]string
}

// For returns the entry for a platform (GOOS and GOARCH values): the
// object's "goos/goarch" key, else its "goos" key, else "default".
func (e Entry) For(goos, goarch string) (string, error) {
	p := e.All
	if e.PerOS != nil {
		for _, key := range []string{goos + "/" + goarch, goos, "default"} {
			if p = e.PerOS[key]; p != "" {
				break
			}
		}
	}
	if p == "" {
		if e.PerOS != nil {
			return "", fmt.Errorf(`key "entry" has no path for %s/%s: add a %q, %q or "default" key, for example %q: %q`, goos, goarch, goos+"/"+goarch, goos, goos, entryExample(goos, "myapp"))
		}
		return "", fmt.Errorf(`key "entry" is empty: give the app's executable inside a version folder, for example %q`, entryExample(goos, "myapp"))
	}
	clean := filepath.ToSlash(filepath.Clean(filepath.FromSlash(p)))
	if filepath.IsAbs(p) || strings.HasPrefix(p, "/") || clean == ".." || strings.HasPrefix(clean, "../") || filepath.VolumeName(p) != "" {
		return "", fmt.Errorf(`key "entry": %q must be a path inside the version folder`, p)
	}
	return clean, nil
}

// jsonKind describes what JSON a Go type is read from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return t.String()
}

// entryExample is what "entry" typically holds for app on goos.
func entryExample(goos, app string) string {
	switch goos {
	case "windows":
		return app + ".exe"
	case "darwin":
		return app + ".app/Contents/MacOS/" + app
	}
	return app
}

// jsonError turns a JSON decoding error into one a person can act on: the
// line and column of a syntax error, or what the file should hold.
func jsonError(b []byte, err error) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return errors.New(`the file is empty: it must be a JSON object with at least "app_name", "metadata_url", "targets_url" and "entry"`)
	}
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		line, col := lineColumn(b, syntax.Offset)
		if syntax.Offset >= int64(len(b)) {
			return fmt.Errorf("line %d, column %d: invalid JSON: the file ends before the JSON object does (truncated, or a missing } or \")", line, col)
		}
		return fmt.Errorf("line %d, column %d: invalid JSON: %v (a missing comma, quote or brace, or a trailing comma, is the usual cause)", line, col, err)
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Errorf("the file holds a JSON %s, not an object of keys such as {\"app_name\": \"myapp\", ...}", typeErr.Value)
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// lineColumn converts a byte offset into a 1-based line and column (in
// bytes) at the offset's last byte read, as an editor shows them.
func lineColumn(b []byte, offset int64) (line, col int) {
	offset = min(max(offset, 1), int64(len(b)))
	before := b[:offset-1]
	line = 1 + bytes.Count(before, []byte("\n"))
	col = 1 + len(before) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, col
}

// UnmarshalJSON accepts a string or an object of platform -> path.
func (e *Entry) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &e.All)
	}
	if err := json.Unmarshal(b, &e.PerOS); err != nil {
		return fmt.Errorf(`key "entry": expected a path or an object of OS name to path: %w`, err)
	}
	return nil
}

// MarshalJSON writes the form that was read.
func (e Entry) MarshalJSON() ([]byte, error) {
	if e.PerOS != nil {
		return json.Marshal(e.PerOS)
	}
	return json.Marshal(e.All)
}

// Duration is a time.Duration written in JSON as "5s", "1m30s" or a number
// of seconds.
type Duration time.Duration

// UnmarshalJSON parses "5s" or 5.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("expected a duration such as \"5s\" or a number of seconds, got %s", b)
	}
	*d = Duration(secs * float64(time.Second))
	return nil
}

// MarshalJSON writes the duration as a string such as "5s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// ConfigDir is where the launcher whose executable is exe finds
// launcher.json and root.json: next to the executable, or, for the
// executable of a macOS bundle (X.app/Contents/MacOS/), in the bundle's
// Contents/Resources/ when launcher.json is there, since Apple wants only
// code in Contents/MacOS.
func ConfigDir(exe string) string {
	dir := filepath.Dir(exe)
	contents := filepath.Dir(dir)
	if filepath.Base(dir) == "MacOS" && filepath.Base(contents) == "Contents" && strings.HasSuffix(filepath.Dir(contents), ".app") {
		resources := filepath.Join(contents, "Resources")
		if _, err := os.Stat(filepath.Join(resources, ConfigFile)); err == nil {
			return resources
		}
	}
	return dir
}
