#!/bin/sh
# Runs the two macOS engines on Linux against ostls's scripted stand-ins of
# Apple's frameworks and prints TAP:
#   c/impl-mac/network.c (Network.framework) against test/standin/network:
#     fake nw_*/sec_*/SecTrust/CoreFoundation/dispatch calls, serial queues as
#     threads, driven through c/common's public API (driver.c says what is
#     replayed); fake_keychain.c (an empty keychain unless scripted, revocation policies)
#     and fake_cfnetwork.c (no OS proxy, no PAC) add the calls mac_identity.c,
#     mac_common.c and c/common/sysproxy_mac.c make;
#   the keychain code (c/impl-mac/mac_identities.c, c/common/proxy_cred_mac.c)
#     against test/standin/keychain: the same fakes with a scripted keychain
#     (identities, proxy passwords) and a scripted Secure Web Proxy;
#   c/impl-mac/securetransport.c against test/standin/securetransport: fake
#     SSL* calls over the engine's I/O callbacks and c/common's real loopback
#     socket, the same SecTrust/CoreFoundation fakes.
# Needs clang and Debian's libblocksruntime-dev (Block.h, libBlocksRuntime).
# Builds build/standin/{network,securetransport,keychain}-driver (ASan+UBSan, leak
# checks on); the TAP also goes to .tap/results-standin/<engine>.tap, which
# scripts/count-results.js counts. Exit status 1 when a check failed.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=build/standin
mkdir -p "$out"
# c/common as binding.gyp lists it for macOS, the engine, and the stand-in
# (its own engine list instead of c/impl-mac/engines.c, which also names
# SecureTransport).
common=$(node scripts/sources.js mac | tr ' ' '\n' | grep '^c/common/')
clang -fblocks -std=c11 '-D_GNU_SOURCE=' -g -O1 -Wall -Wextra -Werror \
  -fsanitize=address,undefined -fno-sanitize-recover=all \
  -Itest/standin/network/include -Itest/standin/network -Ic \
  $common c/impl-mac/mac_common.c c/impl-mac/mac_identities.c c/impl-mac/mac_identity.c c/impl-mac/network.c \
  test/standin/network/fake.c test/standin/network/fake_keychain.c test/standin/network/fake_cfnetwork.c \
  test/standin/network/engines.c test/standin/network/driver.c \
  -rdynamic -lBlocksRuntime -lpthread -ldl -o "$out/network-driver"
# The SecureTransport engine against its stand-in (test/standin/securetransport):
# the same fakes for SecTrust and CoreFoundation, SSL* over c/common's socket.
clang -fblocks -std=c11 '-D_GNU_SOURCE=' -g -O1 -Wall -Wextra -Werror \
  -fsanitize=address,undefined -fno-sanitize-recover=all \
  -Itest/standin/network/include -Itest/standin/network -Ic \
  $common c/impl-mac/mac_common.c c/impl-mac/mac_identities.c c/impl-mac/mac_identity.c c/impl-mac/securetransport.c c/impl-mac/st_resume.c \
  test/standin/network/fake.c test/standin/network/fake_keychain.c test/standin/network/fake_cfnetwork.c \
  test/standin/securetransport/fake_st.c test/standin/securetransport/engines.c \
  test/standin/securetransport/driver.c \
  -rdynamic -lBlocksRuntime -lpthread -ldl -o "$out/securetransport-driver"
# The keychain code (identities listing; the proxy password after a 407,
# c/common/proxy_cred*.c) against the scripted keychain, through the
# SecureTransport build (c/common's real sockets, a CONNECT proxy in the driver).
clang -fblocks -std=c11 '-D_GNU_SOURCE=' -g -O1 -Wall -Wextra -Werror \
  -fsanitize=address,undefined -fno-sanitize-recover=all \
  -Itest/standin/network/include -Itest/standin/network -Ic \
  $common c/impl-mac/mac_common.c c/impl-mac/mac_identities.c c/impl-mac/mac_identity.c c/impl-mac/securetransport.c c/impl-mac/st_resume.c \
  test/standin/network/fake.c test/standin/network/fake_keychain.c test/standin/network/fake_cfnetwork.c \
  test/standin/securetransport/fake_st.c test/standin/securetransport/engines.c \
  test/standin/keychain/driver.c \
  -rdynamic -lBlocksRuntime -lpthread -ldl -o "$out/keychain-driver"
mkdir -p .tap/results-standin
set +e
status=0
for engine in network securetransport keychain; do
  ASAN_OPTIONS=detect_leaks=1 "$out/$engine-driver" >".tap/results-standin/$engine.tap" 2>&1 || status=1
  cat ".tap/results-standin/$engine.tap"
done
exit $status
