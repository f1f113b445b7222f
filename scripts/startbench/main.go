// Command startbench measures what the launcher adds to an app's start when
// there is no update: it times, in one run, starting the sample app
// directly, through the launcher offline (server down), through the launcher
// with a local up-to-date server, and with update checks off, and prints each
// against the direct start.
//
//	go run ./scripts/startbench [-n 50]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"github.com/tufup-go/tufup/internal/sandbox"
)

func main() {
	n := flag.Int("n", 50, "starts per variant")
	flag.Parse()
	if err := run(*n); err != nil {
		fmt.Fprintln(os.Stderr, "startbench:", err)
		os.Exit(1)
	}
}

func run(n int) error {
	ctx := context.Background()
	work, err := os.MkdirTemp("", "tufup-startbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bins, err := sandbox.Build(ctx, filepath.Join(work, "bin"), sandbox.BuildOptions{LauncherVersion: "bench"})
	if err != nil {
		return err
	}
	build := filepath.Join(work, "build")
	if err := os.MkdirAll(build, 0o755); err != nil {
		return err
	}
	repo := func(args ...string) error {
		out, err := exec.Command(bins.TufupRepo, append([]string{"-C", build}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("tufup-repo %v: %w\n%s", args, err, out)
		}
		return nil
	}
	bundle := filepath.Join(build, "dist")
	if err := sandbox.WriteBundle(bundle, "1.0.0", bins.SampleApp, sandbox.BundleOptions{DataSize: 1 << 20}); err != nil {
		return err
	}
	if err := repo("init", "--app-name", "sampleapp"); err != nil {
		return err
	}
	if err := repo("add", "1.0.0", bundle); err != nil {
		return err
	}
	srv, err := sandbox.Serve(filepath.Join(build, "repository"))
	if err != nil {
		return err
	}
	defer srv.Close()

	install := func(name, metadataURL string, update string) (string, error) {
		return sandbox.Install(filepath.Join(work, name), bins.Launcher, sandbox.InstallOptions{
			Config: map[string]any{
				"app_name": "sampleapp", "metadata_url": metadataURL, "targets_url": srv.URL + "/targets/",
				"entry": filepath.Base(bins.SampleApp), "update": update, "probation_starts": 0,
			},
			Root: filepath.Join(build, "repository", "metadata", "root.json"),
		})
	}
	online, err := install("online", srv.URL+"/metadata/", "on-start")
	if err != nil {
		return err
	}
	// Bootstrap both installs, then point one at a port nobody listens on.
	if out, err := exec.Command(online).CombinedOutput(); err != nil {
		return fmt.Errorf("bootstrap: %w\n%s", err, out)
	}
	offline, err := install("offline", srv.URL+"/metadata/", "on-start")
	if err != nil {
		return err
	}
	if out, err := exec.Command(offline).CombinedOutput(); err != nil {
		return fmt.Errorf("bootstrap: %w\n%s", err, out)
	}
	if _, err := install("offline", "http://127.0.0.1:1/metadata/", "on-start"); err != nil {
		return err
	}
	direct := filepath.Join(work, "online", "versions", "1.0.0", filepath.Base(bins.SampleApp))

	variants := []struct {
		name string
		cmd  []string
	}{
		{"app started directly", []string{direct}},
		{"launcher, update checks off (--no-update)", []string{online, "--no-update"}},
		{"launcher, offline (server unreachable)", []string{offline}},
		{"launcher, local server, up to date", []string{online}},
	}
	results := make([][]time.Duration, len(variants))
	// Interleave the variants so machine noise hits them alike.
	for i := 0; i < n; i++ {
		for v, variant := range variants {
			t := time.Now()
			if out, err := exec.Command(variant.cmd[0], variant.cmd[1:]...).CombinedOutput(); err != nil {
				return fmt.Errorf("%s: %w\n%s", variant.name, err, out)
			}
			results[v] = append(results[v], time.Since(t))
		}
	}
	base := median(results[0])
	fmt.Printf("%d starts each, start to exit of the sample app (median, p90)\n\n", n)
	fmt.Printf("%-44s %10s %10s %8s %10s\n", "variant", "median", "p90", "ratio", "added")
	for v, variant := range variants {
		m := median(results[v])
		fmt.Printf("%-44s %10s %10s %7.2fx %10s\n", variant.name, round(m), round(percentile(results[v], 0.9)),
			float64(m)/float64(base), round(m-base))
	}
	return nil
}

func median(d []time.Duration) time.Duration { return percentile(d, 0.5) }

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*p)]
}

func round(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
