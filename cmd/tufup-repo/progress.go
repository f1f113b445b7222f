package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/tufup-go/tufup/repo"
)

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// addProgress shows add's steps on stderr: on a terminal, each step with
// a clock ticking while it runs; with -v elsewhere, one line per finished
// step. It also collects what the summary line needs.
type addProgress struct {
	w        io.Writer
	tty      bool
	verbose  bool
	began    time.Time
	archive  int64
	patch    int64
	hasPatch bool

	mu   sync.Mutex
	stop chan struct{} // closes the running step's clock
	done chan struct{}
}

func newAddProgress(w io.Writer, tty, verbose bool) *addProgress {
	return &addProgress{w: w, tty: tty, verbose: verbose, began: time.Now()}
}

// step is the repo.AddOptions.Progress callback.
func (p *addProgress) step(s repo.AddStep) {
	if s.Done {
		switch s.Name {
		case "archive":
			p.archive = s.Size
		case "patch":
			p.patch, p.hasPatch = s.Size, true
		}
	}
	if !p.tty && !p.verbose {
		return
	}
	line := fmt.Sprintf("%-8s %s", s.Name, s.Detail)
	if !p.tty {
		if s.Done {
			fmt.Fprintf(p.w, "%s: %s\n", line, stepResult(s))
		}
		return
	}
	p.stopClock()
	if s.Done {
		fmt.Fprintf(p.w, "\r\033[K%s: %s\n", line, stepResult(s))
		return
	}
	if s.Name == "sign" {
		// Signing is quick, and may ask for a key's password: no clock.
		return
	}
	fmt.Fprintf(p.w, "%s ...", line)
	p.startClock(line)
}

// end stops a step's clock left running by a failure, ending its line.
func (p *addProgress) end() {
	p.mu.Lock()
	running := p.stop != nil
	p.mu.Unlock()
	if running {
		p.stopClock()
		fmt.Fprintln(p.w)
	}
}

func stepResult(s repo.AddStep) string {
	took := roundTook(s.Took)
	if s.Name == "sign" {
		return fmt.Sprintf("done in %s", took)
	}
	return fmt.Sprintf("%s in %s", repo.FormatSize(s.Size), took)
}

// startClock rewrites the step's line every second with the time spent.
func (p *addProgress) startClock(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	stop, done := make(chan struct{}), make(chan struct{})
	p.stop, p.done = stop, done
	began := time.Now()
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				fmt.Fprintf(p.w, "\r\033[K%s ... %s", line, time.Since(began).Round(time.Second))
			}
		}
	}()
}

func (p *addProgress) stopClock() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil {
		close(p.stop)
		<-p.done
		p.stop, p.done = nil, nil
	}
}

// summary is the line add ends with: sizes, patch ratio and time.
func (p *addProgress) summary(app, version string, skipPatch bool) string {
	patch := "no patch (first release)"
	switch {
	case p.hasPatch && p.archive > 0:
		ratio := 100 * float64(p.patch) / float64(p.archive)
		digits := 1
		if ratio < 1 {
			digits = 2
		}
		patch = fmt.Sprintf("patch %s (%.*f%% of the archive)", repo.FormatSize(p.patch), digits, ratio)
	case skipPatch:
		patch = "no patch (--skip-patch)"
	}
	return fmt.Sprintf("published %s %s: archive %s, %s, in %s", app, version, repo.FormatSize(p.archive), patch, roundTook(time.Since(p.began)))
}

// roundTook shows a step's time to the millisecond below a second, else to
// a tenth of a second.
func roundTook(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}
