package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A surviving mutant fails the run unless the list names its file, mutator
// and source line; listed ones are counted and marked seen.
func TestSurvivors(t *testing.T) {
	t.Chdir(t.TempDir())
	os.Mkdir("pkg", 0o755)
	src := "package pkg\n\nfunc f(a int) bool {\n\treturn a < 0 || a > 9\n}\n"
	if err := os.WriteFile(filepath.Join("pkg", "f.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(t.TempDir(), "equivalent.txt")
	os.WriteFile(list, []byte("# comment\n\npkg/f.go | CONDITIONALS_BOUNDARY | return a < 0 || a > 9 | a reason\n"), 0o644)
	known, err := readEquivalent(list)
	if err != nil {
		t.Fatal(err)
	}
	var r result
	json.Unmarshal([]byte(`{"files": [{"file_name": "f.go", "mutations": [
		{"type": "CONDITIONALS_BOUNDARY", "status": "LIVED", "line": 4, "column": 11},
		{"type": "CONDITIONALS_NEGATION", "status": "LIVED", "line": 4, "column": 11},
		{"type": "CONDITIONALS_NEGATION", "status": "KILLED", "line": 4, "column": 20}]}]}`), &r)
	problems, equivalents := survivors(target{name: "pkg", dir: "./pkg"}, r, known)
	if equivalents != 1 || !known[0].seen {
		t.Errorf("%d listed survivors (seen %v), want the listed one", equivalents, known[0].seen)
	}
	if len(problems) != 1 || !strings.Contains(problems[0], "pkg/f.go:4:11: CONDITIONALS_NEGATION survives") {
		t.Errorf("problems %q, want one naming the unlisted survivor", problems)
	}
}

func TestReadEquivalentNeedsAReason(t *testing.T) {
	list := filepath.Join(t.TempDir(), "equivalent.txt")
	os.WriteFile(list, []byte("pkg/f.go | CONDITIONALS_BOUNDARY | return a < 0\n"), 0o644)
	if _, err := readEquivalent(list); err == nil || !strings.Contains(err.Error(), ":1:") {
		t.Fatalf("a line without a reason: %v, want an error naming line 1", err)
	}
}
