package patch

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/tufup-go/tufup/internal/fsutil"
)

// A tar index lets a version's installed folder stand in for the tar it was
// extracted from, so a client needs no copy of that tar as the base of the
// next patch. The tar is cut into the content of its regular files, which
// are the folder's files, and everything else (headers, PAX records,
// padding, end blocks), kept in the index as it was: tufup's tars are not
// reproducible from a folder (PAX mtimes, member order), so those bytes are
// stored, not regenerated.
//
// File layout (integers little-endian or uvarint):
//
//	"TUFUPIX1"
//	chunks     the non-file bytes in tar order, in pieces of indexChunk
//	           bytes, each deflated on its own so any one can be read alone
//	table      uvarint file count; per file: uvarint bytes of other data
//	           before its content, uvarint size, uvarint path length, path
//	           (slash-separated, relative to the folder), 32-byte SHA-256 of
//	           the content; uvarint trailing other bytes; uvarint chunk count,
//	           uvarint compressed length per chunk; uvarint tar size, 32-byte
//	           tar SHA-256
//	trailer    uint64 table offset, 32-byte SHA-256 of everything before it
//
// The non-file bytes of a release are mostly zeros and deflate about
// tenfold: 12,000 files take about 2 MB.
const (
	indexMagic   = "TUFUPIX1"
	indexChunk   = 1 << 20
	indexTrailer = 8 + sha256.Size
)

// ErrBaseModified is wrapped by reads of an IndexedTar when a file of the
// installed folder no longer has the size and content it was extracted
// with, and by OpenIndexedTar when the index itself is damaged: the tar
// cannot be served, so a patch cannot be applied to it.
var ErrBaseModified = errors.New("installed version differs from the tar it was extracted from")

// indexFile is one regular file's content in the tar.
type indexFile struct {
	gap  int64 // non-file bytes between the previous file's content and this one's
	size int64
	path string
	sum  [sha256.Size]byte
}

// indexRecorder sits between the tar stream and archive/tar's reader while
// a tar is extracted. archive/tar reads exactly the bytes it needs (header
// blocks, then content, then padding), so when it has returned a header
// the position is where that member's content starts, and every byte can be
// told to be content or not by its position alone.
type indexRecorder struct {
	r   io.Reader
	all *Hasher // the whole tar
	pos int64

	inFile  bool
	fileEnd int64
	fileSum hash.Hash

	gap    int64     // non-file bytes since the last file's content
	cur    indexFile // the file whose content is being read
	count  int64     // files recorded
	raw    []byte    // the non-file bytes not yet deflated
	chunks []int64

	// The table's file entries, encoded as each file ends; past 64 KiB
	// they go to a temporary file in spillDir, so memory does not grow
	// with the number of files.
	entries  bytes.Buffer
	spill    *os.File
	spillDir string

	out *indexOut // the index file
	zw  *flate.Writer
	err error
}

// newIndexRecorder starts an index written to w as the tar is read from r;
// the table waits in a temporary file in spillDir. Call close when done.
func newIndexRecorder(r io.Reader, w io.Writer, spillDir string) (*indexRecorder, error) {
	out := &indexOut{w: bufio.NewWriterSize(w, 64<<10), sum: sha256.New()}
	zw, err := flate.NewWriter(out, flate.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(out, indexMagic); err != nil {
		return nil, err
	}
	return &indexRecorder{r: r, all: NewHasher(), fileSum: sha256.New(), raw: make([]byte, 0, indexChunk), out: out, zw: zw, spillDir: spillDir}, nil
}

// close removes the temporary file.
func (x *indexRecorder) close() {
	if x.spill != nil {
		x.spill.Close()
		os.Remove(x.spill.Name())
	}
}

// endFile encodes the current file's table entry.
func (x *indexRecorder) endFile() {
	f := &x.cur
	x.fileSum.Sum(f.sum[:0])
	x.inFile = false
	x.count++
	var tmp [binary.MaxVarintLen64]byte
	for _, v := range []int64{f.gap, f.size, int64(len(f.path))} {
		x.entries.Write(tmp[:binary.PutUvarint(tmp[:], uint64(v))])
	}
	x.entries.WriteString(f.path)
	x.entries.Write(f.sum[:])
	if x.entries.Len() < 64<<10 || x.err != nil {
		return
	}
	if x.spill == nil {
		if x.spill, x.err = os.CreateTemp(x.spillDir, ".tarindex-table*"); x.err != nil {
			return
		}
	}
	if _, err := x.spill.Write(x.entries.Bytes()); err != nil {
		x.err = err
	}
	x.entries.Reset()
}

func (x *indexRecorder) Read(p []byte) (int, error) {
	n, err := x.r.Read(p)
	if n > 0 {
		x.consume(p[:n])
	}
	if err == nil && x.err != nil {
		err = x.err
	}
	return n, err
}

func (x *indexRecorder) consume(b []byte) {
	x.all.Write(b)
	for len(b) > 0 {
		if x.inFile {
			k := min(int64(len(b)), x.fileEnd-x.pos)
			x.fileSum.Write(b[:k])
			x.pos += k
			b = b[k:]
			if x.pos == x.fileEnd {
				x.endFile()
			}
			continue
		}
		k := min(len(b), indexChunk-len(x.raw))
		x.raw = append(x.raw, b[:k]...)
		x.pos += int64(k)
		x.gap += int64(k)
		b = b[k:]
		if len(x.raw) == indexChunk {
			x.flushChunk()
		}
	}
}

// beginFile tells that the next size bytes are the content of the regular
// file at path (slash-separated, relative to the folder).
func (x *indexRecorder) beginFile(path string, size int64) {
	if size == 0 || x.err != nil {
		return
	}
	if x.inFile {
		x.err = fmt.Errorf("index: member %s starts inside the content of %s", path, x.cur.path)
		return
	}
	x.cur = indexFile{gap: x.gap, size: size, path: path}
	x.gap = 0
	x.inFile, x.fileEnd = true, x.pos+size
	x.fileSum.Reset()
}

func (x *indexRecorder) flushChunk() {
	if len(x.raw) == 0 || x.err != nil {
		return
	}
	before := x.out.n
	x.zw.Reset(x.out)
	if _, err := x.zw.Write(x.raw); err != nil {
		x.err = err
		return
	}
	if err := x.zw.Close(); err != nil {
		x.err = err
		return
	}
	x.chunks = append(x.chunks, x.out.n-before)
	x.raw = x.raw[:0]
}

// finish writes the table and the trailer and returns the tar's size and
// hash. The caller has read the tar to its end.
func (x *indexRecorder) finish() (TarInfo, error) {
	if x.inFile {
		return TarInfo{}, fmt.Errorf("index: tar ends inside the content of %s", x.cur.path)
	}
	x.flushChunk()
	if x.err != nil {
		return TarInfo{}, fmt.Errorf("write tar index: %w", x.err)
	}
	info := x.all.Info()
	tableOff := x.out.n
	var t bytes.Buffer
	var tmp [binary.MaxVarintLen64]byte
	uv := func(v int64) { t.Write(tmp[:binary.PutUvarint(tmp[:], uint64(v))]) }
	uv(x.count)
	if _, err := x.out.Write(t.Bytes()); err != nil {
		return TarInfo{}, fmt.Errorf("write tar index: %w", err)
	}
	t.Reset()
	if x.spill != nil {
		if _, err := x.spill.Seek(0, io.SeekStart); err != nil {
			return TarInfo{}, fmt.Errorf("write tar index: %w", err)
		}
		if _, err := io.Copy(x.out, x.spill); err != nil {
			return TarInfo{}, fmt.Errorf("write tar index: %w", err)
		}
	}
	if _, err := x.out.Write(x.entries.Bytes()); err != nil {
		return TarInfo{}, fmt.Errorf("write tar index: %w", err)
	}
	uv(x.gap)
	uv(int64(len(x.chunks)))
	for _, c := range x.chunks {
		uv(c)
	}
	uv(info.Size)
	sum, _ := hex.DecodeString(info.SHA256)
	t.Write(sum)
	if _, err := x.out.Write(t.Bytes()); err != nil {
		return TarInfo{}, fmt.Errorf("write tar index: %w", err)
	}
	var tr [indexTrailer]byte
	binary.LittleEndian.PutUint64(tr[:8], uint64(tableOff))
	x.out.sum.Sum(tr[8:8])
	if _, err := x.out.w.Write(tr[:]); err != nil {
		return TarInfo{}, fmt.Errorf("write tar index: %w", err)
	}
	if err := x.out.w.Flush(); err != nil {
		return TarInfo{}, fmt.Errorf("write tar index: %w", err)
	}
	return info, nil
}

// IndexedTar serves the bytes of the tar a folder was extracted from, from
// the folder's files and the tar's index (see ExtractIndexed). Every file
// is hashed whole the first time any of its bytes are read and compared with
// the index, so a modified install gives errors wrapping ErrBaseModified,
// never wrong bytes. Memory: 32 bytes per file and per stretch between files, and
// one chunk of a MiB.
type IndexedTar struct {
	dir  string
	idx  *os.File
	size int64
	sha  string
	segs []indexSeg
	ok   []bool // files verified, by number

	chunkOff []int64 // offset of each chunk in the index file, and the end
	rawSize  int64

	mu     sync.Mutex
	cached int // chunk in buf, -1 none
	buf    []byte
	zbuf   []byte
	zr     io.ReadCloser
	open   int // file in f, -1 none
	f      *os.File
	hb     []byte // for hashing files
}

// indexSeg is a stretch of the tar: content of files[file], or non-file
// bytes from rawOff of the concatenated non-file bytes (file < 0).
// countReader counts the bytes read through it, to know where each path
// of the table is in the index file.
type countReader struct {
	r *bufio.Reader
	n int64
}

func (c *countReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

func (c *countReader) Discard(n int) error {
	k, err := c.r.Discard(n)
	c.n += int64(k)
	return err
}

type indexSeg struct {
	off, n int64
	// rawOff is where the bytes are in the non-file bytes, or for a file
	// where its path (plen bytes) and then its SHA-256 are in the index
	// file, read when the file is opened: memory holds 32 bytes a segment.
	rawOff int64
	file   int32
	plen   int32
}

// OpenIndexedTar opens the index at indexPath of the tar the folder dir was
// extracted from. A damaged or unreadable index is an error wrapping
// ErrBaseModified when it is damaged.
func OpenIndexedTar(indexPath, dir string) (*IndexedTar, error) {
	f, err := os.Open(indexPath)
	if err != nil {
		return nil, fmt.Errorf("open tar index: %w", err)
	}
	t, err := readIndex(f, dir)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("tar index %s: %w", indexPath, err)
	}
	return t, nil
}

func readIndex(f *os.File, dir string) (*IndexedTar, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	end := fi.Size() - indexTrailer
	if end < int64(len(indexMagic)) {
		return nil, fmt.Errorf("%w: index is %d bytes, too short", ErrBaseModified, fi.Size())
	}
	h := sha256.New()
	if _, err := io.CopyBuffer(h, io.NewSectionReader(f, 0, end), make([]byte, 64<<10)); err != nil {
		return nil, err
	}
	var tr [indexTrailer]byte
	if _, err := f.ReadAt(tr[:], end); err != nil {
		return nil, err
	}
	if !bytes.Equal(h.Sum(nil), tr[8:]) {
		return nil, fmt.Errorf("%w: index checksum does not match", ErrBaseModified)
	}
	var magic [len(indexMagic)]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil || string(magic[:]) != indexMagic {
		return nil, fmt.Errorf("%w: not a tar index", ErrBaseModified)
	}
	tableOff := int64(binary.LittleEndian.Uint64(tr[:8]))
	if tableOff < int64(len(indexMagic)) || tableOff > end {
		return nil, fmt.Errorf("%w: table offset %d out of range", ErrBaseModified, tableOff)
	}
	r := &countReader{r: bufio.NewReaderSize(io.NewSectionReader(f, tableOff, end-tableOff), 64<<10), n: tableOff}
	bad := func(what string) error { return fmt.Errorf("%w: bad table (%s)", ErrBaseModified, what) }
	uv := func() int64 {
		v, err := binary.ReadUvarint(r)
		if err != nil || v > 1<<62 {
			return -1
		}
		return int64(v)
	}
	t := &IndexedTar{dir: dir, idx: f, cached: -1, open: -1}
	n := uv()
	if n < 0 || n > end {
		return nil, bad("file count")
	}
	t.segs = make([]indexSeg, 0, 2*n+1)
	var off, rawOff int64
	addRaw := func(g int64) {
		if g > 0 {
			t.segs = append(t.segs, indexSeg{off: off, n: g, file: -1, rawOff: rawOff})
			off += g
			rawOff += g
		}
	}
	for i := int64(0); i < n; i++ {
		gap, size, pl := uv(), uv(), uv()
		if gap < 0 || size <= 0 || pl <= 0 || pl > 1<<16 {
			return nil, bad("file entry")
		}
		pathOff := r.n
		if err := r.Discard(int(pl) + sha256.Size); err != nil {
			return nil, bad("path and hash")
		}
		addRaw(gap)
		t.segs = append(t.segs, indexSeg{off: off, n: size, file: int32(i), rawOff: pathOff, plen: int32(pl)})
		off += size
	}
	t.ok = make([]bool, n)
	last := uv()
	if last < 0 {
		return nil, bad("trailing bytes")
	}
	addRaw(last)
	nc := uv()
	if nc < 0 || nc > end {
		return nil, bad("chunk count")
	}
	t.chunkOff = make([]int64, nc+1)
	t.chunkOff[0] = int64(len(indexMagic))
	for i := int64(0); i < nc; i++ {
		c := uv()
		if c <= 0 {
			return nil, bad("chunk length")
		}
		t.chunkOff[i+1] = t.chunkOff[i] + c
	}
	if t.chunkOff[nc] != tableOff || (rawOff+indexChunk-1)/indexChunk != nc {
		return nil, bad("chunks")
	}
	t.size = uv()
	var sum [sha256.Size]byte
	if _, err := io.ReadFull(r.r, sum[:]); err != nil || t.size != off {
		return nil, bad("tar size")
	}
	t.sha = fmt.Sprintf("%x", sum)
	t.rawSize = rawOff
	return t, nil
}

// Size is the size of the tar.
func (t *IndexedTar) Size() int64 { return t.size }

// Info is the size and SHA-256 of the tar, recorded when it was extracted.
func (t *IndexedTar) Info() TarInfo { return TarInfo{Size: t.size, SHA256: t.sha} }

// Close releases the open files.
func (t *IndexedTar) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.f != nil {
		t.f.Close()
		t.f = nil
	}
	return t.idx.Close()
}

// ReadAt reads the tar's bytes at off.
func (t *IndexedTar) ReadAt(p []byte, off int64) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if off < 0 {
		return 0, fmt.Errorf("tar index: negative offset %d", off)
	}
	n := 0
	for len(p) > 0 {
		if off >= t.size {
			return n, io.EOF
		}
		i := sort.Search(len(t.segs), func(i int) bool { return t.segs[i].off > off }) - 1
		s := t.segs[i]
		within := off - s.off
		k := int(min(int64(len(p)), s.n-within))
		var err error
		if s.file < 0 {
			err = t.readRaw(p[:k], s.rawOff+within)
		} else {
			err = t.readFile(p[:k], s, within)
		}
		if err != nil {
			return n, err
		}
		n += k
		p = p[k:]
		off += int64(k)
	}
	return n, nil
}

func (t *IndexedTar) readRaw(p []byte, off int64) error {
	for len(p) > 0 {
		c := int(off / indexChunk)
		if c != t.cached {
			if err := t.loadChunk(c); err != nil {
				return err
			}
		}
		k := copy(p, t.buf[off-int64(c)*indexChunk:])
		p = p[k:]
		off += int64(k)
	}
	return nil
}

func (t *IndexedTar) loadChunk(c int) error {
	t.cached = -1
	zl := t.chunkOff[c+1] - t.chunkOff[c]
	if int64(cap(t.zbuf)) < zl {
		t.zbuf = make([]byte, zl)
	}
	z := t.zbuf[:zl]
	if _, err := t.idx.ReadAt(z, t.chunkOff[c]); err != nil {
		return fmt.Errorf("tar index: read chunk %d: %w", c, err)
	}
	n := min(int64(indexChunk), t.rawSize-int64(c)*indexChunk)
	if t.buf == nil {
		t.buf = make([]byte, indexChunk)
	}
	if t.zr == nil {
		t.zr = flate.NewReader(bytes.NewReader(z))
	} else if err := t.zr.(flate.Resetter).Reset(bytes.NewReader(z), nil); err != nil {
		return err
	}
	if _, err := io.ReadFull(t.zr, t.buf[:n]); err != nil {
		return fmt.Errorf("%w: tar index chunk %d: %v", ErrBaseModified, c, err)
	}
	t.buf = t.buf[:n]
	t.cached = c
	return nil
}

func (t *IndexedTar) readFile(p []byte, s indexSeg, off int64) error {
	if t.open != int(s.file) {
		if err := t.openFile(s); err != nil {
			return err
		}
	}
	if _, err := t.f.ReadAt(p, off); err != nil {
		return fmt.Errorf("%w: read %s: %v", ErrBaseModified, t.f.Name(), err)
	}
	return nil
}

// openFile opens the file of segment s, hashing it whole on first use.
func (t *IndexedTar) openFile(s indexSeg) error {
	if t.f != nil {
		t.f.Close()
		t.f, t.open = nil, -1
	}
	entry := make([]byte, int(s.plen)+sha256.Size)
	if _, err := t.idx.ReadAt(entry, s.rawOff); err != nil {
		return fmt.Errorf("tar index: read entry: %w", err)
	}
	full := filepath.Join(t.dir, filepath.FromSlash(string(entry[:s.plen])))
	sum := entry[s.plen:]
	fi, err := os.Lstat(full)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %v", ErrBaseModified, err)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%w: %s is no longer a regular file", ErrBaseModified, full)
	case fi.Size() != s.n:
		return fmt.Errorf("%w: %s is %d bytes, was %d", ErrBaseModified, full, fi.Size(), s.n)
	}
	f, err := os.Open(full)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBaseModified, err)
	}
	if !t.ok[s.file] {
		h := sha256.New()
		if t.hb == nil {
			t.hb = make([]byte, 256<<10)
		}
		n, err := io.CopyBuffer(h, io.NewSectionReader(f, 0, s.n+1), t.hb)
		if err != nil || n != s.n || !bytes.Equal(h.Sum(nil), sum) {
			f.Close()
			return fmt.Errorf("%w: %s changed since it was installed", ErrBaseModified, full)
		}
		t.ok[s.file] = true
	}
	t.f, t.open = f, int(s.file)
	return nil
}

// indexOut counts and hashes what it passes on, for the index's trailer.
type indexOut struct {
	w   *bufio.Writer
	n   int64
	sum hash.Hash
}

func (o *indexOut) Write(p []byte) (int, error) {
	n, err := o.w.Write(p)
	o.sum.Write(p[:n])
	o.n += int64(n)
	return n, err
}

// IndexTarFile writes the index of the tar file at tarPath to indexPath, as
// ExtractIndexed would have when the tar was extracted. It lets an install
// that kept a copy of the tar its version was extracted from replace that
// copy with an index. Whether the folder still matches is checked when the
// index is used.
func IndexTarFile(ctx context.Context, tarPath, indexPath string) error {
	f, err := os.Open(tarPath)
	if err != nil {
		return fmt.Errorf("index tar: %w", err)
	}
	defer f.Close()
	return fsutil.WriteFrom(indexPath, 0o644, func(w io.Writer) error {
		rec, err := newIndexRecorder(bufio.NewReaderSize(ctxReader{ctx, f}, 64<<10), w, filepath.Dir(indexPath))
		if err != nil {
			return err
		}
		defer rec.close()
		tr := tar.NewReader(rec) // rec is no Seeker: skipped content is read, so indexed
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("index %s: %w", tarPath, err)
			}
			if h.Typeflag == tar.TypeReg {
				p, err := memberPath(h.Name, false)
				if err != nil {
					return fmt.Errorf("index %s: member %q: %w", tarPath, h.Name, err)
				}
				rec.beginFile(p, h.Size)
			}
		}
		if _, err := io.Copy(io.Discard, rec); err != nil {
			return fmt.Errorf("index %s: %w", tarPath, err)
		}
		_, err = rec.finish()
		return err
	})
}
