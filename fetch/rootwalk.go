package fetch

import (
	"errors"
	"fmt"
	"net/http"
	"path"
	"regexp"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// numberedRoot matches the file names of go-tuf's root walk (2.root.json,
// 3.root.json, ...).
var numberedRoot = regexp.MustCompile(`^[0-9]+\.root\.json$`)

// rootWalkEnd turns a 403 answer for the next N.root.json into the 404 that
// ends go-tuf's root walk. An S3 bucket whose readers may not list it (a
// private bucket, or a public one granting s3:GetObject alone) answers 403
// AccessDenied for a key that does not exist, so without this every check
// against such a bucket fails on the root version that is not there yet.
// Nothing is given away: a server can always hide a new root by answering
// 404, and a 403 for timestamp.json or anything else is still an error.
//
// An HTML page for it (a host's "not found" page served with 200, a soft
// 404) ends the walk the same way, for the same reason.
func rootWalkEnd(urlPath string, err error) error {
	var ua *UnexpectedAnswerError
	if errors.As(err, &ua) && ua.HTML && numberedRoot.MatchString(path.Base(urlPath)) {
		return fmt.Errorf("%w (an HTML page for the next root version counts as its absence): %w",
			&metadata.ErrDownloadHTTP{StatusCode: http.StatusNotFound, URL: ua.URL}, err)
	}
	var he *metadata.ErrDownloadHTTP
	if err == nil || !errors.As(err, &he) || he.StatusCode != http.StatusForbidden || !numberedRoot.MatchString(path.Base(urlPath)) {
		return err
	}
	return fmt.Errorf("%w (403 for the next root version counts as its absence): %w",
		&metadata.ErrDownloadHTTP{StatusCode: http.StatusNotFound, URL: he.URL}, err)
}
