#!/usr/bin/env bash
# `bash scripts/test-network-standin.sh [tap args]`: the shared tap suite,
# unchanged, against c/impl-mac/network.c (the Network.framework engine) built
# for Linux on ostls's LIVE stand-in of Network.framework (test/standin/live):
# real TCP connections (getaddrinfo + connect on a thread per connection),
# TLS by the system OpenSSL (libssl.a/libcrypto.a linked privately into the
# test library) as the engine's sec_protocol options say, the verify block
# called with the chain the server sent, SecTrust evaluated with OpenSSL
# against SSL_CERT_FILE / the `ca` anchors. CoreFoundation, certificates,
# serial queues and the keychain/CFNetwork calls are the scripted stand-in's
# (test/standin/network), its scripted nw_*/SecTrust calls made weak so the
# live ones replace them. What the stand-in cannot model is skipped by name
# (test/helpers/platform.ts standinGap). Needs clang, libblocksruntime-dev,
# libssl-dev. Builds build/standin/libostls-network.so; results go to
# .tap/results-standin-network for scripts/count-results.js.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OSTLS_STANDIN_BUILD:-build/standin}   # where it builds (a second copy may build beside a running one)
mkdir -p "$out"
inc=(-Itest/standin/network/include -Itest/standin/network -Itest/standin/live -Ic)
flags=(-fblocks -std=c11 -D_GNU_SOURCE= -g -O1 -fPIC -Wall -Wextra -Werror)
common=$(node scripts/sources.js mac | tr ' ' '\n' | grep '^c/common/')
# The scripted fakes' object, every symbol weak: the live files' nw_*,
# sec_protocol_* and SecTrust* calls replace the scripted ones.
clang "${flags[@]}" "${inc[@]}" -c test/standin/network/fake.c -o "$out/fake.o" &&
objcopy --weaken "$out/fake.o" "$out/fake-weak.o" &&
clang "${flags[@]}" "${inc[@]}" -shared -Wl,-Bsymbolic -Wl,--exclude-libs,ALL -Wl,-z,defs \
  $common c/impl-mac/mac_common.c c/impl-mac/mac_identity.c c/impl-mac/mac_identities.c c/impl-mac/network.c \
  test/standin/network/fake_keychain.c test/standin/network/fake_cfnetwork.c test/standin/network/engines.c \
  test/standin/live/*.c "$out/fake-weak.o" \
  -Wl,-Bstatic -lssl -lcrypto -Wl,-Bdynamic -lBlocksRuntime -lpthread -ldl \
  -o "$out/libostls-network.so" || { echo "not ok 1 - building the Network.framework live stand-in"; exit 1; }
[ "${1:-}" = --build-only ] && exit 0
echo "== the suite against network.c on the live Network.framework stand-in"
rm -rf .tap/test-results
OSTLS_BACKEND=network OSTLS_LIBRARY="$PWD/$out/libostls-network.so" OSTLS_TEST_STANDIN=network node_modules/.bin/tap "$@"
status=$?
rm -rf .tap/results-standin-network && mv .tap/test-results .tap/results-standin-network
exit $status
