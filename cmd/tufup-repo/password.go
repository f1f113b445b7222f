package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// passwordEnv returns the environment variables consulted for a key's
// password, most specific first.
func passwordEnv(keyName string) []string {
	var b strings.Builder
	for _, r := range strings.ToUpper(keyName) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return []string{"TUFUP_KEY_PASSWORD_" + b.String(), "TUFUP_KEY_PASSWORD"}
}

// passwordFromEnv returns the first non-empty password variable: an empty
// one counts as unset, as a key is never encrypted with an empty password.
func passwordFromEnv(keyName string) ([]byte, bool) {
	for _, v := range passwordEnv(keyName) {
		if pw := os.Getenv(v); pw != "" {
			return []byte(pw), true
		}
	}
	return nil, false
}

func stdinIsTerminal() bool { return term.IsTerminal(int(os.Stdin.Fd())) }

func readTerminalPassword(prompt string, stderr io.Writer) ([]byte, error) {
	fmt.Fprint(stderr, prompt)
	pw, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(stderr)
	return pw, err
}

// keyPassword unlocks existing encrypted keys: environment, then terminal.
func keyPassword(stderr io.Writer) func(keyName, path string) ([]byte, error) {
	return func(keyName, path string) ([]byte, error) {
		if pw, ok := passwordFromEnv(keyName); ok {
			return pw, nil
		}
		if !stdinIsTerminal() {
			return nil, fmt.Errorf("key is encrypted: set %s (or %s), or run on a terminal to be asked", passwordEnv(keyName)[0], passwordEnv(keyName)[1])
		}
		return readTerminalPassword(fmt.Sprintf("Password of key %s (%s): ", keyName, path), stderr)
	}
}

// newKeyPassword sets the password of a key being created: environment, or
// asked twice on a terminal.
func newKeyPassword(stderr io.Writer) func(keyName string) ([]byte, error) {
	return func(keyName string) ([]byte, error) {
		if pw, ok := passwordFromEnv(keyName); ok {
			return pw, nil
		}
		if !stdinIsTerminal() {
			return nil, fmt.Errorf("set %s (or %s) to the new key's password, or run on a terminal to be asked", passwordEnv(keyName)[0], passwordEnv(keyName)[1])
		}
		pw, err := readTerminalPassword(fmt.Sprintf("New password for key %s: ", keyName), stderr)
		if err != nil {
			return nil, err
		}
		again, err := readTerminalPassword(fmt.Sprintf("Repeat the password for key %s: ", keyName), stderr)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(pw, again) {
			return nil, errors.New("the passwords differ")
		}
		return pw, nil
	}
}
