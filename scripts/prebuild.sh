#!/bin/sh
# `npm run prebuilds` (and `prepack`, so `npm pack` ships them): builds every
# prebuild this machine can make into prebuilds/, each import-checked by the
# script that builds it:
#
#   prebuilds/linux-x64/ostls.glibc.node    gcc, glibc >= 2.28   scripts/build-linux.sh
#   prebuilds/linux-x64/ostls.musl.node     musl-gcc             scripts/build-linux.sh
#   prebuilds/linux-arm64/ostls.glibc.node  aarch64-linux-gnu-gcc, glibc >= 2.28
#   prebuilds/win32-x64/ostls.node          mingw-w64            scripts/build-win.sh
#   prebuilds/darwin-{x64,arm64}/ostls.node with MACOS_SDK or on a Mac: scripts/build-mac.sh
#
# A target whose compiler is missing is skipped and named at the end (an
# existing file from an earlier build is then left as it is and named too);
# a build or import check that fails makes the whole command fail.
# scripts/test-pack.sh checks that the tarball holds the ones that must ship.
set -u
cd "$(dirname "$0")/.."
built="" skipped="" failed=""

# Removes *.node files in DIR other than the names given (left-overs of other
# naming schemes would outrank ours in node-gyp-build's choice).
prune() {
  dir=$1; shift
  for f in "$dir"/*.node; do
    [ -e "$f" ] || continue
    keep=0
    for n in "$@"; do [ "$(basename "$f")" = "$n" ] && keep=1; done
    [ $keep = 1 ] || { echo "prebuild: removing $f (not a name this build makes)"; rm -f "$f"; }
  done
}

for t in x64-glibc x64-musl arm64-glibc; do
  sh scripts/build-linux.sh "$t"
  case $? in
    0) built="$built linux-$t" ;;
    3) skipped="$skipped linux-$t(no compiler)" ;;
    *) failed="$failed linux-$t" ;;
  esac
done
prune prebuilds/linux-x64 ostls.glibc.node ostls.musl.node
prune prebuilds/linux-arm64 ostls.glibc.node

if command -v "${MINGW_CC:-x86_64-w64-mingw32-gcc}" >/dev/null 2>&1; then
  if CC=${MINGW_CC:-x86_64-w64-mingw32-gcc} sh scripts/build-win.sh; then built="$built win32-x64"; else failed="$failed win32-x64"; fi
  prune prebuilds/win32-x64 ostls.node
else
  skipped="$skipped win32-x64(no mingw-w64)"
fi

if [ -n "${MACOS_SDK:-}" ] || [ "$(uname -s)" = Darwin ]; then
  if sh scripts/build-mac.sh; then built="$built darwin-arm64 darwin-x64"; else failed="$failed darwin"; fi
else
  skipped="$skipped darwin-x64/arm64(no MACOS_SDK)"
fi

echo "prebuild: built:${built:- nothing}"
[ -z "$skipped" ] || echo "prebuild: skipped:$skipped"
for s in $skipped; do
  old=""
  case $s in
    darwin*) old=$(ls prebuilds/darwin-*/ostls.node 2>/dev/null | tr '\n' ' ') ;;
    win32*) old=$(ls prebuilds/win32-x64/ostls.node 2>/dev/null) ;;
    linux-x64-musl*) old=$(ls prebuilds/linux-x64/ostls.musl.node 2>/dev/null) ;;
    linux-x64-glibc*) old=$(ls prebuilds/linux-x64/ostls.glibc.node 2>/dev/null) ;;
    linux-arm64*) old=$(ls prebuilds/linux-arm64/ostls.glibc.node 2>/dev/null) ;;
  esac
  [ -z "$old" ] || echo "prebuild: kept from an earlier build (not rebuilt now): $old"
done
if [ -n "$failed" ]; then
  echo "prebuild: FAILED:$failed" >&2
  exit 1
fi
[ -n "$built" ] || { echo "prebuild: nothing could be built here" >&2; exit 1; }
