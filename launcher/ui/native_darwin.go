package ui

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// native on macOS: the failure dialog through osascript (AppleScript's
// display dialog, always present). There is no progress window yet: a
// native one needs AppKit, which Go reaches only through cgo or an
// Objective-C runtime bridge, and neither can be tested on the Linux
// machines that build and test this project.
func native() backend { return mac{} }

type mac struct{}

func (mac) open(view) (window, error) { return nil, errNoWindow }

func (mac) fail(f Failure) (bool, error) {
	quote := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	script := fmt.Sprintf(`display dialog "%s" with title "%s" buttons {"Close", "Retry"} default button "Retry" with icon stop`,
		quote.Replace(f.Text()), quote.Replace(f.Title))
	out, err := exec.Command("osascript", "-e", script).Output()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return strings.Contains(string(out), "Retry"), nil
	case errors.As(err, &exit):
		return false, nil // canceled (Escape)
	default:
		return false, err
	}
}
