package patch

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/tufup-go/tufup/internal/fsutil"
)

// ErrUnsafeArchive is wrapped by Extract's errors for members it refuses to
// extract: names that are absolute, climb with "..", or could alias another
// member; links that could point outside the folder; device files, FIFOs
// and other special types; duplicate entries; sparse files.
var ErrUnsafeArchive = errors.New("unsafe archive")

// ErrTooLarge is wrapped by the errors of Extract and Gunzip when their
// input would produce more bytes than the caller allowed.
var ErrTooLarge = errors.New("larger than allowed")

func unsafef(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsafeArchive}, args...)...)
}

// ExtractFile extracts the uncompressed tar at tarPath into dir like
// Extract, allowing exactly the file's size (the caller has verified the
// file, e.g. against a patch's tar_size and tar_hash).
func ExtractFile(ctx context.Context, tarPath, dir string) error {
	return ExtractFileFS(ctx, fsutil.OS{}, tarPath, dir)
}

// ExtractFileFS is ExtractFile flushing through fsys, so a test can check
// that the caller renames dir into place only after the flush.
func ExtractFileFS(ctx context.Context, fsys fsutil.FS, tarPath, dir string) error {
	f, err := os.Open(tarPath)
	if err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	if err := extract(ctx, fsys, bufio.NewReaderSize(f, 64<<10), dir, fi.Size(), defaultFlush); err != nil {
		return fmt.Errorf("%s: %w", tarPath, err)
	}
	return nil
}

// Extract reads an uncompressed tar from r and recreates its files in dir,
// treating the archive as hostile even when it was signed (the build
// machine may be compromised). dir must not exist; its parent must. On any
// error, everything Extract created is removed, dir included, and the error
// names the offending member.
//
// At most maxSize bytes are read from r; pass the size the tar is known to
// have (tufup's tar_size, or the verified file's size). A longer stream is
// refused with ErrTooLarge, and so is an archive whose files declare more
// bytes than that in total.
//
// Members must be regular files, folders, symlinks or hard links with
// relative names free of "..", empty or "." components, backslashes, NUL
// and Windows drive prefixes; a "./" prefix (as tufup writes) is allowed.
// Symlink targets must be relative, some ".." components followed only by
// downward ones, never climbing above dir: so they stay inside dir however
// the other links in it resolve. Hard links must name a regular file
// extracted before them. A member may not appear twice nor lie under a symlink or a file, so
// nothing is ever written through a link: symlinks are created only after
// all other members, which also lets the Windows fallback below find its
// targets.
//
// Files get their permission bits (never setuid, setgid or sticky) and
// mtime; folders get theirs after their contents, with the owner always
// allowed rwx so the folder can be removed again. Symlinks keep the
// filesystem's own times, as tarfile does. Where creating a symlink is not
// permitted (Windows without Developer Mode or the privilege), a copy of
// its target is made if the target is a file in the archive.
//
// Before returning nil, Extract flushes everything it wrote to stable
// storage, so the caller may rename dir into place and rely on its contents
// after a power cut. On Linux that is one syncfs(2) of dir's filesystem
// (measured: a third of the cost of 16 fsyncs in flight, a twentieth of
// fsyncing 12,000 files one by one; see flushMode); elsewhere files are
// fsynced in parallel while extraction goes on, then the folders (on macOS
// with plain fsync and one F_FULLFSYNC at the end).
func Extract(ctx context.Context, r io.Reader, dir string, maxSize int64) (err error) {
	return extract(ctx, fsutil.OS{}, r, dir, maxSize, defaultFlush)
}

// ErrTarMismatch is wrapped by ExtractIndexed's error when the tar it read
// is not the one expected.
var ErrTarMismatch = errors.New("tar does not match the expected size and hash")

// ExtractIndexed extracts the tar read from r into dir like Extract, and
// writes the tar's index to indexPath, so that OpenIndexedTar can later
// serve the same tar from dir. If want.SHA256 is set, the tar must have
// exactly want's size and hash: otherwise the error wraps ErrTarMismatch,
// and dir and the index are removed, so an unverified stream (a patch
// being applied) can be extracted as it comes and still never be used
// unless it is right. The index is written atomically and flushed, like
// dir, before ExtractIndexed returns nil.
// Its flushes and renames go through fsys (fsutil.OS{}: the disk).
func ExtractIndexed(ctx context.Context, fsys fsutil.FS, r io.Reader, dir string, maxSize int64, indexPath string, want TarInfo) (TarInfo, error) {
	var got TarInfo
	err := fsutil.WriteFromFS(fsys, indexPath, 0o644, func(w io.Writer) error {
		rec, err := newIndexRecorder(r, w, filepath.Dir(indexPath))
		if err != nil {
			return err
		}
		defer rec.close()
		if err := extractIndexing(ctx, fsys, rec, dir, maxSize, defaultFlush, rec); err != nil {
			return err
		}
		if got, err = rec.finish(); err == nil && want.SHA256 != "" && (got.Size != want.Size || !strings.EqualFold(got.SHA256, want.SHA256)) {
			err = fmt.Errorf("%w: got %d bytes with sha256 %s, want %d bytes with sha256 %s",
				ErrTarMismatch, got.Size, got.SHA256, want.Size, want.SHA256)
		}
		if err != nil {
			removeTree(dir)
		}
		return err
	})
	if err != nil {
		return TarInfo{}, err
	}
	return got, nil
}

func extract(ctx context.Context, fsys fsutil.FS, r io.Reader, dir string, maxSize int64, mode flushMode) error {
	return extractIndexing(ctx, fsys, r, dir, maxSize, mode, nil)
}

func extractIndexing(ctx context.Context, fsys fsutil.FS, r io.Reader, dir string, maxSize int64, mode flushMode, rec *indexRecorder) (err error) {
	if maxSize < 0 {
		return fmt.Errorf("extract into %s: negative size limit %d", dir, maxSize)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	fl, err := newFlusher(mode, fsys, dir)
	if err != nil {
		os.Remove(dir)
		return fmt.Errorf("extract into %s: %w", dir, err)
	}
	x := &extractor{
		ctx:     ctx,
		root:    dir,
		maxSize: maxSize,
		kinds:   map[string]entryKind{"": kindImplicitDir},
		buf:     make([]byte, copyBufSize),
		flush:   fl,
		rec:     rec,
	}
	defer func() {
		if err != nil {
			x.flush.abort()
			removeTree(dir)
		}
	}()
	if err := x.run(&boundedReader{ctx: ctx, r: r, max: maxSize}); err != nil {
		return fmt.Errorf("extract into %s: %w", dir, err)
	}
	return nil
}

type entryKind uint8

const (
	kindImplicitDir entryKind = iota + 1 // created for a member inside it
	kindDir                              // has its own entry
	kindFile                             // regular file or hard link
	kindSymlink                          // created at the end
)

type extractor struct {
	ctx      context.Context
	root     string
	maxSize  int64
	declared int64 // bytes of file data the archive has declared so far
	kinds    map[string]entryKind
	dirs     []dirMeta
	links    []pendingLink
	buf      []byte
	flush    flusher
	rec      *indexRecorder // nil, or told where each file's content is
}

type dirMeta struct {
	path  string
	mode  fs.FileMode
	mtime time.Time
}

type pendingLink struct{ name, path, target string }

func (x *extractor) full(p string) string { return filepath.Join(x.root, filepath.FromSlash(p)) }

func (x *extractor) run(r io.Reader) error {
	tr := tar.NewReader(r)
	prev := ""
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if prev == "" {
				return fmt.Errorf("reading the first member: %w", err)
			}
			return fmt.Errorf("reading the member after %q: %w", prev, err)
		}
		if err := x.member(hdr, tr); err != nil {
			return fmt.Errorf("member %q: %w", hdr.Name, err)
		}
		prev = hdr.Name
	}
	// Read what follows the end-of-archive blocks (tarfile pads to 10240
	// bytes) so the limit applies to the whole stream, as tar_size does,
	// and a gzip reader underneath gets to verify its checksum.
	if _, err := io.CopyBuffer(io.Discard, r, x.buf); err != nil {
		return fmt.Errorf("after the last member %q: %w", prev, err)
	}
	if err := x.createSymlinks(); err != nil {
		return err
	}
	if err := x.applyDirMeta(); err != nil {
		return err
	}
	return x.flush.finish(x.root, x.kinds)
}

func (x *extractor) member(hdr *tar.Header, data io.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink:
	default:
		return unsafef("%s entries are not allowed", tarTypeName(hdr.Typeflag))
	}
	for k := range hdr.PAXRecords {
		// archive/tar expands sparse files into their full size, which
		// could be far beyond the bytes in the stream.
		if strings.HasPrefix(k, "GNU.sparse.") {
			return unsafef("sparse files are not allowed")
		}
	}
	isDir := hdr.Typeflag == tar.TypeDir
	p, err := memberPath(hdr.Name, isDir)
	if err != nil {
		return unsafef("name %v", err)
	}
	if err := x.checkPlace(p, isDir); err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		return x.dir(p, hdr)
	case tar.TypeReg:
		return x.file(p, hdr, data)
	case tar.TypeSymlink:
		if err := checkSymlinkTarget(p, hdr.Linkname); err != nil {
			return unsafef("%v", err)
		}
		if err := x.mkParents(p); err != nil {
			return err
		}
		x.kinds[p] = kindSymlink
		x.links = append(x.links, pendingLink{name: hdr.Name, path: p, target: hdr.Linkname})
		return nil
	default:
		return x.hardlink(p, hdr)
	}
}

// checkPlace refuses a member whose path was used before or lies under a
// file or symlink. Only a folder created implicitly for earlier members may
// receive its own entry later.
func (x *extractor) checkPlace(p string, isDir bool) error {
	for i := 0; ; {
		j := strings.IndexByte(p[i:], '/')
		if j < 0 {
			break
		}
		parent := p[:i+j]
		switch x.kinds[parent] {
		case kindFile:
			return unsafef("lies inside %q, which is a file", parent)
		case kindSymlink:
			return unsafef("lies inside %q, which is a symlink (never written through)", parent)
		}
		i += j + 1
	}
	if k, ok := x.kinds[p]; ok && !(isDir && k == kindImplicitDir) {
		return unsafef("duplicate entry: %q was already extracted", "./"+p)
	}
	return nil
}

// mkParents creates the folders above p that do not exist yet.
func (x *extractor) mkParents(p string) error {
	for i := 0; ; {
		j := strings.IndexByte(p[i:], '/')
		if j < 0 {
			return nil
		}
		parent := p[:i+j]
		if _, ok := x.kinds[parent]; !ok {
			if err := x.mkdir(parent); err != nil {
				return err
			}
			x.kinds[parent] = kindImplicitDir
		}
		i += j + 1
	}
}

func (x *extractor) mkdir(p string) error {
	full := x.full(p)
	err := os.Mkdir(full, 0o755)
	if errors.Is(err, fs.ErrExist) {
		// A case-insensitive filesystem maps "A" and "a" to one folder:
		// harmless, as long as it is a real folder.
		if fi, lerr := os.Lstat(full); lerr == nil && fi.IsDir() {
			return nil
		}
		return unsafef("%q clashes with an earlier member (case-insensitive filesystem?)", p)
	}
	if err != nil {
		return fmt.Errorf("create folder: %w", err)
	}
	return nil
}

func (x *extractor) dir(p string, hdr *tar.Header) error {
	if err := x.mkParents(p); err != nil {
		return err
	}
	if _, ok := x.kinds[p]; !ok {
		if err := x.mkdir(p); err != nil {
			return err
		}
	}
	x.kinds[p] = kindDir
	x.dirs = append(x.dirs, dirMeta{path: p, mode: fs.FileMode(hdr.Mode) & fs.ModePerm, mtime: hdr.ModTime})
	return nil
}

func (x *extractor) reserve(size int64) error {
	if size > x.maxSize-x.declared {
		return fmt.Errorf("%w: files declare more than the %d bytes allowed", ErrTooLarge, x.maxSize)
	}
	x.declared += size
	return nil
}

func (x *extractor) file(p string, hdr *tar.Header, data io.Reader) error {
	if err := x.reserve(hdr.Size); err != nil {
		return err
	}
	if err := x.mkParents(p); err != nil {
		return err
	}
	x.kinds[p] = kindFile
	if x.rec != nil {
		x.rec.beginFile(p, hdr.Size)
	}
	return x.writeFile(p, data, fs.FileMode(hdr.Mode), hdr.ModTime)
}

// writeFile creates p (which must not exist) from data, sets its mode and
// mtime, and hands it to the flusher.
func (x *extractor) writeFile(p string, data io.Reader, mode fs.FileMode, mtime time.Time) error {
	full := x.full(p)
	f, err := os.OpenFile(full, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return unsafef("%q clashes with an earlier member (case-insensitive filesystem?)", p)
		}
		return fmt.Errorf("create file: %w", err)
	}
	if _, err := io.CopyBuffer(writerOnly{f}, data, x.buf); err != nil {
		f.Close()
		return fmt.Errorf("write file: %w", err)
	}
	if runtime.GOOS != "windows" {
		// On Windows the only mode bit is read-only, which would stop the
		// folder from being removed later.
		if err := f.Chmod(mode & fs.ModePerm); err != nil {
			f.Close()
			return fmt.Errorf("set mode: %w", err)
		}
	}
	// Times before the flush, so the flush covers them.
	if err := os.Chtimes(full, mtime, mtime); err != nil {
		f.Close()
		return fmt.Errorf("set mtime: %w", err)
	}
	return x.flush.file(f)
}

func (x *extractor) hardlink(p string, hdr *tar.Header) error {
	target, err := memberPath(hdr.Linkname, false)
	if err != nil {
		return unsafef("hard link target %q %v", hdr.Linkname, err)
	}
	if x.kinds[target] != kindFile {
		return unsafef("hard link to %q, which is not a file extracted before it", hdr.Linkname)
	}
	if err := x.mkParents(p); err != nil {
		return err
	}
	x.kinds[p] = kindFile
	if err := os.Link(x.full(target), x.full(p)); err == nil {
		return nil
	}
	// Some filesystems (FAT, some network shares) have no hard links.
	return x.copyFile(x.full(target), p)
}

// copyFile copies srcFull, an extracted file, to the new member dst.
func (x *extractor) copyFile(srcFull, dst string) error {
	f, err := os.Open(srcFull)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("copy: %s is not a file", srcFull)
	}
	if err := x.reserve(fi.Size()); err != nil {
		return err
	}
	return x.writeFile(dst, f, fi.Mode(), fi.ModTime())
}

func (x *extractor) createSymlinks() error {
	for _, l := range x.links {
		if err := x.ctx.Err(); err != nil {
			return err
		}
		if err := x.symlink(l); err != nil {
			return fmt.Errorf("member %q: %w", l.name, err)
		}
	}
	return nil
}

// applyDirMeta sets folder modes and times once every entry exists, since
// creating an entry changes its folder's mtime. Modes keep the owner's rwx,
// so the order does not matter.
func (x *extractor) applyDirMeta() error {
	for _, d := range x.dirs {
		full := x.full(d.path)
		if runtime.GOOS != "windows" {
			if err := os.Chmod(full, d.mode|0o700); err != nil {
				return fmt.Errorf("folder %q: set mode: %w", "./"+d.path, err)
			}
		}
		if err := os.Chtimes(full, d.mtime, d.mtime); err != nil {
			return fmt.Errorf("folder %q: set mtime: %w", "./"+d.path, err)
		}
	}
	return nil
}

// boundedReader fails when its source holds more than max bytes, and stops
// soon after ctx is done.
type boundedReader struct {
	ctx context.Context
	r   io.Reader
	n   int64
	max int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	if b.n >= b.max {
		// At the limit: fine if the stream ends here.
		var one [1]byte
		switch _, err := io.ReadFull(b.r, one[:]); err {
		case nil:
			return 0, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, b.max)
		case io.EOF:
			return 0, io.EOF
		default:
			return 0, err
		}
	}
	if rest := b.max - b.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}

// removeTree removes a partly extracted folder. Folders only get their
// final modes on success, and those keep the owner's rwx, so nothing in it
// is protected from removal.
func removeTree(dir string) { os.RemoveAll(dir) }

func tarTypeName(t byte) string {
	switch t {
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "FIFO"
	case tar.TypeCont:
		return "contiguous file"
	case tar.TypeGNUSparse:
		return "sparse file"
	case tar.TypeXGlobalHeader:
		return "global PAX header"
	case tar.TypeGNULongName, tar.TypeGNULongLink, tar.TypeXHeader:
		return "stray extended header"
	}
	return fmt.Sprintf("type %q", t)
}
