package patch

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"unicode/utf8"
)

// The rules below decide which names and symlink targets an archive may
// hold. WriteTar applies them too, so an archive we make always extracts.

// Limits every common filesystem accepts (Linux PATH_MAX, NAME_MAX). They
// also bound the memory names take while extracting.
const (
	maxPathLen = 4096
	maxNameLen = 255
)

// memberPath turns a member name into a clean slash-separated path relative
// to the extraction root ("" is the root itself, allowed only for
// directories). Names are never repaired: anything that would need cleaning
// could alias another member, so it is refused with the reason.
func memberPath(name string, isDir bool) (string, error) {
	if err := checkPathChars(name); err != nil {
		return "", err
	}
	p := strings.TrimPrefix(name, "./")
	if isDir {
		p = strings.TrimSuffix(p, "/")
	}
	if p == "" || p == "." {
		if !isDir || name == "" {
			return "", errors.New("names the extraction root")
		}
		return "", nil
	}
	for _, c := range strings.Split(p, "/") {
		if err := checkComponent(c); err != nil {
			return "", err
		}
	}
	if runtime.GOOS == "windows" && !filepath.IsLocal(filepath.FromSlash(p)) {
		return "", errors.New("is not a local path on Windows (reserved name?)")
	}
	return p, nil
}

// checkPathChars refuses what could change meaning between systems:
// absolute paths in POSIX and Windows forms, backslashes (a separator on
// Windows, so `a\..\..\x` would traverse there), NUL (truncates names in
// C APIs) and invalid UTF-8 (Windows would replace it, aliasing names).
func checkPathChars(s string) error {
	switch {
	case len(s) > maxPathLen:
		return fmt.Errorf("is longer than %d bytes", maxPathLen)
	case strings.IndexByte(s, 0) >= 0:
		return errors.New("contains a NUL byte")
	case !utf8.ValidString(s):
		return errors.New("is not valid UTF-8")
	case strings.IndexByte(s, '\\') >= 0:
		return errors.New("contains a backslash")
	case strings.HasPrefix(s, "/"):
		return errors.New("is an absolute path")
	case len(s) >= 2 && s[1] == ':' && isASCIILetter(s[0]):
		return errors.New("is a Windows drive path")
	}
	return nil
}

func checkComponent(c string) error {
	if len(c) > maxNameLen {
		return fmt.Errorf("has a path component longer than %d bytes", maxNameLen)
	}
	switch c {
	case "":
		return errors.New("has an empty path component")
	case ".":
		return errors.New("has a '.' path component")
	case "..":
		return errors.New("has a '..' path component")
	}
	if runtime.GOOS == "windows" {
		// Win32 drops trailing dots and spaces ("a." opens "a") and
		// treats a colon as an alternate data stream separator.
		if strings.ContainsRune(c, ':') {
			return errors.New("contains a colon")
		}
		if strings.HasSuffix(c, ".") || strings.HasSuffix(c, " ") {
			return errors.New("ends with a dot or space")
		}
	}
	return nil
}

func isASCIILetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }

// checkSymlinkTarget accepts a symlink at member path p (as returned by
// memberPath) only if target, resolved from p's folder, stays inside the
// root however the other links in the tree resolve. Lexical cleaning is not
// enough: with "a/b/up -> ../..", the target "a/b/up/../.." cleans to "a"
// but resolves to the root's parent. So the target must be some '..'
// components followed by only downward ones, and may not climb above the
// root. Every link then lands inside the root, wherever its downward part
// leads through other links, because each of those obeys the same rule
// relative to its own real folder (no member is ever placed under a link).
func checkSymlinkTarget(p, target string) error {
	if target == "" {
		return errors.New("has an empty symlink target")
	}
	if err := checkPathChars(target); err != nil {
		return fmt.Errorf("symlink target %q %w", target, err)
	}
	depth := strings.Count(p, "/") // folders between the root and the link
	up, down := 0, 0
	for _, c := range strings.Split(target, "/") {
		switch c {
		case "", ".":
		case "..":
			if down > 0 {
				return fmt.Errorf("symlink target %q uses '..' after a folder name", target)
			}
			up++
		default:
			down++
		}
	}
	if up > depth {
		return fmt.Errorf("symlink target %q points outside the archive root", target)
	}
	return nil
}
