// Command release builds the launcher binaries a release of this project
// ships, for the six platforms tufup-repo kit packs most often, with their
// checksums:
//
//	go run ./scripts/release -version 1.4.0 [-out dist/release]
//
// writes launcher-windows-amd64.exe, launcher-windows-arm64.exe,
// launcher-darwin-amd64, launcher-darwin-arm64, launcher-linux-amd64,
// launcher-linux-arm64 and SHA256SUMS (sha256sum -c reads it). The builds
// are reproducible (no cgo, -trimpath, no VCS stamp), so anyone can rebuild
// a release from its tag and compare the sums. App developers give the
// folder to "tufup-repo kit --launchers".
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/tufup-go/tufup/kit"
)

func main() {
	version := flag.String("version", "", "the launchers' version (required), e.g. 1.4.0")
	out := flag.String("out", "dist/release", "output folder")
	flag.Parse()
	if *version == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/release -version VERSION [-out DIR]")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	module, err := kit.FindModule(ctx, ".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
	files, err := kit.BuildLaunchers(ctx, module, *out, *version, kit.ReleasePlatforms)
	if err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
	for _, f := range files {
		fmt.Println(f)
	}
}
