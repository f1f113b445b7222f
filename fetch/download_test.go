package fetch_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/fetch/fetchtest"
)

const targetName = "app-1.0.0.tar.gz"

// resumeSetup publishes a pseudo-random target of size bytes.
func resumeSetup(t *testing.T, size int) (*fetchtest.Repo, *server, []byte) {
	t.Helper()
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{1}).Read(data)
	repo := fetchtest.New(t, false)
	repo.AddTarget(targetName, data)
	repo.Publish()
	return repo, newServer(t, repo.Dir), data
}

// cutAfter answers the first request for the target with a full-length
// header, n bytes, then a dropped connection; later requests go through.
func cutAfter(t *testing.T, srv *server, data []byte, n int) {
	var once sync.Once
	srv.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/targets/"+targetName {
			return false
		}
		cut := false
		once.Do(func() { cut = true })
		if !cut {
			return false
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:n])
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return true
		}
		conn.Close()
		return true
	})
}

func TestResumeAfterCutConnection(t *testing.T) {
	const size, cut = 3 << 20, 1<<20 + 12345
	repo, srv, data := resumeSetup(t, size)
	c := newClient(t, options(t, repo, srv.URL)) // no retries: the cut fails this call
	refresh(t, c)
	ti := target(t, c, targetName)
	cutAfter(t, srv, data, cut)

	dir := t.TempDir()
	dest := filepath.Join(dir, targetName)
	_, err := c.Download(context.Background(), ti, dir)
	var bce *fetch.BadContentError
	if err == nil || errors.As(err, &bce) {
		t.Fatalf("Download over a cut connection: err = %v, want a network error", err)
	}
	if fi, err := os.Stat(dest + ".part"); err != nil || fi.Size() != cut {
		t.Fatalf("partial file after the cut: %v, %v; want %d bytes", fi, err, cut)
	}
	if exists(dest) {
		t.Fatal("an incomplete download was renamed into place")
	}

	if _, err := c.Download(context.Background(), ti, dir); err != nil {
		t.Fatal(err)
	}
	reqs := srv.requestsFor("/targets/" + targetName)
	if len(reqs) != 2 {
		t.Fatalf("%d target requests, want 2: %+v", len(reqs), reqs)
	}
	if reqs[0].Range != "" || reqs[0].Bytes != cut {
		t.Errorf("first request %+v, want no Range and %d bytes sent", reqs[0], cut)
	}
	if want := fmt.Sprintf("bytes=%d-", cut); reqs[1].Range != want || reqs[1].Status != http.StatusPartialContent || reqs[1].Bytes != size-cut {
		t.Errorf("second request %+v, want Range %s, 206 and %d bytes sent", reqs[1], want, size-cut)
	}
	if !bytes.Equal(mustRead(t, dest), data) {
		t.Fatal("resumed file differs from the target")
	}
	if exists(dest + ".part") {
		t.Fatal(".part left behind")
	}
}

// With retries, one Download call resumes by itself.
func TestResumeWithinOneCall(t *testing.T) {
	const size, cut = 1 << 20, 300_000
	repo, srv, data := resumeSetup(t, size)
	o := options(t, repo, srv.URL)
	o.Retries = 2
	var logs logBuffer
	o.Logger = logs.logger()
	c := newClient(t, o)
	refresh(t, c)
	cutAfter(t, srv, data, cut)
	path, err := c.Download(context.Background(), target(t, c, targetName), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.requestsFor("/targets/" + targetName)
	if len(reqs) != 2 || reqs[1].Range != fmt.Sprintf("bytes=%d-", cut) || reqs[1].Bytes != size-cut {
		t.Fatalf("requests %+v, want a second one for the rest", reqs)
	}
	if !bytes.Equal(mustRead(t, path), data) {
		t.Fatal("wrong content")
	}
	if line := findLine(logs.String(), "target downloaded"); !strings.Contains(line, fmt.Sprintf("fetched=%d", size)) {
		t.Errorf("log line %q", line)
	}
}

func TestCorruptPartialIsDiscardedAndDownloadedAgain(t *testing.T) {
	const size, partLen = 500_000, 200_000
	repo, srv, data := resumeSetup(t, size)
	var logs logBuffer
	o := options(t, repo, srv.URL)
	o.Logger = logs.logger()
	c := newClient(t, o)
	refresh(t, c)
	ti := target(t, c, targetName)
	dir := t.TempDir()
	dest := filepath.Join(dir, targetName)

	garbage := bytes.Repeat([]byte{0xAB}, partLen)
	os.WriteFile(dest+".part", garbage, 0o644)
	if _, err := c.Download(context.Background(), ti, dir); err != nil {
		t.Fatal(err)
	}
	reqs := srv.requestsFor("/targets/" + targetName)
	if len(reqs) != 2 || reqs[0].Range != fmt.Sprintf("bytes=%d-", partLen) || reqs[1].Range != "" || reqs[1].Bytes != size {
		t.Fatalf("requests %+v, want a resume then one full download", reqs)
	}
	if !bytes.Equal(mustRead(t, dest), data) {
		t.Fatal("wrong content")
	}
	if !strings.Contains(logs.String(), "downloading it again from scratch") {
		t.Errorf("discarded partial not logged:\n%s", logs.String())
	}

	// When the fresh download fails too, that is the end: an error, nothing kept.
	os.Remove(dest)
	os.WriteFile(dest+".part", garbage, 0o644)
	os.WriteFile(repo.TargetPath(targetName), bytes.Repeat([]byte{1}, size), 0o644)
	_, err := c.Download(context.Background(), ti, dir)
	var bce *fetch.BadContentError
	if !errors.As(err, &bce) {
		t.Fatalf("err = %v, want BadContentError", err)
	}
	if n := len(srv.requestsFor("/targets/"+targetName)) - len(reqs); n != 2 {
		t.Errorf("%d requests, want 2 (the resume, one fresh try)", n)
	}
	if exists(dest) || exists(dest+".part") {
		t.Error("files left after a failed verification")
	}
}

func TestCompletePartialIsVerified(t *testing.T) {
	repo, srv, data := resumeSetup(t, 100_000)
	c := newClient(t, options(t, repo, srv.URL))
	refresh(t, c)
	ti := target(t, c, targetName)
	dir := t.TempDir()
	dest := filepath.Join(dir, targetName)

	// A complete, correct .part (a crash before the rename) needs no request.
	os.WriteFile(dest+".part", data, 0o644)
	if _, err := c.Download(context.Background(), ti, dir); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.requestsFor("/targets/" + targetName)); n != 0 {
		t.Errorf("%d requests for a complete partial file", n)
	}
	// A longer one is useless and goes.
	os.Remove(dest)
	os.WriteFile(dest+".part", append(bytes.Clone(data), 1, 2, 3), 0o644)
	if _, err := c.Download(context.Background(), ti, dir); err != nil {
		t.Fatal(err)
	}
	reqs := srv.requestsFor("/targets/" + targetName)
	if len(reqs) != 1 || reqs[0].Range != "" {
		t.Errorf("requests %+v, want one full download", reqs)
	}
	if !bytes.Equal(mustRead(t, dest), data) {
		t.Fatal("wrong content")
	}
}

func TestServerWithoutRangeSupport(t *testing.T) {
	const size, partLen = 300_000, 100_000
	repo, srv, data := resumeSetup(t, size)
	c := newClient(t, options(t, repo, srv.URL))
	refresh(t, c)
	ti := target(t, c, targetName)
	dir := t.TempDir()
	dest := filepath.Join(dir, targetName)

	// Range ignored: the whole file comes with 200 and replaces the part.
	srv.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/targets/"+targetName {
			return false
		}
		w.Header().Set("Content-Length", strconv.Itoa(size))
		w.Write(data)
		return true
	})
	os.WriteFile(dest+".part", data[:partLen], 0o644)
	if _, err := c.Download(context.Background(), ti, dir); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustRead(t, dest), data) {
		t.Fatal("wrong content after a 200 to a Range request")
	}

	// 416: the partial is dropped and the file fetched whole.
	os.Remove(dest)
	os.WriteFile(dest+".part", data[:partLen], 0o644)
	srv.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Range") != "" {
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return true
		}
		return false
	})
	if _, err := c.Download(context.Background(), ti, dir); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustRead(t, dest), data) {
		t.Fatal("wrong content after a 416")
	}

	// A 206 for another range than asked is refused, then fetched whole.
	os.Remove(dest)
	os.WriteFile(dest+".part", data[:partLen], 0o644)
	srv.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Range") == "" {
			return false
		}
		w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", size-1, size))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(data)
		return true
	})
	if _, err := c.Download(context.Background(), ti, dir); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustRead(t, dest), data) {
		t.Fatal("wrong content after a wrong Content-Range")
	}
}

// heapSampler records the peak of the Go heap (live and not yet swept
// objects) while it runs.
type heapSampler struct {
	stop chan struct{}
	done chan uint64
}

func sampleHeap(every time.Duration) *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan uint64)}
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak uint64
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-h.stop:
				h.done <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) peak() uint64 {
	close(h.stop)
	return <-h.done
}

// A 200 MB target streams through a bounded heap.
func TestLargeTargetBoundedHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("200 MB download skipped in -short mode")
	}
	const size = 200 << 20
	repo := fetchtest.New(t, false)
	src := filepath.Join(t.TempDir(), "big")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := io.CopyN(w, rand.NewChaCha8([32]byte{2}), size); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	repo.AddTargetFile(targetName, src)
	repo.Publish()
	srv := newServer(t, repo.Dir)
	var progressCalls int
	o := options(t, repo, srv.URL)
	o.Progress = func(fetch.Progress) { progressCalls++ }
	c := newClient(t, o)
	refresh(t, c)
	ti := target(t, c, targetName)

	runtime.GC()
	sampler := sampleHeap(2 * time.Millisecond)
	began := time.Now()
	path, err := c.Download(context.Background(), ti, t.TempDir())
	took := time.Since(began)
	peak := sampler.peak()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Size() != size {
		t.Fatalf("downloaded file: %v, %v", fi, err)
	}
	t.Logf("200 MiB target: peak Go heap %.1f MiB, %s, %.0f MiB/s (server and client in one process), %d progress calls",
		float64(peak)/(1<<20), took.Round(time.Millisecond), float64(size)/(1<<20)/took.Seconds(), progressCalls)
	if peak >= 64<<20 {
		t.Errorf("peak Go heap %d MiB, want under 64 MiB", peak>>20)
	}
}
