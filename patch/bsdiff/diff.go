package bsdiff

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/tufup-go/tufup/patch/bsdiff/internal/bzip2"
	"github.com/tufup-go/tufup/patch/bsdiff/internal/sais"
)

// Diff writes a BSDIFF40 patch turning the file oldPath into newPath.
//
// Tar archives are diffed member against member in parallel and other
// files as a whole, with bsdiff's matching over suffix arrays of at most
// 64 MiB of old bytes at a time; working memory is bounded whatever the
// sizes (see the package documentation for the design and its trade-offs).
// The patch is written to patch only once it is complete.
func Diff(ctx context.Context, oldPath, newPath string, patch io.Writer) error {
	return diffFiles(ctx, oldPath, newPath, patch, defaultConfig())
}

// DiffLimit is Diff with the diff's working memory held to about
// memoryLimit bytes (0: Diff's 640 MiB for jobs in flight). Below the
// default, fewer and smaller jobs run at once: an old region above a tenth
// of the jobs' budget is windowed (see the package documentation), which
// may make the patch bigger, never wrong. The process's total is this plus
// the patch blocks' buffers (48 MiB) and the Go runtime's headroom, which
// the caller bounds with debug.SetMemoryLimit.
func DiffLimit(ctx context.Context, oldPath, newPath string, patch io.Writer, memoryLimit int64) error {
	cfg := defaultConfig()
	cfg.limit(memoryLimit)
	return diffFiles(ctx, oldPath, newPath, patch, cfg)
}

// limit lowers the budget to fit m bytes, and the largest old region
// indexed whole (9 bytes of working memory per old byte) to a tenth of it.
func (cfg *config) limit(m int64) {
	if m <= 0 {
		return
	}
	cfg.budget = min(cfg.budget, max(m-int64(3*cfg.spillMem)-64<<20, 16<<20))
	cfg.maxOld = min(cfg.maxOld, max(cfg.budget/10, 1<<20))
	cfg.window = min(cfg.window, cfg.maxOld/2)
	cfg.maxNew = min(cfg.maxNew, cfg.maxOld)
}

// config holds the knobs of diffFiles; tests shrink them to exercise
// windowing and memory limits on small inputs.
type config struct {
	workers int
	// maxOld is the largest old region diffed as a whole; larger ones
	// are cut into windows of window bytes.
	maxOld, window int64
	// maxNew is the most new bytes one job diffs.
	maxNew int64
	// budget bounds the working memory of jobs in flight, in bytes.
	budget int64
	// tar enables the per-member diff of tar archives.
	tar bool
	// exact makes the matcher search at every position bsdiff does.
	exact bool
	// spillMem is how much of each compressed block stays in memory.
	spillMem int
}

func defaultConfig() config {
	return config{
		workers:  runtime.GOMAXPROCS(0),
		maxOld:   64 << 20,
		window:   32 << 20,
		maxNew:   64 << 20,
		budget:   640 << 20,
		tar:      true,
		spillMem: defaultSpillMem,
	}
}

// segment pairs a region of the new file with the region of the old file
// it is diffed against (oldLen 0: none, the region goes to the extra block).
type segment struct {
	newOff, newLen int64
	oldOff, oldLen int64
}

func diffFiles(ctx context.Context, oldPath, newPath string, patch io.Writer, cfg config) error {
	oldF, oldSize, err := openSized(oldPath)
	if err != nil {
		return err
	}
	defer oldF.Close()
	newF, newSize, err := openSized(newPath)
	if err != nil {
		return err
	}
	defer newF.Close()

	segs := []segment{{0, newSize, 0, oldSize}}
	if cfg.tar {
		if s, ok := planTar(oldF, oldSize, newF, newSize); ok {
			segs = s
		}
	}
	d := &differ{cfg: cfg, old: oldF, nw: newF, oldPath: oldPath, newPath: newPath}
	return d.run(ctx, segs, newSize, patch)
}

func openSized(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("bsdiff: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("bsdiff: %w", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("bsdiff: %s is not a regular file", path)
	}
	return f, fi.Size(), nil
}

// planTar cuts the new tar into header and content regions paired with the
// old tar's, or reports false when either file is not a tar.
func planTar(oldF io.ReaderAt, oldSize int64, newF io.ReaderAt, newSize int64) ([]segment, bool) {
	oldLay, err := readLayout(oldF, oldSize)
	if err != nil || len(oldLay.members) == 0 {
		return nil, false
	}
	newLay, err := readLayout(newF, newSize)
	if err != nil || len(newLay.members) == 0 {
		return nil, false
	}
	pair := pairTars(oldLay, newLay)
	segs := make([]segment, 0, 2*len(newLay.members)+1)
	// A new member without a counterpart still has a header much like
	// any other: diff it against the last header used.
	first := oldLay.members[0]
	lastHdrOff, lastHdrLen := first.hdrOff, first.dataOff-first.hdrOff
	for i, m := range newLay.members {
		var o member
		if pair[i] >= 0 {
			o = oldLay.members[pair[i]]
			lastHdrOff, lastHdrLen = o.hdrOff, o.dataOff-o.hdrOff
		}
		segs = append(segs, segment{m.hdrOff, m.dataOff - m.hdrOff, lastHdrOff, lastHdrLen})
		if m.size > 0 {
			segs = append(segs, segment{m.dataOff, m.size, o.dataOff, o.size})
		}
	}
	segs = append(segs, segment{newLay.end, newSize - newLay.end, oldLay.end, oldSize - oldLay.end})
	return segs, true
}

// job is one unit of work: diff new[newOff:+newLen] against
// old[oldOff:+oldLen]; if same >= 0, first check whether the new bytes equal
// old[same:+newLen], which makes a patch of nothing but zeros.
type job struct {
	newOff, newLen int64
	oldOff, oldLen int64
	same           int64
	cost           int64 // bytes of budget taken at dispatch
	held           int64 // bytes of budget held by the result until written
	done           chan outcome
}

type outcome struct {
	runs []run // old positions absolute
	// buf holds, run after run, the add's diff bytes then the extra bytes;
	// nil means there is no extra and the diff bytes are all zero.
	buf []byte
	err error
}

// jobs cuts a segment into jobs of at most maxNew new bytes. An old region
// larger than maxOld is windowed: each job gets window/2 new bytes and the
// window of old bytes centred on where they fall in proportion.
func (cfg config) jobs(s segment) []*job {
	var js []*job
	chunk := cfg.maxNew
	if s.oldLen > cfg.maxOld {
		chunk = max(cfg.window/2, 1)
	}
	for off := int64(0); off < s.newLen; off += chunk {
		n := min(chunk, s.newLen-off)
		j := &job{newOff: s.newOff + off, newLen: n, oldOff: s.oldOff, oldLen: s.oldLen, same: -1}
		if s.oldLen == s.newLen {
			j.same = s.oldOff + off
		}
		if s.oldLen > cfg.maxOld {
			mid := int64(float64(off+n/2) * float64(s.oldLen) / float64(s.newLen))
			start := min(max(mid-cfg.window/2, 0), s.oldLen-cfg.window)
			j.oldOff, j.oldLen = s.oldOff+start, cfg.window
		}
		js = append(js, j)
	}
	return js
}

// gcAfter is the old region size from which a job is followed by a
// garbage collection.
const gcAfter = 8 << 20

// estimate is a job's peak memory while it runs: its new bytes and, unless
// it ends at the equality check, the old bytes, the suffix array (4 bytes
// per old byte), the prefix index, the 8-gram filter (1 byte per old byte)
// and the construction's scratch space (types, bucket layouts and the
// recursion's buckets: up to 3 bytes per old byte).
func (j *job) estimate() int64 {
	return j.newLen + 9*j.oldLen + (1+1<<16)*4 + 64<<10
}

// budget is a counting semaphore of bytes. A job takes its estimate before
// it is dispatched, gives back all but its result's size when it is done,
// and the rest once the result is written; jobs are dispatched in file
// order, so a job's result never waits behind one that could not start.
type budget struct {
	mu    sync.Mutex
	avail int64
	freed chan struct{} // closed (and replaced) whenever bytes are given back
}

func newBudget(n int64) *budget { return &budget{avail: n, freed: make(chan struct{})} }

func (b *budget) acquire(ctx context.Context, n int64) error {
	for {
		b.mu.Lock()
		if b.avail >= n {
			b.avail -= n
			b.mu.Unlock()
			return nil
		}
		freed := b.freed
		b.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

func (b *budget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.avail += n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

type differ struct {
	cfg              config
	old, nw          io.ReaderAt
	oldPath, newPath string
}

func (d *differ) run(ctx context.Context, segs []segment, newSize int64, patch io.Writer) error {
	w := newPatchWriter(d.cfg.spillMem)
	defer w.close()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	mem := newBudget(d.cfg.budget)
	work := make(chan *job)
	// Jobs whose results wait for an earlier one to be written; the
	// memory budget, not this, is what bounds them.
	pending := make(chan *job, 1<<16)

	var wg sync.WaitGroup
	for range max(d.cfg.workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				o := d.do(ctx, j)
				j.held = int64(len(o.buf))
				mem.release(j.cost - j.held)
				j.done <- o
				if j.oldLen >= gcAfter {
					// The old bytes and the suffix array just died. Collect
					// them now, so the next job reuses their memory instead
					// of the heap growing to twice what is live before Go's
					// collector runs by itself. Cheap: the heap is almost
					// all pointer-free slices.
					runtime.GC()
				}
			}
		}()
	}
	go func() {
		defer close(work)
		defer close(pending)
		for _, s := range segs {
			for _, j := range d.cfg.jobs(s) {
				// A job bigger than the whole budget runs alone.
				j.cost = min(j.estimate(), d.cfg.budget)
				j.done = make(chan outcome, 1)
				if mem.acquire(ctx, j.cost) != nil {
					return
				}
				pending <- j
				work <- j
			}
		}
	}()

	// Every job in pending reaches a worker, which answers at once once
	// ctx is done, so this loop always ends.
	for j := range pending {
		o := <-j.done
		if o.err == nil && context.Cause(ctx) == nil {
			if err := w.write(o); err != nil {
				cancel(err)
			}
		} else if o.err != nil {
			cancel(o.err)
		}
		mem.release(j.held)
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return w.finish(newSize, patch)
}

// do runs one job.
func (d *differ) do(ctx context.Context, j *job) outcome {
	if err := context.Cause(ctx); err != nil {
		return outcome{err: err}
	}
	if j.same >= 0 {
		eq, err := d.equal(j.newOff, j.same, j.newLen)
		if err != nil {
			return outcome{err: err}
		}
		if eq {
			return outcome{runs: []run{{add: j.newLen, oldPos: j.same}}}
		}
	}
	buf := make([]byte, j.newLen)
	if err := readAt(d.nw, buf, j.newOff, d.newPath); err != nil {
		return outcome{err: err}
	}
	if j.oldLen == 0 {
		return outcome{runs: []run{{extra: j.newLen, oldPos: j.oldOff}}, buf: buf}
	}
	old := make([]byte, j.oldLen)
	if err := readAt(d.old, old, j.oldOff, d.oldPath); err != nil {
		return outcome{err: err}
	}
	sa := make([]int32, len(old))
	sais.SuffixArray(old, sa)
	var idx []int32
	if len(old) >= idxMin {
		idx = make([]int32, 1<<16+1)
	}
	m := newMatcher(old, sa, idx)
	if d.cfg.exact {
		m.trust, m.maxMiss = 0, 0
	} else if len(old) >= idxMin {
		m.grams = newGramFilter(old)
	}
	var runs []run
	p := int64(0)
	m.scan(buf, func(r run) {
		// scan never looks back before the end of a run it emitted, so
		// the run's new bytes can become diff bytes in place.
		subBytes(buf[p:p+r.add], old[r.oldPos:r.oldPos+r.add])
		p += r.add + r.extra
		r.oldPos += j.oldOff
		runs = append(runs, r)
	}, func() bool { return ctx.Err() != nil })
	if err := context.Cause(ctx); err != nil {
		return outcome{err: err}
	}
	return outcome{runs: runs, buf: buf}
}

// equal reports whether new[newOff:+n] equals old[oldOff:+n], reading both
// in bounded pieces.
func (d *differ) equal(newOff, oldOff, n int64) (bool, error) {
	const piece = 1 << 20
	a := make([]byte, min(n, piece))
	b := make([]byte, min(n, piece))
	for done := int64(0); done < n; {
		k := min(n-done, piece)
		if err := readAt(d.nw, a[:k], newOff+done, d.newPath); err != nil {
			return false, err
		}
		if err := readAt(d.old, b[:k], oldOff+done, d.oldPath); err != nil {
			return false, err
		}
		if !bytes.Equal(a[:k], b[:k]) {
			return false, nil
		}
		done += k
	}
	return true, nil
}

func readAt(r io.ReaderAt, p []byte, off int64, name string) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("bsdiff: read %s at offset %d: %w", name, off, err)
}

// subBytes sets dst[i] -= src[i] (mod 256), eight bytes at a time: with the
// top bit of each byte of dst set and of src cleared no borrow crosses a
// byte, and the xor restores the top bits.
func subBytes(dst, src []byte) {
	const hi = 0x8080808080808080
	src = src[:len(dst)]
	i := 0
	for ; i+8 <= len(dst); i += 8 {
		x := binary.LittleEndian.Uint64(dst[i:])
		y := binary.LittleEndian.Uint64(src[i:])
		binary.LittleEndian.PutUint64(dst[i:], ((x|hi)-(y&^hi))^((x^^y)&hi))
	}
	for ; i < len(dst); i++ {
		dst[i] -= src[i]
	}
}

// patchWriter compresses the three blocks as runs arrive, stitching the
// runs of consecutive jobs into one control stream.
type patchWriter struct {
	ctrlS, diffS, extraS spill
	ctrl, diff, extra    *bzip2.Writer
	// pending is the last run, held back until the next one tells its
	// seek. It starts as an empty run at old position 0, where bspatch
	// starts.
	pending run
	triple  [tripleSize]byte
}

func newPatchWriter(spillMem int) *patchWriter {
	w := &patchWriter{}
	w.ctrlS.max, w.diffS.max, w.extraS.max = spillMem, spillMem, spillMem
	w.ctrl = bzip2.NewWriter(&w.ctrlS)
	w.diff = bzip2.NewWriter(&w.diffS)
	w.extra = bzip2.NewWriter(&w.extraS)
	return w
}

var zeros [64 << 10]byte

func (w *patchWriter) write(o outcome) error {
	p := int64(0)
	for _, r := range o.runs {
		if err := w.push(r); err != nil {
			return err
		}
		if o.buf == nil {
			for n := r.add; n > 0; {
				k := min(n, int64(len(zeros)))
				if _, err := w.diff.Write(zeros[:k]); err != nil {
					return fmt.Errorf("bsdiff: compress diff block: %w", err)
				}
				n -= k
			}
			continue
		}
		if _, err := w.diff.Write(o.buf[p : p+r.add]); err != nil {
			return fmt.Errorf("bsdiff: compress diff block: %w", err)
		}
		p += r.add
		if _, err := w.extra.Write(o.buf[p : p+r.extra]); err != nil {
			return fmt.Errorf("bsdiff: compress extra block: %w", err)
		}
		p += r.extra
	}
	return nil
}

// push adds a run to the control stream, merging it into the held-back one
// when the old position simply continues (or does not matter).
func (w *patchWriter) push(r run) error {
	if r.add == 0 && r.extra == 0 {
		return nil
	}
	p := &w.pending
	switch {
	case r.add == 0:
		p.extra += r.extra
		return nil
	case p.extra == 0 && r.oldPos == p.oldPos+p.add:
		p.add += r.add
		p.extra = r.extra
		return nil
	}
	err := w.emit(*p, r.oldPos-(p.oldPos+p.add))
	w.pending = r
	return err
}

// emit writes one run as control triples, splitting lengths bspatch could
// not read in one go.
func (w *patchWriter) emit(r run, seek int64) error {
	x, y := r.add, r.extra
	for x > maxRun {
		if err := w.putTriple(maxRun, 0, 0); err != nil {
			return err
		}
		x -= maxRun
	}
	for y > maxRun {
		if err := w.putTriple(x, maxRun, 0); err != nil {
			return err
		}
		x, y = 0, y-maxRun
	}
	return w.putTriple(x, y, seek)
}

func (w *patchWriter) putTriple(x, y, z int64) error {
	putInt(w.triple[0:], x)
	putInt(w.triple[8:], y)
	putInt(w.triple[16:], z)
	if _, err := w.ctrl.Write(w.triple[:]); err != nil {
		return fmt.Errorf("bsdiff: compress control block: %w", err)
	}
	return nil
}

// finish flushes everything and writes the patch to out.
func (w *patchWriter) finish(newSize int64, out io.Writer) error {
	if p := w.pending; p.add > 0 || p.extra > 0 {
		if err := w.emit(p, 0); err != nil {
			return err
		}
	}
	for _, c := range []struct {
		name string
		z    *bzip2.Writer
	}{{"control", w.ctrl}, {"diff", w.diff}, {"extra", w.extra}} {
		if err := c.z.Close(); err != nil {
			return fmt.Errorf("bsdiff: compress %s block: %w", c.name, err)
		}
	}
	var hdr [headerSize]byte
	copy(hdr[:], magic)
	putInt(hdr[8:], w.ctrlS.n)
	putInt(hdr[16:], w.diffS.n)
	putInt(hdr[24:], newSize)
	if _, err := out.Write(hdr[:]); err != nil {
		return fmt.Errorf("bsdiff: write patch: %w", err)
	}
	for _, s := range []*spill{&w.ctrlS, &w.diffS, &w.extraS} {
		if err := s.writeTo(out); err != nil {
			return fmt.Errorf("bsdiff: write patch: %w", err)
		}
	}
	return nil
}

func (w *patchWriter) close() {
	if w == nil {
		return
	}
	w.ctrlS.close()
	w.diffS.close()
	w.extraS.close()
}
