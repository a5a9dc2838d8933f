#!/bin/sh
# Lays out an SDK root usable as MACOS_SDK from a checkout of the
# mitchellh/zig-build-macos-sdk repository (include/, Frameworks/, lib/), with
# symlinks only:  scripts/mac-sdk-from-zig.sh <checkout> <root>
# Its lib/ has no libSystem stub and it has no Network.framework: check-mac.sh
# and build-mac.sh stand in for both from test/fixtures/macos.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 <zig-build-macos-sdk checkout> <root to create>" >&2; exit 2; }
src=$(cd "$1" && pwd)
[ -d "$src/include" ] && [ -d "$src/Frameworks" ] || { echo "$src: no include/ and Frameworks/" >&2; exit 1; }
mkdir -p "$2/usr/lib" "$2/System/Library"
root=$(cd "$2" && pwd)
ln -sfn "$src/include" "$root/usr/include"
ln -sfn "$src/Frameworks" "$root/System/Library/Frameworks"
for f in "$src"/lib/*.tbd; do [ -e "$f" ] && ln -sf "$f" "$root/usr/lib/"; done
echo "MACOS_SDK=$root"
