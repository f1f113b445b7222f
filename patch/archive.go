package patch

import (
	"archive/tar"
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/tufup-go/tufup/internal/fsutil"
)

// tarRecordSize is the unit Python's tarfile (and GNU tar) pads archives
// to. Padding the same way keeps our tars shaped like tufup's.
const tarRecordSize = 20 * 512

// WriteArchive writes srcDir as a gzip-compressed tar in tufup's format (see
// WriteTar) to dstTarGz, atomically, and returns the size and SHA-256 of the
// uncompressed tar, which patches for this release are checked against.
func WriteArchive(ctx context.Context, srcDir, dstTarGz string) (TarInfo, error) {
	var info TarInfo
	err := fsutil.WriteFrom(dstTarGz, 0o644, func(w io.Writer) error {
		// The compressor emits small pieces; batch them into few writes.
		bw := bufio.NewWriterSize(w, copyBufSize)
		// The gzip header carries no name or time, so the .tar.gz
		// depends only on the folder too. The default level is within 3%
		// of level 9's size at many times its speed.
		gz, err := gzip.NewWriterLevel(bw, gzip.DefaultCompression)
		if err != nil {
			return err
		}
		h := NewHasher()
		if err := WriteTar(ctx, srcDir, io.MultiWriter(gz, h)); err != nil {
			return err
		}
		if err := gz.Close(); err != nil {
			return fmt.Errorf("compress: %w", err)
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		info = h.Info()
		return nil
	})
	if err != nil {
		return TarInfo{}, fmt.Errorf("write archive of %s: %w", srcDir, err)
	}
	return info, nil
}

// WriteTar writes the contents of srcDir to w as an uncompressed tar laid
// out as Python tufup lays it out (tarfile.add(srcDir, arcname=".") in PAX
// format): a "./" entry for the folder itself, then "./name" entries depth
// first, each folder's entries sorted by name; directories end in "/".
// The output depends only on the names, contents, permission bits, mtimes
// and symlink targets in the folder, so the same folder gives the same
// bytes on any machine:
//   - owner and group are 0 with no names (tufup writes the builder's);
//   - mtimes are whole seconds (tufup writes sub-second PAX records, which
//     cost 1 KiB per member and depend on the filesystem's precision);
//   - modes are the permission bits only;
//   - hard-linked files are stored as separate regular files;
//   - the tar is zero-padded to a multiple of 10240 bytes, as tarfile does.
//
// Symlinks are stored as symlinks. A symlink that is absolute or could
// resolve outside srcDir, a name Extract would refuse, and any file that is
// not a regular file, folder or symlink are errors naming the path.
func WriteTar(ctx context.Context, srcDir string, w io.Writer) error {
	fi, err := os.Stat(srcDir)
	if err != nil {
		return fmt.Errorf("write tar: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("write tar: %s is not a folder", srcDir)
	}
	cw := &countingWriter{w: w}
	tw := &tarWriter{ctx: ctx, root: srcDir, tw: tar.NewWriter(cw), buf: make([]byte, copyBufSize)}
	if err := tw.header(fi, tar.TypeDir, "./", ""); err != nil {
		return err
	}
	if err := tw.dir(""); err != nil {
		return err
	}
	if err := tw.tw.Close(); err != nil {
		return fmt.Errorf("write tar of %s: %w", srcDir, err)
	}
	if pad := (tarRecordSize - cw.n%tarRecordSize) % tarRecordSize; pad > 0 {
		if _, err := cw.Write(make([]byte, pad)); err != nil {
			return fmt.Errorf("write tar of %s: %w", srcDir, err)
		}
	}
	return nil
}

type tarWriter struct {
	ctx  context.Context
	root string
	tw   *tar.Writer
	buf  []byte
}

// dir writes the entries of the folder rel ("" is the root) recursively.
// os.ReadDir sorts by name, which is the order tarfile uses.
func (t *tarWriter) dir(rel string) error {
	entries, err := os.ReadDir(filepath.Join(t.root, filepath.FromSlash(rel)))
	if err != nil {
		return fmt.Errorf("write tar: %w", err)
	}
	for _, e := range entries {
		if err := t.ctx.Err(); err != nil {
			return err
		}
		p := e.Name()
		if rel != "" {
			p = rel + "/" + p
		}
		if err := t.entry(p, e); err != nil {
			return err
		}
	}
	return nil
}

func (t *tarWriter) entry(p string, e fs.DirEntry) error {
	full := filepath.Join(t.root, filepath.FromSlash(p))
	fi, err := e.Info()
	if err != nil {
		return fmt.Errorf("write tar: %w", err)
	}
	isDir := fi.IsDir()
	name := "./" + p
	if isDir {
		name += "/"
	}
	if _, err := memberPath(name, isDir); err != nil {
		return fmt.Errorf("write tar: %s: name %w", full, err)
	}
	switch mode := fi.Mode(); {
	case mode.IsDir():
		if err := t.header(fi, tar.TypeDir, name, ""); err != nil {
			return err
		}
		return t.dir(p)
	case mode.IsRegular():
		return t.file(full, name, fi)
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(full)
		if err != nil {
			return fmt.Errorf("write tar: %w", err)
		}
		target = filepath.ToSlash(target)
		if err := checkSymlinkTarget(p, target); err != nil {
			return fmt.Errorf("write tar: symlink %s: %w", full, err)
		}
		return t.header(fi, tar.TypeSymlink, name, target)
	default:
		return fmt.Errorf("write tar: %s is a %s; only files, folders and symlinks can be archived", full, typeName(mode))
	}
}

func (t *tarWriter) file(full, name string, fi fs.FileInfo) error {
	f, err := os.Open(full)
	if err != nil {
		return fmt.Errorf("write tar: %w", err)
	}
	defer f.Close()
	if err := t.header(fi, tar.TypeReg, name, ""); err != nil {
		return err
	}
	// Copy exactly the size in the header: a file that changes while
	// being archived is an error, not a corrupt tar.
	n, err := io.CopyBuffer(writerOnly{t.tw}, ctxReader{t.ctx, io.LimitReader(f, fi.Size())}, t.buf)
	if err != nil {
		return fmt.Errorf("write tar: %s: %w", full, err)
	}
	if n != fi.Size() {
		return fmt.Errorf("write tar: %s shrank from %d to %d bytes while being archived", full, fi.Size(), n)
	}
	return nil
}

func (t *tarWriter) header(fi fs.FileInfo, typ byte, name, link string) error {
	hdr := &tar.Header{
		Typeflag: typ,
		Name:     name,
		Linkname: link,
		Mode:     int64(fi.Mode().Perm()),
		ModTime:  time.Unix(fi.ModTime().Unix(), 0),
		Format:   tar.FormatPAX,
	}
	if typ == tar.TypeReg {
		hdr.Size = fi.Size()
	}
	if err := t.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("write tar: %s: %w", name, err)
	}
	return nil
}

func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeIrregular != 0:
		return "irregular file"
	}
	return "special file (" + m.Type().String() + ")"
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writerOnly hides ReadFrom so io.CopyBuffer uses the given buffer.
type writerOnly struct{ io.Writer }

// ctxReader stops a long copy soon after ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
