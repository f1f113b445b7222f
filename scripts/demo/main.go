// Command demo shows the whole system on this machine, end to end: it builds
// the launcher, tufup-repo and a sample app, publishes release 1.0.0 into a
// temporary repository served on 127.0.0.1, installs it the way a user's
// first start does (bootstrap), publishes 1.1.0, and lets the launcher update
// through the patch and start the app. Each step prints what it cost.
//
//	go run ./scripts/demo [-keep] [-size BYTES]
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/tufup-go/tufup/internal/sandbox"
)

func main() {
	keep := flag.Bool("keep", false, "keep the temporary folder to look around")
	size := flag.Int("size", 8<<20, "size of the sample app's data file, to make archives realistic")
	flag.Parse()
	if err := run(*keep, *size); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type demo struct {
	work, repoDir, install string
	bins                   sandbox.Binaries
	srv                    *sandbox.Server
	step                   int
}

const steps = 7

func (d *demo) say(format string, args ...any) {
	d.step++
	fmt.Printf("[%d/%d] %s\n", d.step, steps, fmt.Sprintf(format, args...))
}

func detail(format string, args ...any) { fmt.Printf("      %s\n", fmt.Sprintf(format, args...)) }

func run(keep bool, size int) error {
	ctx := context.Background()
	work, err := os.MkdirTemp("", "tufup-demo-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Printf("working in %s (kept)\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	d := &demo{work: work, repoDir: filepath.Join(work, "build-machine"), install: filepath.Join(work, "user", "SampleApp")}

	d.say("build the launcher, tufup-repo and the sample app")
	detail("(the first run compiles the dependencies too: a minute or two)")
	t := time.Now()
	if d.bins, err = sandbox.Build(ctx, filepath.Join(work, "bin"), sandbox.BuildOptions{LauncherVersion: "demo", Log: detail}); err != nil {
		return err
	}
	detail("took %s", since(t))

	d.say("tufup-repo init --app-name sampleapp")
	if err := os.MkdirAll(d.repoDir, 0o755); err != nil {
		return err
	}
	if err := d.tufupRepo("init", "--app-name", "sampleapp"); err != nil {
		return err
	}

	if err := d.publish("1.0.0", size); err != nil {
		return err
	}
	if d.srv, err = sandbox.Serve(filepath.Join(d.repoDir, "repository")); err != nil {
		return err
	}
	defer d.srv.Close()
	detail("repository served at %s", d.srv.URL)

	launcher, err := sandbox.Install(d.install, d.bins.Launcher, sandbox.InstallOptions{
		Config: map[string]any{
			"app_name":     "sampleapp",
			"metadata_url": d.srv.URL + "/metadata/",
			"targets_url":  d.srv.URL + "/targets/",
			"entry":        filepath.Base(d.bins.SampleApp),
		},
		Root: filepath.Join(d.repoDir, "repository", "metadata", "root.json"),
	})
	if err != nil {
		return err
	}

	d.say("first start of a fresh install (launcher, launcher.json, root.json): bootstrap")
	if err := d.start(launcher, "hello", "from the demo"); err != nil {
		return err
	}

	if err := d.publish("1.1.0", size); err != nil {
		return err
	}

	d.say("next start: the launcher finds 1.1.0 and updates through the patch")
	if err := d.start(launcher, "after", "update"); err != nil {
		return err
	}

	d.say("launcher --status")
	out, err := exec.Command(launcher, "--status").CombinedOutput()
	if err != nil {
		return fmt.Errorf("launcher --status: %w\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		detail("%s", line)
	}
	return nil
}

// publish makes a bundle of the sample app and adds it to the repository.
func (d *demo) publish(version string, size int) error {
	d.say("tufup-repo add %s dist/sampleapp-%s", version, version)
	bundle := filepath.Join(d.repoDir, "dist", "sampleapp-"+version)
	if err := sandbox.WriteBundle(bundle, version, d.bins.SampleApp, sandbox.BundleOptions{DataSize: size}); err != nil {
		return err
	}
	// -v: tufup-repo reports each step (archive, patch, signing) as it
	// ends, so the patch of a large bundle is not a silent wait.
	return d.tufupRepoLive("add", "-v", version, bundle)
}

// start runs the launcher as a user's shortcut would and reports what it
// downloaded.
func (d *demo) start(launcher string, args ...string) error {
	d.srv.ResetLog()
	t := time.Now()
	cmd := exec.Command(launcher, args...)
	cmd.Dir = d.work
	out, err := cmd.CombinedOutput()
	took := since(t)
	if err != nil {
		return fmt.Errorf("launcher: %w\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		detail("app says: %s", line)
	}
	detail("downloaded %s of metadata and %s of targets %v", bytes(d.srv.BytesSent("/metadata/")),
		bytes(d.srv.BytesSent("/targets/")), d.srv.Fetched("/targets/"))
	current, _ := os.ReadFile(filepath.Join(d.install, "current"))
	detail("current -> versions/%s; launcher start to app exit took %s", strings.TrimSpace(string(current)), took)
	return nil
}

func (d *demo) tufupRepo(args ...string) error {
	cmd := exec.Command(d.bins.TufupRepo, append([]string{"-C", d.repoDir}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("tufup-repo %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// tufupRepoLive runs tufup-repo, showing its progress (stderr) as it
// comes and then its summary, the last line of its output.
func (d *demo) tufupRepoLive(args ...string) error {
	cmd := exec.Command(d.bins.TufupRepo, append([]string{"-C", d.repoDir}, args...)...)
	var out strings.Builder
	cmd.Stdout = &out
	progress, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	var errText strings.Builder
	sc := bufio.NewScanner(progress)
	for sc.Scan() {
		detail("%s", sc.Text())
		errText.WriteString(sc.Text() + "\n")
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("tufup-repo %s: %w\n%s%s", strings.Join(args, " "), err, out.String(), errText.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	detail("%s", lines[len(lines)-1])
	return nil
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }

func bytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
