package repo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tufup-go/tufup/internal/fsutil"
)

// ConfigFile is the name of the repository configuration file Python tufup
// keeps in the directory it runs in; tufup-repo reads and writes the same file.
const ConfigFile = ".tufup-repo-config"

// The four top-level TUF roles, in the order a change cascades through them.
const (
	RoleRoot      = "root"
	RoleTargets   = "targets"
	RoleSnapshot  = "snapshot"
	RoleTimestamp = "timestamp"
)

// Roles lists the top-level roles in publishing order.
var Roles = []string{RoleRoot, RoleTargets, RoleSnapshot, RoleTimestamp}

// Config is the content of .tufup-repo-config, field for field as Python
// tufup 0.10 writes it.
type Config struct {
	AppName string
	// AppVersionAttr and BinaryDiff are Python-only settings (a module
	// attribute holding the version, a custom diff class); kept as found.
	AppVersionAttr *string
	BinaryDiff     *string
	// EncryptedKeys names the keys whose private files are encrypted. It is
	// informational: key files are recognised as encrypted by their content.
	EncryptedKeys []string
	// ExpirationDays is each role's validity period in days.
	ExpirationDays map[string]float64
	// KeyMap names the keys of each role (files <name> and <name>.pub).
	KeyMap map[string][]string
	// KeysDir and RepoDir are as written in the file: posix paths relative
	// to the config's directory, or absolute.
	KeysDir    string
	RepoDir    string
	Thresholds map[string]int
}

// DefaultConfig returns tufup's defaults for a new repository: directories
// keystore/ and repository/, one key per role named after it, expiry of
// 365/7/7/1 days and thresholds of 1.
func DefaultConfig(appName string) Config {
	c := Config{
		AppName:        appName,
		EncryptedKeys:  []string{},
		ExpirationDays: map[string]float64{RoleRoot: 365, RoleTargets: 7, RoleSnapshot: 7, RoleTimestamp: 1},
		KeyMap:         map[string][]string{},
		KeysDir:        "keystore",
		RepoDir:        "repository",
		Thresholds:     map[string]int{},
	}
	for _, r := range Roles {
		c.KeyMap[r] = []string{r}
		c.Thresholds[r] = 1
	}
	return c
}

// ErrNoRepository means a folder holds no repository: no ConfigFile.
var ErrNoRepository = errors.New("no repository here")

// ReadConfig reads and validates a .tufup-repo-config file. Missing keys
// take tufup's defaults; unknown keys and bad values are errors naming the
// key and the file.
func ReadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		dir, _ := filepath.Abs(filepath.Dir(path))
		return Config{}, fmt.Errorf("%w: %s has no %s", ErrNoRepository, dir, ConfigFile)
	}
	if err != nil {
		return Config{}, fmt.Errorf("read repository config: %w", err)
	}
	c, err := parseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("repository config %s: %w", path, err)
	}
	return c, nil
}

func parseConfig(data []byte) (Config, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return Config{}, fmt.Errorf("not a JSON object: %w", err)
	}
	c := DefaultConfig("")
	c.AppName = ""
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := raw[k]
		var err error
		switch k {
		case "app_name":
			err = strictUnmarshal(v, &c.AppName)
		case "app_version_attr":
			err = strictUnmarshal(v, &c.AppVersionAttr)
		case "binary_diff":
			err = strictUnmarshal(v, &c.BinaryDiff)
		case "encrypted_keys":
			var names []string
			if err = strictUnmarshal(v, &names); err == nil && names != nil {
				c.EncryptedKeys = names
			}
		case "expiration_days":
			var m map[string]float64
			if err = strictUnmarshal(v, &m); err == nil {
				for role, days := range m {
					c.ExpirationDays[role] = days
				}
				err = checkRoleKeys(m)
			}
		case "key_map":
			var m map[string][]string
			if err = strictUnmarshal(v, &m); err == nil {
				for role, names := range m {
					c.KeyMap[role] = names
				}
				err = checkRoleKeys(m)
			}
		case "keys_dir":
			err = strictUnmarshal(v, &c.KeysDir)
		case "repo_dir":
			err = strictUnmarshal(v, &c.RepoDir)
		case "thresholds":
			var m map[string]int
			if err = strictUnmarshal(v, &m); err == nil {
				for role, n := range m {
					c.Thresholds[role] = n
				}
				err = checkRoleKeys(m)
			}
		default:
			return Config{}, fmt.Errorf("unknown key %q (known: app_name, app_version_attr, binary_diff, encrypted_keys, expiration_days, key_map, keys_dir, repo_dir, thresholds)", k)
		}
		if err != nil {
			return Config{}, fmt.Errorf("key %q: %w", k, err)
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// strictUnmarshal decodes one config value, rejecting a JSON null for
// non-pointer targets so that "app_name": null is reported, not ignored.
func strictUnmarshal(data []byte, v any) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		switch v.(type) {
		case **string:
			return json.Unmarshal(data, v)
		default:
			return errors.New("must not be null")
		}
	}
	if err := json.Unmarshal(data, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("expected %s, found a JSON %s", describeType(v), te.Value)
		}
		return err
	}
	return nil
}

func describeType(v any) string {
	switch v.(type) {
	case *string:
		return "a string"
	case **string:
		return "a string or null"
	case *[]string:
		return "a list of strings"
	case *map[string]float64:
		return "an object mapping role names to numbers of days"
	case *map[string]int:
		return "an object mapping role names to whole numbers"
	case *map[string][]string:
		return "an object mapping role names to lists of key names"
	}
	return fmt.Sprintf("%T", v)
}

func checkRoleKeys[V any](m map[string]V) error {
	for role := range m {
		if !slices.Contains(Roles, role) {
			return fmt.Errorf("unknown role %q (roles: root, targets, snapshot, timestamp)", role)
		}
	}
	return nil
}

// Validate checks values that would make the repository unusable.
func (c Config) Validate() error {
	if c.AppName == "" {
		return errors.New(`key "app_name": must be a non-empty string`)
	}
	if err := checkAppName(c.AppName); err != nil {
		return fmt.Errorf(`key "app_name": %w`, err)
	}
	if c.KeysDir == "" {
		return errors.New(`key "keys_dir": must be a non-empty path`)
	}
	if c.RepoDir == "" {
		return errors.New(`key "repo_dir": must be a non-empty path`)
	}
	for _, role := range Roles {
		days := c.ExpirationDays[role]
		if !(days > 0) || math.IsInf(days, 0) || days > 100*366 {
			return fmt.Errorf(`key "expiration_days": %s: %v is not a number of days between 0 and 36600`, role, days)
		}
		n := c.Thresholds[role]
		if n < 1 {
			return fmt.Errorf(`key "thresholds": %s: %d is not a threshold of at least 1`, role, n)
		}
		names := c.KeyMap[role]
		if len(names) == 0 {
			return fmt.Errorf(`key "key_map": %s has no keys`, role)
		}
		for _, name := range names {
			if err := checkKeyName(name); err != nil {
				return fmt.Errorf(`key "key_map": %s: %w`, role, err)
			}
		}
	}
	for _, name := range c.EncryptedKeys {
		if err := checkKeyName(name); err != nil {
			return fmt.Errorf(`key "encrypted_keys": %w`, err)
		}
	}
	return nil
}

// checkAppName accepts what tufup's target-name pattern can give back as a
// name: word characters and dashes.
func checkAppName(name string) error {
	for _, r := range name {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Errorf("app name %q may contain only letters, digits, '_' and '-' (it is part of every target file name)", name)
		}
	}
	return nil
}

// checkKeyName accepts names usable as a file name in a keys directory.
func checkKeyName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\:`) || strings.HasSuffix(name, ".pub") {
		return fmt.Errorf("key name %q is not usable as a key file name (no path separators, no .pub suffix)", name)
	}
	return nil
}

// Marshal returns the file content exactly as Python tufup writes it:
// JSON with 4-space indent and sorted keys, no trailing newline.
func (c Config) Marshal() ([]byte, error) {
	m := map[string]any{
		"app_name":         c.AppName,
		"app_version_attr": c.AppVersionAttr,
		"binary_diff":      c.BinaryDiff,
		"encrypted_keys":   nonNil(c.EncryptedKeys),
		"expiration_days":  c.ExpirationDays,
		"key_map":          c.KeyMap,
		"keys_dir":         c.KeysDir,
		"repo_dir":         c.RepoDir,
		"thresholds":       c.Thresholds,
	}
	data, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return pythonJSON(data, "    ")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// WriteConfig atomically writes c to path.
func WriteConfig(path string, c Config) error {
	data, err := c.Marshal()
	if err != nil {
		return fmt.Errorf("encode repository config %s: %w", path, err)
	}
	return fsutil.WriteFile(path, data, 0o644)
}

// resolve turns a config path (posix, relative to base, or absolute) into
// a native path.
func resolve(base, p string) string {
	native := filepath.FromSlash(p)
	if filepath.IsAbs(native) {
		return filepath.Clean(native)
	}
	return filepath.Join(base, native)
}

// ConfigPath turns a native path given on the command line into the form
// tufup stores: relative to base in posix form when below base, else absolute.
func ConfigPath(base, p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	absBase, err := filepath.Abs(base)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(absBase, abs)
	if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(rel), nil
	}
	return abs, nil
}

func (c Config) clone() Config {
	d := c
	d.EncryptedKeys = slices.Clone(c.EncryptedKeys)
	d.ExpirationDays = make(map[string]float64, len(c.ExpirationDays))
	for k, v := range c.ExpirationDays {
		d.ExpirationDays[k] = v
	}
	d.KeyMap = make(map[string][]string, len(c.KeyMap))
	for k, v := range c.KeyMap {
		d.KeyMap[k] = slices.Clone(v)
	}
	d.Thresholds = make(map[string]int, len(c.Thresholds))
	for k, v := range c.Thresholds {
		d.Thresholds[k] = v
	}
	return d
}
