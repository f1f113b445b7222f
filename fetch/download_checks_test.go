package fetch_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/fetch/fetchtest"
)

// The checks on what a download receives, each against the answer that
// only it catches (each was a mutant that lived through the other tests).

// An empty target is a target like any other: it is fetched and put in
// place, not refused as if its length were bad.
func TestEmptyTarget(t *testing.T) {
	repo := fetchtest.New(t, false)
	repo.AddTarget(targetName, nil)
	repo.Publish()
	srv := newServer(t, repo.Dir)
	c := newClient(t, options(t, repo, srv.URL))
	refresh(t, c)
	path, err := c.Download(ctxTimeout(t, 30*time.Second), target(t, c, targetName), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
		t.Fatalf("downloaded empty target: %v, %v", fi, err)
	}
}

// A fresh download (nothing resumed) that fails verification is not tried
// again: the server would send the same bytes.
func TestWrongBytesOnAFreshDownloadAreFetchedOnce(t *testing.T) {
	const size = 100_000
	c, srv, data, _ := flaky(t, size, 2)
	srv.Misbehave(app, -1, func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		w.Write(bytes.Repeat([]byte{1}, len(data))) // the signed length, other bytes
	})
	dir := t.TempDir()
	_, err := download(t, c, dir)
	var bce *fetch.BadContentError
	if !errors.As(err, &bce) {
		t.Fatalf("err = %v, want BadContentError", err)
	}
	if n := len(srv.RequestsFor(app)); n != 1 {
		t.Errorf("%d requests, want 1: a fresh download failing verification is not retried", n)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files left after a failed verification: %v", entries)
	}
}

// A server that says it has no bytes of a target that has some is refused
// at once as bad content, not retried as if the connection had dropped.
func TestServerWithAnEmptyFile(t *testing.T) {
	c, srv, _, _ := flaky(t, 10_000, 2)
	srv.Misbehave(app, -1, func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
	})
	_, err := download(t, c, t.TempDir())
	var bce *fetch.BadContentError
	if !errors.As(err, &bce) {
		t.Fatalf("err = %v, want BadContentError", err)
	}
	if n := len(srv.RequestsFor(app)); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// A failed request that wrote nothing leaves no partial file behind.
func TestFailureBeforeAnyByteLeavesNoPartialFile(t *testing.T) {
	c, srv, _, _ := flaky(t, 10_000, 0)
	srv.Misbehave(app, -1, fetchtest.Status(http.StatusNotFound, ""))
	dir := t.TempDir()
	if _, err := download(t, c, dir); err == nil {
		t.Fatal("Download of a missing file succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files left after a 404: %v", entries)
	}
}

// Once a server has shown it cannot resume, every later try of that
// download starts at byte 0, even if the server would now answer a Range.
func TestNoMoreRangeRequestsOnceResumingFailed(t *testing.T) {
	const size, partLen, cut = 500_000, 100_000, 200_000
	c, srv, data, logs := flaky(t, size, 2)
	dir := t.TempDir()
	dest := filepath.Join(dir, targetName)
	os.WriteFile(dest+".part", data[:partLen], 0o644)
	srv.Misbehave(app, 1, fetchtest.ContentRange("bytes garbage"))
	srv.Misbehave(app, 1, fetchtest.DropAfter(cut))
	if _, err := download(t, c, dir); err != nil {
		t.Fatal(err)
	}
	reqs := srv.RequestsFor(app)
	if len(reqs) != 3 || reqs[0].Range == "" || reqs[1].Range != "" || reqs[2].Range != "" || reqs[2].Bytes != size {
		t.Fatalf("requests %+v, want: a refused resume, a whole file cut short, the whole file again", reqs)
	}
	if strings.Contains(logs.String(), "failed verification") {
		t.Errorf("restarting after the cut went through a failed verification:\n%s", logs.String())
	}
	if !bytes.Equal(mustRead(t, dest), data) {
		t.Fatal("wrong content")
	}
}

// A target that is itself an HTML page (.html or .htm, any case) is no
// sign of a captive portal: served as text/html it is downloaded, and a
// partial copy of it is resumed.
func TestHTMLTargets(t *testing.T) {
	page := []byte("<!DOCTYPE html>\n<html><head><title>Release notes</title></head><body>" +
		strings.Repeat("<p>Fixed a bug.</p>", 500) + "</body></html>\n")
	for _, name := range []string{"notes.html", "notes.HTM"} {
		t.Run(name, func(t *testing.T) {
			repo := fetchtest.New(t, false)
			repo.AddTarget(name, page)
			repo.Publish()
			srv := newServer(t, repo.Dir)
			srv.Misbehave("", -1, func(w http.ResponseWriter, r *http.Request, serve http.Handler) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				serve.ServeHTTP(w, r)
			})
			c := newClient(t, options(t, repo, srv.URL))
			refresh(t, c)
			ti := target(t, c, name)
			dir := t.TempDir()
			path, err := c.Download(ctxTimeout(t, 30*time.Second), ti, dir)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(mustRead(t, path), page) {
				t.Fatal("wrong content")
			}
			os.Remove(path)
			os.WriteFile(path+".part", page[:1000], 0o644)
			if _, err := c.Download(ctxTimeout(t, 30*time.Second), ti, dir); err != nil {
				t.Fatal(err)
			}
			reqs := srv.RequestsFor("/targets/" + name)
			if len(reqs) != 2 || reqs[1].Range != "bytes=1000-" {
				t.Errorf("requests %+v, want the second to resume at byte 1000", reqs)
			}
			if !bytes.Equal(mustRead(t, path), page) {
				t.Fatal("wrong content after resuming")
			}
		})
	}
}

// A resumed answer is read up to the end of the range it announced and no
// further: bytes a server sends past it are not part of the file.
func TestBytesPastTheAnnouncedRangeAreNotRead(t *testing.T) {
	const size, partLen = 300_000, 100_000
	c, srv, data, logs := flaky(t, size, 2)
	dir := t.TempDir()
	dest := filepath.Join(dir, targetName)
	os.WriteFile(dest+".part", data[:partLen], 0o644)
	srv.Misbehave(app, -1, func(w http.ResponseWriter, r *http.Request, serve http.Handler) {
		if r.Header.Get("Range") == "" {
			serve.ServeHTTP(w, r)
			return
		}
		// No Content-Length: the body runs on until the server stops.
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", partLen, size-1, size))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(data[partLen:])
		w.(http.Flusher).Flush()
		w.Write([]byte("junk past the range"))
	})
	if _, err := download(t, c, dir); err != nil {
		t.Fatal(err)
	}
	if reqs := srv.RequestsFor(app); len(reqs) != 1 || reqs[0].Range != fmt.Sprintf("bytes=%d-", partLen) {
		t.Errorf("requests %+v, want the one resuming request", reqs)
	}
	if got := logged(logs, "target downloaded", "fetched"); got != fmt.Sprint(size-partLen) {
		t.Errorf("fetched=%s, want %d", got, size-partLen)
	}
	if !bytes.Equal(mustRead(t, dest), data) {
		t.Fatal("wrong content")
	}
}

// A body of unannounced length (chunked, no Content-Length) is the target
// when it ends at the signed length, and refused when it runs past it.
func TestBodyOfUnknownLength(t *testing.T) {
	for name, extra := range map[string]string{"exact": "", "one byte more": "x"} {
		t.Run(name, func(t *testing.T) {
			c, srv, data, _ := flaky(t, 100_000, 2)
			srv.Misbehave(app, -1, func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
				w.WriteHeader(http.StatusOK)
				w.Write(data)
				w.(http.Flusher).Flush()
				w.Write([]byte(extra))
			})
			path, err := download(t, c, t.TempDir())
			if n := len(srv.RequestsFor(app)); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
			if extra == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(mustRead(t, path), data) {
					t.Fatal("wrong content")
				}
				return
			}
			var bce *fetch.BadContentError
			if !errors.As(err, &bce) || !strings.Contains(err.Error(), "more than the signed length") {
				t.Fatalf("err = %v, want BadContentError saying the server sends more", err)
			}
		})
	}
}
