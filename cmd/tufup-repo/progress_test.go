package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tufup-go/tufup/repo"
)

// On a terminal each step shows as it starts and is rewritten in place
// with its result; elsewhere only finished steps show, and only with -v.
func TestAddProgress(t *testing.T) {
	steps := []repo.AddStep{
		{Name: "archive", Detail: "dist -> app-1.1.0.tar.gz"},
		{Name: "archive", Detail: "dist -> app-1.1.0.tar.gz", Done: true, Size: 3 << 20, Took: 1500 * time.Millisecond},
		{Name: "patch", Detail: "app-1.0.0.tar.gz -> app-1.1.0.tar.gz"},
		{Name: "patch", Detail: "app-1.0.0.tar.gz -> app-1.1.0.tar.gz", Done: true, Size: 3 << 10, Took: 20 * time.Millisecond},
		{Name: "sign", Detail: "targets, snapshot, timestamp"},
		{Name: "sign", Detail: "targets, snapshot, timestamp", Done: true, Took: 5 * time.Millisecond},
	}
	run := func(tty, verbose bool) (string, *addProgress) {
		var b bytes.Buffer
		p := newAddProgress(&b, tty, verbose)
		for _, s := range steps {
			p.step(s)
		}
		p.end()
		return b.String(), p
	}
	tty, p := run(true, false)
	want := "archive  dist -> app-1.1.0.tar.gz ...\r\033[Karchive  dist -> app-1.1.0.tar.gz: 3.0 MiB in 1.5s\n" +
		"patch    app-1.0.0.tar.gz -> app-1.1.0.tar.gz ...\r\033[Kpatch    app-1.0.0.tar.gz -> app-1.1.0.tar.gz: 3.0 KiB in 20ms\n" +
		"\r\033[Ksign     targets, snapshot, timestamp: done in 5ms\n"
	if tty != want {
		t.Errorf("terminal output\n%q\nwant\n%q", tty, want)
	}
	if s := p.summary("app", "1.1.0", false); !strings.HasPrefix(s, "published app 1.1.0: archive 3.0 MiB, patch 3.0 KiB (0.10% of the archive), in ") {
		t.Errorf("summary %q", s)
	}
	if quiet, _ := run(false, false); quiet != "" {
		t.Errorf("not a terminal, no -v: printed %q", quiet)
	}
	verbose, _ := run(false, true)
	if strings.Count(verbose, "\n") != 3 || strings.Contains(verbose, "\r") || strings.Contains(verbose, "...") {
		t.Errorf("-v output %q, want the three finished steps", verbose)
	}
}
