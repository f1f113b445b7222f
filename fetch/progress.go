package fetch

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// ProgressBar returns an Options.Progress callback that draws one bar per
// target on w (a terminal's stderr). Callers decide whether w is a terminal.
func ProgressBar(w io.Writer) func(Progress) {
	var (
		bar     *progressbar.ProgressBar
		current string
	)
	return func(p Progress) {
		if bar == nil || p.Target != current {
			if bar != nil && !bar.IsFinished() {
				bar.Exit() // an interrupted download: keep its line, start a new one
			}
			current = p.Target
			bar = progressbar.NewOptions64(p.Total,
				progressbar.OptionSetWriter(w),
				progressbar.OptionSetDescription(p.Target),
				progressbar.OptionShowBytes(true),
				progressbar.OptionShowCount(),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
			)
		}
		bar.Set64(p.Done)
	}
}
