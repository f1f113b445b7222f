package main

// The interface apps in any language use for their own "check for updates"
// button: launcher --check [--json] and launcher --update-only --json.
// docs/launcher-cli.md describes the JSON; docs/examples/update_button.py
// uses it.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/tufup-go/tufup/launcher"
)

// checkResult is what launcher --check --json prints.
type checkResult struct {
	// Current is the installed version ("" before the first install).
	Current         string `json:"current"`
	UpdateAvailable bool   `json:"update_available"`
	// Version, DownloadBytes, Required and UserMeta describe the update.
	Version       string          `json:"version,omitempty"`
	DownloadBytes int64           `json:"download_bytes,omitempty"`
	Required      bool            `json:"required,omitempty"`
	UserMeta      json.RawMessage `json:"user_meta,omitempty"`
	Error         string          `json:"error,omitempty"`
}

// runCheck looks for an update and prints it; it installs nothing.
func runCheck(ctx context.Context, l *launcher.Launcher, stdout, stderr io.Writer, asJSON bool) int {
	var r checkResult
	r.Current, _ = l.Dir().Current()
	u, err := l.Check(ctx)
	if err != nil {
		if asJSON {
			r.Error = err.Error()
			writeJSON(stdout, r)
		}
		fmt.Fprintf(stderr, "launcher: %v\n", err)
		return exitError
	}
	if u != nil {
		r.UpdateAvailable, r.Version, r.DownloadBytes, r.Required, r.UserMeta =
			true, u.To.String(), u.DownloadSize(), u.Required, u.User
	}
	if asJSON {
		return writeJSON(stdout, r)
	}
	switch {
	case u == nil && r.Current == "":
		fmt.Fprintln(stdout, "no release available")
	case u == nil:
		fmt.Fprintf(stdout, "up to date (%s)\n", r.Current)
	default:
		fmt.Fprintf(stdout, "update available: %s (%d bytes to download)\n", r.Version, r.DownloadBytes)
	}
	return 0
}

// updateResult is the last line launcher --update-only --json prints.
type updateResult struct {
	// Result is "updated", "up to date" or "failed".
	Result  string `json:"result"`
	From    string `json:"from,omitempty"`
	Version string `json:"version,omitempty"` // the current version after the update
	Error   string `json:"error,omitempty"`
}

// jsonLines writes one JSON object per line, from any goroutine.
type jsonLines struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func newJSONLines(w io.Writer) *jsonLines { return &jsonLines{enc: json.NewEncoder(w)} }

func (j *jsonLines) write(v any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.enc.Encode(v)
}

// runUpdateJSON installs an update, its events as JSON lines on stdout
// (lopts.Events writes them) and the result as the last line.
func runUpdateJSON(ctx context.Context, l *launcher.Launcher, lines *jsonLines, stderr io.Writer) int {
	from, _ := l.Dir().Current()
	err := l.UpdateNow(ctx)
	to, _ := l.Dir().Current()
	r := updateResult{From: from, Version: to}
	switch {
	case err != nil:
		r.Result, r.Error = "failed", err.Error()
	case to != from:
		r.Result = "updated"
	default:
		r.Result, r.From = "up to date", ""
	}
	lines.write(r)
	if err != nil {
		fmt.Fprintf(stderr, "launcher: %v\n", err)
		return exitError
	}
	return 0
}
