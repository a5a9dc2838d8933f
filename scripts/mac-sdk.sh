# Sourced by scripts/build-mac.sh and scripts/check-mac.sh: finds a macOS SDK
# and defines mac_link, which compiles and links the macOS library
# (c/common + c/impl-mac) for one architecture.
#
#   MACOS_SDK   an SDK root (osxcross convention: usr/include, usr/lib,
#               System/Library/Frameworks). On a Mac, default: xcrun's SDK.
#   CC          default clang. Off macOS the link uses lld (ld64.lld).
#
# An SDK without libSystem's stub or without Network.framework (such as one laid
# out from mitchellh/zig-build-macos-sdk) gets ostls's own stand-ins from
# test/fixtures/macos, overlaid in a temporary directory: a libSystem.tbd
# listing the C-library symbols the library uses, and a Network.framework with
# a .tbd and the few declarations network.c needs. Whatever the SDK has itself
# is used as it is.

mac_root=$(cd "$(dirname "$0")/.." && pwd)
CC=${CC:-clang}

mac_find_sdk() {
  if [ -z "${MACOS_SDK:-}" ] && [ "$(uname -s)" = Darwin ] && command -v xcrun >/dev/null 2>&1; then
    MACOS_SDK=$(xcrun --sdk macosx --show-sdk-path)
  fi
  [ -n "${MACOS_SDK:-}" ] && [ -d "$MACOS_SDK" ]
}

# Sets MAC_SYSROOT (the SDK itself, or a temporary overlay of it) and
# MAC_OVERLAY_NOTE (what was stood in for).
mac_prepare_sysroot() {
  MAC_OVERLAY_NOTE=""
  sdk=$(cd "$MACOS_SDK" && pwd)
  need_libsystem=1
  for f in "$sdk/usr/lib/libSystem.tbd" "$sdk/usr/lib/libSystem.B.tbd" "$sdk/usr/lib/libSystem.dylib"; do
    [ -e "$f" ] && need_libsystem=0
  done
  need_network=1
  [ -e "$sdk/System/Library/Frameworks/Network.framework" ] && need_network=0
  if [ $need_libsystem = 0 ] && [ $need_network = 0 ]; then
    MAC_SYSROOT=$sdk
    return
  fi
  MAC_SYSROOT=$(mktemp -d "${TMPDIR:-/tmp}/ostls-macsdk.XXXXXX")
  trap 'rm -rf "$MAC_SYSROOT"' EXIT
  mkdir -p "$MAC_SYSROOT/usr/lib" "$MAC_SYSROOT/System/Library/Frameworks"
  ln -s "$sdk/usr/include" "$MAC_SYSROOT/usr/include"
  for f in "$sdk"/usr/lib/*; do [ -e "$f" ] && ln -s "$f" "$MAC_SYSROOT/usr/lib/"; done
  for f in "$sdk"/System/Library/Frameworks/*; do [ -e "$f" ] && ln -s "$f" "$MAC_SYSROOT/System/Library/Frameworks/"; done
  [ -e "$sdk/SDKSettings.json" ] && ln -s "$sdk/SDKSettings.json" "$MAC_SYSROOT/"
  if [ $need_libsystem = 1 ]; then
    ln -s "$mac_root/test/fixtures/macos/libSystem.tbd" "$MAC_SYSROOT/usr/lib/libSystem.tbd"
    MAC_OVERLAY_NOTE="libSystem.tbd"
  fi
  if [ $need_network = 1 ]; then
    ln -s "$mac_root/test/fixtures/macos/Network.framework" "$MAC_SYSROOT/System/Library/Frameworks/Network.framework"
    MAC_OVERLAY_NOTE="${MAC_OVERLAY_NOTE:+$MAC_OVERLAY_NOTE, }Network.framework (ostls's stand-in declarations)"
  fi
}

# binding.gyp's list (common + OS=='mac'), through scripts/sources.js.
mac_sources() {
  node "$mac_root/scripts/sources.js" mac --abs
}

# mac_link ARCH OUT [extra cc flags...]   ARCH: arm64 | x64
# Minimum macOS: 11 on arm64 (the first arm64 release), 10.15 on x64 (Node 20's
# floor; Network.framework's TLS-version API). Network.framework is weak-linked.
mac_link() {
  _mac_arch=$1 _mac_out=$2
  shift 2
  case $_mac_arch in
    arm64) _mac_target=arm64-apple-macos11 ;;
    x64) _mac_target=x86_64-apple-macos10.15 ;;
    *) echo "mac_link: unknown arch $_mac_arch" >&2; return 2 ;;
  esac
  _mac_ld=""
  [ "$(uname -s)" = Darwin ] || _mac_ld="-fuse-ld=lld"
  # shellcheck disable=SC2046
  "$CC" -target "$_mac_target" -isysroot "$MAC_SYSROOT" $_mac_ld -shared -std=c11 -O2 -fblocks \
    -fvisibility=hidden -Wall -Wextra "$@" \
    -I"$mac_root/c" \
    -Wl,-install_name,@rpath/ostls.node -o "$_mac_out" $(mac_sources) \
    -framework Security -framework CoreFoundation -framework CFNetwork -weak_framework Network
}
