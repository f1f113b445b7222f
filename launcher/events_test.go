package launcher

import (
	"testing"

	"github.com/tufup-go/tufup/fetch"
)

// A patch chain's files add up to one download; per-file progress still
// reaches Options.Progress.
func TestEventsAddUpTheFilesOfADownload(t *testing.T) {
	var got []Event
	var files int
	e := newEvents(Options{Events: func(ev Event) { got = append(got, ev) }, Progress: func(fetch.Progress) { files++ }})
	e.phase(PhaseDownload, "1.0.0", "1.2.0", 300)
	e.download(fetch.Progress{Target: "a.patch", Done: 60, Total: 100})
	e.download(fetch.Progress{Target: "a.patch", Done: 100, Total: 100})
	e.download(fetch.Progress{Target: "b.patch", Done: 50, Total: 200})
	e.phase(PhaseVerify, "1.0.0", "1.2.0", 0)
	e.download(fetch.Progress{Target: "late", Done: 1, Total: 1}) // not a download phase: no event
	want := []Event{
		{Phase: PhaseDownload, From: "1.0.0", To: "1.2.0", Total: 300},
		{Phase: PhaseDownload, From: "1.0.0", To: "1.2.0", Done: 60, Total: 300},
		{Phase: PhaseDownload, From: "1.0.0", To: "1.2.0", Done: 100, Total: 300},
		{Phase: PhaseDownload, From: "1.0.0", To: "1.2.0", Done: 150, Total: 300},
		{Phase: PhaseVerify, From: "1.0.0", To: "1.2.0"},
	}
	if len(got) != len(want) {
		t.Fatalf("events %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if files != 4 {
		t.Errorf("Options.Progress got %d calls, want every file's 4", files)
	}
}
