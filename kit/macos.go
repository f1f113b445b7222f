package kit

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tufup-go/tufup/launcher"
)

// macOS writes <Name>.app zipped: the launcher as Contents/MacOS/<Name>,
// launcher.json, root.json, the icon and the seed in Contents/Resources
// (where the launcher looks in a bundle), data_dir defaulting to
// {userdata}/<Name> (~/Library/Application Support/<Name>) so the signed
// bundle is never written to. Signing must happen on a Mac: the steps are
// logged.
func (k *pkg) macOS() ([]string, error) {
	cfg, err := k.config("{userdata}/" + k.o.Name)
	if err != nil {
		return nil, err
	}
	var t tree
	t.add("Contents/MacOS/"+k.o.Name, 0o755, k.launcher)
	t.add("Contents/Resources/"+launcher.ConfigFile, 0o644, cfg)
	t.add("Contents/Resources/"+launcher.RootFile, 0o644, k.root)
	t = append(t, k.seed.withPrefix("Contents/Resources")...)
	if k.icon != "" {
		t.addFile("Contents/Resources/"+k.o.Name+".icns", 0o644, k.icon)
	}
	t.add("Contents/Info.plist", 0o644, k.infoPlist())
	bundle := k.o.Name + ".app"
	zip, err := k.write(k.fileName(k.o.Name, ".zip"), func(w io.Writer) error {
		return writeZip(w, t.withPrefix(bundle), os.ReadFile)
	})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(k.o.Log, `%s is unsigned. On a Mac, sign and notarize it before you publish it:
  unzip %s
  codesign --force --options runtime --timestamp --sign "Developer ID Application: ..." %q
  ditto -c -k --keepParent %q %q
  xcrun notarytool submit %q --keychain-profile notary --wait
  xcrun stapler staple %q
  ditto -c -k --keepParent %q %q
`, filepath.Base(zip), filepath.Base(zip), bundle, bundle, bundle+".zip", bundle+".zip", bundle, bundle, filepath.Base(zip))
	return []string{zip}, nil
}

// infoPlist is the bundle's Info.plist.
func (k *pkg) infoPlist() []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
`)
	entry := func(key, value string) {
		var v strings.Builder
		xml.EscapeText(&v, []byte(value))
		fmt.Fprintf(&b, "\t<key>%s</key>\n\t<string>%s</string>\n", key, v.String())
	}
	entry("CFBundleDevelopmentRegion", "en")
	entry("CFBundleDisplayName", k.o.Name)
	entry("CFBundleExecutable", k.o.Name)
	if k.icon != "" {
		entry("CFBundleIconFile", k.o.Name)
	}
	entry("CFBundleIdentifier", k.o.ID)
	entry("CFBundleInfoDictionaryVersion", "6.0")
	entry("CFBundleName", k.o.Name)
	entry("CFBundlePackageType", "APPL")
	entry("CFBundleShortVersionString", k.version)
	entry("CFBundleVersion", k.version)
	entry("LSMinimumSystemVersion", "11.0")
	b.WriteString("\t<key>NSHighResolutionCapable</key>\n\t<true/>\n</dict>\n</plist>\n")
	return b.Bytes()
}
