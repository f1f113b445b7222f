// Package testenv lets tests that need something a fresh machine lacks (nginx,
// Wine, the bsdiff CLI, Python's securesystemslib) skip with a message saying
// what is missing, unless TUFUP_TEST_STRICT is set (as .ci/run does), in which
// case the missing tool fails the test so CI always runs every test.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// StrictEnv is the environment variable that turns skips into failures.
const StrictEnv = "TUFUP_TEST_STRICT"

// Missing skips the test, or fails it under TUFUP_TEST_STRICT, saying what is
// missing and how to get it.
func Missing(t testing.TB, what, howToGet string) {
	t.Helper()
	if os.Getenv(StrictEnv) != "" {
		t.Fatalf("%s is missing (%s); %s is set, so this is a failure", what, howToGet, StrictEnv)
	}
	t.Skipf("%s is missing (%s); skipping", what, howToGet)
}

// LookPath returns the path of program, or skips (fails when strict) when it
// is not installed. debPackage names the Debian package that provides it.
func LookPath(t testing.TB, program, debPackage string) string {
	t.Helper()
	p, err := exec.LookPath(program)
	if err != nil {
		Missing(t, program, "apt-get install "+debPackage)
	}
	return p
}
