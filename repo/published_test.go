package repo

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 14, sequence 10: a version number withdrawn by remove-latest is
// never published again with other bytes (the same bytes may come back);
// releases published before the record existed are covered too.
func TestNoRepublishWithOtherBytes(t *testing.T) {
	r := initRepo(t, Options{}, nil)
	ctx := context.Background()
	for _, v := range []string{"1.0.0", "1.1.0"} {
		if err := r.Add(ctx, v, bundle(v), AddOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// As in a repository made before the record existed.
	if err := os.Remove(filepath.Join(r.dir, PublishedFile)); err != nil {
		t.Fatal(err)
	}
	if err := r.RemoveLatest(); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other")
	copyDir(t, bundle("1.1.0"), other)
	if err := os.WriteFile(filepath.Join(other, "extra.txt"), []byte("a different build"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := r.Add(ctx, "1.1.0", other, AddOptions{})
	if err == nil || !strings.Contains(err.Error(), "version 1.1.0 was published on") || !strings.Contains(err.Error(), "new version number") {
		t.Fatalf("republishing 1.1.0 with other bytes: %v", err)
	}
	if rels, _ := r.Releases(); len(rels) != 1 {
		t.Fatalf("the refused add changed the repository: %+v", rels)
	}
	if err := r.Add(ctx, "1.1.0", bundle("1.1.0"), AddOptions{}); err != nil {
		t.Fatalf("the same bytes again: %v", err)
	}
	if err := r.Add(ctx, "1.1.1", other, AddOptions{}); err != nil {
		t.Fatalf("the other build as a new version: %v", err)
	}
	mustVerify(t, r, nil)
	cfg, err := os.ReadFile(filepath.Join(r.dir, ConfigFile))
	if err != nil || strings.Contains(string(cfg), "published") {
		t.Fatalf("%s gained a key Python tufup would not accept: %s %v", ConfigFile, cfg, err)
	}
}
