package launcher

import (
	"os"
	"runtime/coverage"
)

// flushCoverage writes the coverage counters of a launcher built with
// -cover (the end-to-end tests' coverage runs) before it replaces itself
// with the app: exec skips the exit hooks that would write them. Elsewhere
// GOCOVERDIR is unset or the binary is not instrumented, and it does nothing.
func flushCoverage() {
	dir := os.Getenv("GOCOVERDIR")
	if dir == "" {
		return
	}
	if coverage.WriteMetaDir(dir) == nil {
		coverage.WriteCountersDir(dir)
	}
}
