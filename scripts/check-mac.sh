#!/bin/sh
# npm run check:mac — compiles and links the macOS library (c/common +
# c/impl-mac: the Network.framework and SecureTransport engines together) for
# arm64 and x86_64 with -Wall -Wextra -Werror against a macOS SDK, so that a
# warning or a symbol the SDK does not export fails here, not on a Mac.
# Needs MACOS_SDK (see scripts/mac-sdk.sh); without it this says so and exits 0.
set -eu
. "$(dirname "$0")/mac-sdk.sh"
if ! mac_find_sdk; then
  echo "check:mac skipped: MACOS_SDK not set (an SDK root: usr/include, usr/lib, System/Library/Frameworks; see scripts/mac-sdk.sh)"
  exit 0
fi
if ! command -v "$CC" >/dev/null 2>&1; then
  echo "check:mac: $CC not found (Debian/Ubuntu: apt-get install clang lld)" >&2
  exit 1
fi
mac_prepare_sysroot
out=$(mktemp -d "${TMPDIR:-/tmp}/ostls-checkmac.XXXXXX")
status=0
for arch in arm64 x64; do
  if mac_link "$arch" "$out/ostls-$arch.node" -Werror; then
    echo "check:mac: darwin-$arch links (-Wall -Wextra -Werror; network + securetransport)"
  else
    echo "check:mac: darwin-$arch FAILED" >&2
    status=1
  fi
done
rm -rf "$out"
echo "check:mac: SDK $MACOS_SDK${MAC_OVERLAY_NOTE:+; stand-ins from test/fixtures/macos: $MAC_OVERLAY_NOTE}"
exit $status
