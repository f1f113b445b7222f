// Package flagusage formats a command's flags for its --help: one line per
// flag, "--name VALUE  usage", with boolean flags shown as the switches
// they are ("--status") rather than pflag's "--status[=true|false]".
package flagusage

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// Format lists the visible flags of fs in its order, columns aligned.
func Format(fs *pflag.FlagSet) string {
	type row struct{ name, usage string }
	var rows []row
	width := 0
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		name := "    --" + f.Name
		if f.Shorthand != "" {
			name = "-" + f.Shorthand + ", --" + f.Name
		}
		varname, usage := pflag.UnquoteUsage(f)
		if f.Value.Type() != "bool" && varname != "" {
			name += " " + varname
		}
		switch {
		case f.Value.Type() == "string" && f.DefValue != "":
			usage += fmt.Sprintf(" (default %q)", f.DefValue)
		case f.Value.Type() != "bool" && f.Value.Type() != "string" && f.DefValue != "" && f.DefValue != "[]" && f.DefValue != "0":
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		rows = append(rows, row{name, usage})
		width = max(width, len(name))
	})
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "  %-*s   %s\n", width, r.name, r.usage)
	}
	return b.String()
}
