package main

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/launcher"
	"github.com/tufup-go/tufup/launcher/ui"
)

// display is how this run shows its work: launcher.json's "ui" resolved
// against whether stderr is a terminal. Its progress and event methods are
// the launcher's callbacks, set before launcher.json is read.
type display struct {
	mode string // launcher.UIWindow, UITerminal or UINone
	app  string
	log  string
	bar  func(fetch.Progress)

	mu  sync.Mutex
	win *ui.Progress
}

// errCanceled is the cause of a context the user canceled in the window.
var errCanceled = errors.New("canceled by the user")

// configure decides the mode once launcher.json is read. Windows are for
// starts only: --update-only (also the detached background update) and the
// commands that print show none.
func (d *display) configure(cfg launcher.Config, stderr io.Writer, o options, log string) {
	d.app, d.log = cfg.DisplayName, log
	if d.app == "" {
		d.app = cfg.AppName
	}
	terminal := isTerminal(stderr)
	d.mode = cfg.UI
	if d.mode == launcher.UIAuto {
		d.mode = launcher.UIWindow
		if terminal {
			d.mode = launcher.UITerminal
		}
	}
	if d.mode == launcher.UIWindow && (o.updateOnly || o.check || o.status || o.paths || o.json) {
		d.mode = launcher.UINone
	}
	if d.mode == launcher.UITerminal && terminal && !o.status && !o.paths && !o.check && !o.json {
		d.bar = fetch.ProgressBar(stderr)
	}
}

func (d *display) progress(p fetch.Progress) {
	if d.bar != nil {
		d.bar(p)
	}
}

func (d *display) event(e launcher.Event) {
	d.mu.Lock()
	w := d.win
	d.mu.Unlock()
	if w != nil {
		w.Event(e)
	}
}

// begin starts showing one update attempt. The context it returns ends
// when the user presses Cancel (cause errCanceled); end closes the window.
func (d *display) begin(ctx context.Context) (_ context.Context, end func()) {
	if d.mode != launcher.UIWindow {
		return ctx, func() {}
	}
	w := ui.NewProgress(d.app)
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-w.Canceled():
			cancel(errCanceled)
		case <-ctx.Done():
		}
	}()
	d.mu.Lock()
	d.win = w
	d.mu.Unlock()
	return ctx, func() {
		d.mu.Lock()
		d.win = nil
		d.mu.Unlock()
		w.Close()
		cancel(nil)
	}
}

// retry shows why a first start failed, in a window, and tells whether
// the user wants to try again.
func (d *display) retry(err error) bool {
	if d.mode != launcher.UIWindow {
		return false
	}
	again, derr := ui.ShowFailure(ui.Explain(err, d.app, d.log))
	return again && derr == nil
}

// prepare is Prepare with the window: its progress while updating, Cancel,
// and on a failed first start the failure dialog with Retry.
func (d *display) prepare(ctx context.Context, l *launcher.Launcher) (launcher.App, error) {
	for {
		uctx, end := d.begin(ctx)
		app, err := l.Prepare(uctx)
		canceled := errors.Is(context.Cause(uctx), errCanceled)
		end()
		switch {
		case err == nil:
			return app, nil
		case canceled:
			return app, errors.New("canceled; nothing is installed yet (the next start resumes the download)")
		}
		if installed, _ := l.Dir().Installed(); len(installed) > 0 || !d.retry(err) {
			return app, err
		}
	}
}
