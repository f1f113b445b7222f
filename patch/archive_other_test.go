//go:build !unix

package patch

import (
	"testing"
	"time"
)

// setLinkTime does nothing where the tests make no symbolic links.
func setLinkTime(testing.TB, string, time.Time) {}
