package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/tufup-go/tufup/repo"
	"github.com/tufup-go/tufup/versions"
)

// signingFlags are the flags of every command that signs metadata.
type signingFlags struct {
	keyDirs     *[]string
	unsignedOut *string
}

func addSigningFlags(fs *pflag.FlagSet) signingFlags {
	return signingFlags{
		keyDirs:     fs.StringArray("keys-dir", nil, "also look for private keys in `DIR` (repeatable; the config's keys_dir is always searched first)"),
		unsignedOut: fs.String("unsigned-out", "", "do not publish: write the first changed role to `FILE`, signed by the keys at hand, for sign-file and publish"),
	}
}

func (c *cli) options(sf signingFlags) repo.Options {
	o := repo.Options{
		Password:    keyPassword(c.stderr),
		NewPassword: newKeyPassword(c.stderr),
		Out:         c.stdout,
	}
	if sf.keyDirs != nil {
		for _, d := range *sf.keyDirs {
			o.KeyDirs = append(o.KeyDirs, c.path(d))
		}
	}
	if sf.unsignedOut != nil && *sf.unsignedOut != "" {
		o.UnsignedOut = c.path(*sf.unsignedOut)
	}
	return o
}

// path resolves a path argument: as with git -C and make -C, relative
// paths are relative to the -C directory.
func (c *cli) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

func (c *cli) open(sf signingFlags) (*repo.Repo, error) {
	return repo.Open(c.dir, c.options(sf))
}

// roleDays parses ROLE=VALUE pairs.
func roleValues(pairs []string, flag string, parse func(string) error) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range pairs {
		role, val, ok := strings.Cut(p, "=")
		if !ok {
			return nil, usagef("--%s %q: want ROLE=VALUE", flag, p)
		}
		switch role {
		case repo.RoleRoot, repo.RoleTargets, repo.RoleSnapshot, repo.RoleTimestamp:
		default:
			return nil, usagef("--%s %q: unknown role %q (roles: root, targets, snapshot, timestamp)", flag, p, role)
		}
		if err := parse(val); err != nil {
			return nil, usagef("--%s %q: %v", flag, p, err)
		}
		out[role] = val
	}
	return out, nil
}

func parseDays(s string) (float64, error) {
	d, err := strconv.ParseFloat(s, 64)
	if err != nil || !(d > 0) || d > 36600 {
		return 0, fmt.Errorf("%q is not a number of days between 0 and 36600", s)
	}
	return d, nil
}

func parsePositive(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q is not a whole number of at least 1", s)
	}
	return n, nil
}

func parsePercent(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSuffix(s, "%"))
	if err != nil || n < 0 || n > 100 {
		return 0, fmt.Errorf("%q is not a whole percentage from 0 to 100", s)
	}
	return n, nil
}

func initCommand() command {
	return command{
		name: "init", args: "--app-name NAME [flags]",
		summary: "create keys, metadata version 1, targets/ and .tufup-repo-config",
		help: `Creates a repository in the directory (-C): key pairs in the keys
directory (a key whose NAME.pub is already there is used as is, so a root key
made offline can be brought in as its .pub alone), metadata version 1 of root,
targets, snapshot and timestamp in REPO_DIR/metadata (plus 1.root.json), an
empty REPO_DIR/targets, and .tufup-repo-config. Refuses to overwrite an
existing repository. A role whose threshold exceeds its keys gets more keys,
named ROLE-2, ROLE-3, ...

If a needed private key is not at hand (say only root.pub is here), use
--unsigned-out FILE: the config and keys are written and root v1 goes to
FILE for "sign-file" and "publish".`,
		setup: func(fs *pflag.FlagSet) func(*cli, []string) error {
			app := fs.String("app-name", "", "the app's name, the start of every target file name (required)")
			repoDir := fs.String("repo-dir", "repository", "repository `DIR` to create (served to clients)")
			keysDir := fs.String("keys-dir", "keystore", "`DIR` for the key files")
			expires := fs.StringArray("expires", nil, "validity of ROLE's metadata in days, as `ROLE=DAYS` (repeatable; defaults root=365 targets=7 snapshot=7 timestamp=1)")
			thresholds := fs.StringArray("threshold", nil, "signatures ROLE needs, as `ROLE=N` (repeatable; default 1)")
			encrypt := fs.StringArray("encrypt", nil, "encrypt the private key `NAME` with a password (repeatable)")
			unsigned := fs.String("unsigned-out", "", "write root v1 to `FILE` for offline signing instead of publishing")
			entry := fs.String("entry", "", "the app's executable inside a bundle (`PATH`), kept in "+repo.SettingsFile+" so that add refuses a bundle without it")
			return func(c *cli, args []string) error {
				if err := wantArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				if *app == "" {
					return usagef("--app-name is required")
				}
				cfg := repo.DefaultConfig(*app)
				days, err := roleValues(*expires, "expires", func(s string) error { _, err := parseDays(s); return err })
				if err != nil {
					return err
				}
				for role, s := range days {
					cfg.ExpirationDays[role], _ = parseDays(s)
				}
				ths, err := roleValues(*thresholds, "threshold", func(s string) error { _, err := parsePositive(s); return err })
				if err != nil {
					return err
				}
				for role, s := range ths {
					cfg.Thresholds[role], _ = parsePositive(s)
				}
				for _, d := range []struct {
					flag string
					val  string
					dst  *string
				}{{"repo-dir", *repoDir, &cfg.RepoDir}, {"keys-dir", *keysDir, &cfg.KeysDir}} {
					// Relative to the repository's directory (-C), as tufup
					// stores them; absolute ones below it become relative.
					p := filepath.ToSlash(d.val)
					if filepath.IsAbs(d.val) {
						var err error
						if p, err = repo.ConfigPath(c.dir, d.val); err != nil {
							return fmt.Errorf("--%s: %w", d.flag, err)
						}
					}
					*d.dst = p
				}
				cfg.EncryptedKeys = append(cfg.EncryptedKeys, *encrypt...)
				opts := c.options(signingFlags{})
				if *unsigned != "" {
					opts.UnsignedOut = c.path(*unsigned)
				}
				if _, err := repo.Init(c.dir, cfg, opts); err != nil {
					return err
				}
				if *entry != "" {
					if err := repo.WriteSettings(c.dir, repo.Settings{Entry: repo.Entry{"default": *entry}}); err != nil {
						return err
					}
					fmt.Fprintf(c.stdout, "wrote %s: add checks that each bundle holds %s\n", repo.SettingsFile, *entry)
				}
				fmt.Fprintf(c.stdout, "initialized repository for %s in %s\n", *app, c.dir)
				return nil
			}
		},
	}
}

func addCommand() command {
	return command{
		name: "add", args: "VERSION BUNDLE_DIR [flags]",
		summary: "publish a release: archive, patch from the previous release, re-signed metadata",
		help: `Publishes BUNDLE_DIR (the app's folder) as release VERSION (PEP 440 or
SemVer): writes targets/APP-VERSION.tar.gz and, when an earlier release exists,
targets/APP-VERSION.patch (bsdiff from the previous release's uncompressed tar
to this one's), then re-signs targets, snapshot and timestamp. VERSION must be
newer than every published release. Nothing is published if a role cannot be
signed to its threshold.

One repository may hold the builds of every platform: --os (and --arch)
publish BUNDLE_DIR as the release for that platform only, named
APP-OS-ARCH-VERSION.tar.gz (APP-OS-VERSION.tar.gz with --os alone, for a
build that runs on every architecture of that OS); its patch is made against
that platform's previous release. Launchers install their own platform's
build, else their OS's, else the one published without --os.`,
		setup: func(fs *pflag.FlagSet) func(*cli, []string) error {
			required := fs.Bool("required", false, "clients must install this release before any newer one")
			meta := fs.String("meta", "", "custom user metadata, a `JSON` object (e.g. '{\"changes\": [\"...\"]}'); integers only, no floats")
			skipPatch := fs.Bool("skip-patch", false, "publish the archive only, no patch")
			rollout := fs.String("rollout", "", "offer the release to `PERCENT` of installs (0-100; default: all)")
			goos := fs.String("os", "", "publish for this `GOOS` only (windows, darwin, linux, ...); default: every platform")
			goarch := fs.String("arch", "", "with --os: publish for this `GOARCH` only (amd64, arm64, ...)")
			entry := fs.String("entry", "", "the app's executable inside BUNDLE_DIR (`PATH`), which must be there (and executable on Unix); default: the entry in "+repo.SettingsFile)
			verbose := fs.BoolP("verbose", "v", false, "print each step (archive, patch, signing) with its size and time, also when stderr is not a terminal")
			patchFrom := fs.StringArray("patch-from", nil, "also make a direct patch from this older `VERSION`, for installs that skipped the releases between; published when smaller than the chain of patches (repeatable; Python tufup clients ignore it)")
			maxMemory := fs.String("max-memory", "", "memory cap for making the patch, a `SIZE` like 800M or 2G (default: a quarter of this machine's memory, 512M to 2G)")
			sf := addSigningFlags(fs)
			return func(c *cli, args []string) error {
				if err := wantArgs(args, 2, "VERSION BUNDLE_DIR"); err != nil {
					return err
				}
				platform, err := versions.NewPlatform(*goos, *goarch)
				if err != nil {
					return usagef("--os/--arch: %v", err)
				}
				opts := repo.AddOptions{Required: *required, SkipPatch: *skipPatch, Platform: platform, MaxMemory: defaultMaxMemory()}
				if *maxMemory != "" {
					m, err := parseSize(*maxMemory)
					if err != nil {
						return usagef("--max-memory: %v", err)
					}
					opts.MaxMemory = m
				}
				opts.PatchFrom = *patchFrom
				capMemory(opts.MaxMemory)
				if *meta != "" {
					if !json.Valid([]byte(*meta)) {
						return usagef("--meta is not valid JSON: %s", *meta)
					}
					opts.Meta = json.RawMessage(*meta)
				}
				if *rollout != "" {
					p, err := parsePercent(*rollout)
					if err != nil {
						return usagef("--rollout: %v", err)
					}
					opts.Rollout = &p
				}
				r, err := c.open(sf)
				if err != nil {
					return err
				}
				if *entry != "" {
					opts.Entry = repo.Entry{"default": *entry}
				}
				progress := newAddProgress(c.stderr, isTerminal(c.stderr), *verbose)
				opts.Progress = progress.step
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				err = r.Add(ctx, args[0], c.path(args[1]), opts)
				progress.end()
				if err != nil {
					return err
				}
				if *sf.unsignedOut == "" {
					fmt.Fprintln(c.stdout, progress.summary(platform.AppName(r.Config().AppName), args[0], *skipPatch))
				}
				return nil
			}
		},
	}
}

func addLauncherCommand() command {
	return command{
		name: "add-launcher", args: "VERSION FILE [flags]",
		summary: "publish a launcher executable for installed launchers to update themselves",
		help: `Publishes FILE, a launcher executable built for --os/--arch, as target
launcher-OS-ARCH-VERSION. Installed launchers with "self_update": true in
launcher.json replace themselves with the newest one for their platform
(verified through TUF, and kept only if "FILE --version" works). Python
tufup clients ignore these targets.`,
		setup: func(fs *pflag.FlagSet) func(*cli, []string) error {
			goos := fs.String("os", runtime.GOOS, "the `GOOS` FILE was built for")
			goarch := fs.String("arch", runtime.GOARCH, "the `GOARCH` FILE was built for")
			sf := addSigningFlags(fs)
			return func(c *cli, args []string) error {
				if err := wantArgs(args, 2, "VERSION FILE"); err != nil {
					return err
				}
				r, err := c.open(sf)
				if err != nil {
					return err
				}
				return r.AddLauncher(args[0], *goos, *goarch, c.path(args[1]))
			}
		},
	}
}

func removeLatestCommand() command {
	return command{
		name: "remove-latest", args: "[flags]",
		summary: "withdraw the newest release (archive and patch)",
		help: `Removes the newest release's archive and patch from the targets
metadata, re-signs targets, snapshot and timestamp, then deletes the files.
In a repository of several platforms, the newest version is removed from
every platform that has it.`,
		setup: func(fs *pflag.FlagSet) func(*cli, []string) error {
			sf := addSigningFlags(fs)
			return func(c *cli, args []string) error {
				if err := wantArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				r, err := c.open(sf)
				if err != nil {
					return err
				}
				return r.RemoveLatest()
			}
		},
	}
}

func rolloutCommand() command {
	return command{
		name: "rollout", args: "VERSION PERCENT [flags]",
		summary: "change the share of installs a release is offered to",
		help: `Sets the staged-rollout percentage of a published release (0-100) in
its custom metadata (custom.tufup.` + repo.RolloutKey + `, an integer; 100 removes
it). Each install draws a stable bucket once and takes the release only when
the percentage covers it; required releases ignore rollout.`,
		setup: func(fs *pflag.FlagSet) func(*cli, []string) error {
			sf := addSigningFlags(fs)
			return func(c *cli, args []string) error {
				if err := wantArgs(args, 2, "VERSION PERCENT"); err != nil {
					return err
				}
				p, err := parsePercent(args[1])
				if err != nil {
					return usagef("PERCENT: %v", err)
				}
				r, err := c.open(sf)
				if err != nil {
					return err
				}
				return r.SetRollout(args[0], p)
			}
		},
	}
}

func signCommand() command {
	return command{
		name: "sign", args: "ROLE [flags]",
		summary: "re-sign a role with a fresh expiry (cron: sign timestamp)",
		help: `Re-signs ROLE with version+1 and a fresh expiry (now + --expires days,
default the role's expiration_days), and the roles depending on it (root ->
targets -> snapshot -> timestamp). Run "sign timestamp" from a scheduled job
well within the timestamp's period (e.g. daily for a 2-day period), and the
other roles before "status" warns they are running out.`,
		setup: func(fs *pflag.FlagSet) func(*cli, []string) error {
			expires := fs.String("expires", "", "expire in `DAYS` days instead of the role's configured period")
			sf := addSigningFlags(fs)
			return func(c *cli, args []string) error {
				if err := wantArgs(args, 1, "ROLE"); err != nil {
					return err
				}
				var days float64
				if *expires != "" {
					d, err := parseDays(*expires)
					if err != nil {
						return usagef("--expires: %v", err)
					}
					days = d
				}
				r, err := c.open(sf)
				if err != nil {
					return err
				}
				return r.Sign(args[0], days)
			}
		},
	}
}

func keysCommand() command {
	return command{
		name: "keys", args: "create NAME [--encrypted] | add ROLE NAME | replace OLD NEW",
		summary: "create keys, add a key to a role, rotate (replace) a key",
		help: `keys create NAME [--encrypted]
    writes a new ed25519 key pair NAME and NAME.pub into the keys directory
    (securesystemslib JSON, as Python tufup; --encrypted: password-protected);
    outside a repository (no .tufup-repo-config), into the directory itself.
keys add ROLE NAME
    gives ROLE the key NAME.pub as one more signing key; publishes root.
keys replace OLD NEW
    puts key NEW in place of OLD in every role that has it (rotation). The new
    root is signed by the old root keys and the new ones, so installed clients
    follow the N.root.json chain; OLD's private key is needed if it is a root key.`,
		setup: func(fs *pflag.FlagSet) func(*cli, []string) error {
			encrypted := fs.Bool("encrypted", false, "keys create: encrypt the private key with a password")
			sf := addSigningFlags(fs)
			return func(c *cli, args []string) error {
				if len(args) == 0 {
					return usagef("want a subcommand: create, add or replace")
				}
				sub, args := args[0], args[1:]
				if sub != "create" && *encrypted {
					return usagef("--encrypted is for keys create")
				}
				if sub == "create" {
					if err := wantArgs(args, 1, "NAME"); err != nil {
						return err
					}
					if _, err := os.Stat(filepath.Join(c.dir, repo.ConfigFile)); errors.Is(err, os.ErrNotExist) {
						// On an offline machine: a key pair in the directory.
						return c.createKeyFile(args[0], *encrypted)
					}
				}
				r, err := c.open(sf)
				if err != nil {
					return err
				}
				switch sub {
				case "create":
					_, err := r.CreateKey(args[0], *encrypted)
					return err
				case "add":
					if err := wantArgs(args, 2, "ROLE NAME"); err != nil {
						return err
					}
					return r.AddKey(args[0], args[1])
				case "replace":
					if err := wantArgs(args, 2, "OLD NEW"); err != nil {
						return err
					}
					return r.ReplaceKey(args[0], args[1])
				}
				return usagef("unknown subcommand %q (create, add, replace)", sub)
			}
		},
	}
}

// createKeyFile writes a key pair into the -C directory, outside any
// repository (a root key made on an offline machine).
func (c *cli) createKeyFile(name string, encrypted bool) error {
	k, err := repo.GenerateKey(name)
	if err != nil {
		return err
	}
	var password []byte
	if encrypted {
		if password, err = newKeyPassword(c.stderr)(name); err != nil {
			return fmt.Errorf("password for new key %s: %w", name, err)
		}
	}
	if err := repo.WriteKeyPair(c.dir, k, password); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "created key %s and %s.pub (no repository here), key id %s\n", filepath.Join(c.dir, name), name, k.ID())
	return nil
}

func thresholdCommand() command {
	return command{
		name: "threshold", args: "ROLE N [flags]",
		summary: "set how many signatures a role needs",
		help: `Sets ROLE's signature threshold to N (at most its number of keys) in
root and in the config, and publishes root signed by enough keys of both the
current and the new root.`,
		setup: func(fs *pflag.FlagSet) func(*cli, []string) error {
			sf := addSigningFlags(fs)
			return func(c *cli, args []string) error {
				if err := wantArgs(args, 2, "ROLE N"); err != nil {
					return err
				}
				n, err := parsePositive(args[1])
				if err != nil {
					return usagef("N: %v", err)
				}
				r, err := c.open(sf)
				if err != nil {
					return err
				}
				return r.SetThreshold(args[0], n)
			}
		},
	}
}

func signFileCommand() command {
	return command{
		name: "sign-file", args: "FILE --key NAME [flags]",
		summary: "add a key's signature to a role file (offline signing)",
		help: `Adds the signature of private key NAME to the metadata FILE written by
--unsigned-out, after printing what it holds (role, version, expiry, keys or
targets) for review. Runs where the key is, with or without a repository:
keys are looked up in --keys-dir, else the repository's keys_dir (-C), else
the current directory.`,
		setup: func(fs *pflag.FlagSet) func(*cli, []string) error {
			key := fs.String("key", "", "the private key's `NAME` (file name in a keys directory)")
			keyDirs := fs.StringArray("keys-dir", nil, "look for the key in `DIR` (repeatable)")
			return func(c *cli, args []string) error {
				if err := wantArgs(args, 1, "FILE"); err != nil {
					return err
				}
				if *key == "" {
					return usagef("--key NAME is required")
				}
				opts := c.options(signingFlags{keyDirs: keyDirs})
				if r, err := repo.Open(c.dir, repo.Options{}); err == nil {
					opts.KeyDirs = append(opts.KeyDirs, r.KeysDir())
				}
				if len(opts.KeyDirs) == 0 {
					opts.KeyDirs = []string{c.dir}
				}
				return repo.SignFile(c.path(args[0]), *key, opts)
			}
		},
	}
}

func publishCommand() command {
	return command{
		name: "publish", args: "FILE | s3://BUCKET/PREFIX | file:///PATH [flags]",
		summary: "publish a role file signed elsewhere, or upload the repository to a bucket or folder",
		help: `Publishes the role metadata in FILE (from --unsigned-out, signed with
sign-file): it must be the next version of its role and, with the signatures
of keys at hand added, meet every threshold (for root: the current root's and
its own). The roles depending on it are re-signed as usual.
` + publishUploadHelp,
		setup: func(fs *pflag.FlagSet) func(*cli, []string) error {
			sf := addSigningFlags(fs)
			uf := addUploadFlags(fs)
			return func(c *cli, args []string) error {
				if err := wantArgs(args, 1, "FILE or a destination URL"); err != nil {
					return err
				}
				if isDestination(args[0]) {
					if len(*sf.keyDirs) > 0 || *sf.unsignedOut != "" {
						return usagef("--keys-dir and --unsigned-out are for publishing a FILE, not for uploading to %s", args[0])
					}
					return c.upload(args[0], uf)
				}
				if used := uf.used(fs); len(used) > 0 {
					return usagef("%s only apply to a destination URL (s3://... or file://...), not to a FILE", strings.Join(used, ", "))
				}
				if *sf.unsignedOut != "" {
					return usagef("--unsigned-out cannot be used with publish")
				}
				r, err := c.open(sf)
				if err != nil {
					return err
				}
				return r.Publish(c.path(args[0]))
			}
		},
	}
}

func verifyCommand() command {
	return command{
		name: "verify", args: "[--root TRUSTED_ROOT]",
		summary: "check the whole repository offline from a trusted root",
		help: `Checks the repository as a client holding TRUSTED_ROOT would, and more:
the N.root.json chain (each version signed to threshold by its predecessor and
itself), root.json equal to the newest, signatures, thresholds, versions and
expiry of every role, length and hashes of every target, tufup's custom
metadata, and that every patch applied to the previous release's tar gives
its tar_hash and tar_size. Reports every problem found, naming file and role;
exits 1 if there is any.`,
		setup: func(fs *pflag.FlagSet) func(*cli, []string) error {
			root := fs.String("root", "", "trusted root `FILE` (default: REPO_DIR/metadata/1.root.json)")
			return func(c *cli, args []string) error {
				if err := wantArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				r, err := repo.Open(c.dir, repo.Options{Out: c.stdout})
				if err != nil {
					return err
				}
				var trusted []byte
				if *root != "" {
					if trusted, err = os.ReadFile(c.path(*root)); err != nil {
						return fmt.Errorf("trusted root: %w", err)
					}
				}
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				problems, err := r.Verify(ctx, trusted)
				if err != nil {
					return err
				}
				for _, p := range problems {
					fmt.Fprintf(c.stdout, "PROBLEM %s\n", p)
				}
				if len(problems) > 0 {
					return fmt.Errorf("%d problem(s) found", len(problems))
				}
				fmt.Fprintln(c.stdout, "verify: ok")
				return nil
			}
		},
	}
}

func statusCommand() command {
	return command{
		name: "status", args: "[--fail-on-warning]",
		summary: "releases, sizes, patch ratios, role versions and expiry",
		help: `Prints the releases (version, required, rollout, archive and patch size,
patch/full ratio) and each role's version and expiry. A role with less than
half its period (expiration_days) left, or expired, gets a warning.`,
		setup: func(fs *pflag.FlagSet) func(*cli, []string) error {
			failWarn := fs.Bool("fail-on-warning", false, "exit 1 when a role has a warning (for monitoring)")
			return func(c *cli, args []string) error {
				if err := wantArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				r, err := repo.Open(c.dir, repo.Options{})
				if err != nil {
					return err
				}
				st, err := r.Status()
				if err != nil {
					return err
				}
				if err := st.Write(c.stdout); err != nil {
					return err
				}
				if w := st.Warnings(); len(w) > 0 && *failWarn {
					return fmt.Errorf("%d warning(s): %s", len(w), strings.Join(w, "; "))
				}
				return nil
			}
		},
	}
}

func serveCommand() command {
	return command{
		name: "serve", args: "[--addr HOST:PORT]",
		summary: "serve the repository over HTTP for local testing",
		help: `Serves REPO_DIR/metadata and REPO_DIR/targets over plain HTTP, logging
each request to standard error, until interrupted. For testing only: a real
update server is any static file host.`,
		setup: func(fs *pflag.FlagSet) func(*cli, []string) error {
			addr := fs.String("addr", "127.0.0.1:8080", "listen on `HOST:PORT`")
			return func(c *cli, args []string) error {
				if err := wantArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				r, err := repo.Open(c.dir, repo.Options{})
				if err != nil {
					return err
				}
				ln, err := net.Listen("tcp", *addr)
				if err != nil {
					return err
				}
				logf := func(format string, args ...any) {
					fmt.Fprintf(c.stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
				}
				srv := &http.Server{Handler: repo.Handler(r.RepoDir(), logf), ReadHeaderTimeout: 10 * time.Second}
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				go func() {
					<-ctx.Done()
					shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					srv.Shutdown(shut)
				}()
				fmt.Fprintf(c.stdout, "serving %s at http://%s/ (metadata/, targets/); interrupt to stop\n", r.RepoDir(), ln.Addr())
				if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
					return err
				}
				return nil
			}
		},
	}
}
