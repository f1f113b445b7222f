package fetch_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufup-go/tufup/fetch/fetchtest"
)

// A private S3 bucket answers 403 for keys that do not exist: the root walk
// must end there as at a 404, through a rotation too, while a 403 for
// metadata the client needs still fails the refresh.
func TestRootWalkEndsAt403(t *testing.T) {
	repo := fetchtest.New(t, false)
	repo.AddTarget("app-1.0.0.tar.gz", []byte("one"))
	repo.Publish()
	srv := newServer(t, repo.Dir)
	deny := func(w http.ResponseWriter, r *http.Request) bool {
		if !exists(filepath.Join(repo.Dir, filepath.FromSlash(r.URL.Path))) {
			http.Error(w, "AccessDenied", http.StatusForbidden)
			return true
		}
		return false
	}
	srv.setHook(deny)
	o := options(t, repo, srv.URL)
	c := newClient(t, o)
	refresh(t, c)
	if got := srv.requestsFor("/metadata/2.root.json"); len(got) != 1 || got[0].Status != http.StatusForbidden {
		t.Fatalf("requests for 2.root.json: %+v, want one answered 403", got)
	}

	repo.RotateKeys(metadata.ROOT)
	repo.AddTarget("app-2.0.0.tar.gz", []byte("two"))
	repo.Publish()
	refresh(t, c)
	target(t, c, "app-2.0.0.tar.gz")
	if v := rootVersion(t, filepath.Join(o.MetadataDir, "root.json")); v != 2 {
		t.Errorf("cached root version = %d after the rotation, want 2", v)
	}

	// Access really denied (a wrong token): the refresh fails, naming 403.
	os.Remove(filepath.Join(repo.MetadataDir(), "timestamp.json"))
	err := newClient(t, options(t, repo, srv.URL)).Refresh(context.Background())
	var he *metadata.ErrDownloadHTTP
	if !errors.As(err, &he) || he.StatusCode != http.StatusForbidden || !strings.Contains(err.Error(), "timestamp.json") {
		t.Fatalf("Refresh with timestamp.json denied: err = %v, want a 403 for timestamp.json", err)
	}
}
