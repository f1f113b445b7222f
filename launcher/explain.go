package launcher

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/versions"
)

// explainRefresh turns a failed metadata refresh into a message that says
// what is wrong in the user's terms (a key of launcher.json, the shipped
// root.json, the server) and what to do, keeping the cause wrapped for
// the log and for errors.Is. ctx is the caller's context, checkCtx the one
// bounded by check_timeout.
func (l *Launcher) explainRefresh(ctx, checkCtx context.Context, err error) error {
	url := l.cfg.MetadataURL
	var unsigned *metadata.ErrUnsignedMetadata
	var httpErr *metadata.ErrDownloadHTTP
	switch {
	case ctx.Err() == nil && errors.Is(checkCtx.Err(), context.DeadlineExceeded) && errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("the server at %s did not answer within check_timeout (%s): check that it is up and reachable from here, or raise \"check_timeout\" in %s: %w",
			url, time.Duration(l.cfg.CheckTimeout), ConfigFile, err)
	case errors.As(err, &unsigned) && (strings.Contains(unsigned.Msg, "timestamp") || strings.Contains(unsigned.Msg, "root")):
		// The first roles checked against the trusted root's keys: a
		// mismatch here is nearly always a root.json shipped from another
		// repository, or a metadata_url pointing at one.
		return fmt.Errorf("the metadata at %s is not signed by the keys of the trusted root (%s): that root.json belongs to another repository, or \"metadata_url\" in %s points at another repository (or the metadata there was tampered with); ship this repository's metadata/root.json with the launcher, or correct \"metadata_url\": %w",
			url, filepath.Join(l.opts.ConfigDir, RootFile), ConfigFile, err)
	case errors.As(err, &unsigned):
		return fmt.Errorf("the metadata at %s is not signed to threshold by the keys its root lists: the repository is damaged or was tampered with; its publisher can find the fault with \"tufup-repo verify\": %w", url, err)
	case errors.As(err, &httpErr) && httpErr.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%s was not found (404): \"metadata_url\" in %s must be the URL of the repository's metadata/ folder, the one holding timestamp.json and root.json (such as https://example.com/myapp/metadata/): %w",
			httpErr.URL, ConfigFile, err)
	}
	return fmt.Errorf("check for updates at %s: %w", url, err)
}

// checkAppListed fails when the repository lists no release of the
// configured app, naming the apps it does list: otherwise a wrong
// app_name would look like "up to date" forever.
func checkAppListed(app, metadataURL string, targets []fetch.TargetInfo) error {
	var apps []string
	var platforms []string // of app, none of them this launcher's
	for _, t := range targets {
		parsed, err := versions.ParseTarget(t.Name)
		if err != nil {
			continue
		}
		p, ours := versions.PlatformOf(app, parsed.App)
		if ours && slices.Contains(versions.Fallbacks(runtime.GOOS, runtime.GOARCH), p) {
			return nil
		}
		if ours && !slices.Contains(platforms, p.String()) {
			platforms = append(platforms, p.String())
		}
		if !slices.Contains(apps, parsed.App) {
			apps = append(apps, parsed.App)
		}
	}
	if len(platforms) > 0 {
		slices.Sort(platforms)
		return fmt.Errorf("the repository at %s lists releases of app %q only for %s, none for %s/%s: publish one (tufup-repo add VERSION BUNDLE_DIR --os %s --arch %s)",
			metadataURL, app, strings.Join(platforms, ", "), runtime.GOOS, runtime.GOARCH, runtime.GOOS, runtime.GOARCH)
	}
	if len(apps) == 0 {
		return fmt.Errorf("the repository at %s lists no release of app %q, nor of any other app: publish one (tufup-repo add VERSION BUNDLE_DIR)", metadataURL, app)
	}
	slices.Sort(apps)
	return fmt.Errorf("the repository at %s lists no release of app %q (key \"app_name\" in %s); it lists releases of: %s. Correct \"app_name\"",
		metadataURL, app, ConfigFile, strings.Join(apps, ", "))
}
