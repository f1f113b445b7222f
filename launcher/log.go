package launcher

import (
	"fmt"
	"os"
)

// maxLogSize is where launcher.log is rotated to launcher.log.1, so the log
// of an app started daily for years stays small.
const maxLogSize = 1 << 20

// openLog opens the log for appending, rotating it first when it is large.
// Several launchers may append at once; O_APPEND keeps their lines whole.
func openLog(path string) (*os.File, error) {
	if fi, err := os.Stat(path); err == nil && fi.Size() > maxLogSize {
		os.Rename(path, path+".1") // a lost race with another launcher is harmless
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	return f, nil
}
