package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/tufup-go/tufup/internal/fsutil"
)

// dirStore is a folder (a web server's root, a mounted share). Files are
// written under a temporary name and renamed into place, so a reader sees
// the old file or the whole new one.
type dirStore struct {
	root string
}

func newDirStore(u *url.URL) (*dirStore, error) {
	p := u.Path
	switch {
	case u.Host != "" && u.Host != "localhost" && runtime.GOOS == "windows":
		p = `\\` + u.Host + filepath.FromSlash(p)
	case u.Host != "" && u.Host != "localhost":
		return nil, fmt.Errorf("destination %s names host %q: mount the share and use file:///PATH", u.Redacted(), u.Host)
	case runtime.GOOS == "windows" && len(p) >= 3 && p[0] == '/' && p[2] == ':':
		p = filepath.FromSlash(p[1:])
	default:
		p = filepath.FromSlash(p)
	}
	if p == "" || !filepath.IsAbs(p) {
		return nil, fmt.Errorf("destination %s: want file:///ABSOLUTE/PATH", u.Redacted())
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("destination folder %s: %w (create it first)", p, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("destination %s is not a folder", p)
	}
	return &dirStore{root: p}, nil
}

func (d *dirStore) path(key string) string { return filepath.Join(d.root, filepath.FromSlash(key)) }

func (d *dirStore) list(_ context.Context, dir string) (map[string]object, error) {
	out := map[string]object{}
	entries, err := os.ReadDir(d.path(dir))
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		// Dot files are temporary files, of this or of an interrupted run.
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		out[dir+e.Name()] = object{size: info.Size()}
	}
	return out, nil
}

func (d *dirStore) hash(_ context.Context, key string) (string, bool, error) {
	f, err := hashFile(key, d.path(key))
	return f.sha256, true, err
}

func (d *dirStore) get(_ context.Context, key string, max int64) ([]byte, error) {
	f, err := os.Open(d.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(data)) > max {
		err = fmt.Errorf("%s is larger than %d bytes", d.path(key), max)
	}
	return data, err
}

func (d *dirStore) put(ctx context.Context, key string, r io.Reader, _ int64, _ string, progress func(int64)) error {
	p := d.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	// The temporary file of an interrupted run (see fsutil.WriteFrom).
	if stale, err := filepath.Glob(filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+".tmp*")); err == nil {
		for _, s := range stale {
			os.Remove(s)
		}
	}
	return fsutil.WriteFrom(p, 0o644, func(w io.Writer) error {
		if progress != nil {
			w = progressWriter{w, progress}
		}
		_, err := io.Copy(w, ctxReader{ctx, r})
		return err
	})
}

func (d *dirStore) remove(_ context.Context, key string) error {
	return os.Remove(d.path(key))
}

type progressWriter struct {
	w io.Writer
	p func(int64)
}

func (pw progressWriter) Write(b []byte) (int, error) {
	n, err := pw.w.Write(b)
	pw.p(int64(n))
	return n, err
}

// ctxReader stops a copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}
