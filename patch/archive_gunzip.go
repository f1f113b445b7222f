package patch

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"

	"github.com/tufup-go/tufup/internal/fsutil"
)

// Gunzip decompresses srcTarGz into dstTar atomically and returns the size
// and SHA-256 of what it wrote, which is what tufup's patches apply to.
//
// A .tar.gz downloaded through TUF has a verified compressed length, but
// nothing bounds what it decompresses to: a few kilobytes of gzip can
// expand to gigabytes. So Gunzip writes at most maxSize bytes and fails
// with ErrTooLarge (leaving nothing behind) if there is more. Pass the
// expected tar size when it is known (a patch's tar_size); otherwise a
// ceiling such as the free space the caller is prepared to use.
func Gunzip(ctx context.Context, srcTarGz, dstTar string, maxSize int64) (TarInfo, error) {
	f, err := os.Open(srcTarGz)
	if err != nil {
		return TarInfo{}, fmt.Errorf("gunzip: %w", err)
	}
	defer f.Close()
	var info TarInfo
	err = fsutil.WriteFrom(dstTar, 0o644, func(w io.Writer) error {
		zr, err := gzip.NewReader(bufio.NewReaderSize(f, 64<<10))
		if err != nil {
			return fmt.Errorf("read %s: %w", srcTarGz, err)
		}
		h := NewHasher()
		src := &boundedReader{ctx: ctx, r: zr, max: maxSize}
		if _, err := io.CopyBuffer(io.MultiWriter(w, h), src, make([]byte, copyBufSize)); err != nil {
			return fmt.Errorf("decompress %s: %w", srcTarGz, err)
		}
		info = h.Info()
		return nil
	})
	if err != nil {
		return TarInfo{}, fmt.Errorf("gunzip: %w", err)
	}
	return info, nil
}
