package fetch_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/fetch/fetchtest"
)

// An installer's seed: targets metadata checked against the shipped root
// alone, its targets sorted by name, unusable paths left out.
func TestOfflineTargets(t *testing.T) {
	repo := fetchtest.New(t, false)
	repo.AddTarget("z-1.0.tar.gz", []byte("zed"))
	repo.AddTarget("a/b.txt", []byte("nested"))
	repo.AddTarget("a/../evil", []byte("outside"))
	repo.Publish()
	md, err := os.ReadFile(filepath.Join(repo.MetadataDir(), "targets.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := fetch.OfflineTargets(repo.TrustedRoot(), md)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ti := range got {
		names = append(names, ti.Name)
	}
	if want := []string{"a/b.txt", "z-1.0.tar.gz"}; !slices.Equal(names, want) {
		t.Errorf("targets %q, want %q", names, want)
	}

	other := fetchtest.New(t, false)
	changed := bytes.Replace(md, []byte(`"length": 3`), []byte(`"length": 4`), 1)
	if bytes.Equal(changed, md) {
		t.Fatal("no length 3 in targets.json to change")
	}
	for what, c := range map[string]struct {
		root, targets []byte
		msg           string
	}{
		"another repository's root": {other.TrustedRoot(), md, "not signed by the trusted root"},
		"changed after signing":     {repo.TrustedRoot(), changed, "not signed by the trusted root"},
		"root not metadata":         {[]byte("{}"), md, "trusted root"},
		"targets not metadata":      {repo.TrustedRoot(), []byte("<html>"), "targets metadata"},
	} {
		if _, err := fetch.OfflineTargets(c.root, c.targets); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err = %v, want one saying %q", what, err, c.msg)
		}
	}
}
