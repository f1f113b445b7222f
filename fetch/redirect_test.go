package fetch_test

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/fetch/fetchtest"
)

// secrets are the configured headers of TestHeadersStayWithTheirOrigins:
// the names Go's redirect policy strips by itself and names it knows nothing
// of.
var secrets = map[string]string{
	"Authorization": "Bearer secret-authorization",
	"Cookie":        "session=secret-cookie",
	"X-Api-Key":     "secret-api-key",
	"PRIVATE-TOKEN": "secret-private-token",
}

// Every server records every header it received; after each kind of
// redirect, no server other than the origins of MetadataURL (https) and
// TargetsURL (http) may have seen any configured header, and a redirect
// from https to http is refused before anything is sent.
func TestHeadersStayWithTheirOrigins(t *testing.T) {
	repo := fetchtest.New(t, false)
	repo.AddTarget("app-1.0.0.tar.gz", []byte(strings.Repeat("app", 10_000)))
	repo.Publish()
	meta := fetchtest.NewTLSServer(t, repo.Dir)     // MetadataURL's origin
	tgt := fetchtest.NewServer(t, repo.Dir)         // TargetsURL's origin
	other := fetchtest.NewServer(t, repo.Dir)       // same host, other port
	otherTLS := fetchtest.NewTLSServer(t, repo.Dir) // https, other port
	// The targets server under another host name: same port, other origin.
	byName := strings.Replace(tgt.URL, "127.0.0.1", "localhost", 1)
	servers := []*fetchtest.Server{meta, tgt, other, otherTLS}
	configured := map[string]bool{meta.URL: true, tgt.URL: true}

	pool := x509.NewCertPool()
	pool.AddCert(meta.Certificate())
	pool.AddCert(otherTLS.Certificate())
	client := func() *fetch.Client {
		o := options(t, repo, meta.URL)
		o.TargetsURL = tgt.URL + "/targets"
		o.Headers = secrets
		c := newClient(t, o)
		fetch.TrustForTest(c, pool)
		return c
	}
	const app = "/targets/app-1.0.0.tar.gz"
	hasAll := func(r fetchtest.Request) bool {
		for k, v := range secrets {
			if r.Header.Get(k) != v {
				return false
			}
		}
		return true
	}
	hasAny := func(r fetchtest.Request) bool {
		for k := range secrets {
			if r.Header.Get(k) != "" {
				return true
			}
		}
		return false
	}

	// before counts each server's requests before the running case: its
	// checks look at that case's requests only.
	before := map[*fetchtest.Server]int{}
	since := func(s *fetchtest.Server, suffix string) []fetchtest.Request {
		var out []fetchtest.Request
		for _, r := range s.Requests()[before[s]:] {
			if strings.HasSuffix(r.Path, suffix) {
				out = append(out, r)
			}
		}
		return out
	}

	cases := []struct {
		name   string
		faults func()
		refuse bool // the redirect must be refused
		check  func(t *testing.T)
	}{{
		name: "same origin",
		faults: func() {
			tgt.Misbehave(app, 1, fetchtest.Redirect(tgt.URL))
		},
		check: func(t *testing.T) {
			if reqs := since(tgt, app); len(reqs) != 2 || !hasAll(reqs[0]) || !hasAll(reqs[1]) {
				t.Errorf("requests to the origin %+v: want 2, both with every configured header", reqs)
			}
		},
	}, {
		name:   "other port",
		faults: func() { tgt.Misbehave(app, 1, fetchtest.Redirect(other.URL)) },
		check: func(t *testing.T) {
			if len(since(other, app)) != 1 {
				t.Errorf("the redirect was not followed: %+v", since(other, ""))
			}
		},
	}, {
		name:   "other host name",
		faults: func() { tgt.Misbehave(app, 1, fetchtest.Redirect(byName)) },
		check: func(t *testing.T) {
			reqs := since(tgt, app)
			if len(reqs) != 2 || reqs[1].Origin != byName {
				t.Errorf("requests %+v, want the second one to %s", reqs, byName)
			}
		},
	}, {
		name:   "https to http elsewhere",
		faults: func() { meta.Misbehave("timestamp.json", 1, fetchtest.Redirect(other.URL)) },
		refuse: true,
	}, {
		name:   "https to the http origin",
		faults: func() { meta.Misbehave("timestamp.json", 1, fetchtest.Redirect(tgt.URL)) },
		refuse: true,
	}, {
		name:   "https to other https",
		faults: func() { meta.Misbehave("timestamp.json", 1, fetchtest.Redirect(otherTLS.URL)) },
		check: func(t *testing.T) {
			if len(since(otherTLS, "timestamp.json")) != 1 {
				t.Errorf("the redirect was not followed: %+v", since(otherTLS, ""))
			}
		},
	}, {
		name:   "http origin to https origin",
		faults: func() { tgt.Misbehave(app, 1, fetchtest.Redirect(meta.URL)) },
		check: func(t *testing.T) {
			if reqs := since(meta, app); len(reqs) != 1 || !hasAll(reqs[0]) {
				t.Errorf("requests %+v: headers must follow between configured origins", reqs)
			}
		},
	}, {
		name: "chain back to the origin",
		faults: func() {
			tgt.Misbehave(app, 1, fetchtest.Redirect(other.URL))
			other.Misbehave(app, 1, fetchtest.Redirect(byName))
			tgt.Misbehave(app, 1, fetchtest.Redirect(tgt.URL))
		},
		check: func(t *testing.T) {
			reqs := since(tgt, app)
			if len(reqs) != 3 || !hasAll(reqs[0]) {
				t.Fatalf("requests to the targets server %+v, want 3", reqs)
			}
			// Back at the origin, but at a URL a foreign server chose.
			if hasAny(reqs[2]) {
				t.Errorf("configured headers sent again after the chain left the origins: %v", reqs[2].Header)
			}
		},
	}, {
		name: "https chain back to the origin",
		faults: func() {
			meta.Misbehave("timestamp.json", 1, fetchtest.Redirect(otherTLS.URL))
			otherTLS.Misbehave("timestamp.json", 1, fetchtest.Redirect(meta.URL))
		},
		check: func(t *testing.T) {
			if reqs := since(meta, "timestamp.json"); len(reqs) != 2 || hasAny(reqs[1]) {
				t.Errorf("requests %+v, want 2, the second without configured headers", reqs)
			}
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range servers {
				before[s] = len(s.Requests())
			}
			t.Cleanup(func() {
				for _, s := range servers {
					s.Behave()
				}
			})
			tc.faults()
			c := client()
			err := c.Refresh(ctxTimeout(t, 20e9))
			if err == nil {
				_, err = c.Download(context.Background(), target(t, c, "app-1.0.0.tar.gz"), t.TempDir())
			}
			var re *fetch.RedirectError
			switch {
			case tc.refuse && !errors.As(err, &re):
				t.Fatalf("err = %v, want a refused redirect", err)
			case tc.refuse:
				if !strings.Contains(err.Error(), "timestamp.json") || !strings.Contains(err.Error(), "https") {
					t.Errorf("error %q names neither the file nor the https URL", err)
				}
				for _, s := range servers {
					if s != meta && len(since(s, "")) != 0 {
						t.Errorf("%s received the refused redirect: %+v", s.URL, since(s, ""))
					}
				}
			case err != nil:
				t.Fatal(err)
			default:
				tc.check(t)
			}
			for _, s := range servers {
				for _, r := range since(s, "") {
					if configured[r.Origin] {
						continue
					}
					for k := range secrets {
						if v := r.Header.Get(k); v != "" {
							t.Errorf("%s received configured header %s at %s", r.Origin, k, r.Path)
						}
					}
				}
			}
		})
	}
	// Without redirects, every request to the configured origins carried them.
	for _, r := range append(meta.RequestsFor("root.json"), tgt.Requests()[0]) {
		if !hasAll(r) {
			t.Errorf("%s%s lacked configured headers: %v", r.Origin, r.Path, r.Header)
		}
	}
}
