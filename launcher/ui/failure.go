package ui

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"syscall"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufup-go/tufup/fetch"
)

// Cause is what made a first start fail, in the terms a user can act on.
type Cause int

const (
	CauseOther      Cause = iota
	CauseOffline          // no connection to the update server
	CauseServer           // the server answered with an error
	CauseUnverified       // the signed metadata or a download failed verification
	CauseDiskFull         // not enough disk space
)

// Failure is a failed first start, put into words for a dialog.
type Failure struct {
	Cause Cause
	// Title names the app; What says what failed, Todo what the user can
	// do, and Log where the details are.
	Title, What, Todo, Log string
	Err                    error
}

// Text is the dialog's message.
func (f Failure) Text() string {
	return f.What + "\n\n" + f.Todo + "\n\nDetails are in the log: " + f.Log
}

// Explain puts a failed first install of app into plain words; log is the
// launcher's log file.
func Explain(err error, app, log string) Failure {
	f := Failure{Cause: classify(err), Title: app, Log: log, Err: err}
	switch f.Cause {
	case CauseOffline:
		f.What = fmt.Sprintf("%s could not be installed: there is no connection to its update server.", app)
		f.Todo = "Check that this computer is connected to the internet (and that a firewall or proxy lets it reach the server), then click Retry."
	case CauseServer:
		f.What = fmt.Sprintf("%s could not be installed: its update server answered with an error%s.", app, httpStatus(err))
		f.Todo = "This is usually temporary. Try again in a few minutes; if it keeps happening, contact the publisher of " + app + "."
	case CauseUnverified:
		f.What = fmt.Sprintf("%s could not be installed: the download could not be verified, so nothing was installed. It may have been damaged or altered on the way.", app)
		f.Todo = "Try again later. If it keeps happening, contact the publisher of " + app + "."
	case CauseDiskFull:
		f.What = fmt.Sprintf("%s could not be installed: there is not enough free disk space.", app)
		f.Todo = "Free some disk space, then click Retry."
	default:
		f.What = fmt.Sprintf("%s could not be installed: %v.", app, err)
		f.Todo = "Click Retry to try again. If it keeps happening, contact the publisher of " + app + " and send them the log."
	}
	return f
}

func classify(err error) Cause {
	var httpErr *metadata.ErrDownloadHTTP
	var badErr *fetch.BadContentError
	var stall *fetch.StallError
	var netErr net.Error
	switch {
	case isDiskFull(err):
		return CauseDiskFull
	case errors.As(err, &httpErr):
		return CauseServer
	case errors.As(err, &badErr), errors.Is(err, &metadata.ErrRepository{}), errors.Is(err, &metadata.ErrLengthOrHashMismatch{}),
		errors.Is(err, &metadata.ErrDownloadLengthMismatch{}):
		return CauseUnverified
	case errors.As(err, &stall), errors.As(err, &netErr), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return CauseOffline
	}
	return CauseOther
}

func httpStatus(err error) string {
	var httpErr *metadata.ErrDownloadHTTP
	if errors.As(err, &httpErr) {
		return fmt.Sprintf(" (HTTP %d)", httpErr.StatusCode)
	}
	return ""
}

// isDiskFull tells ENOSPC, and on Windows ERROR_DISK_FULL (112) and
// ERROR_HANDLE_DISK_FULL (39), which syscall.ENOSPC does not match there.
func isDiskFull(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	if runtime.GOOS == "windows" {
		return errno == 112 || errno == 39
	}
	return errno == syscall.ENOSPC
}
