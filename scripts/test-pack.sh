#!/usr/bin/env bash
# `npm run test:pack`: the tarball is the product. Packs it (npm pack runs
# prepack -> scripts/prebuild.sh), checks what it holds, installs it into a
# fresh project the way a user does - no compiler, make or python on PATH, no
# nodedir, a fresh HOME with an empty .npmrc and npm cache (dependencies such
# as koffi come from the registry) - and from that project runs
# `npx ostls doctor`, a connect() to a local TLS server, require('ostls'),
# import('ostls') and require('ostls/register').
#
#   scripts/test-pack.sh [ostls-x.y.z.tgz]   test this tarball instead of packing one
#
# Writes one TAP line per check to .tap/results-pack/pack.tap (counted by
# scripts/count-results.js) and exits non-zero when a check fails.
# OSTLS_PACK_DARWIN=1 also requires the darwin prebuilds (set when MACOS_SDK is).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=$root/.tap/results-pack
work=$(mktemp -d "${TMPDIR:-/tmp}/ostls-pack.XXXXXX")
server_pid=""
cleanup() { [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
rm -rf "$out" && mkdir -p "$out"
. scripts/tap-checks.sh
tap_begin "$out/pack.tap"
ok() { result ok "$1"; }
notok() { # name detail-file-or-text
  result "not ok" "$1" "$(if [ -f "${2:-}" ]; then tail -n 30 "$2"; else printf '%s' "${2:-}"; fi)"
}
check() { # name command... (output in $work/last.log)
  local name=$1; shift
  if "$@" >"$work/last.log" 2>&1; then ok "$name"; else notok "$name" "$work/last.log"; fi
}

# -- 1. the tarball
if [ $# -ge 1 ]; then
  tgz=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
else
  echo "test-pack: npm pack (prepack builds the prebuilds)"
  if npm pack --pack-destination "$work" >"$work/pack.log" 2>&1; then
    tgz=$(ls "$work"/ostls-*.tgz 2>/dev/null | head -1)
    ok "npm pack"
    grep '^prebuild: ' "$work/pack.log" | sed 's/^/# /' | tee -a "$tap"
  else
    notok "npm pack" "$work/pack.log"
    finish
  fi
fi
tar tzf "$tgz" | sed 's|^package/||' | sort >"$work/files.txt"
want="prebuilds/linux-x64/ostls.glibc.node prebuilds/linux-x64/ostls.musl.node prebuilds/linux-arm64/ostls.glibc.node prebuilds/win32-x64/ostls.node"
[ "${OSTLS_PACK_DARWIN:-${MACOS_SDK:+1}}" = 1 ] && want="$want prebuilds/darwin-x64/ostls.node prebuilds/darwin-arm64/ostls.node"
for f in $want; do
  check "tarball holds $f" grep -qx "$f" "$work/files.txt"
done
check "tarball holds dist/ with types, assets/, README.md, LICENSE" \
  sh -c "grep -qx dist/cjs/index.d.ts '$work/files.txt' && grep -qx dist/esm/index.mjs '$work/files.txt' &&
         grep -q '^assets/selftest/' '$work/files.txt' && grep -qx README.md '$work/files.txt' && grep -qx LICENSE '$work/files.txt'"
# Nothing for development only, nothing pointing at what is not shipped.
check "tarball holds no tests, bench, scripts, C sources, binding.gyp or source maps" \
  sh -c "! grep -E '^(test|bench|scripts|c|ts|build)/|^binding\.gyp$|\.map$' '$work/files.txt'"
check "the shipped package.json names no scripts, no test settings and no allowScripts" \
  node -e "const p = JSON.parse(require('node:child_process').execSync('tar xzf \"$tgz\" -O package/package.json')); process.exit(p.scripts || p.tap || p.allowScripts ? 1 : 0)"
[ $# -ge 1 ] || check "npm pack put back the working tree's package.json" \
  node -e "process.exit(require('./package.json').scripts?.prepack ? 0 : 1)"
check "shipped JavaScript names no source map" sh -c "tar xzf '$tgz' -C '$work' && ! grep -rl sourceMappingURL '$work/package/dist'"

# -- 2. a user's machine: no compiler, no nodedir, fresh HOME
bin=$work/bin
mkdir -p "$bin" "$work/home" "$work/proj"
ln -s "$(command -v node)" "$bin/node"
ln -s "$(readlink -f "$(command -v npm)")" "$bin/npm"
ln -s "$(readlink -f "$(command -v npx)")" "$bin/npx"
ln -s "$(command -v sh)" "$bin/sh" # npm runs dependencies' install scripts with sh
: >"$work/home/.npmrc"
user_env=(env -i PATH="$bin" HOME="$work/home" npm_config_userconfig="$work/home/.npmrc"
  npm_config_nodedir= npm_config_cache="$work/home/.npm" npm_config_update_notifier=false
  npm_config_fund=false npm_config_audit=false TMPDIR="$work" LANG=C.UTF-8)
check "no compiler, make, python or node-gyp on the user's PATH" \
  "${user_env[@]}" sh -c 'for c in cc gcc clang make python3 python node-gyp; do command -v $c && exit 1; done; exit 0'
echo '{ "name": "pack-user", "version": "1.0.0", "private": true }' >"$work/proj/package.json"
if (cd "$work/proj" && "${user_env[@]}" npm install --no-package-lock "$tgz" >"$work/install.log" 2>&1); then
  ok "npm install <tarball> with no compiler on PATH and a fresh HOME"
else
  notok "npm install <tarball> with no compiler on PATH and a fresh HOME" "$work/install.log"
  finish
fi
pkg=$work/proj/node_modules/ostls
check "the install built nothing (no build/ in node_modules/ostls, no gyp in the log)" \
  sh -c "[ ! -e '$pkg/build' ] && ! grep -qi 'gyp' '$work/install.log'"
run() { (cd "$work/proj" && "${user_env[@]}" "$@"); }

check "npx ostls doctor exits 0" run npx --no-install ostls doctor
cat "$work/last.log" | sed 's/^/# /' >>"$tap"

# A local TLS server with the package's own self-test certificate.
node -e "
  const tls = require('node:tls'), fs = require('node:fs'), d = process.argv[1]
  const srv = tls.createServer({ key: fs.readFileSync(d + '/server.key'), cert: fs.readFileSync(d + '/server.pem') },
    (s) => { s.on('error', () => {}); s.end('hello from the pack test\n') })
  srv.listen(0, '127.0.0.1', () => fs.writeFileSync(process.argv[2], String(srv.address().port)))
" "$pkg/assets/selftest" "$work/port" &
server_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port" 2>/dev/null)
check "connect() to a local TLS server, verified with ca" run node -e "
  const { connect } = require('ostls'), fs = require('node:fs')
  const s = connect({ host: '127.0.0.1', port: $port, servername: 'ostls-selftest.invalid',
    ca: fs.readFileSync('node_modules/ostls/assets/selftest/ca.pem') }, () => {
    if (!s.authorized) { console.error('not authorized', s.authorizationError); process.exit(1) }
  })
  let got = ''
  s.on('data', (d) => (got += d))
  s.on('end', () => { console.log(s.getProtocol(), got.trim()); process.exit(got.includes('hello from the pack test') ? 0 : 1) })
  s.on('error', (e) => { console.error(e.code, e.tlsCode, e.message); process.exit(1) })"
check "require('ostls') loads the shipped prebuild" run node -e "
  const info = require('ostls').backendInfo()
  console.log(JSON.stringify(info))
  if (!/node_modules[\\\\/]ostls[\\\\/]prebuilds[\\\\/]/.test(info.prebuildPath)) process.exit(1)"
check "import('ostls') (ESM) shares the CommonJS binding" run node --input-type=module -e "
  const m = await import('ostls'); const { createRequire } = await import('node:module')
  const cjs = createRequire(process.cwd() + '/x.js')('ostls')
  if (typeof m.connect !== 'function' || m.connect !== cjs.connect) process.exit(1)
  console.log(m.backendInfo().backend)"
check "require('ostls/register') routes https through ostls" run node -e "
  const r = require('ostls/register'), https = require('node:https')
  if (!r.isRegistered() || !(https.globalAgent instanceof require('ostls').Agent)) process.exit(1)"
finish
