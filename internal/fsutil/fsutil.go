// Package fsutil writes files so that a crash or power cut leaves either the
// old content or the new, never a mix: write to a temporary file in the same
// directory, flush it to disk, rename it over the target, flush the directory.
//
// The steps that make writes durable (flush a file or a folder, flush a
// whole filesystem, rename) go through FS, so tests can record their order
// and prove that nothing is renamed into place before it is on disk. OS is
// the real implementation; the functions without an FS parameter use it.
package fsutil

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// FS is the seam between code that must write durably and the disk.
type FS interface {
	// Sync flushes f to stable storage: a file's content, or the entries
	// of an open folder.
	Sync(f *os.File) error
	// SyncFS flushes everything written to the filesystem holding f
	// (syncfs(2)). It returns an error wrapping errors.ErrUnsupported
	// where the system has no such call; callers then sync each file.
	SyncFS(f *os.File) error
	// Rename renames oldpath to newpath, replacing a file at newpath.
	Rename(oldpath, newpath string) error
}

// OS is FS on the real disk.
type OS struct{}

// Sync calls f.Sync.
func (OS) Sync(f *os.File) error { return f.Sync() }

// SyncFS calls syncfs(2) on Linux.
func (OS) SyncFS(f *os.File) error { return syncFS(f) }

// Rename calls os.Rename (on Windows MoveFileEx with
// MOVEFILE_REPLACE_EXISTING).
func (OS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

// WriteFile atomically replaces path with data.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return WriteFileFS(OS{}, path, data, perm)
}

// WriteFileFS is WriteFile through fsys.
func WriteFileFS(fsys FS, path string, data []byte, perm os.FileMode) error {
	return WriteFromFS(fsys, path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFrom atomically replaces path with what write produces. If write
// fails, path is untouched and the temporary file is removed.
func WriteFrom(path string, perm os.FileMode, write func(io.Writer) error) error {
	return WriteFromFS(OS{}, path, perm, write)
}

// WriteFromFS is WriteFrom through fsys.
func WriteFromFS(fsys FS, path string, perm os.FileMode, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("create temporary file for %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = write(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("set mode of %s: %w", path, err)
	}
	if err = fsys.Sync(f); err != nil {
		return fmt.Errorf("flush %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return RenameFS(fsys, tmp, path)
}

// Rename renames oldpath to newpath, replacing newpath if it is a file, and
// flushes the parent directory so the rename survives a power cut.
func Rename(oldpath, newpath string) error { return RenameFS(OS{}, oldpath, newpath) }

// RenameFS is Rename through fsys.
func RenameFS(fsys FS, oldpath, newpath string) error {
	if err := fsys.Rename(oldpath, newpath); err != nil {
		return fmt.Errorf("rename %s to %s: %w", oldpath, newpath, err)
	}
	return SyncDirFS(fsys, filepath.Dir(newpath))
}

// SyncDir flushes a directory's entries to disk. Where directories cannot be
// opened for syncing (Windows), it does nothing: NTFS journals renames.
func SyncDir(dir string) error { return SyncDirFS(OS{}, dir) }

// SyncDirFS is SyncDir through fsys.
func SyncDirFS(fsys FS, dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer d.Close()
	if err := fsys.Sync(d); err != nil && !isUnsupported(err) {
		return fmt.Errorf("flush directory %s: %w", dir, err)
	}
	return nil
}
