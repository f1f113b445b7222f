// Package ui shows the launcher's work to its user: a small native
// progress window while an update runs long enough to be noticed, and a
// dialog in plain words when a first start fails. The launcher's use cases
// only report events (launcher.Event); this package turns them into words
// and draws them, through one small interface per OS: Win32 on Windows,
// zenity (or yad, kdialog) on Linux and the BSDs, osascript on macOS.
package ui

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tufup-go/tufup/launcher"
)

// DefaultDelay is how long work must last before the window appears, so a
// normal start (up to date, or a quick update) never flashes one.
const DefaultDelay = time.Second

// errNoWindow means this OS or desktop has no way to show the window; the
// launcher then works without one.
var errNoWindow = errors.New("no window on this desktop")

// view is what a window shows: the title and a heading ("Updating MyApp
// from 1.1.0 to 1.2.0"), a detail line ("Downloading: 3.1 MB of 12.0 MB,
// 1.2 MB/s, 8 s left") and the bar's percentage.
type view struct {
	Title, Heading, Detail string
	Percent                int
}

// window is an open progress window of one OS. Its methods are called from
// one goroutine at a time.
type window interface {
	show(view)
	// canceled is closed when the window is gone: the user pressed Cancel
	// or closed it, or close was called (which Progress tells apart).
	canceled() <-chan struct{}
	close()
}

// backend is one OS's way of showing windows and dialogs.
type backend interface {
	open(v view) (window, error)
	// fail shows a failure dialog and tells whether the user chose Retry.
	fail(f Failure) (retry bool, err error)
}

// Progress shows an update's events in a window that opens once the work
// has lasted Delay. Its methods may be called from any goroutine.
type Progress struct {
	b     backend
	app   string
	delay time.Duration

	mu       sync.Mutex
	last     launcher.Event
	started  bool // the delay is running or over
	win      window
	closed   bool
	cancel   chan struct{}
	canceled bool
	rate     meter
	now      func() time.Time
}

// NewProgress returns the progress window of this OS for the app (its
// display name). Nothing is shown until an event comes that means work.
func NewProgress(app string) *Progress {
	return newProgress(native(), app, DefaultDelay)
}

func newProgress(b backend, app string, delay time.Duration) *Progress {
	return &Progress{b: b, app: app, delay: delay, cancel: make(chan struct{}), now: time.Now}
}

// Event is a launcher.Options.Events callback.
func (p *Progress) Event(e launcher.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	if e.Phase == launcher.PhaseDownload {
		p.rate.add(p.now(), e.Done, e.To != p.last.To || p.last.Phase != launcher.PhaseDownload)
	}
	p.last = e
	switch {
	case p.win != nil:
		p.win.show(p.view())
	case !p.started && (e.Phase != launcher.PhaseCheck || e.From == ""):
		// With a version installed, a check alone is not worth a window:
		// it is bounded by check_timeout and the app starts after it.
		p.started = true
		time.AfterFunc(p.delay, p.open)
	}
}

func (p *Progress) open() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.win != nil {
		return
	}
	w, err := p.b.open(p.view())
	if err != nil {
		return // no window: the launcher carries on without one
	}
	p.win = w
	go func() {
		<-w.canceled()
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.closed && !p.canceled {
			p.canceled = true
			close(p.cancel)
		}
	}()
}

// Canceled is closed when the user pressed Cancel.
func (p *Progress) Canceled() <-chan struct{} { return p.cancel }

// Close closes the window, if it was shown; no window opens afterwards.
func (p *Progress) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.win != nil {
		p.win.close()
		p.win = nil
	}
}

// view puts the last event into words. The caller holds p.mu.
func (p *Progress) view() view {
	e := p.last
	v := view{Percent: 100}
	switch {
	case e.To == "" && e.From == "":
		v.Heading = "Installing " + p.app
	case e.To == "":
		v.Heading = "Checking for updates to " + p.app
	case e.From == "":
		v.Heading = fmt.Sprintf("Installing %s %s", p.app, e.To)
	default:
		v.Heading = fmt.Sprintf("Updating %s from %s to %s", p.app, e.From, e.To)
	}
	switch e.Phase {
	case launcher.PhaseCheck:
		v.Detail, v.Percent = "Connecting to the update server…", 0
	case launcher.PhaseDownload:
		v.Percent = 0
		if e.Total > 0 {
			v.Percent = int(e.Done * 100 / e.Total)
		}
		v.Detail = fmt.Sprintf("Downloading: %s of %s", byteSize(e.Done), byteSize(e.Total))
		if speed := p.rate.perSecond(); speed > 0 {
			left := time.Duration(float64(e.Total-e.Done) / speed * float64(time.Second))
			v.Detail += fmt.Sprintf(", %s/s, %s left", byteSize(int64(speed)), timeLeft(left))
		}
	case launcher.PhaseVerify:
		v.Detail = "Verifying the download and installing files…"
	case launcher.PhaseInstall:
		v.Detail = "Finishing the installation…"
	}
	// The title says it all too: it is what the taskbar shows.
	v.Title = v.Heading
	return v
}

// meter measures the download speed over the last few seconds.
type meter struct {
	samples []sample
}

type sample struct {
	t    time.Time
	done int64
}

const meterSpan = 5 * time.Second

func (m *meter) add(t time.Time, done int64, restart bool) {
	if restart {
		m.samples = m.samples[:0]
	}
	m.samples = append(m.samples, sample{t, done})
	for len(m.samples) > 2 && t.Sub(m.samples[1].t) > meterSpan {
		m.samples = m.samples[1:]
	}
}

// perSecond is bytes per second, or 0 until a second of samples is there.
func (m *meter) perSecond() float64 {
	if len(m.samples) < 2 {
		return 0
	}
	first, last := m.samples[0], m.samples[len(m.samples)-1]
	d := last.t.Sub(first.t)
	if d < time.Second || last.done <= first.done {
		return 0
	}
	return float64(last.done-first.done) / d.Seconds()
}

// byteSize writes a size as people read it: 980 B, 12.3 MB, 1.5 GB.
func byteSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n)/unit, 0
	for f >= unit && i < 3 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f %cB", f, "kMGT"[i])
}

// timeLeft writes a time left as people read it: 8 s, 3 min, 1 h 20 min.
func timeLeft(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()+0.5))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()+0.5))
	default:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
}

// ShowFailure shows f in a dialog with Retry and Close and tells whether
// the user chose Retry; err is set when no dialog could be shown.
func ShowFailure(f Failure) (retry bool, err error) { return native().fail(f) }
