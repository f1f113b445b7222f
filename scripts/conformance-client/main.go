// Command conformance-client runs the project's TUF client path (package
// fetch: go-tuf's updater behind fetch's own fetcher, and fetch's streamed,
// verified downloads) under the CLI protocol of the TUF conformance suite
// (github.com/theupdateframework/tuf-conformance, CLIENT-CLI.md):
//
//	conformance-client --metadata-dir DIR init TRUSTED_ROOT
//	conformance-client --metadata-dir DIR --metadata-url URL refresh
//	conformance-client --metadata-dir DIR --metadata-url URL \
//	    --target-name PATH [--target-name PATH ...] \
//	    --target-base-url URL --target-dir DIR download
//
// Metadata is kept unversioned in DIR (root.json, timestamp.json, ...).
// Targets are downloaded in order with one updater, stopping at the first
// failure, each to TARGET_DIR/<target path, escaped as one file name>; one
// already there with the signed hashes is not downloaded again. The exit
// status is 0 on full success and 1 otherwise.
//
// The suite fakes time with libfaketime, which Go programs do not see: when
// FAKETIME is set, the current time is read from `date +%s` (a C program
// that does) and used for expiry checks.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tufup-go/tufup/fetch"
	"github.com/tufup-go/tufup/internal/fsutil"
)

// budget bounds a whole command: the suite's server is local, so this only
// keeps a broken test from hanging.
const budget = 2 * time.Minute

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

type flags struct {
	metadataDir, metadataURL string
	targetNames              []string
	targetBaseURL, targetDir string
}

func run(args []string, stderr io.Writer) int {
	var f flags
	fs := pflag.NewFlagSet("conformance-client", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.metadataDir, "metadata-dir", "", "directory of trusted metadata")
	fs.StringVar(&f.metadataURL, "metadata-url", "", "URL of the repository's metadata")
	fs.StringArrayVar(&f.targetNames, "target-name", nil, "TUF target path to download (repeatable)")
	fs.StringVar(&f.targetBaseURL, "target-base-url", "", "URL of the repository's targets")
	fs.StringVar(&f.targetDir, "target-dir", "", "directory for downloaded targets")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	var err error
	switch cmd := fs.Arg(0); {
	case cmd == "init" && fs.NArg() == 2:
		err = initialize(f, fs.Arg(1))
	case cmd == "refresh" && fs.NArg() == 1:
		_, err = refresh(ctx, f, log)
	case cmd == "download" && fs.NArg() == 1:
		err = download(ctx, f, log)
	default:
		err = fmt.Errorf("usage: conformance-client --metadata-dir DIR [flags] init TRUSTED_ROOT | refresh | download (got %q)", fs.Args())
	}
	if err != nil {
		fmt.Fprintln(stderr, "conformance-client:", err)
		return 1
	}
	return 0
}

// initialize trusts root as it is: the protocol asks for no checks and no
// network here; the first refresh verifies it.
func initialize(f flags, root string) error {
	if f.metadataDir == "" {
		return errors.New("init: --metadata-dir is required")
	}
	data, err := os.ReadFile(root)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if err := os.MkdirAll(f.metadataDir, 0o700); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	return fsutil.WriteFile(filepath.Join(f.metadataDir, "root.json"), data, 0o644)
}

func refresh(ctx context.Context, f flags, log *slog.Logger) (*fetch.Client, error) {
	if f.metadataDir == "" || f.metadataURL == "" {
		return nil, errors.New("--metadata-dir and --metadata-url are required")
	}
	now, err := refTime()
	if err != nil {
		return nil, err
	}
	c, err := fetch.New(fetch.Options{
		MetadataURL: f.metadataURL,
		TargetsURL:  f.targetBaseURL,
		MetadataDir: f.metadataDir,
		UserAgent:   "tufup-go-conformance-client",
		// The suite counts requests: one per file, no retries.
		Retries: -1,
		Logger:  log,
		RefTime: now,
	})
	if err != nil {
		return nil, err
	}
	return c, c.Refresh(ctx)
}

func download(ctx context.Context, f flags, log *slog.Logger) error {
	if len(f.targetNames) == 0 || f.targetBaseURL == "" || f.targetDir == "" {
		return errors.New("download: --target-name, --target-base-url and --target-dir are required")
	}
	c, err := refresh(ctx, f, log)
	if err != nil {
		return err
	}
	for _, name := range f.targetNames {
		t, err := c.Target(ctx, name)
		if err != nil {
			return err
		}
		// Target paths may have folders; escaping makes each one a single,
		// distinct file name, so the same target always lands in one place.
		if err := c.DownloadAs(ctx, t, filepath.Join(f.targetDir, url.PathEscape(name))); err != nil {
			return err
		}
	}
	return nil
}

// refTime is the time libfaketime shows C programs, when FAKETIME is set.
func refTime() (time.Time, error) {
	if os.Getenv("FAKETIME") == "" {
		return time.Time{}, nil
	}
	out, err := exec.Command("date", "+%s").Output()
	if err != nil {
		return time.Time{}, fmt.Errorf("FAKETIME is set but `date +%%s` failed: %w", err)
	}
	secs, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("FAKETIME is set but `date +%%s` printed %q", out)
	}
	return time.Unix(secs, 0).UTC(), nil
}
