package launcher

import "github.com/tufup-go/tufup/internal/fsutil"

// SetFS makes l's updates flush and rename through fsys.
func SetFS(l *Launcher, fsys fsutil.FS) {
	l.fs = fsys
	l.dir = l.dir.WithFS(fsys)
}
