#!/usr/bin/env bash
# The library as a contributor's clone builds it on a machine without Mbed TLS
# 2.28's headers (c/impl-linux/mbedtls_have.h; OSTLS_WITHOUT_MBEDTLS stands in
# for the missing headers, which CI has). Checks, as TAP in
# .tap/results-contributor/contributor-build.tap:
#   - the sources compile and link, with no warning from the mbedtls files
#   - that library works: `ostls doctor` is healthy on the OpenSSL engine
#   - OSTLS_BACKEND=mbedtls fails with TLS_LIBRARY_NOT_FOUND and says why
#   - a prebuild cannot be made that way (OSTLS_REQUIRE_MBEDTLS stops it)
# and runs the suite's files that name the mbedtls engine against that library
# (the rest do not depend on it), results in .tap/results-contributor/suite,
# so that `npm test` in such a clone stays green.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=$root/.tap/results-contributor
work=$root/.cache/contributor
rm -rf "$out" "$work" && mkdir -p "$out" "$work"
. scripts/tap-checks.sh
tap_begin "$out/contributor-build.tap"

[ -d dist/cjs ] || npm run -s build >/dev/null
lib=$work/ostls.node
# The prebuild's own build, told to leave the engine out (and so not to require it).
if OSTLS_BUILD_OUT=$lib OSTLS_WITHOUT_MBEDTLS=1 sh scripts/build-linux.sh x64-glibc >"$work/cc.log" 2>&1 \
  && ! grep -q 'mbedtls[a-z_]*\.[ch]:' "$work/cc.log"; then
  result ok "the sources build without the mbedtls engine, with no warning from its files"
else
  result "not ok" "the sources build without the mbedtls engine, with no warning from its files" "$(tail -5 "$work/cc.log")"
  finish
fi

doctor() { OSTLS_LIBRARY=$lib node dist/cjs/cli/main.js doctor "$@" >"$work/doctor.log" 2>&1; }
if doctor && grep -q '^healthy' "$work/doctor.log" && grep -q 'backend *openssl' "$work/doctor.log"; then
  result ok "that library is healthy on the OpenSSL engine (ostls doctor)"
else
  result "not ok" "that library is healthy on the OpenSSL engine (ostls doctor)" "$(tail -5 "$work/doctor.log")"
fi

if OSTLS_BACKEND=mbedtls doctor; then
  result "not ok" "OSTLS_BACKEND=mbedtls fails there" "$(tail -5 "$work/doctor.log")"
elif grep -q 'TLS_LIBRARY_NOT_FOUND: OSTLS_BACKEND=mbedtls: the mbedtls engine did not load: this build of the library has no mbedtls engine: it was built with OSTLS_WITHOUT_MBEDTLS' "$work/doctor.log" \
  && grep -q 'fix .*libmbedtls-dev' "$work/doctor.log"; then
  result ok "OSTLS_BACKEND=mbedtls fails there with TLS_LIBRARY_NOT_FOUND, saying why and how to fix it"
else
  result "not ok" "OSTLS_BACKEND=mbedtls fails there with TLS_LIBRARY_NOT_FOUND, saying why and how to fix it" "$(grep -E 'FAILED|fix' "$work/doctor.log")"
fi

# scripts/build-linux.sh passes OSTLS_REQUIRE_MBEDTLS: a prebuild without the engine is a build error.
if gcc -std=c11 -fsyntax-only -DOSTLS_WITHOUT_MBEDTLS -DOSTLS_REQUIRE_MBEDTLS -Ic c/impl-linux/mbedtls_absent.c >"$work/require.log" 2>&1; then
  result "not ok" "a prebuild cannot leave the engine out (OSTLS_REQUIRE_MBEDTLS)" "it compiled"
elif grep -q 'the mbedtls engine needs Mbed TLS 2.28' "$work/require.log" && grep -q 'OSTLS_REQUIRE_MBEDTLS' scripts/build-linux.sh; then
  result ok "a prebuild cannot leave the engine out (OSTLS_REQUIRE_MBEDTLS)"
else
  result "not ok" "a prebuild cannot leave the engine out (OSTLS_REQUIRE_MBEDTLS)" "$(tail -3 "$work/require.log")"
fi

files=$(grep -l -i mbedtls test/*.ts)
rm -rf .tap/test-results
# shellcheck disable=SC2086
OSTLS_LIBRARY=$lib node_modules/.bin/tap $files >"$work/suite.log" 2>&1
suite=$?
mv .tap/test-results "$out/suite" 2>/dev/null
echo "test-contributor-build: $(echo $files | wc -w) files against that library: $(tail -3 "$work/suite.log" | grep -E '^# \{' || echo 'no summary')"
[ $suite -eq 0 ] || failed=$((failed + 1))
finish
