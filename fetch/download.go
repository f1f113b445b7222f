package fetch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tufup-go/tufup/internal/fsutil"
)

// BadContentError reports bytes from the server that cannot be the signed
// target: more than its length, a size or range that disagrees with it, or
// a hash mismatch. The partial file is discarded, never resumed.
type BadContentError struct {
	URL string
	Msg string
}

func (e *BadContentError) Error() string { return e.URL + ": " + e.Msg }

const (
	copyBufferSize = 256 << 10
	progressEvery  = 100 * time.Millisecond
	partSuffix     = ".part"
)

// Download fetches target t into dir/<t.Name> and returns that path. The
// name must be a plain file name. A file already there that matches the
// signed length and hashes is returned without any request. Otherwise bytes
// go to dir/<t.Name>.part while being hashed, never past t.Length; an
// existing .part (an interrupted earlier try) is resumed with a Range
// request. Only a complete, verified file is flushed and renamed into place.
// A resumed file that fails verification is discarded and downloaded once
// more from scratch.
func (c *Client) Download(ctx context.Context, t TargetInfo, dir string) (string, error) {
	if err := checkFileName(t.Name); err != nil {
		return "", err
	}
	dest := filepath.Join(dir, t.Name)
	if err := c.DownloadAs(ctx, t, dest); err != nil {
		return "", err
	}
	return dest, nil
}

// DownloadAs is Download to a file the caller names. t.Name then only forms
// the URL, so it may be a TUF target path with folders ("a/b.txt"); each
// part must still be a proper name (no "", ".", ".."). When the trusted root
// has consistent snapshots, the URL's file name gets the hash prefix the
// TUF specification asks for.
func (c *Client) DownloadAs(ctx context.Context, t TargetInfo, dest string) error {
	if err := checkTargetPath(t.Name); err != nil {
		return err
	}
	if c.opts.TargetsURL == "" {
		return fmt.Errorf("download %s: Options.TargetsURL is empty", t.Name)
	}
	v, err := newVerifier(t)
	if err != nil {
		return err
	}
	if err := verifyFile(dest, t); err == nil {
		c.log.Info("target already downloaded", "target", t.Name, "file", dest, "bytes", t.Length)
		c.report(t, t.Length)
		return nil
	}
	c.mu.Lock()
	consistent := c.consistent
	c.mu.Unlock()
	rawURL := c.targetURL(t, consistent)
	d := &download{c: c, t: t, v: v, url: rawURL, shown: redact(rawURL), part: dest + partSuffix}
	if err := d.run(ctx, dest); err != nil {
		return fmt.Errorf("download %s: %w", t.Name, err)
	}
	return nil
}

func (c *Client) report(t TargetInfo, done int64) {
	if c.opts.Progress != nil {
		c.opts.Progress(Progress{Target: t.Name, Done: done, Total: t.Length})
	}
}

// targetURL joins TargetsURL and the target path, escaping each part.
func (c *Client) targetURL(t TargetInfo, consistent bool) string {
	parts := strings.Split(t.Name, "/")
	if consistent {
		parts[len(parts)-1] = t.Hashes[prefixHash(t)] + "." + parts[len(parts)-1]
	}
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.TrimSuffix(c.opts.TargetsURL, "/") + "/" + strings.Join(parts, "/")
}

// prefixHash picks the hash algorithm for consistent-snapshot target URLs:
// sha256 when listed (tufup and most repositories), else the first by name.
func prefixHash(t TargetInfo) string {
	if _, ok := t.Hashes["sha256"]; ok {
		return "sha256"
	}
	return slices.Sorted(maps.Keys(t.Hashes))[0] // newVerifier ensured there is one
}

// download is one Download call's state.
type download struct {
	c     *Client
	t     TargetInfo
	v     *verifier
	url   string
	shown string
	part  string

	f          *os.File
	off        int64 // bytes in the part file, all of them hashed
	fetched    int64 // bytes received from the network in this call
	kept       int64 // bytes of an earlier call's part still in use
	resumed    bool  // some bytes of the part came from an earlier request
	noRange    bool  // the server cannot resume: every try starts at byte 0
	lastReport time.Time
}

func (d *download) run(ctx context.Context, dest string) error {
	began := time.Now()
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(d.part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	d.f = f
	defer func() {
		if d.f != nil {
			d.f.Close()
			if d.off == 0 {
				os.Remove(d.part) // nothing worth resuming
			}
		}
	}()
	if err := d.adopt(); err != nil {
		return err
	}
	for scratch := false; ; scratch = true {
		err := d.fill(ctx)
		if err == nil {
			err = d.v.check(d.shown)
		}
		if err == nil {
			break
		}
		var bad *BadContentError
		if !errors.As(err, &bad) {
			// Network, time budget or local trouble: keep what arrived, the
			// next call resumes from there.
			return err
		}
		if d.resumed && !scratch {
			d.c.log.Warn("resumed download failed verification; downloading it again from scratch",
				"target", d.t.Name, "err", err)
			if err := d.restart(); err != nil {
				return err
			}
			d.resumed = false
			continue
		}
		d.f.Close()
		d.f = nil
		os.Remove(d.part)
		return err
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("flush %s: %w", d.part, err)
	}
	if err := d.f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", d.part, err)
	}
	d.f = nil
	if err := fsutil.Rename(d.part, dest); err != nil {
		return err
	}
	took := time.Since(began)
	d.c.log.Info("target downloaded", "target", d.t.Name, "file", dest, "bytes", d.t.Length,
		"fetched", d.fetched, "resumed_from", d.kept,
		"took", took.Round(time.Millisecond), "mib_per_s", rate(d.fetched, took))
	return nil
}

func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	r := float64(n) / (1 << 20) / d.Seconds()
	return float64(int64(r*100)) / 100
}

// adopt takes over an existing part file: its bytes are hashed so that only
// the rest needs fetching. One longer than the target is useless.
func (d *download) adopt() error {
	fi, err := d.f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if size == 0 {
		return nil
	}
	if size > d.t.Length {
		d.c.log.Warn("discarding partial download longer than the target", "file", d.part, "bytes", size, "length", d.t.Length)
		return d.restart()
	}
	// A part that holds an HTML page (a captive portal's, kept by an
	// older version) would only fail the hash once the rest is appended.
	head := make([]byte, min(size, 512))
	if _, err := d.f.ReadAt(head, 0); err != nil {
		return fmt.Errorf("read %s: %w", d.part, err)
	}
	if !wantsHTML(d.t.Name) && http.DetectContentType(head) == "text/html; charset=utf-8" {
		d.c.log.Warn("discarding partial download that holds an HTML page", "file", d.part, "bytes", size)
		return d.restart()
	}
	if _, err := io.CopyBuffer(d.v, io.NewSectionReader(d.f, 0, size), make([]byte, copyBufferSize)); err != nil {
		return fmt.Errorf("read %s: %w", d.part, err)
	}
	if _, err := d.f.Seek(size, io.SeekStart); err != nil {
		return err
	}
	d.off, d.kept, d.resumed = size, size, true
	d.c.log.Info("resuming download", "target", d.t.Name, "from", size, "length", d.t.Length)
	return nil
}

func (d *download) restart() error {
	if err := d.f.Truncate(0); err != nil {
		return fmt.Errorf("truncate %s: %w", d.part, err)
	}
	if _, err := d.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	d.v.reset()
	d.off, d.kept = 0, 0
	return nil
}

// wantsHTML tells targets that are HTML pages themselves, for which an
// HTML answer is no sign of a captive portal.
func wantsHTML(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	return ext == ".html" || ext == ".htm"
}

// fill fetches the bytes from d.off to the end, retrying (and resuming)
// after network errors.
func (d *download) fill(ctx context.Context) error {
	buf := make([]byte, copyBufferSize)
	d.report(true)
	return d.c.t.retry(ctx, d.shown, func() int64 { return d.off }, func() error {
		if d.off == d.t.Length {
			return nil
		}
		if d.noRange && d.off > 0 {
			if err := d.restart(); err != nil {
				return err
			}
		}
		b, err := d.c.t.open(ctx, d.url, d.off)
		var re *resumeError
		if errors.As(err, &re) {
			// Appending this answer would corrupt the file: start it again.
			d.c.log.Warn("the server cannot resume this download; downloading it again from the start",
				"target", d.t.Name, "err", err)
			d.noRange = true
			if err := d.restart(); err != nil {
				return err
			}
			b, err = d.c.t.open(ctx, d.url, 0)
		}
		if err != nil {
			return err
		}
		defer b.Close()
		if b.header != nil && b.start == 0 {
			if err := checkAnswer(d.shown, b.header, wantsHTML(d.t.Name)); err != nil {
				return err
			}
		}
		if b.start != d.off {
			// The server sent the whole file instead of the range.
			d.c.log.Warn("the server ignored the Range request; downloading it again from the start",
				"target", d.t.Name, "url", d.shown, "had", d.off)
			d.noRange = true
			if err := d.restart(); err != nil {
				return err
			}
		} else if d.off > 0 {
			d.resumed = true
		}
		if b.size >= 0 && b.size != d.t.Length {
			return &BadContentError{URL: d.shown, Msg: fmt.Sprintf("server has %d bytes, the signed length is %d", b.size, d.t.Length)}
		}
		want := d.t.Length - d.off
		if b.length > want {
			return &BadContentError{URL: d.shown, Msg: fmt.Sprintf("server announces %d bytes from byte %d, past the signed length %d", b.length, d.off, d.t.Length)}
		}
		_, err = io.CopyBuffer(partWriter{d}, io.LimitReader(b, want), buf)
		if err != nil {
			return err
		}
		if d.off < d.t.Length {
			return &netError{err: fmt.Errorf("%s: response ended after byte %d of %d", d.shown, d.off, d.t.Length)}
		}
		if b.length < 0 {
			// Nothing announced the end: one more byte proves a longer file.
			var one [1]byte
			if n, _ := io.ReadFull(b, one[:]); n > 0 {
				return &BadContentError{URL: d.shown, Msg: fmt.Sprintf("server sends more than the signed length %d", d.t.Length)}
			}
		}
		return nil
	})
}

// partWriter appends to the part file, hashing and counting what it wrote.
type partWriter struct{ d *download }

func (w partWriter) Write(p []byte) (int, error) {
	n, err := w.d.f.Write(p)
	w.d.v.Write(p[:n])
	w.d.off += int64(n)
	w.d.fetched += int64(n)
	w.d.report(false)
	if err != nil {
		return n, fmt.Errorf("write %s: %w", w.d.part, err)
	}
	return n, nil
}

func (d *download) report(force bool) {
	if d.c.opts.Progress == nil {
		return
	}
	now := time.Now()
	if force || d.off == d.t.Length || now.Sub(d.lastReport) >= progressEvery {
		d.lastReport = now
		d.c.report(d.t, d.off)
	}
}

// verifier hashes a target with every algorithm we know among those signed.
type verifier struct {
	length int64
	want   map[string][]byte
	hashes map[string]hash.Hash
}

func newVerifier(t TargetInfo) (*verifier, error) {
	if t.Length < 0 {
		return nil, fmt.Errorf("target %s: negative length %d", t.Name, t.Length)
	}
	v := &verifier{length: t.Length, want: map[string][]byte{}, hashes: map[string]hash.Hash{}}
	for alg, hexDigest := range t.Hashes {
		var h hash.Hash
		switch alg {
		case "sha256":
			h = sha256.New()
		case "sha512":
			h = sha512.New()
		default:
			continue
		}
		digest, err := hex.DecodeString(hexDigest)
		if err != nil || len(digest) != h.Size() {
			return nil, fmt.Errorf("target %s: bad %s digest %q", t.Name, alg, hexDigest)
		}
		v.want[alg], v.hashes[alg] = digest, h
	}
	if len(v.hashes) == 0 {
		return nil, fmt.Errorf("target %s: no sha256 or sha512 hash to verify it with", t.Name)
	}
	return v, nil
}

func (v *verifier) Write(p []byte) (int, error) {
	for _, h := range v.hashes {
		h.Write(p)
	}
	return len(p), nil
}

func (v *verifier) reset() {
	for _, h := range v.hashes {
		h.Reset()
	}
}

func (v *verifier) check(where string) error {
	for alg, h := range v.hashes {
		if got := h.Sum(nil); !bytes.Equal(got, v.want[alg]) {
			return &BadContentError{URL: where, Msg: fmt.Sprintf("%s is %x, the signed one is %x", alg, got, v.want[alg])}
		}
	}
	return nil
}

// verifyFile checks that path holds exactly target t.
func verifyFile(path string, t TargetInfo) error {
	v, err := newVerifier(t)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Size() != t.Length {
		return fmt.Errorf("%s: %d bytes, the signed length is %d", path, fi.Size(), t.Length)
	}
	if _, err := io.CopyBuffer(v, io.LimitReader(f, t.Length), make([]byte, copyBufferSize)); err != nil {
		return err
	}
	return v.check(path)
}

// checkTargetPath accepts TUF target paths whose every part is a proper
// name: signed metadata is trusted for content, but paths are still checked
// before they reach a URL or a file system.
func checkTargetPath(name string) error {
	if name == "" {
		return errors.New("empty target name")
	}
	if len(name) > 1024 {
		return fmt.Errorf("target name of %d bytes is too long", len(name))
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("target name %q contains a control character or backslash", name)
		}
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("target name %q has an empty, \".\" or \"..\" part", name)
		}
	}
	return nil
}

// checkFileName accepts target names that can be used as a file name in a
// download folder on any OS.
func checkFileName(name string) error {
	if err := checkTargetPath(name); err != nil {
		return err
	}
	if strings.ContainsAny(name, `/:`) {
		return fmt.Errorf("target name %q is not a plain file name", name)
	}
	if strings.HasSuffix(name, partSuffix) {
		return fmt.Errorf("target name %q ends in %s, which partial downloads use", name, partSuffix)
	}
	return nil
}
