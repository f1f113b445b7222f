package patch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A size limit of zero is a limit, not an error: an empty stream extracts
// to an empty folder. Only a negative limit is refused.
func TestExtractZeroLimit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "x")
	if err := Extract(context.Background(), strings.NewReader(""), dir, 0); err != nil {
		t.Fatalf("Extract of an empty stream with limit 0: %v", err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Fatalf("extracted folder: %v, %v; want it empty", entries, err)
	}
	err := Extract(context.Background(), strings.NewReader(""), filepath.Join(t.TempDir(), "y"), -1)
	if err == nil || !strings.Contains(err.Error(), "negative size limit") {
		t.Fatalf("Extract with limit -1: %v, want a negative size limit error", err)
	}
}
