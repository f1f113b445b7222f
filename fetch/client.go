package fetch

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/trustedmetadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"
)

// Defaults for zero Options fields.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultIdleTimeout    = 30 * time.Second
	DefaultRetries        = 2
	DefaultUserAgent      = "tufup-go"
)

// Options configures a Client. Only MetadataURL and MetadataDir are required.
type Options struct {
	// MetadataURL and TargetsURL are the repository's metadata and targets
	// folders: http://, https:// or file:// (a share or a USB stick), without
	// a query. TargetsURL is needed only to download.
	MetadataURL, TargetsURL string
	// MetadataDir is go-tuf's metadata cache: unversioned root.json,
	// timestamp.json, snapshot.json, targets.json.
	MetadataDir string
	// TrustedRoot is the root.json shipped with the app. MetadataDir/root.json
	// is used instead when it is valid and not older (roots only move
	// forward); a corrupt cached root falls back to this one.
	TrustedRoot []byte
	// UserAgent is sent on every request (DefaultUserAgent when empty).
	UserAgent string
	// Headers are sent with requests to the origins (scheme, host, port)
	// of MetadataURL and TargetsURL (an auth token, say), never to a server
	// a redirect leads elsewhere; a redirect from https to http is refused
	// (*RedirectError). Their values never appear in logs or errors.
	Headers map[string]string
	// ConnectTimeout bounds connecting (TCP and TLS). IdleTimeout bounds
	// waiting for data: a request whose answer has not started
	// ConnectTimeout+IdleTimeout after it was sent, or a transfer that
	// receives less than 1 KiB during IdleTimeout of waiting (a server
	// trickling a byte a second), fails with a *StallError and may be
	// retried. Only time spent waiting on the network counts. file:// reads
	// have no idle bound (the OS gives none).
	ConnectTimeout, IdleTimeout time.Duration
	// Retries is how many more times a request is tried after a network
	// error, a 5xx or a 429 answer (never after another 4xx), with growing
	// waits, never shorter than the server's Retry-After and never outlasting
	// the context's deadline. A download try that got further than every
	// earlier one does not count. 0 means DefaultRetries, negative none (and
	// no retry at all, progress or not).
	Retries int
	// Logger receives a line per refresh and per downloaded file, and
	// warnings (retries, discarded caches). Nil discards.
	Logger *slog.Logger
	// Progress, when set, is called during downloads (at most every 100 ms,
	// from the downloading goroutine), always with a final call where
	// Done == Total when the bytes are all there.
	Progress func(Progress)
	// RefTime replaces the current time when checking metadata expiry
	// (tests, and the conformance client under libfaketime). Zero: now.
	RefTime time.Time
	// Proxy chooses a proxy per request; nil means http.ProxyFromEnvironment
	// (HTTPS_PROXY, HTTP_PROXY, NO_PROXY).
	Proxy func(*http.Request) (*url.URL, error)
}

// Progress reports a download in flight.
type Progress struct {
	Target      string
	Done, Total int64
}

// TargetInfo is a target as signed in the repository's targets metadata.
type TargetInfo struct {
	Name   string            // the TUF target path, e.g. "myapp-1.2.0.tar.gz"
	Length int64             // exact size in bytes
	Hashes map[string]string // algorithm -> lowercase hex digest
	Custom json.RawMessage   // the target's "custom" object, nil when absent
}

// Client refreshes a TUF repository's metadata and downloads its targets.
// Its methods may be called from several goroutines (Refresh and target
// lookups are serialized), but Downloads to the same file must not overlap:
// across processes, that is the caller's lock's job.
type Client struct {
	opts Options
	log  *slog.Logger
	t    *transport

	mu         sync.Mutex
	up         *updater.Updater
	fetcher    *boundFetcher
	targets    []TargetInfo
	consistent bool // the trusted root's consistent_snapshot
}

// New checks opts and returns a Client. It does no I/O.
func New(opts Options) (*Client, error) {
	if opts.MetadataURL == "" {
		return nil, errors.New("fetch: Options.MetadataURL is empty")
	}
	if opts.MetadataDir == "" {
		return nil, errors.New("fetch: Options.MetadataDir is empty")
	}
	for _, u := range []struct{ name, url string }{{"MetadataURL", opts.MetadataURL}, {"TargetsURL", opts.TargetsURL}} {
		if u.url == "" {
			continue
		}
		p, err := url.Parse(u.url)
		if err != nil {
			return nil, fmt.Errorf("fetch: Options.%s: %w", u.name, err)
		}
		if p.Scheme != "http" && p.Scheme != "https" && p.Scheme != "file" {
			return nil, fmt.Errorf("fetch: Options.%s %s: scheme must be http, https or file", u.name, p.Redacted())
		}
	}
	for k, v := range opts.Headers {
		if k == "" || strings.ContainsAny(k, " \t\r\n:") {
			return nil, fmt.Errorf("fetch: Options.Headers: bad header name %q", k)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			// The value is a secret: name the header only.
			return nil, fmt.Errorf("fetch: Options.Headers: value of %s contains a line break or NUL", k)
		}
	}
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	switch {
	case opts.Retries == 0:
		opts.Retries = DefaultRetries
	case opts.Retries < 0:
		opts.Retries = 0
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Headers = maps.Clone(opts.Headers)
	c := &Client{opts: opts, log: opts.Logger}
	c.t = newTransport(&c.opts)
	return c, nil
}

// Refresh updates the trusted metadata (root, timestamp, snapshot, targets)
// following the TUF client workflow. The context bounds all of it: go-tuf
// has no context of its own, so each request go-tuf makes carries this one.
func (c *Client) Refresh(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	began := time.Now()
	c.up, c.targets = nil, nil
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("refresh TUF metadata: %w", err)
	}
	if err := os.MkdirAll(c.opts.MetadataDir, 0o700); err != nil {
		return fmt.Errorf("refresh TUF metadata: %w", err)
	}
	root, err := c.trustedRoot()
	if err != nil {
		return err
	}
	c.dropUnreadableCache()

	up, f, err := c.refresh(ctx, root)
	if stale(err) && ctx.Err() == nil {
		// A cache between the launcher and the repository (a CDN edge)
		// still has an older copy. Ask once more, past the caches; the
		// trusted root is whatever the first try verified and stored.
		c.log.Warn("the server sent an older copy of a metadata file than expected (a stale cache?); asking again with Cache-Control: no-cache", "err", err)
		if root, err = c.trustedRoot(); err != nil {
			return err
		}
		up, f, err = c.refresh(context.WithValue(ctx, noCacheKey{}, true), root)
		if stale(err) {
			err = fmt.Errorf("%w (a stale copy: the server, or a cache in front of it such as a CDN edge, still serves an older copy of this file than the one announced or already trusted; asked again past caches with Cache-Control: no-cache and got the same; it usually clears within minutes, or purge the CDN's cache)", err)
		}
	}
	if err != nil {
		return err
	}
	trusted := up.GetTrustedMetadataSet()

	c.up, c.fetcher = up, f
	c.consistent = trusted.Root.Signed.ConsistentSnapshot
	c.targets = c.targets[:0]
	for name, tf := range up.GetTopLevelTargets() {
		c.targets = append(c.targets, targetInfo(name, tf))
	}
	slices.SortFunc(c.targets, func(a, b TargetInfo) int { return strings.Compare(a.Name, b.Name) })
	c.log.Info("TUF metadata refreshed", "url", redact(c.opts.MetadataURL),
		"root", trusted.Root.Signed.Version, "timestamp", trusted.Timestamp.Signed.Version,
		"targets_version", trusted.Targets[metadata.TARGETS].Signed.Version,
		"targets", len(c.targets), "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// refresh is one run of go-tuf's client workflow from root.
func (c *Client) refresh(ctx context.Context, root []byte) (*updater.Updater, *boundFetcher, error) {
	cfg, err := config.New(c.opts.MetadataURL, root)
	if err != nil {
		return nil, nil, fmt.Errorf("refresh TUF metadata: %w", err)
	}
	cfg.LocalMetadataDir = c.opts.MetadataDir
	// go-tuf insists on a targets folder; it stays unused because targets are
	// downloaded by Download, streamed, not by go-tuf in memory.
	cfg.LocalTargetsDir = c.opts.MetadataDir
	cfg.RemoteTargetsURL = c.opts.TargetsURL
	f := &boundFetcher{t: c.t}
	cfg.Fetcher = f
	up, err := updater.New(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("load trusted root: %w", err)
	}
	if !c.opts.RefTime.IsZero() {
		up.UnsafeSetRefTime(c.opts.RefTime)
	}
	if err := f.with(ctx, up.Refresh); err != nil {
		return nil, nil, fmt.Errorf("refresh TUF metadata from %s: %w", redact(c.opts.MetadataURL), f.name(err))
	}
	return up, f, nil
}

// stale reports metadata older than announced or already trusted, or not
// matching the hash its parent lists: what a cache with an old copy serves.
func stale(err error) bool {
	return errors.Is(err, &metadata.ErrBadVersionNumber{}) || errors.Is(err, &metadata.ErrLengthOrHashMismatch{})
}

// Targets lists the top-level targets after a successful Refresh, sorted
// by name; nil before one and after a failed one.
func (c *Client) Targets() []TargetInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.targets)
}

// Target looks name up after a Refresh, following delegations (which may
// fetch delegated targets metadata, bounded by ctx).
func (c *Client) Target(ctx context.Context, name string) (TargetInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.up == nil {
		return TargetInfo{}, fmt.Errorf("look up target %q: no successful Refresh", name)
	}
	var tf *metadata.TargetFiles
	err := c.fetcher.with(ctx, func() error {
		var err error
		tf, err = c.up.GetTargetInfo(name)
		return err
	})
	if err != nil {
		return TargetInfo{}, fmt.Errorf("look up target %q: %w", name, err)
	}
	return targetInfo(name, tf), nil
}

func targetInfo(name string, tf *metadata.TargetFiles) TargetInfo {
	ti := TargetInfo{Name: name, Length: tf.Length, Hashes: make(map[string]string, len(tf.Hashes))}
	for alg, h := range tf.Hashes {
		ti.Hashes[alg] = hex.EncodeToString(h)
	}
	if tf.Custom != nil {
		ti.Custom = slices.Clone(*tf.Custom)
	}
	return ti
}

// trustedRoot picks the root to start from: the cached one when it is valid
// and at least as new as the shipped one, else the shipped one. A cached
// root was verified link by link when it was stored; the shipped root wins
// when it is newer (an app update that ships a rotated root).
func (c *Client) trustedRoot() ([]byte, error) {
	path := filepath.Join(c.opts.MetadataDir, "root.json")
	var cached, shipped *metadata.Metadata[metadata.RootType]
	cachedData, err := os.ReadFile(path)
	switch {
	case err == nil:
		if cached, err = parseRoot(cachedData); err != nil {
			c.log.Warn("cached root metadata is unusable; starting from the shipped root", "file", path, "err", err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		c.log.Warn("cannot read cached root metadata; starting from the shipped root", "file", path, "err", err)
	}
	if len(c.opts.TrustedRoot) > 0 {
		if shipped, err = parseRoot(c.opts.TrustedRoot); err != nil {
			if cached == nil {
				return nil, fmt.Errorf("shipped trusted root: %w", err)
			}
			c.log.Error("shipped trusted root is unusable; using the cached root", "err", err)
		}
	}
	switch {
	case cached != nil && (shipped == nil || cached.Signed.Version >= shipped.Signed.Version):
		return cachedData, nil
	case shipped != nil:
		return c.opts.TrustedRoot, nil
	default:
		return nil, fmt.Errorf("no trusted root: %s is missing or unusable and no root was shipped", path)
	}
}

func parseRoot(data []byte) (*metadata.Metadata[metadata.RootType], error) {
	tm, err := trustedmetadata.New(data)
	if err != nil {
		return nil, err
	}
	return tm.Root, nil
}

// dropUnreadableCache removes cached timestamp, snapshot and targets files
// that do not even parse as their role (a crash mid-write, a disk error).
// go-tuf re-downloads metadata that is merely invalid, but stops with an
// error on metadata it cannot parse, which would fail every later Refresh.
// Parseable files are kept whatever their state: they are what protects
// against rollback.
func (c *Client) dropUnreadableCache() {
	entries, err := os.ReadDir(c.opts.MetadataDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, ".json") || name == "root.json" {
			continue
		}
		path := filepath.Join(c.opts.MetadataDir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		switch name {
		case "timestamp.json":
			_, err = metadata.Timestamp().FromBytes(data)
		case "snapshot.json":
			_, err = metadata.Snapshot().FromBytes(data)
		default: // targets.json and delegated targets roles
			_, err = metadata.Targets().FromBytes(data)
		}
		if err != nil {
			c.log.Warn("removing unreadable cached metadata", "file", path, "err", err)
			if err := os.Remove(path); err != nil {
				c.log.Warn("cannot remove unreadable cached metadata", "file", path, "err", err)
			}
		}
	}
}

// boundFetcher is go-tuf's Fetcher, carrying the context of the call that
// is running go-tuf: go-tuf's API has none, so without this a deadline
// could not stop it.
type boundFetcher struct {
	t    *transport
	ctx  context.Context
	last string // the URL of the last file fetched
	err  error  // the error fetching it, if any
}

// name makes go-tuf's err name the file it is about: go-tuf's checks of a
// file it fetched (signatures, versions, expiry) do not say which file.
func (f *boundFetcher) name(err error) error {
	if f.last == "" || f.err != nil {
		return err // nothing fetched, or fetching failed: the error names the URL
	}
	return fmt.Errorf("%s (%s): %w", path.Base(f.last), f.last, err)
}

func (f *boundFetcher) with(ctx context.Context, run func() error) error {
	f.ctx = ctx
	defer func() { f.ctx = nil }()
	return run()
}

// DownloadFile implements go-tuf's fetcher.Fetcher.
func (f *boundFetcher) DownloadFile(urlPath string, maxLength int64, _ time.Duration) ([]byte, error) {
	if f.ctx == nil {
		return nil, fmt.Errorf("fetch %s: metadata fetched outside Refresh or Target", redact(urlPath))
	}
	f.last = redact(urlPath)
	var data []byte
	data, f.err = f.t.fetchBytes(f.ctx, urlPath, maxLength)
	return data, rootWalkEnd(urlPath, f.err)
}
