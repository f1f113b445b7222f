package repo

// Stand-ins for patch.Gunzip and patch.ApplyChain, which are being written
// in package patch right now; this file goes when they land.

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/tufup-go/tufup/internal/fsutil"
	"github.com/tufup-go/tufup/patch"
	"github.com/tufup-go/tufup/patch/bsdiff"
)

func patchGunzip(ctx context.Context, src, dst string) (patch.TarInfo, error) {
	f, err := os.Open(src)
	if err != nil {
		return patch.TarInfo{}, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return patch.TarInfo{}, err
	}
	h := patch.NewHasher()
	err = fsutil.WriteFrom(dst, 0o644, func(w io.Writer) error {
		_, err := io.Copy(io.MultiWriter(w, h), zr)
		return err
	})
	return h.Info(), err
}

func patchApplyChain(ctx context.Context, baseTar string, patches []string, outTar string, want patch.TarInfo) error {
	old, err := os.Open(baseTar)
	if err != nil {
		return err
	}
	defer old.Close()
	fi, _ := old.Stat()
	p, err := os.Open(patches[0])
	if err != nil {
		return err
	}
	defer p.Close()
	pi, _ := p.Stat()
	h := patch.NewHasher()
	err = fsutil.WriteFrom(outTar, 0o644, func(w io.Writer) error {
		_, err := bsdiff.Apply(old, fi.Size(), p, pi.Size(), io.MultiWriter(w, h))
		return err
	})
	if err != nil {
		return err
	}
	if h.Info() != want {
		return fmt.Errorf("result %v, want %v", h.Info(), want)
	}
	return nil
}
