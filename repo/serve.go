package repo

import (
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Handler serves a repository directory's metadata/ and targets/ as a
// static host would (for local testing), calling logf once per request.
// Everything else, directory listings included, is 404.
func Handler(repoDir string, logf func(format string, args ...any)) http.Handler {
	files := http.FileServer(http.Dir(repoDir))
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if logf != nil {
				logf("%s %s %d %d bytes %s", req.Method, req.URL.Path, rec.status, rec.n, time.Since(start).Round(time.Microsecond))
			}
		}()
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			http.Error(rec, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := path.Clean("/" + req.URL.Path)
		dir, name := path.Split(p)
		if (dir != "/metadata/" && dir != "/targets/") || name == "" || strings.HasPrefix(name, ".") {
			http.NotFound(rec, req)
			return
		}
		fi, err := os.Stat(filepath.Join(repoDir, filepath.FromSlash(p)))
		if err != nil || !fi.Mode().IsRegular() {
			http.NotFound(rec, req)
			return
		}
		req.URL.Path = p
		files.ServeHTTP(rec, req)
	})
}

type recorder struct {
	http.ResponseWriter
	status int
	n      int64
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	n, err := r.ResponseWriter.Write(p)
	r.n += int64(n)
	return n, err
}
