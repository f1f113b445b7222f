package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/tufup-go/tufup/repo"
	"github.com/tufup-go/tufup/upload"
)

// "publish DEST" uploads the repository folder; "publish FILE" (see
// publishCommand) publishes an offline-signed role file into it. A
// destination is told from a file by its scheme.

const publishUploadHelp = `
With a destination URL instead of a FILE, uploads REPO_DIR (metadata/ and
targets/) to where clients read it:
  s3://BUCKET/PREFIX   an S3 bucket (or any S3-compatible store, with
                       --endpoint); credentials from AWS_ACCESS_KEY_ID and
                       AWS_SECRET_ACCESS_KEY, ~/.aws/credentials (AWS_PROFILE)
                       or the instance role; region from AWS_REGION
  file:///PATH         a folder or a mounted share (files written under a
                       temporary name and renamed)
Clients then use BASE/PREFIX/metadata/ and BASE/PREFIX/targets/. The order
keeps every client safe whenever publish stops: new targets, new
N.root.json, targets.json, snapshot.json, root.json, timestamp.json last;
run it again to finish. Files the destination holds with the same size and
sha256 are skipped; a destination with newer metadata, or a target with
other bytes, is refused. Targets get Cache-Control "` + upload.CacheImmutable + `",
metadata other than N.root.json "` + upload.CacheMutable + `".`

type uploadFlags struct {
	endpoint   *string
	dryRun     *bool
	prune      *bool
	pruneAfter *time.Duration
}

func addUploadFlags(fs *pflag.FlagSet) uploadFlags {
	return uploadFlags{
		endpoint:   fs.String("endpoint", "", "destination URL only: the S3 API `URL` of an S3-compatible store (MinIO, R2, B2, Ceph, ...); default AWS"),
		dryRun:     fs.Bool("dry-run", false, "destination URL only: list what would be uploaded and deleted, change nothing"),
		prune:      fs.Bool("prune", false, "destination URL only: delete targets that targets.json has not listed for --prune-after"),
		pruneAfter: fs.Duration("prune-after", upload.DefaultGrace, "destination URL only: grace `DURATION` before --prune deletes a target no longer listed (clients mid-update still need it)"),
	}
}

func (uf uploadFlags) used(fs *pflag.FlagSet) []string {
	var used []string
	for _, name := range []string{"endpoint", "dry-run", "prune", "prune-after"} {
		if fs.Changed(name) {
			used = append(used, "--"+name)
		}
	}
	return used
}

// isDestination tells a destination URL from a FILE argument.
func isDestination(arg string) bool { return strings.Contains(arg, "://") }

func (c *cli) upload(dest string, uf uploadFlags) error {
	if *uf.pruneAfter < 0 {
		return usagef("--prune-after must not be negative")
	}
	r, err := repo.Open(c.dir, repo.Options{})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := upload.Options{
		Endpoint: *uf.endpoint,
		DryRun:   *uf.dryRun,
		Prune:    *uf.prune,
		Grace:    *uf.pruneAfter,
		Out:      c.stdout,
	}
	if f, ok := c.stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) && !opts.DryRun {
		opts.Progress = newUploadBar(c.stderr)
	}
	_, err = upload.Publish(ctx, r.RepoDir(), dest, opts)
	return err
}

// newUploadBar draws the bytes uploaded on a terminal.
func newUploadBar(w io.Writer) func(done, total int64) {
	var bar *progressbar.ProgressBar
	return func(done, total int64) {
		if bar == nil {
			bar = progressbar.NewOptions64(total,
				progressbar.OptionSetWriter(w),
				progressbar.OptionSetDescription("uploading"),
				progressbar.OptionShowBytes(true),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
			)
		}
		bar.Set64(done)
	}
}
