package kit

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// kit builds launchers only from a checkout of this project.
func TestFindModule(t *testing.T) {
	ctx := context.Background()
	root, err := FindModule(ctx, ".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "launcher")); err != nil {
		t.Fatalf("module root %s has no cmd/launcher: %v", root, err)
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := FindModule(ctx, other); err == nil {
		t.Fatal("another module was taken for a checkout of tufup")
	}
}
