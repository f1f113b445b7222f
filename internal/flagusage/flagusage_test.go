package flagusage

import (
	"testing"

	"github.com/spf13/pflag"
)

func TestFormat(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.Bool("status", false, "print the status")
	fs.String("channel", "", "use `NAME`'s releases")
	fs.StringP("chdir", "C", ".", "run in `DIR`")
	fs.String("hidden", "", "not shown")
	fs.MarkHidden("hidden")
	want := "" +
		"      --status         print the status\n" +
		"      --channel NAME   use NAME's releases\n" +
		"  -C, --chdir DIR      run in DIR (default \".\")\n"
	if got := Format(fs); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
