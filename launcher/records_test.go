package launcher_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tufup-go/tufup/launcher"
	"github.com/tufup-go/tufup/launcher/lifecycle"
)

// An install made by an older launcher (held_back and probation in
// state.json) keeps its history: held versions stay held, the version on
// probation keeps its counts, and --rollback goes to the known-good one.
func TestOlderStateIsCarriedOver(t *testing.T) {
	p := newPublisher(t)
	dir := p.installDir()
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		if err := os.MkdirAll(filepath.Join(dir, "versions", v), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "versions", v, "myapp"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "current"), []byte("1.1.0\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, ".tufup"), 0o755)
	old := `{"held_back": {"1.2.0": "failed probation: 2 of 2 starts failed (last exit code 3)"},
		"probation": {"version": "1.1.0", "previous": "1.0.0", "starts": 1, "failures": 1, "running": 1}}`
	if err := os.WriteFile(filepath.Join(dir, ".tufup", "state.json"), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := launcher.Open(launcher.Options{ConfigDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	st, err := l.Status()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(st.HeldBack["1.2.0"], "failed probation") {
		t.Errorf("held back: %v", st.HeldBack)
	}
	if pr := st.Probation; pr == nil || pr.Version != "1.1.0" || pr.Starts != 1 || pr.Failures != 1 || pr.Previous != "1.0.0" {
		t.Errorf("probation: %+v", pr)
	}
	to, err := l.Rollback(context.Background())
	if err != nil || to != "1.0.0" {
		t.Fatalf("rollback: %q %v; want 1.0.0", to, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, ".tufup", "versions.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rec lifecycle.Records
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	want := map[string]lifecycle.Phase{"1.0.0": lifecycle.Good, "1.1.0": lifecycle.Held, "1.2.0": lifecycle.Held}
	for v, ph := range want {
		if r := rec.Versions[v]; r == nil || r.Phase != ph {
			t.Errorf("%s: %+v, want %s", v, r, ph)
		}
	}
}
