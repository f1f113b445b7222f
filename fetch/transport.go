package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// stallBytes is how much a transfer must receive per IdleTimeout of waiting.
// Counting bytes rather than waiting for any byte at all is what stops a
// server that trickles one byte a second from holding the launcher forever.
const stallBytes = 1 << 10

// Backoff between retries: doubled after each, with jitter, capped.
const (
	firstBackoff = 250 * time.Millisecond
	maxBackoff   = 4 * time.Second
	// maxRetryAfter is the longest Retry-After honoured when the context
	// sets no deadline (a first install): a server asking for more is
	// taken as refusing for now.
	maxRetryAfter = 2 * time.Minute
)

// transport performs single GETs over http(s):// and file:// and knows which
// failures deserve another try. It never logs header values.
type transport struct {
	client    *http.Client
	userAgent string
	headers   map[string]string
	origins   map[string]bool // where headers may go: MetadataURL's and TargetsURL's
	connect   time.Duration
	idle      time.Duration
	retries   int
	log       *slog.Logger
}

func newTransport(o *Options) *transport {
	proxy := o.Proxy
	if proxy == nil {
		proxy = http.ProxyFromEnvironment
	}
	dialer := &net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second}
	rt := &http.Transport{
		Proxy:               proxy,
		DialContext:         dialer.DialContext,
		TLSHandshakeTimeout: o.ConnectTimeout,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		// Byte offsets in Range requests and lengths in signed metadata refer
		// to the file as stored; transparent gzip would change both.
		DisableCompression: true,
	}
	t := &transport{
		userAgent: o.UserAgent,
		headers:   o.Headers,
		origins:   map[string]bool{},
		connect:   o.ConnectTimeout,
		idle:      o.IdleTimeout,
		retries:   o.Retries,
		log:       o.Logger,
	}
	for _, raw := range []string{o.MetadataURL, o.TargetsURL} {
		if u, err := url.Parse(raw); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			t.origins[origin(u)] = true
		}
	}
	t.client = &http.Client{Transport: rt, CheckRedirect: t.checkRedirect}
	return t
}

// maxRedirects bounds a chain of redirects, as Go's default policy does.
const maxRedirects = 10

// RedirectError reports a redirect the launcher refuses to follow: from
// https to plain http (which would expose the request, and any configured
// header, to anyone on the path), or one chain too many.
type RedirectError struct {
	From, To string // redacted URLs
	Msg      string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("%s redirected to %s: %s", e.From, e.To, e.Msg)
}

// checkRedirect is the client's redirect policy. Configured headers hold
// secrets meant for the repository's own servers, so they go along only
// while every hop of the chain is an origin (scheme, host and port) of
// MetadataURL or TargetsURL; once a chain has left those, even a redirect
// back does not bring them again (the foreign server chose that URL). Go's
// own policy is not enough: it strips only Authorization, Cookie and
// WWW-Authenticate, and compares host names without port or scheme.
func (t *transport) checkRedirect(req *http.Request, via []*http.Request) error {
	prev := via[len(via)-1]
	if len(via) >= maxRedirects {
		return &RedirectError{From: prev.URL.Redacted(), To: req.URL.Redacted(), Msg: fmt.Sprintf("stopped after %d redirects", maxRedirects)}
	}
	if prev.URL.Scheme == "https" && req.URL.Scheme != "https" {
		return &RedirectError{From: prev.URL.Redacted(), To: req.URL.Redacted(), Msg: "refusing to leave https for an insecure URL"}
	}
	trusted := t.origins[origin(req.URL)]
	for _, r := range via {
		trusted = trusted && t.origins[origin(r.URL)]
	}
	for k, v := range t.headers {
		if trusted {
			req.Header.Set(k, v)
		} else {
			req.Header.Del(k)
		}
	}
	if !trusted && len(t.headers) > 0 {
		t.log.Debug("redirected to another origin; configured headers not sent", "url", req.URL.Redacted())
	}
	return nil
}

// origin is a URL's scheme, host and port, the port spelled out even when
// it is the scheme's default, so that equal origins compare equal.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// noCacheKey marks a context whose requests ask caches on the way to
// revalidate (Cache-Control: no-cache): a retry after a stale copy.
type noCacheKey struct{}

// body is an open response positioned at byte start of the resource.
type body struct {
	io.ReadCloser
	start  int64 // offset of the first byte of this body in the resource
	size   int64 // size of the whole resource, -1 when unknown
	length int64 // bytes this body claims to hold, -1 when unknown
	header http.Header
}

// StatusError is an HTTP answer other than 200 or 206. It unwraps to
// go-tuf's *metadata.ErrDownloadHTTP, whose 404 ends go-tuf's root walk.
type StatusError struct {
	Status     int
	URL        string
	RetryAfter time.Duration // the server's Retry-After (429, 503), 0 when none
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s: the server answered %d %s", e.URL, e.Status, http.StatusText(e.Status))
	switch {
	case e.Status == http.StatusTooManyRequests && e.RetryAfter > 0:
		msg += fmt.Sprintf(" (rate limited: asked to retry after %s)", e.RetryAfter)
	case e.Status == http.StatusTooManyRequests:
		msg += " (rate limited)"
	case e.RetryAfter > 0:
		msg += fmt.Sprintf(" (asked to retry after %s)", e.RetryAfter)
	}
	return msg
}

func (e *StatusError) Unwrap() error {
	return &metadata.ErrDownloadHTTP{StatusCode: e.Status, URL: e.URL}
}

// RateLimited reports whether err is a server asking the client to slow
// down (429, or 503 with Retry-After): asking it for something else, or
// more, is the wrong answer.
func RateLimited(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && (se.Status == http.StatusTooManyRequests || (se.Status == http.StatusServiceUnavailable && se.RetryAfter > 0))
}

// parseRetryAfter reads Retry-After: delta-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32); err == nil {
		return time.Duration(max(n, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// UnexpectedAnswerError reports a 200 answer that cannot be the file asked
// for: an HTML page (a captive portal, or a host's "not found" page served
// with 200), or data compressed on the fly. Nothing of it is kept; a
// partial download stays as it was, for a later try.
type UnexpectedAnswerError struct {
	URL  string
	Msg  string
	HTML bool
}

func (e *UnexpectedAnswerError) Error() string { return e.URL + ": " + e.Msg }

// htmlMsg is what an HTML page instead of a file most likely means.
const htmlMsg = "the server answered with an HTML page: a captive portal or a missing file?"

// checkAnswer refuses an answer compressed on the fly, or an HTML page
// (by its Content-Type) where the file asked for is not one.
func checkAnswer(shown string, h http.Header, wantHTML bool) error {
	if enc := h.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		return &UnexpectedAnswerError{URL: shown, Msg: fmt.Sprintf("the server compressed its answer on the fly (Content-Encoding: %s), which changes the signed bytes; serve the file as stored", enc)}
	}
	ctype, _, _ := strings.Cut(h.Get("Content-Type"), ";")
	ctype = strings.ToLower(strings.TrimSpace(ctype))
	if !wantHTML && (ctype == "text/html" || ctype == "application/xhtml+xml") {
		return &UnexpectedAnswerError{URL: shown, Msg: htmlMsg, HTML: true}
	}
	return nil
}

// checkJSON refuses metadata that is an HTML page or gzip data, judged by
// its bytes (a mislabelled but proper JSON file passes), or compressed on
// the fly.
func checkJSON(shown string, h http.Header, data []byte) error {
	if err := checkAnswer(shown, h, true); err != nil {
		return err
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case len(trimmed) > 0 && trimmed[0] == '<':
		return &UnexpectedAnswerError{URL: shown, Msg: htmlMsg, HTML: true}
	case len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b:
		return &UnexpectedAnswerError{URL: shown, Msg: "the server sent gzip-compressed data where JSON was expected"}
	}
	return nil
}

// netError marks failures of the network (connection refused or cut, stalls,
// truncated bodies): these, and 5xx answers, are the only ones retried.
type netError struct{ err error }

func (e *netError) Error() string { return e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

// StallError reports a transfer that received less than 1 KiB during
// IdleTimeout of waiting (including a server that never answers).
type StallError struct {
	URL  string
	Idle time.Duration
}

func (e *StallError) Error() string {
	return fmt.Sprintf("%s: stalled: less than %d bytes received in %s (idle_timeout)", e.URL, stallBytes, e.Idle)
}

// retryable reports whether err is worth another attempt. Failures to
// connect at all (refused, unreachable, unknown host) are not: they mean
// the machine is offline or the server is down, a retry a moment later
// rarely helps, and the launcher must not hold the app up waiting. An
// interrupted download is resumed at the next start anyway.
func retryable(err error) bool {
	var opErr *net.OpError
	var dnsErr *net.DNSError
	if (errors.As(err, &opErr) && opErr.Op == "dial") || errors.As(err, &dnsErr) {
		return false
	}
	var ne *netError
	if errors.As(err, &ne) {
		return true
	}
	var he *metadata.ErrDownloadHTTP
	return errors.As(err, &he) && (he.StatusCode >= 500 || he.StatusCode == http.StatusTooManyRequests)
}

// retry runs op until it succeeds, fails for good, or the retries or the
// context's time run out. A server's Retry-After is honoured: no retry
// comes sooner. It never sleeps past the context's deadline: a wait that
// cannot end before the deadline returns the last error at once, so the
// caller's time budget holds. progress, when not nil, tells how far op got
// (bytes kept): a try that got further than any before does not count
// against the retries, so a link that drops every few MB still finishes
// while every try brings bytes (the idle guard ends a link that brings none).
func (t *transport) retry(ctx context.Context, what string, progress func() int64, op func() error) error {
	wait := firstBackoff
	var best int64
	if progress != nil {
		best = progress()
	}
	for failures := 1; ; failures++ {
		err := op()
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
		if progress != nil && t.retries > 0 {
			if p := progress(); p > best {
				best, failures, wait = p, 1, firstBackoff
			}
		}
		if failures > t.retries {
			return err
		}
		d := wait/2 + rand.N(wait/2+1)
		var se *StatusError
		if errors.As(err, &se) && se.RetryAfter > 0 {
			d = max(d, se.RetryAfter)
			if _, ok := ctx.Deadline(); !ok && d > maxRetryAfter {
				return err
			}
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
			return err
		}
		t.log.Warn("request failed, retrying", "url", what, "attempt", failures, "retries", t.retries, "wait", d.Round(time.Millisecond), "err", err)
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return err
		}
		wait = min(2*wait, maxBackoff)
	}
}

// open starts one GET of rawURL from byte offset (a Range request when
// offset > 0; the server may answer with the whole file instead, which
// body.start tells). HTTP statuses other than 200/206 come back as
// *metadata.ErrDownloadHTTP, which go-tuf's root walk relies on (404 ends it).
func (t *transport) open(ctx context.Context, rawURL string, offset int64) (*body, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("bad URL %q: %w", redact(rawURL), err)
	}
	switch u.Scheme {
	case "file":
		return openFile(u, offset)
	case "http", "https":
		return t.openHTTP(ctx, u, offset)
	default:
		return nil, fmt.Errorf("unsupported URL scheme %q in %s (want http, https or file)", u.Scheme, u.Redacted())
	}
}

func (t *transport) openHTTP(ctx context.Context, u *url.URL, offset int64) (*body, error) {
	shown := u.Redacted()
	reqCtx, cancel := context.WithCancelCause(ctx)
	stall := &StallError{URL: shown, Idle: t.idle}
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel(nil)
		return nil, fmt.Errorf("GET %s: %w", shown, err)
	}
	if t.userAgent != "" {
		req.Header.Set("User-Agent", t.userAgent)
	}
	if ctx.Value(noCacheKey{}) != nil {
		req.Header.Set("Cache-Control", "no-cache")
		req.Header.Set("Pragma", "no-cache")
	}
	if t.origins[origin(u)] {
		for k, v := range t.headers {
			req.Header.Set(k, v)
		}
	}
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	// The answer must begin within IdleTimeout of connecting (a server that
	// accepts and never answers); the body gets its own windows in stallReader.
	timer := time.AfterFunc(t.connect+t.idle, func() { cancel(stall) })
	resp, err := t.client.Do(req)
	timer.Stop()
	if err != nil {
		cancel(nil)
		return nil, t.wrapNetErr(ctx, reqCtx, shown, err)
	}
	fail := func(err error) (*body, error) {
		resp.Body.Close()
		cancel(nil)
		return nil, err
	}
	b := &body{start: 0, size: -1, length: resp.ContentLength, header: resp.Header}
	switch {
	case resp.StatusCode == http.StatusOK:
		b.size = resp.ContentLength
	case resp.StatusCode == http.StatusPartialContent && offset > 0:
		start, end, size, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil {
			return fail(&resumeError{URL: shown, Msg: err.Error()})
		}
		if start != offset {
			return fail(&resumeError{URL: shown, Msg: fmt.Sprintf("asked for bytes from %d, got a range starting at %d", offset, start)})
		}
		if resp.ContentLength >= 0 && resp.ContentLength != end-start+1 {
			return fail(&resumeError{URL: shown, Msg: fmt.Sprintf("Content-Range %d-%d disagrees with Content-Length %d", start, end, resp.ContentLength)})
		}
		b.start, b.size, b.length = start, size, end-start+1
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && offset > 0:
		return fail(&resumeError{URL: shown, Msg: fmt.Sprintf("the server cannot resume at byte %d (416)", offset)})
	default:
		// Drain a little so the connection can be reused; never much.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return fail(&StatusError{Status: resp.StatusCode, URL: shown, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())})
	}
	b.ReadCloser = &stallReader{
		r: resp.Body, idle: t.idle, stall: stall, cancel: cancel,
		parent: ctx, reqCtx: reqCtx, shown: shown, t: t,
	}
	return b, nil
}

// resumeError reports an answer to a Range request that cannot be appended
// to the bytes already there: a wrong or unparsable Content-Range, or 416.
// The download starts that file again from its first byte.
type resumeError struct{ URL, Msg string }

func (e *resumeError) Error() string { return e.URL + ": cannot resume: " + e.Msg }

// wrapNetErr names the real cause of a failed request: the caller's
// context (final), a stall (retryable) or the network (retryable).
func (t *transport) wrapNetErr(parent, reqCtx context.Context, shown string, err error) error {
	if parent.Err() != nil {
		return fmt.Errorf("GET %s: %w", shown, context.Cause(parent))
	}
	var stall *StallError
	if cause := context.Cause(reqCtx); errors.As(cause, &stall) {
		return &netError{err: stall}
	}
	var redirect *RedirectError
	if errors.As(err, &redirect) {
		return redirect // final: the server will answer the same way again
	}
	// url.Error repeats the URL unredacted; keep only its cause.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &netError{err: fmt.Errorf("GET %s: %w", shown, err)}
}

// stallReader aborts a body that receives less than stallBytes during
// IdleTimeout of waiting. Only time spent inside Read counts, so a slow
// consumer (a busy disk) never looks like a slow server.
type stallReader struct {
	r      io.ReadCloser
	idle   time.Duration
	stall  *StallError
	cancel context.CancelCauseFunc
	parent context.Context
	reqCtx context.Context
	shown  string
	t      *transport

	waited time.Duration // time spent waiting in this window
	got    int64         // bytes received in this window
	timer  *time.Timer
}

func (s *stallReader) Read(p []byte) (int, error) {
	left := s.idle - s.waited
	if s.got >= stallBytes {
		// This window has had its due; only the next one can still stall.
		left += s.idle
	}
	if s.timer == nil {
		s.timer = time.AfterFunc(left, func() { s.cancel(s.stall) })
	} else {
		s.timer.Reset(left)
	}
	began := time.Now()
	n, err := s.r.Read(p)
	s.timer.Stop()
	s.waited += time.Since(began)
	s.got += int64(n)
	for s.waited >= s.idle {
		if s.got < stallBytes && err == nil {
			s.cancel(s.stall)
			return n, &netError{err: s.stall}
		}
		s.waited -= s.idle
		s.got = 0
	}
	if err != nil && err != io.EOF {
		err = s.t.wrapNetErr(s.parent, s.reqCtx, s.shown, err)
	}
	return n, err
}

func (s *stallReader) Close() error {
	if s.timer != nil {
		s.timer.Stop()
	}
	err := s.r.Close()
	s.cancel(nil)
	return err
}

// parseContentRange reads "bytes START-END/SIZE" (SIZE may be "*": -1).
func parseContentRange(v string) (start, end, size int64, err error) {
	bad := func() (int64, int64, int64, error) {
		return 0, 0, 0, fmt.Errorf("bad Content-Range %q", v)
	}
	rest, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return bad()
	}
	rng, total, ok := strings.Cut(rest, "/")
	if !ok {
		return bad()
	}
	s, e, ok := strings.Cut(rng, "-")
	if !ok {
		return bad()
	}
	if start, err = strconv.ParseInt(s, 10, 64); err != nil || start < 0 {
		return bad()
	}
	if end, err = strconv.ParseInt(e, 10, 64); err != nil || end < start {
		return bad()
	}
	size = -1
	if total != "*" {
		if size, err = strconv.ParseInt(total, 10, 64); err != nil || size <= end {
			return bad()
		}
	}
	return start, end, size, nil
}

// openFile serves file:// URLs (a share or a USB stick) with the same
// contract as HTTP: a missing file is a 404 so go-tuf's root walk ends.
func openFile(u *url.URL, offset int64) (*body, error) {
	path, err := fileURLPath(u)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %w", &metadata.ErrDownloadHTTP{StatusCode: http.StatusNotFound, URL: u.Redacted()}, err)
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s is a directory", path)
	}
	b := &body{ReadCloser: f, size: -1, length: -1}
	if fi.Mode().IsRegular() {
		b.size, b.length = fi.Size(), fi.Size()
		if offset > 0 && offset <= fi.Size() {
			if _, err := f.Seek(offset, io.SeekStart); err != nil {
				f.Close()
				return nil, fmt.Errorf("seek %s: %w", path, err)
			}
			b.start, b.length = offset, fi.Size()-offset
		}
	}
	return b, nil
}

// fileURLPath turns file:///dir/x (or file:///C:/dir/x, file://server/share/x
// on Windows) into a local path.
func fileURLPath(u *url.URL) (string, error) {
	p := u.Path
	if u.Host != "" && u.Host != "localhost" {
		if runtime.GOOS != "windows" {
			return "", fmt.Errorf("file URL %s names host %q: only local files are supported here", u.Redacted(), u.Host)
		}
		return `\\` + u.Host + filepath.FromSlash(p), nil
	}
	if runtime.GOOS == "windows" && len(p) >= 3 && p[0] == '/' && p[2] == ':' {
		p = p[1:]
	}
	if p == "" {
		return "", fmt.Errorf("file URL %s has no path", u.Redacted())
	}
	return filepath.FromSlash(p), nil
}

// fetchBytes downloads a whole small file (metadata), reading at most
// maxLength bytes whatever the server claims or sends.
func (t *transport) fetchBytes(ctx context.Context, rawURL string, maxLength int64) ([]byte, error) {
	var data []byte
	shown := redact(rawURL)
	err := t.retry(ctx, shown, nil, func() error {
		b, err := t.open(ctx, rawURL, 0)
		if err != nil {
			return err
		}
		defer b.Close()
		if b.length > maxLength {
			return &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s: server announces %d bytes, more than the limit of %d", redact(rawURL), b.length, maxLength)}
		}
		buf, err := io.ReadAll(io.LimitReader(b, maxLength+1))
		if err != nil {
			return err
		}
		if int64(len(buf)) > maxLength {
			return &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf("%s: more than the limit of %d bytes", redact(rawURL), maxLength)}
		}
		if b.header != nil {
			if err := checkJSON(shown, b.header, buf); err != nil {
				return err
			}
		}
		data = buf
		return nil
	})
	return data, err
}

// redact hides a password in a URL's userinfo for logs and errors.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
