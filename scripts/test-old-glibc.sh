#!/usr/bin/env bash
# `npm run test:old-glibc`: the linux-x64 glibc prebuild on an older glibc than
# the one that built it. Debian 11's glibc 2.31 (older than 2.34, where dlopen
# and pthreads got new symbol versions), libstdc++ and OpenSSL 1.1.1 are fetched
# with apt-get from deb.debian.org into .cache/bullseye (an apt configuration of
# its own: the system's apt sources and state are not touched) and Node runs on
# them through that glibc's dynamic loader. Checks, as TAP in
# .tap/results-old-glibc/old-glibc.tap:
#   - a build of the same sources without the symbol-version pins does NOT load
#     (the control: proves the old glibc is the one in use)
#   - the prebuild loads, reports OpenSSL 1.1.1, and completes a verified
#     handshake and a transfer with an in-process TLS server
# No glibc 2.28 is at hand (Debian 10 is no longer on deb.debian.org); 2.28
# itself is checked on the file's symbol versions by scripts/build-linux.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
cache=$root/.cache/bullseye
sys=$cache/root
out=$root/.tap/results-old-glibc
rm -rf "$out" && mkdir -p "$out" "$cache/lists/partial" "$cache/archives/partial"
. scripts/tap-checks.sh
tap_begin "$out/old-glibc.tap"

if [ ! -f "$sys/.done" ]; then
  echo "deb http://deb.debian.org/debian bullseye main" >"$cache/sources.list"
  apt=(apt-get -qq -o Dir::Etc::SourceList="$cache/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o Dir::State::Lists="$cache/lists" -o Dir::Cache="$cache" -o Dir::Cache::Archives="$cache/archives"
    -o APT::Architectures::=amd64 -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
  if ! { "${apt[@]}" update && (cd "$cache" && "${apt[@]}" download libc6/bullseye libstdc++6/bullseye libgcc-s1/bullseye libssl1.1/bullseye); } >"$cache/apt.log" 2>&1; then
    result "not ok" "fetch Debian 11's glibc, libstdc++ and libssl1.1" "$(tail -5 "$cache/apt.log")"
    finish
  fi
  rm -rf "$sys" && mkdir -p "$sys"
  for d in "$cache"/*.deb; do dpkg-deb -x "$d" "$sys"; done
  rm -f "$cache"/*.deb && touch "$sys/.done"
fi
ld=$(ls "$sys"/lib/x86_64-linux-gnu/ld-2.*.so | head -1)
libs=$sys/lib/x86_64-linux-gnu:$sys/usr/lib/x86_64-linux-gnu
old() { "$ld" --library-path "$libs" "$(command -v node)" "$@"; }

[ -f prebuilds/linux-x64/ostls.glibc.node ] || sh scripts/build-linux.sh x64-glibc >/dev/null || { result "not ok" "build the prebuild"; finish; }
[ -d dist/cjs ] || npm run -s build >/dev/null
gcc -std=c11 -O2 -fPIC -pthread -Ic -shared -o "$cache/unpinned.node" $(node scripts/sources.js linux) -Wl,--no-undefined
v=$(old -p "process.report.getReport().header.glibcVersionRuntime" 2>&1)
[ "${v%%.*}" = 2 ] && [ "${v#2.}" -lt 34 ] 2>/dev/null && result ok "Node runs on glibc $v" || { result "not ok" "Node runs on Debian 11's glibc" "$v"; finish; }
msg=$(old -e "require('koffi').load(process.argv[1])" "$cache/unpinned.node" 2>&1)
if [ $? -ne 0 ] && echo "$msg" | grep -q "version .GLIBC_2\.3[2-9]' not found"; then
  result ok "control: a build without the pins does not load on glibc $v (needs GLIBC_2.32+)"
else
  result "not ok" "control: a build without the pins does not load on glibc $v" "$msg"
fi
msg=$(OSTLS_LIBRARY=$root/prebuilds/linux-x64/ostls.glibc.node OSTLS_LIBSSL=$sys/usr/lib/x86_64-linux-gnu/libssl.so.1.1 old -e "
  const tls = require('node:tls'), fs = require('node:fs'), { connect, backendInfo } = require('./dist/cjs/index.js')
  const info = backendInfo(); console.log(info.version)
  if (!/^OpenSSL 1\.1\.1/.test(info.version)) process.exit(1)
  const d = 'assets/selftest'
  const srv = tls.createServer({ key: fs.readFileSync(d + '/server.key'), cert: fs.readFileSync(d + '/server.pem') }, (s) => s.end('hello'))
  srv.listen(0, '127.0.0.1', () => {
    const s = connect({ host: '127.0.0.1', port: srv.address().port, servername: 'ostls-selftest.invalid', ca: fs.readFileSync(d + '/ca.pem') })
    let got = ''
    s.on('secureConnect', () => console.log(s.getProtocol(), s.getCipher().standardName, 'authorized=' + s.authorized))
    s.on('data', (b) => (got += b))
    s.on('end', () => { srv.close(); process.exit(s.authorized && got === 'hello' ? 0 : 1) })
    s.on('error', (e) => { console.log(e.code, e.message); process.exit(1) })
  })" 2>&1)
if [ $? -eq 0 ]; then
  result ok "the glibc prebuild loads on glibc $v, with OpenSSL 1.1.1: verified handshake and transfer" "$msg"
else
  result "not ok" "the glibc prebuild loads on glibc $v, with OpenSSL 1.1.1: verified handshake and transfer" "$msg"
fi
finish
