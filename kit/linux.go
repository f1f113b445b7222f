package kit

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// linux writes a .deb installing to /opt/<app> with a .desktop file, and
// a .tar.gz of the same folder. Both set data_dir to {userdata}/<app> when
// launcher.json does not say: /opt is not writable by users, so each user's
// versions live in ~/.local/share/<app>.
func (k *pkg) linux() ([]string, error) {
	files, err := k.base(k.app, "{userdata}/"+k.app)
	if err != nil {
		return nil, err
	}
	desktopName := k.o.ID + ".desktop"
	if k.icon != "" {
		files.addFile(k.app+".png", 0o644, k.icon)
	}
	debName, debVersion, debArch, err := k.debNames()
	if err != nil {
		return nil, err
	}
	var data tree
	data = append(data, files.withPrefix("opt/"+k.app)...)
	data.add("usr/share/applications/"+desktopName, 0o644, k.desktop("/opt/"+k.app))
	deb, err := k.write(fmt.Sprintf("%s_%s_%s.deb", debName, debVersion, debArch), func(w io.Writer) error {
		return k.writeDeb(w, data, debName, debVersion, debArch)
	})
	if err != nil {
		return nil, err
	}
	// The tarball is the same folder, for unpacking into /opt (or anywhere:
	// the launcher finds its files next to itself); its .desktop file
	// assumes /opt/<app>.
	files.add(desktopName, 0o644, k.desktop("/opt/"+k.app))
	tgz, err := k.write(k.fileName(k.app, ".tar.gz"), func(w io.Writer) error {
		return writeTarGz(w, files.withPrefix(k.app), false, os.ReadFile)
	})
	if err != nil {
		return nil, err
	}
	return []string{deb, tgz}, nil
}

// desktop is the .desktop file of a launcher installed in dir.
func (k *pkg) desktop(dir string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "[Desktop Entry]\nType=Application\nName=%s\nComment=%s\n", k.o.Name, k.o.Description)
	// "--" ends the launcher's flags: opened files reach the app even when
	// their names look like flags.
	fmt.Fprintf(&b, "Exec=%s/%s -- %%F\n", dir, k.app)
	if k.icon != "" {
		fmt.Fprintf(&b, "Icon=%s/%s.png\n", dir, k.app)
	}
	fmt.Fprintf(&b, "Terminal=false\nCategories=Utility;\nStartupWMClass=%s\n", k.app)
	return b.Bytes()
}

var debArchs = map[string]string{"amd64": "amd64", "arm64": "arm64", "386": "i386", "arm": "armhf",
	"riscv64": "riscv64", "ppc64le": "ppc64el", "s390x": "s390x", "loong64": "loong64", "mips64le": "mips64el"}

var (
	pepParts   = regexp.MustCompile(`^(?:(\d+)!)?(\d+(?:\.\d+)*)(.*)$`)
	debVersion = regexp.MustCompile(`^(\d+:)?[0-9][A-Za-z0-9.+~]*$`)
)

// debNames returns the package name, version and architecture in
// Debian's spelling: pre-releases sort before the release ("~"), post
// releases after ("+"), a PEP 440 epoch becomes Debian's.
func (k *pkg) debNames() (name, version, arch string, err error) {
	name = strings.ReplaceAll(strings.ToLower(k.app), "_", "-")
	arch, ok := debArchs[k.p.Arch]
	if !ok {
		return "", "", "", fmt.Errorf("%s: no Debian architecture for %s", k.p, k.p.Arch)
	}
	m := pepParts.FindStringSubmatch(k.version)
	if m == nil {
		return "", "", "", fmt.Errorf("version %s cannot be a Debian version; give --version", k.version)
	}
	version = m[2]
	if m[1] != "" {
		version = m[1] + ":" + version
	}
	switch rest := strings.NewReplacer("-", ".", "_", ".").Replace(m[3]); {
	case strings.HasPrefix(rest, ".post"):
		version += "+" + rest[1:]
	case rest != "":
		version += "~" + strings.TrimPrefix(rest, ".")
	}
	if !debVersion.MatchString(version) {
		return "", "", "", fmt.Errorf("version %s gives Debian version %q, which dpkg refuses; give --version", k.version, version)
	}
	return name, version, arch, nil
}

// writeDeb writes a Debian binary package: an ar archive of
// debian-binary, control.tar.gz and data.tar.gz.
func (k *pkg) writeDeb(w io.Writer, data tree, name, version, arch string) error {
	var size int64
	for _, f := range data {
		if f.src != "" {
			fi, err := os.Stat(f.src)
			if err != nil {
				return err
			}
			size += fi.Size()
		} else {
			size += int64(len(f.data))
		}
	}
	var control bytes.Buffer
	fmt.Fprintf(&control, "Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: %s\nInstalled-Size: %d\nSection: misc\nPriority: optional\nDescription: %s\n",
		name, version, arch, k.o.Publisher, (size+1023)/1024, k.o.Description)
	fmt.Fprintf(&control, " %s, kept up to date by its launcher (tufup). Each user's installed\n versions live in ~/.local/share/%s.\n", k.o.Name, k.app)
	var ctl tree
	ctl.add("control", 0o644, control.Bytes())
	var ctlGz, dataGz bytes.Buffer
	if err := writeTarGz(&ctlGz, ctl, true, os.ReadFile); err != nil {
		return err
	}
	if err := writeTarGz(&dataGz, data, true, os.ReadFile); err != nil {
		return err
	}
	return writeAr(w, []arMember{
		{"debian-binary", []byte("2.0\n")},
		{"control.tar.gz", ctlGz.Bytes()},
		{"data.tar.gz", dataGz.Bytes()},
	})
}
