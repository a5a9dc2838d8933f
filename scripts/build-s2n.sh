#!/usr/bin/env bash
# `bash scripts/build-s2n.sh`: builds AWS s2n-tls (libs2n.so.1) from the vendored
# source tarball into .cache/s2n, for the s2n engine's CI and test runs
# (OSTLS_S2N_LIBRARY=.cache/s2n/lib/libs2n.so.1). ostls never links or ships
# it: the engine dlopens a user's own libs2n at run time. Needs cmake, a C
# compiler and OpenSSL's headers (Debian: cmake libssl-dev); s2n links the
# system's libcrypto. Does nothing when the library is already built.
# The tarball: S2N_TARBALL, else ../shared/vendor/ beside the clone.
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.7.7
out=.cache/s2n
lib=$out/lib/libs2n.so.1
if [ -f "$lib" ] && [ -f "$out/.built-$version" ]; then
  echo "s2n $version already built: $lib"
  exit 0
fi
tarball=${S2N_TARBALL:-}
if [ -z "$tarball" ]; then
  for t in ../shared/vendor/s2n-tls-$version.tar.gz /work/shared/vendor/s2n-tls-$version.tar.gz; do
    if [ -f "$t" ]; then tarball=$t; break; fi
  done
fi
if [ -z "$tarball" ] || [ ! -f "$tarball" ]; then
  echo "build-s2n.sh: s2n-tls-$version.tar.gz not found (set S2N_TARBALL)" >&2
  exit 1
fi
rm -rf "$out"
mkdir -p "$out"
tar xzf "$tarball" -C "$out"
src=$out/s2n-tls-$version
cmake -S "$src" -B "$out" -DBUILD_TESTING=OFF -DBUILD_SHARED_LIBS=ON -DCMAKE_BUILD_TYPE=Release >"$out/cmake.log"
cmake --build "$out" -j"${JOBS:-2}" >"$out/build.log"
test -f "$lib"
rm -rf "$src"
touch "$out/.built-$version"
echo "built $lib"
