package ui

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/launcher"
)

// recorder is a backend that records what a window would show.
type recorder struct {
	mu     sync.Mutex
	opened int
	views  []view
	closed bool
	gone   chan struct{}
}

func (r *recorder) open(v view) (window, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.opened++
	r.views = append(r.views, v)
	r.gone = make(chan struct{})
	return r, nil
}

func (r *recorder) fail(Failure) (bool, error) { return false, errNoWindow }

func (r *recorder) show(v view) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.views = append(r.views, v)
}

func (r *recorder) canceled() <-chan struct{} { return r.gone }

func (r *recorder) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		close(r.gone)
	}
}

func (r *recorder) state() (int, []view) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.opened, append([]view(nil), r.views...)
}

const delay = 50 * time.Millisecond

func TestNoWindowForWorkShorterThanTheDelay(t *testing.T) {
	r := &recorder{}
	p := newProgress(r, "MyApp", delay)
	p.Event(launcher.Event{Phase: launcher.PhaseDownload, From: "1.0.0", To: "1.1.0", Total: 10})
	p.Close()
	time.Sleep(3 * delay)
	if n, _ := r.state(); n != 0 {
		t.Fatalf("a window opened for work that ended before the delay")
	}
}

func TestNoWindowForAnUpdateCheckAlone(t *testing.T) {
	r := &recorder{}
	p := newProgress(r, "MyApp", delay)
	p.Event(launcher.Event{Phase: launcher.PhaseCheck, From: "1.0.0"})
	time.Sleep(3 * delay)
	if n, _ := r.state(); n != 0 {
		t.Fatalf("a window opened for the check of an installed app")
	}
	p.Close()
}

func TestWindowAfterTheDelayInPlainWords(t *testing.T) {
	r := &recorder{}
	p := newProgress(r, "MyApp", delay)
	clock := time.Unix(1000, 0)
	p.now = func() time.Time { return clock }
	p.Event(launcher.Event{Phase: launcher.PhaseCheck})
	waitOpened(t, r)
	for i := int64(0); i <= 4; i++ {
		p.Event(launcher.Event{Phase: launcher.PhaseDownload, To: "1.2.0", Done: i * 1_000_000, Total: 10_000_000})
		clock = clock.Add(time.Second)
	}
	p.Event(launcher.Event{Phase: launcher.PhaseVerify, To: "1.2.0"})
	p.Close()
	_, views := r.state()
	if v := views[0]; v.Heading != "Installing MyApp" || v.Detail != "Connecting to the update server…" {
		t.Errorf("first view %+v", v)
	}
	want := view{Title: "Installing MyApp 1.2.0", Heading: "Installing MyApp 1.2.0",
		Detail: "Downloading: 4.0 MB of 10.0 MB, 1.0 MB/s, 6 s left", Percent: 40}
	if v := views[len(views)-2]; v != want {
		t.Errorf("download view\n got %+v\nwant %+v", v, want)
	}
	if v := views[len(views)-1]; v.Detail != "Verifying the download and installing files…" || v.Percent != 100 {
		t.Errorf("verify view %+v", v)
	}
	p.Event(launcher.Event{Phase: launcher.PhaseInstall, To: "1.2.0"})
	if _, after := r.state(); len(after) != len(views) || !r.closed {
		t.Error("the window showed events after Close")
	}
}

func TestUpdateHeading(t *testing.T) {
	p := newProgress(&recorder{}, "My App", delay)
	p.last = launcher.Event{Phase: launcher.PhaseInstall, From: "1.1.0", To: "1.2.0"}
	if v := p.view(); v.Heading != "Updating My App from 1.1.0 to 1.2.0" || v.Detail != "Finishing the installation…" {
		t.Fatalf("%+v", v)
	}
}

func TestCancelIsTheUsersOnly(t *testing.T) {
	r := &recorder{}
	p := newProgress(r, "MyApp", delay)
	p.Event(launcher.Event{Phase: launcher.PhaseDownload, To: "1.0.0", Total: 10})
	waitOpened(t, r)
	r.close() // the user pressed Cancel
	select {
	case <-p.Canceled():
	case <-time.After(5 * time.Second):
		t.Fatal("Cancel was not reported")
	}

	r2 := &recorder{}
	p2 := newProgress(r2, "MyApp", delay)
	p2.Event(launcher.Event{Phase: launcher.PhaseDownload, To: "1.0.0", Total: 10})
	waitOpened(t, r2)
	p2.Close() // the launcher closed it: not a Cancel
	select {
	case <-p2.Canceled():
		t.Fatal("closing the window counted as Cancel")
	case <-time.After(3 * delay):
	}
}

func waitOpened(t *testing.T, r *recorder) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if n, _ := r.state(); n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no window opened after the delay")
		}
		time.Sleep(delay / 5)
	}
}

func TestExplainNamesTheCause(t *testing.T) {
	// A port nobody listens on: a real failure to connect.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, dialErr := net.Dial("tcp", addr)
	if dialErr == nil {
		t.Skip("something listens on the freed port")
	}
	// A real ENOSPC is hard to make; the errno as os.WriteFile wraps it.
	diskErr := &os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}
	for _, c := range []struct {
		err  error
		want Cause
		text string
	}{
		{fmt.Errorf("refresh: %w", dialErr), CauseOffline, "no connection to its update server"},
		{fmt.Errorf("download: %w", &fetch.StallError{URL: "u", Idle: time.Second}), CauseOffline, "no connection"},
		{fmt.Errorf("check: %w", context.DeadlineExceeded), CauseOffline, "no connection"},
		{fmt.Errorf("get: %w", &metadata.ErrDownloadHTTP{StatusCode: 503, URL: "u"}), CauseServer, "answered with an error (HTTP 503)"},
		{fmt.Errorf("refresh: %w", &metadata.ErrUnsignedMetadata{Msg: "bad sig"}), CauseUnverified, "could not be verified"},
		{fmt.Errorf("refresh: %w", &metadata.ErrExpiredMetadata{Msg: "old"}), CauseUnverified, "could not be verified"},
		{fmt.Errorf("download: %w", &fetch.BadContentError{URL: "u", Msg: "hash"}), CauseUnverified, "could not be verified"},
		{fmt.Errorf("extract: %w", diskErr), CauseDiskFull, "not enough free disk space"},
		{errors.New("something else"), CauseOther, "something else"},
	} {
		f := Explain(c.err, "MyApp", filepath.Join("d", "launcher.log"))
		if f.Cause != c.want || !strings.Contains(f.Text(), c.text) || !strings.Contains(f.Text(), filepath.Join("d", "launcher.log")) {
			t.Errorf("%v: cause %d, text %q; want cause %d saying %q and the log", c.err, f.Cause, f.Text(), c.want, c.text)
		}
	}
}

func TestSizesAndTimesAsPeopleReadThem(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 kB", 12_345_678: "12.3 MB", 1_500_000_000: "1.5 GB"} {
		if got := byteSize(n); got != want {
			t.Errorf("byteSize(%d) = %q, want %q", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{8 * time.Second: "8 s", 150 * time.Second: "3 min", 80 * time.Minute: "1 h 20 min"} {
		if got := timeLeft(d); got != want {
			t.Errorf("timeLeft(%s) = %q, want %q", d, got, want)
		}
	}
}
