// Package fsutil writes files so that a crash or power cut leaves either the
// old content or the new, never a mix: write to a temporary file in the same
// directory, flush it to disk, rename it over the target, flush the directory.
package fsutil

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteFile atomically replaces path with data.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return WriteFrom(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFrom atomically replaces path with what write produces. If write
// fails, path is untouched and the temporary file is removed.
func WriteFrom(path string, perm os.FileMode, write func(io.Writer) error) (err error) {
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
	if err = f.Sync(); err != nil {
		return fmt.Errorf("flush %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err = Rename(tmp, path); err != nil {
		return err
	}
	return nil
}

// Rename renames oldpath to newpath, replacing newpath if it is a file, and
// flushes the parent directory so the rename survives a power cut. On
// Windows os.Rename uses MoveFileEx with MOVEFILE_REPLACE_EXISTING.
func Rename(oldpath, newpath string) error {
	if err := os.Rename(oldpath, newpath); err != nil {
		return fmt.Errorf("rename %s to %s: %w", oldpath, newpath, err)
	}
	return SyncDir(filepath.Dir(newpath))
}

// SyncDir flushes a directory's entries to disk. Where directories cannot be
// opened for syncing (Windows), it does nothing: NTFS journals renames.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !isUnsupported(err) {
		return fmt.Errorf("flush directory %s: %w", dir, err)
	}
	return nil
}
