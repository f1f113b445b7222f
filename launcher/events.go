package launcher

import (
	"sync"

	"github.com/tufup-go/tufup/fetch"
)

// Phase is a step of an update, as a progress display names it.
type Phase string

// The phases of an update, in order. An up-to-date check has only
// PhaseCheck.
const (
	PhaseCheck    Phase = "check"    // refreshing the signed metadata
	PhaseDownload Phase = "download" // downloading patches or the archive
	PhaseVerify   Phase = "verify"   // rebuilding the release, verifying and unpacking it
	PhaseInstall  Phase = "install"  // checking the unpacked folder and switching to it
)

// Event tells what an update is doing. Options.Events receives one at the
// start of each phase and, while downloading, at most every 100 ms.
type Event struct {
	Phase Phase `json:"phase"`
	// From is the installed version ("" before the first install); To the
	// release being installed ("" during the check).
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Done and Total count the bytes of the whole update's download (every
	// patch of a chain together); both 0 outside PhaseDownload.
	Done  int64 `json:"done"`
	Total int64 `json:"total"`
}

// events adds up the per-file download progress of an update and passes
// events on to Options.Events and Options.Progress.
type events struct {
	progress func(fetch.Progress)
	send     func(Event)

	mu    sync.Mutex
	cur   Event
	files map[string]int64 // bytes done per target of the current download
}

func newEvents(o Options) *events {
	return &events{progress: o.Progress, send: o.Events}
}

// phase starts a phase; total is the download's size in PhaseDownload.
func (e *events) phase(p Phase, from, to string, total int64) {
	e.mu.Lock()
	e.cur = Event{Phase: p, From: from, To: to, Total: total}
	e.files = map[string]int64{}
	ev := e.cur
	e.mu.Unlock()
	if e.send != nil {
		e.send(ev)
	}
}

// download is the fetch client's Progress callback.
func (e *events) download(p fetch.Progress) {
	if e.progress != nil {
		e.progress(p)
	}
	if e.send == nil {
		return
	}
	e.mu.Lock()
	if e.cur.Phase != PhaseDownload {
		e.mu.Unlock()
		return
	}
	e.files[p.Target] = p.Done
	var done int64
	for _, n := range e.files {
		done += n
	}
	e.cur.Done = min(done, e.cur.Total)
	ev := e.cur
	e.mu.Unlock()
	e.send(ev)
}
