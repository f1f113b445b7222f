package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/tufup-go/tufup/kit"
	"github.com/tufup-go/tufup/repo"
	"github.com/tufup-go/tufup/versions"
)

func kitCommand() command {
	return command{
		name: "kit", args: "[flags]",
		summary: "write the download page's files: Setup.exe, .app, .deb, archives, per platform",
		help: `Writes, for each --platform, what users download: the launcher renamed
to the app's name with launcher.json and the repository's root.json, packed as
	windows  NAME-VERSION-windows-ARCH-Setup.exe (per-user, no admin rights,
	         Start-menu shortcut with the AppUserModelID, optional desktop
	         shortcut, uninstaller; /S silent, /DESKTOP, /NOSTART) and a
	         portable NAME-VERSION-windows-ARCH.zip; needs makensis (NSIS)
	darwin   NAME-VERSION-darwin-ARCH.zip holding NAME.app (sign it on a Mac:
	         the steps are printed)
	linux    APP_VERSION_ARCH.deb (installs to /opt/APP, with a .desktop file)
	         and APP-VERSION-linux-ARCH.tar.gz
VERSION is the newest release the platform's launcher installs (--version
overrides). launcher.json is --launcher-json FILE, or made from --url and
--entry; installed packages get "data_dir": "{userdata}/..." when it has none.
Launcher binaries come from --launchers DIR (launcher-OS-ARCH[.exe], as a
release of tufup or "go run ./scripts/release" gives them), or are built when
tufup-repo runs inside a checkout of tufup with Go installed.
--seed also packs each platform's current release archive and the signed
targets metadata: the launcher verifies it against root.json and installs it
at the first start, with no network.`,
		setup: func(fs *pflag.FlagSet) func(*cli, []string) error {
			platforms := fs.StringArray("platform", nil, "pack for `OS/ARCH` (repeatable; default: this machine's)")
			out := fs.String("out", "kit", "write the packages into `DIR`")
			launchers := fs.String("launchers", "", "`DIR` of launcher binaries named launcher-OS-ARCH[.exe]")
			launcherVersion := fs.String("launcher-version", "0.0.0", "`VERSION` the launchers report when kit builds them")
			configFile := fs.String("launcher-json", "", "the launcher.json to ship (`FILE`)")
			url := fs.String("url", "", "without --launcher-json: the repository's base `URL` (serving metadata/ and targets/)")
			entries := fs.StringArray("entry", nil, "without --launcher-json: the app's executable in a release, `[OS[/ARCH]=]PATH` (repeatable)")
			name := fs.String("name", "", "display `NAME` of the app (files, shortcuts, bundle; default: the app name)")
			id := fs.String("id", "", "app `ID` such as com.example.MyApp: AppUserModelID, bundle identifier, .desktop name")
			publisher := fs.String("publisher", "", "who ships the app (`TEXT`)")
			description := fs.String("description", "", "one line about the app (`TEXT`)")
			icons := fs.StringArray("icon", nil, "icon `FILE`: .ico (Windows), .icns (macOS), .png (Linux) (repeatable)")
			version := fs.String("version", "", "name the packages after `VERSION` instead of the newest release")
			seed := fs.Bool("seed", false, "pack the current release, for a first start without network")
			return func(c *cli, args []string) error {
				if err := wantArgs(args, 0, "no arguments"); err != nil {
					return err
				}
				o := kit.Options{Out: c.path(*out), Name: *name, ID: *id, Publisher: *publisher, Description: *description,
					Version: *version, Seed: *seed, Log: c.stdout}
				if len(*platforms) == 0 {
					*platforms = []string{runtime.GOOS + "/" + runtime.GOARCH}
				}
				for _, s := range *platforms {
					p, err := versions.ParsePlatform(s)
					if err != nil || p.Arch == "" {
						return usagef("--platform %q: want OS/ARCH such as windows/amd64 (%v)", s, err)
					}
					o.Platforms = append(o.Platforms, p)
				}
				for _, ic := range *icons {
					o.Icons = append(o.Icons, c.path(ic))
				}
				r, err := repo.Open(c.dir, repo.Options{})
				if err != nil {
					return err
				}
				o.Repo = r
				if o.Config, err = kitConfig(c, *configFile, *url, *entries); err != nil {
					return err
				}
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				if o.Launchers = *launchers; o.Launchers != "" {
					o.Launchers = c.path(o.Launchers)
				} else {
					// A checkout of tufup is where tufup-repo runs from
					// (go run ./cmd/tufup-repo -C ../myapp kit), not the
					// repository's folder.
					module, err := kit.FindModule(ctx, ".")
					if err != nil {
						return fmt.Errorf("no --launchers DIR, and kit cannot build the launchers: %w", err)
					}
					tmp, err := os.MkdirTemp("", "tufup-kit-launchers-")
					if err != nil {
						return err
					}
					defer os.RemoveAll(tmp)
					fmt.Fprintf(c.stdout, "building the launcher %s from %s\n", *launcherVersion, module)
					if _, err := kit.BuildLaunchers(ctx, module, tmp, *launcherVersion, o.Platforms); err != nil {
						return err
					}
					o.Launchers = tmp
				}
				_, err = kit.Make(ctx, o)
				return err
			}
		},
	}
}

// kitConfig reads --launcher-json, or makes launcher.json from --url and
// --entry.
func kitConfig(c *cli, file, url string, entries []string) ([]byte, error) {
	if file != "" {
		if url != "" || len(entries) > 0 {
			return nil, usagef("--launcher-json already holds the URLs and entry: leave out --url and --entry")
		}
		return os.ReadFile(c.path(file))
	}
	if url == "" || len(entries) == 0 {
		return nil, usagef("give --launcher-json FILE, or --url and --entry")
	}
	base := strings.TrimSuffix(url, "/") + "/"
	cfg := map[string]any{"metadata_url": base + "metadata/", "targets_url": base + "targets/"}
	perPlatform := map[string]string{}
	for _, e := range entries {
		key, path, ok := strings.Cut(e, "=")
		if !ok {
			key, path = "default", e
		}
		if key != "default" {
			if _, err := versions.ParsePlatform(key); err != nil {
				return nil, usagef("--entry %q: %v", e, err)
			}
		}
		perPlatform[key] = path
	}
	if len(perPlatform) == 1 && perPlatform["default"] != "" {
		cfg["entry"] = perPlatform["default"]
	} else {
		cfg["entry"] = perPlatform
	}
	return json.Marshal(cfg)
}
