// Command tufup-repo manages a tufup repository on the build machine: keys,
// signed TUF metadata and release archives and patches, in the formats of
// Python tufup 0.10, so either side can be switched without re-keying.
//
// Exit codes: 0 success, 1 error, 2 usage error. Run "tufup-repo help" for
// the commands.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/tufup-go/tufup/internal/flagusage"
	"github.com/tufup-go/tufup/repo"
)

const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// usageError marks errors in how the command was called (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// cli carries what every command needs.
type cli struct {
	dir    string // -C
	stdout io.Writer
	stderr io.Writer
}

type command struct {
	name    string
	args    string // synopsis after the name
	summary string
	help    string // long description
	setup   func(fs *pflag.FlagSet) func(c *cli, args []string) error
}

func commands() []command {
	return []command{
		initCommand(), addCommand(), addLauncherCommand(), removeLatestCommand(), rolloutCommand(),
		signCommand(), keysCommand(), thresholdCommand(),
		signFileCommand(), publishCommand(),
		verifyCommand(), statusCommand(), serveCommand(), kitCommand(),
	}
}

const topUsage = `Usage: tufup-repo [-C DIR] COMMAND [flags] [args]

tufup-repo keeps a tufup repository: ed25519 keys, TUF metadata signed to
threshold, and release archives and patches, in the formats of Python tufup
0.10 (.tufup-repo-config, keystore/, repository/metadata, repository/targets).
Every command is non-interactive; only an encrypted key whose password is not
in the environment is asked for on a terminal.

Global flags:
  -C DIR      run in DIR (where .tufup-repo-config is), as if started there:
              relative paths in arguments and flags are relative to DIR
  -h, --help  show this help

Commands:
%s
Passwords of encrypted keys come from TUFUP_KEY_PASSWORD_<NAME> (the key name
upper-cased, other characters than letters and digits as _), then
TUFUP_KEY_PASSWORD, then a prompt if standard input is a terminal.

Exit codes: 0 success, 1 error (the message names the file, key or role at
fault), 2 usage error.

"tufup-repo COMMAND --help" describes a command.
`

func topHelp() string {
	var b strings.Builder
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-14s %s\n", c.name, c.summary)
	}
	return fmt.Sprintf(topUsage, b.String())
}

func run(args []string, stdout, stderr io.Writer) int {
	global := pflag.NewFlagSet("tufup-repo", pflag.ContinueOnError)
	global.SetInterspersed(false)
	global.SetOutput(io.Discard)
	dir := global.StringP("chdir", "C", ".", "")
	help := global.BoolP("help", "h", false, "")
	if err := global.Parse(args); err != nil {
		fmt.Fprintf(stderr, "tufup-repo: %v\n\n%s", err, topHelp())
		return exitUsage
	}
	rest := global.Args()
	if *help || len(rest) > 0 && rest[0] == "help" && len(rest) == 1 {
		fmt.Fprint(stdout, topHelp())
		return exitOK
	}
	if len(rest) == 0 {
		fmt.Fprintf(stderr, "tufup-repo: no command given\n\n%s", topHelp())
		return exitUsage
	}
	name := rest[0]
	if name == "help" {
		name, rest = rest[1], []string{rest[1], "--help"}
	}
	var cmd *command
	for _, c := range commands() {
		if c.name == name {
			cmd = &c
			break
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "tufup-repo: unknown command %q\n\n%s", name, topHelp())
		return exitUsage
	}
	fs := pflag.NewFlagSet("tufup-repo "+cmd.name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	action := cmd.setup(fs)
	usage := func() string {
		s := fmt.Sprintf("Usage: tufup-repo [-C DIR] %s %s\n\n%s\n", cmd.name, cmd.args, strings.TrimSpace(cmd.help))
		if f := flagusage.Format(fs); f != "" {
			s += "\nFlags:\n" + f
		}
		return s
	}
	if err := fs.Parse(rest[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, usage())
			return exitOK
		}
		fmt.Fprintf(stderr, "tufup-repo %s: %v\n\n%s", cmd.name, err, usage())
		return exitUsage
	}
	c := &cli{dir: *dir, stdout: stdout, stderr: stderr}
	if err := action(c, fs.Args()); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "tufup-repo %s: %v\n\n%s", cmd.name, err, usage())
			return exitUsage
		}
		fmt.Fprintf(stderr, "tufup-repo %s: %v\n", cmd.name, err)
		if errors.Is(err, repo.ErrNoRepository) {
			fmt.Fprintf(stderr, "Create one here with \"tufup-repo init --app-name NAME\", or run in the repository's folder with \"tufup-repo -C DIR %s ...\".\n", cmd.name)
		}
		return exitError
	}
	return exitOK
}

func wantArgs(args []string, n int, names string) error {
	if len(args) != n {
		return usagef("want %s, got %d argument(s)", names, len(args))
	}
	return nil
}
