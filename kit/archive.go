package kit

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// file is one file of a package, held in memory: launchers are a few
// megabytes, seeds as large as a release archive.
type file struct {
	name string // slash-separated, relative
	mode fs.FileMode
	data []byte
	// src, when set, is a file on disk read at write time instead of data
	// (a seed archive need not be held in memory).
	src string
}

// tree is a package's files; writers sort them, so the order files are
// added in never shows in the output.
type tree []file

func (t *tree) add(name string, mode fs.FileMode, data []byte) {
	*t = append(*t, file{name: name, mode: mode, data: data})
}

func (t *tree) addFile(name string, mode fs.FileMode, src string) {
	*t = append(*t, file{name: name, mode: mode, src: src})
}

// withPrefix returns the files moved under dir.
func (t tree) withPrefix(dir string) tree {
	out := make(tree, len(t))
	for i, f := range t {
		f.name = path.Join(dir, f.name)
		out[i] = f
	}
	return out
}

// sorted returns the files in name order and the directories they need,
// each directory before its contents.
func (t tree) sorted() (dirs []string, files tree) {
	seen := map[string]bool{}
	for _, f := range t {
		for d := path.Dir(f.name); d != "." && d != "/" && !seen[d]; d = path.Dir(d) {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	slices.Sort(dirs)
	files = slices.Clone(t)
	slices.SortFunc(files, func(a, b file) int { return strings.Compare(a.name, b.name) })
	return dirs, files
}

// open returns the file's content.
func (f file) open(readFile func(string) ([]byte, error)) ([]byte, error) {
	if f.src == "" {
		return f.data, nil
	}
	return readFile(f.src)
}

// epoch is the modification time of every packaged file: same inputs,
// same bytes. (Zip cannot store times before 1980.)
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// writeTarGz writes the files as a gzip'd tar, owned by root, with fixed
// times, directories first; dotSlash names members "./x" as dpkg does.
func writeTarGz(w io.Writer, t tree, dotSlash bool, readFile func(string) ([]byte, error)) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	prefix := ""
	if dotSlash {
		prefix = "./"
		if err := tw.WriteHeader(dirHeader("./")); err != nil {
			return err
		}
	}
	dirs, files := t.sorted()
	for _, d := range dirs {
		if err := tw.WriteHeader(dirHeader(prefix + d + "/")); err != nil {
			return err
		}
	}
	for _, f := range files {
		data, err := f.open(readFile)
		if err != nil {
			return err
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: prefix + f.name, Mode: int64(f.mode.Perm()), Size: int64(len(data)),
			ModTime: epoch, Uname: "root", Gname: "root", Format: tar.FormatGNU}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

func dirHeader(name string) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: epoch, Uname: "root", Gname: "root", Format: tar.FormatGNU}
}

// writeZip writes the files as a zip with Unix modes (so executables stay
// executable when unpacked on macOS and Linux) and fixed times.
func writeZip(w io.Writer, t tree, readFile func(string) ([]byte, error)) error {
	zw := zip.NewWriter(w)
	dirs, files := t.sorted()
	for _, d := range dirs {
		h := &zip.FileHeader{Name: d + "/", Modified: epoch}
		h.SetMode(fs.ModeDir | 0o755)
		if _, err := zw.CreateHeader(h); err != nil {
			return err
		}
	}
	for _, f := range files {
		data, err := f.open(readFile)
		if err != nil {
			return err
		}
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: epoch}
		h.SetMode(f.mode.Perm())
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := fw.Write(data); err != nil {
			return err
		}
	}
	return zw.Close()
}

// arMember is one member of a Unix ar archive (the .deb container).
type arMember struct {
	name string
	data []byte
}

// writeAr writes a common-format ar archive as dpkg-deb does: fixed time,
// owner 0, mode 100644, members padded to an even length.
func writeAr(w io.Writer, members []arMember) error {
	var b bytes.Buffer
	b.WriteString("!<arch>\n")
	for _, m := range members {
		if len(m.name) > 16 {
			return fmt.Errorf("ar member name %q is longer than 16 bytes", m.name)
		}
		fmt.Fprintf(&b, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", m.name, epoch.Unix(), 0, 0, "100644", len(m.data))
		b.Write(m.data)
		if len(m.data)%2 == 1 {
			b.WriteByte('\n')
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}
