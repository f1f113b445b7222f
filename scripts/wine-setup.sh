#!/bin/sh
# Prepare this Linux machine to run Go windows/amd64 binaries under Wine, for
# the Windows tests (e2e/windows_wine_test.go). Idempotent; needs root for
# apt-get the first time. Usage: scripts/wine-setup.sh
#
# Why the DLL: Go 1.22+ needs ProcessPrng from bcryptprimitives.dll, which
# Wine 8 (Debian 12) lacks; scripts/wine/processprng.c forwards it to
# BCryptGenRandom. It is compiled with mingw and put into the prefix's
# system32, because the Go runtime loads system DLLs from there only.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v wine >/dev/null || ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    wine wine64 gcc-mingw-w64-x86-64 >/dev/null
fi
export WINEDEBUG=-all
prefix=${WINEPREFIX:-$HOME/.wine}
sys32="$prefix/drive_c/windows/system32"
# The first start creates the prefix (10-20 s); later ones take seconds.
[ -d "$sys32" ] || wineboot -i >/dev/null 2>&1 || true
if [ ! -d "$sys32" ]; then
  echo "wine-setup: prefix $prefix was not created (wineboot failed)" >&2
  exit 1
fi
if [ ! -f "$sys32/bcryptprimitives.dll" ] || [ "$here/wine/processprng.c" -nt "$sys32/bcryptprimitives.dll" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
  x86_64-w64-mingw32-gcc -shared -O2 -o "$out/bcryptprimitives.dll" "$here/wine/processprng.c" -lbcrypt
  cp "$out/bcryptprimitives.dll" "$sys32/"
fi
echo "wine ready: run Windows builds with 'WINEDEBUG=-all wine prog.exe'"
