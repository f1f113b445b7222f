package launcher

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/klauspost/compress/gzip"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/patch"
	"github.com/tufup-go/tufup/patch/bsdiff"
)

// The patch base is the installed version's own folder, read as the tar it
// was extracted from through the index written at install time
// (.tufup/cache/<app>-<version>.tarindex): no copy of a whole release is
// kept. The new release's tar is never written either: the patches' (or
// the archive's) output streams into extraction, hashed on the way, and the
// staging folder is only moved into place once the hash matched. Peak disk
// during an update is the new version's folder and its index (plus, for a
// chain of several patches, the intermediate tars).

// tarIndex is where the index of version v's tar lives.
func (l *Launcher) tarIndex(v string) string {
	return filepath.Join(l.dir.Cache(), l.cfg.AppName+"-"+v+".tarindex")
}

// cachedTar is where launchers before the index kept the current version's
// tar; such a tar is still used as the base once, then turned into an index.
func (l *Launcher) cachedTar(v string) string {
	return filepath.Join(l.dir.Cache(), l.cfg.AppName+"-"+v+".tar")
}

// haveBase tells whether patches can be applied to version v.
func (l *Launcher) haveBase(v string) bool {
	for _, p := range []string{l.tarIndex(v), l.cachedTar(v)} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// openBase returns the tar version v was extracted from: served from its
// folder through its index, or an older install's cached tar.
func (l *Launcher) openBase(v string) (io.ReaderAt, int64, io.Closer, error) {
	it, err := patch.OpenIndexedTar(l.tarIndex(v), l.dir.Version(v))
	if err == nil {
		return it, it.Size(), it, nil
	}
	if f, ferr := os.Open(l.cachedTar(v)); ferr == nil {
		if fi, ferr := f.Stat(); ferr == nil {
			return f, fi.Size(), f, nil
		}
		f.Close()
	}
	return nil, 0, nil, err
}

// rebuildFromPatches downloads the patch chain and applies it to the tar
// of the current version, extracting the result into staging (with its
// index) as it comes; staging is kept only if the result has the signed
// tar_size and tar_hash.
func (l *Launcher) rebuildFromPatches(ctx context.Context, client *fetch.Client, plan *Plan, staging string) error {
	var files []string
	for _, t := range plan.Patches {
		f, err := client.Download(ctx, t, l.dir.Downloads())
		if unusable(err) {
			// Listed but missing or wrong on the server: the archive may
			// still be fine.
			return fmt.Errorf("%w: download %s: %v", errPatchUnavailable, t.Name, err)
		}
		if err != nil {
			return fmt.Errorf("download %s: %w", t.Name, err)
		}
		files = append(files, f)
	}
	crashPoint("download")
	crashPoint("patch")
	to := plan.To.String()
	l.events.phase(PhaseVerify, plan.From, to, 0)
	base, size, closer, err := l.openBase(plan.From)
	if err != nil {
		// The installed folder is not what was installed (or its index is
		// gone): the patches are fine, the full archive is the way.
		return fmt.Errorf("%w: base for patches: %v", errPatchUnavailable, err)
	}
	defer closer.Close()
	crashPoint("extract")
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(applyMemoryLimit))
	err = patch.ApplyChainExtract(ctx, l.fs, crashMidway(base, size), size, files, filepath.Dir(staging), staging, l.tarIndex(to), plan.Tar)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, patch.ErrBaseModified):
		return fmt.Errorf("%w: %v", errPatchUnavailable, err)
	case errors.Is(err, patch.ErrChainMismatch), errors.Is(err, bsdiff.ErrCorrupt):
		// The patch bytes passed their TUF hashes, and the base its own
		// hashes, so the publisher's base differs: not worth a retry.
		return fmt.Errorf("%w: %v", errPatch, err)
	}
	return err // the disk, a cancellation: nothing wrong with the patches
}

// rebuildFromArchive downloads the full archive and extracts it into
// staging (with its index) as it decompresses.
func (l *Launcher) rebuildFromArchive(ctx context.Context, client *fetch.Client, plan *Plan, staging string) error {
	// The seed shipped with the launcher is another source of the archive;
	// client is nil when the seed is installed offline.
	f := l.seedArchive(plan.Archive)
	if f == "" && client == nil {
		return fmt.Errorf("%s: not in the seed, and no connection to download it", plan.Archive.Name)
	}
	if f == "" {
		var err error
		if f, err = client.Download(ctx, plan.Archive, l.dir.Downloads()); err != nil {
			return fmt.Errorf("download %s: %w", plan.Archive.Name, err)
		}
	}
	crashPoint("download")
	to := plan.To.String()
	l.events.phase(PhaseVerify, plan.From, to, 0)
	in, err := os.Open(f)
	if err != nil {
		return fmt.Errorf("extract %s: %w", plan.Archive.Name, err)
	}
	defer in.Close()
	mid := &midwayReader{r: in, half: plan.Archive.Length / 2}
	zr, err := gzip.NewReader(bufio.NewReaderSize(mid, 64<<10))
	if err != nil {
		return fmt.Errorf("extract %s: %w", plan.Archive.Name, err)
	}
	crashPoint("extract")
	_, err = patch.ExtractIndexed(ctx, l.fs, zr, staging, maxTarSize(plan), l.tarIndex(to), plan.Tar)
	if errors.Is(err, patch.ErrTarMismatch) {
		return fmt.Errorf("archive %s decompresses to a tar that differs from the signed tar_hash and tar_size: %w", plan.Archive.Name, err)
	}
	if err != nil {
		return fmt.Errorf("extract %s: %w", plan.Archive.Name, err)
	}
	return nil
}

// applyMemoryLimit is the Go runtime's soft memory limit while a patch is
// applied: the decoders, the base's index and extraction's bookkeeping are
// live at once, and without it the heap's headroom takes the process past
// the 64 MB the design allows on releases of 100,000 files.
const applyMemoryLimit = 52 << 20

// maxTarSize bounds decompression: the signed tar size when the repository
// tells it, otherwise a generous multiple of the signed archive length.
func maxTarSize(plan *Plan) int64 {
	if plan.Tar.Size > 0 {
		return plan.Tar.Size
	}
	const maxRatio = 100
	return max(plan.Archive.Length*maxRatio, 1<<20)
}

// cleanCache keeps the tar index of every installed version (any of them
// may become the current one, and so the patch base, by a rollback) and
// nothing else. A tar cached by an older launcher is turned into an index
// first if its version has none.
func (l *Launcher) cleanCache() {
	installed, err := l.dir.Installed()
	if err != nil {
		return
	}
	keep := map[string]bool{}
	for _, v := range installed {
		index := l.tarIndex(v)
		if _, err := os.Stat(index); err != nil {
			if _, err := os.Stat(l.cachedTar(v)); err == nil {
				if err := patch.IndexTarFile(context.Background(), l.cachedTar(v), index); err != nil {
					l.log.Warn("cleanup: cannot index the cached tar", "version", v, "error", err)
					keep[filepath.Base(l.cachedTar(v))] = true
				}
			}
		}
		keep[filepath.Base(index)] = true
	}
	l.removeStale(l.dir.Cache(), func(name string) bool { return !keep[name] })
}

// crashMidway lets the crash tests kill the launcher in the middle of
// applying a patch (step "stream"), when half of the base has been read.
func crashMidway(r io.ReaderAt, size int64) io.ReaderAt {
	return &midwayReaderAt{r: r, half: size / 2}
}

type midwayReaderAt struct {
	r    io.ReaderAt
	half int64
}

func (m *midwayReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= m.half {
		crashPoint("stream")
	}
	return m.r.ReadAt(p, off)
}

// midwayReader does the same for the archive: step "stream" once half of
// the compressed file has been read.
type midwayReader struct {
	r    io.Reader
	n    int64
	half int64
}

func (m *midwayReader) Read(p []byte) (int, error) {
	if m.n >= m.half {
		crashPoint("stream")
	}
	n, err := m.r.Read(p)
	m.n += int64(n)
	return n, err
}
