#!/usr/bin/env bash
# `bash scripts/test-engine.sh ENGINE [tap args]`: the shared tap suite,
# unchanged, against one engine of this platform's library (OSTLS_BACKEND),
# e.g. mbedtls or s2n beside the default OpenSSL engine. Results go to
# .tap/results-ENGINE for scripts/count-results.js. An engine whose library
# is not on this machine fails tls_init, so every test fails: the run says so.
set -uo pipefail
cd "$(dirname "$0")/.."
engine=${1:?usage: test-engine.sh ENGINE [tap args]}
shift
echo "== the suite against the $engine engine"
rm -rf .tap/test-results
OSTLS_BACKEND=$engine node_modules/.bin/tap "$@"
status=$?
rm -rf ".tap/results-$engine" && mv .tap/test-results ".tap/results-$engine"
exit $status
