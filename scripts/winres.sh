#!/bin/sh
# Regenerates the resources embedded in launcher.exe: the application
# manifest (Common Controls 6, so the progress window's controls look
# native; DPI awareness, so it is sharp on high-DPI screens) and version
# info. go build links cmd/launcher/rsrc_windows_*.syso by itself; they are
# committed, so builds need neither this script nor the network.
# Usage: scripts/winres.sh   (needs the Go module proxy once)
set -eu
cd "$(dirname "$0")/../cmd/launcher"
go run github.com/tc-hib/go-winres@v0.3.3 simply --arch amd64,arm64 --manifest gui --out rsrc \
  --product-name launcher --file-description "Keeps the app up to date and starts it"
ls -l rsrc_windows_*.syso
