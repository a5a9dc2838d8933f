#!/bin/sh
# Builds the macOS library into prebuilds/darwin-x64/ostls.node and
# prebuilds/darwin-arm64/ostls.node, where node-gyp-build finds it.
# On a Mac: uses Xcode's SDK and linker. Elsewhere: MACOS_SDK=<SDK root> with
# clang and lld (osxcross convention; see scripts/mac-sdk.sh).
# ARCHS="arm64 x64" by default.
set -eu
. "$(dirname "$0")/mac-sdk.sh"
if ! mac_find_sdk; then
  echo "build-mac: no macOS SDK: set MACOS_SDK to an SDK root (or run on a Mac with Xcode)" >&2
  exit 1
fi
mac_prepare_sysroot
for arch in ${ARCHS:-arm64 x64}; do
  dir="$mac_root/prebuilds/darwin-$arch"
  mkdir -p "$dir"
  mac_link "$arch" "$dir/ostls.node"
  echo "build-mac: $dir/ostls.node ($(wc -c < "$dir/ostls.node") bytes)"
done
[ -z "$MAC_OVERLAY_NOTE" ] || echo "build-mac: linked with ostls's stand-ins for $MAC_OVERLAY_NOTE: cross-check only, ship builds from a full SDK"
