package launcher

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

var placeholder = regexp.MustCompile(`\{[^{}]*\}`)

// ResolveDataDir turns launcher.json's data_dir into a path. Empty means the
// launcher's own folder (exeDir). Relative paths are relative to exeDir.
// Placeholders:
//
//	{userdata}  the per-user application data folder of the OS:
//	            Windows %LOCALAPPDATA%, macOS ~/Library/Application Support,
//	            elsewhere $XDG_DATA_HOME or ~/.local/share
//	{home}      the user's home folder
//
// goos and getenv are parameters so each OS's rules can be tested anywhere.
// Paths are built with the separators of the running OS.
func ResolveDataDir(spec, exeDir, goos string, getenv func(string) string) (string, error) {
	if spec == "" {
		return exeDir, nil
	}
	var errs []error
	resolved := placeholder.ReplaceAllStringFunc(spec, func(p string) string {
		v, err := placeholderValue(p, goos, getenv)
		if err != nil {
			errs = append(errs, err)
		}
		return filepath.ToSlash(v)
	})
	if err := errors.Join(errs...); err != nil {
		return "", fmt.Errorf(`key "data_dir": %w`, err)
	}
	resolved = filepath.FromSlash(resolved)
	if !isAbs(resolved, goos) {
		resolved = filepath.Join(exeDir, resolved)
	}
	return filepath.Clean(resolved), nil
}

func placeholderValue(p, goos string, getenv func(string) string) (string, error) {
	home := getenv("HOME")
	if goos == "windows" {
		home = getenv("USERPROFILE")
	}
	need := func(name, value string) (string, error) {
		if value == "" {
			return "", fmt.Errorf("%s needs %s, which is not set", p, name)
		}
		return value, nil
	}
	switch p {
	case "{home}":
		if goos == "windows" {
			return need("%USERPROFILE%", home)
		}
		return need("$HOME", home)
	case "{userdata}":
		switch goos {
		case "windows":
			return need("%LOCALAPPDATA%", getenv("LOCALAPPDATA"))
		case "darwin":
			h, err := need("$HOME", home)
			return strings.TrimSuffix(h, "/") + "/Library/Application Support", err
		default:
			if x := getenv("XDG_DATA_HOME"); x != "" && strings.HasPrefix(x, "/") {
				return x, nil
			}
			h, err := need("$HOME or $XDG_DATA_HOME", home)
			return strings.TrimSuffix(h, "/") + "/.local/share", err
		}
	}
	return "", fmt.Errorf("unknown placeholder %s (known: {userdata}, {home})", p)
}

func isAbs(p, goos string) bool {
	if goos == "windows" {
		drive := len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/')
		return drive || strings.HasPrefix(p, `\\`) || strings.HasPrefix(p, "//")
	}
	return strings.HasPrefix(filepath.ToSlash(p), "/")
}
