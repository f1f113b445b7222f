package patch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tufup-go/tufup/internal/fsutil"
	"github.com/tufup-go/tufup/patch/bsdiff"
)

// ApplyChain applies the BSDIFF40 patches in order, the first to baseTar,
// each next one to what the previous one produced, and writes the last
// result to outTar if and only if its size and SHA-256 are want's (tufup's
// tar_size and tar_hash of the last patch). Intermediate results are
// temporary files next to outTar, removed before returning; the final one is
// hashed while it is written, flushed and renamed into place, so on any
// failure nothing new is left at outTar (a file already there stays as it
// was). Memory use is constant, whatever the sizes.
func ApplyChain(ctx context.Context, baseTar string, patches []string, outTar string, want TarInfo) error {
	if len(patches) == 0 {
		return fmt.Errorf("apply patch chain to %s: no patches", baseTar)
	}
	if want.Size < 0 || len(want.SHA256) != 64 {
		return fmt.Errorf("apply patch chain to %s: expected size %d and sha256 %q are not a valid target", baseTar, want.Size, want.SHA256)
	}
	dir := filepath.Dir(outTar)
	in := baseTar
	// Each intermediate is removed once the next step has read it, so a
	// long chain needs the disk space of two tars, not one per patch.
	removeIn := func() {
		if in != baseTar {
			os.Remove(in)
		}
	}
	defer func() { removeIn() }()
	for i, p := range patches[:len(patches)-1] {
		tmp, err := os.CreateTemp(dir, "."+filepath.Base(outTar)+".step*")
		if err != nil {
			return fmt.Errorf("apply patch chain: %w", err)
		}
		err = applyOne(ctx, in, p, tmp)
		if cerr := tmp.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("apply patch %d of %d (%s) to %s: %w", i+1, len(patches), p, in, err)
		}
		removeIn()
		in = tmp.Name()
	}
	last := patches[len(patches)-1]
	err := fsutil.WriteFrom(outTar, 0o644, func(w io.Writer) error {
		h := NewHasher()
		if err := applyOne(ctx, in, last, io.MultiWriter(w, h)); err != nil {
			return err
		}
		if got := h.Info(); got.Size != want.Size || !strings.EqualFold(got.SHA256, want.SHA256) {
			return fmt.Errorf("%w: got %d bytes with sha256 %s, want %d bytes with sha256 %s",
				ErrChainMismatch, got.Size, got.SHA256, want.Size, want.SHA256)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("apply patch %d of %d (%s) to %s: %w", len(patches), len(patches), last, in, err)
	}
	return nil
}

// ErrChainMismatch is wrapped by ApplyChain's error when the patches applied
// cleanly but the result is not the expected tar.
var ErrChainMismatch = errors.New("patched tar does not match the expected size and hash")

// applyOne writes what patchPath turns oldPath into to w.
func applyOne(ctx context.Context, oldPath, patchPath string, w io.Writer) error {
	old, oldSize, err := openFile(oldPath)
	if err != nil {
		return err
	}
	defer old.Close()
	return applyOneAt(ctx, old, oldSize, patchPath, w)
}

func openFile(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// ctxWriter stops a long apply when ctx is done: Apply writes in bounded
// chunks, so it notices within one.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// ApplyChainExtract applies the BSDIFF40 patches in order, the first to
// base (baseSize bytes: an IndexedTar of the installed version, or a tar
// file), and streams what the last one produces straight into
// ExtractIndexed(dir, indexPath): no copy of the new tar is written. The
// result must have want's size and SHA-256 (tufup's tar_size and tar_hash
// of the last patch), checked before returning, so dir exists on return
// if and only if it holds that tar's files; otherwise the error wraps
// ErrChainMismatch. Intermediate results of a chain of several patches are
// temporary files in tmpDir, each removed once the next step has read it.
// Memory use is constant, whatever the sizes. Flushes and renames go
// through fsys (fsutil.OS{}: the disk).
func ApplyChainExtract(ctx context.Context, fsys fsutil.FS, base io.ReaderAt, baseSize int64, patches []string, tmpDir, dir, indexPath string, want TarInfo) error {
	if len(patches) == 0 {
		return fmt.Errorf("apply patch chain into %s: no patches", dir)
	}
	if want.Size < 0 || len(want.SHA256) != 64 {
		return fmt.Errorf("apply patch chain into %s: expected size %d and sha256 %q are not a valid target", dir, want.Size, want.SHA256)
	}
	in, inSize, inName := base, baseSize, "the installed version"
	var inFile *os.File
	closeIn := func() {
		if inFile != nil {
			inFile.Close()
			os.Remove(inFile.Name())
		}
	}
	defer func() { closeIn() }()
	for i, p := range patches[:len(patches)-1] {
		tmp, err := os.CreateTemp(tmpDir, ".patch-step*.tar")
		if err != nil {
			return fmt.Errorf("apply patch chain: %w", err)
		}
		err = applyOneAt(ctx, in, inSize, p, tmp)
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			return fmt.Errorf("apply patch %d of %d (%s) to %s: %w", i+1, len(patches), p, inName, err)
		}
		closeIn()
		fi, err := tmp.Stat()
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			return fmt.Errorf("apply patch chain: %w", err)
		}
		in, inSize, inName, inFile = tmp, fi.Size(), tmp.Name(), tmp
	}
	last := patches[len(patches)-1]
	if err := applyExtract(ctx, fsys, in, inSize, last, dir, indexPath, want); err != nil {
		return fmt.Errorf("apply patch %d of %d (%s) to %s: %w", len(patches), len(patches), last, inName, err)
	}
	return nil
}

// applyExtract applies one patch to old, extracting the result as it comes.
func applyExtract(ctx context.Context, fsys fsutil.FS, old io.ReaderAt, oldSize int64, patchPath, dir, indexPath string, want TarInfo) error {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := ExtractIndexed(ctx, fsys, pr, dir, want.Size, indexPath, want)
		pr.CloseWithError(err) // stops the patch when extraction fails
		done <- err
	}()
	aerr := applyOneAt(ctx, old, oldSize, patchPath, pw)
	pw.CloseWithError(aerr)
	eerr := <-done
	switch {
	case aerr != nil && (eerr == nil || !errors.Is(aerr, eerr)):
		return aerr // the patch (or the base) failed; extraction only saw it end
	case eerr == nil || ctx.Err() != nil || isFileError(eerr):
		return eerr
	}
	// The patches passed their signed hashes: a result that is not the
	// signed tar, or no tar at all, means the base is not the tar the
	// publisher diffed against.
	return fmt.Errorf("%w: %w", ErrChainMismatch, eerr)
}

// isFileError tells an error of the filesystem (disk full, permissions)
// from one about the data.
func isFileError(err error) bool {
	var pe *fs.PathError
	var le *os.LinkError
	var se *os.SyscallError
	return errors.As(err, &pe) || errors.As(err, &le) || errors.As(err, &se)
}

// applyOneAt writes what patchPath turns old into to w.
func applyOneAt(ctx context.Context, old io.ReaderAt, oldSize int64, patchPath string, w io.Writer) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, pSize, err := openFile(patchPath)
	if err != nil {
		return err
	}
	defer p.Close()
	_, err = bsdiff.Apply(old, oldSize, p, pSize, ctxWriter{ctx, w})
	return err
}
