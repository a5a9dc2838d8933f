#!/bin/sh
# Builds one Linux prebuild without node-gyp (no Node headers needed: the
# library is plain C) and checks what the file imports:
#
#   scripts/build-linux.sh x64-glibc    prebuilds/linux-x64/ostls.glibc.node    gcc
#   scripts/build-linux.sh x64-musl     prebuilds/linux-x64/ostls.musl.node     musl-gcc (musl-tools)
#   scripts/build-linux.sh arm64-glibc  prebuilds/linux-arm64/ostls.glibc.node  aarch64-linux-gnu-gcc
#
# File names follow node-gyp-build's prebuild layout (<platform>-<arch>/<name>.<libc>.node).
# glibc builds must load on glibc >= 2.28 whatever glibc builds them: symbol
# versions are pinned by c/impl-linux/glibc_floor.h, and the build fails when an
# import needs a newer GLIBC_ version or a library other than libc/libdl/libpthread
# (and the dynamic loader). The musl build may import musl's libc only. Both
# dlopen the system's libssl at run time; neither links it.
# The sources are binding.gyp's (scripts/sources.js).
#
#   OSTLS_BUILD_OUT=FILE        writes FILE instead of the prebuild
#   OSTLS_BUILD_CFLAGS="..."    more compiler flags, after the defaults
#   OSTLS_WITHOUT_MBEDTLS=1     builds the library without the mbedtls engine, as a
#                               contributor's machine without Mbed TLS headers does
#                               (never for a prebuild: by default a missing engine is
#                               a build error, OSTLS_REQUIRE_MBEDTLS)
set -eu
cd "$(dirname "$0")/.."
GLIBC_FLOOR=2.28

target=${1:-}
case $target in
  x64-glibc)
    if command -v x86_64-linux-gnu-gcc >/dev/null 2>&1; then cc=x86_64-linux-gnu-gcc
    elif [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ]; then cc=gcc
    else cc=x86_64-linux-gnu-gcc; fi
    readelf=readelf dir=linux-x64 libc=glibc loader='ld-linux-x86-64\.so\.2' ;;
  x64-musl)
    cc=musl-gcc readelf=readelf dir=linux-x64 libc=musl ;;
  arm64-glibc)
    cc=aarch64-linux-gnu-gcc readelf=aarch64-linux-gnu-readelf dir=linux-arm64 libc=glibc loader='ld-linux-aarch64\.so\.1' ;;
  *)
    echo "usage: scripts/build-linux.sh x64-glibc|x64-musl|arm64-glibc" >&2
    exit 2 ;;
esac
command -v "$readelf" >/dev/null 2>&1 || readelf=readelf  # binutils readelf reads any ELF
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "build-linux: $target: $cc not found" >&2
  exit 3
fi

out=${OSTLS_BUILD_OUT:-prebuilds/$dir/ostls.$libc.node}
mkdir -p "$(dirname "$out")"
extra=${OSTLS_BUILD_CFLAGS:-}
case ${OSTLS_WITHOUT_MBEDTLS:-} in
  ""|0) mbedtls=-DOSTLS_REQUIRE_MBEDTLS ;;
  1) mbedtls=-DOSTLS_WITHOUT_MBEDTLS ;;
  *) echo "build-linux: OSTLS_WITHOUT_MBEDTLS must be 1 or 0, not '$OSTLS_WITHOUT_MBEDTLS'" >&2; exit 2 ;;
esac
tmp=$out.tmp
set --
if [ $libc = glibc ]; then
  # Name libdl/libpthread so that on glibc < 2.34 (where the pinned versions
  # live in them) they load with the library; on newer glibc they are stubs.
  set -- -include c/impl-linux/glibc_floor.h
  libs="-Wl,--no-as-needed -l:libdl.so.2 -l:libpthread.so.0"
else
  libs=""
  # The mbedtls engine compiles against the system's Mbed TLS headers
  # (libmbedtls-dev: types and struct layouts only, nothing is linked);
  # musl-gcc does not search /usr/include, so it gets those headers alone.
  mkdir -p build/musl-include
  ln -sfn /usr/include/mbedtls build/musl-include/mbedtls
  set -- -Ibuild/musl-include
fi
# -Bsymbolic: the library's own calls to its exported tls_* functions (the
# https:// proxy's inner connection) bind to its own code. Without it the
# host's symbols come first: Node 22+ exports its OpenSSL's internal
# tls_free, and proxy_free called that one (SIGSEGV in BIO_free_all).
# shellcheck disable=SC2046,SC2086
"$cc" -std=c11 -O2 -fPIC -pthread -fvisibility=hidden -Wall -Wextra -Werror=implicit-function-declaration \
  -D_FILE_OFFSET_BITS=64 $mbedtls -Ic "$@" $extra -shared -o "$tmp" $(node scripts/sources.js linux) \
  -Wl,--no-undefined -Wl,-Bsymbolic -Wl,-z,noexecstack -Wl,-z,relro -Wl,-z,now -s $libs

fail() {
  echo "build-linux: $target: $*" >&2
  rm -f "$tmp"
  exit 1
}
needed=$("$readelf" -d "$tmp" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
if [ $libc = glibc ]; then
  allowed="^(libc\.so\.6|libdl\.so\.2|libpthread\.so\.0|$loader)\$"
  # The newest GLIBC_ version any import needs (version needs of every file).
  newest=$("$readelf" -V "$tmp" | sed -n 's/.*Name: GLIBC_\([0-9.]*\).*/\1/p' | sort -t. -k1,1n -k2,2n -k3,3n | tail -1)
  [ -n "$newest" ] || fail "no GLIBC_ version needs found: is this a glibc build?"
  if [ "$(printf '%s\n%s\n' "$newest" "$GLIBC_FLOOR" | sort -t. -k1,1n -k2,2n -k3,3n | tail -1)" != "$GLIBC_FLOOR" ]; then
    too_new=$("$readelf" --dyn-syms -W "$tmp" | awk -v floor="$GLIBC_FLOOR" '
      function newer(a, b,  x, y, i) { split(a, x, "."); split(b, y, ".")
        for (i = 1; i <= 3; i++) if (x[i] + 0 != y[i] + 0) return x[i] + 0 > y[i] + 0
        return 0 }
      $7 == "UND" && $8 ~ /@GLIBC_/ { v = $8; sub(/.*@GLIBC_/, "", v); if (newer(v, floor)) printf "%s ", $8 }')
    fail "needs GLIBC_$newest, newer than the $GLIBC_FLOOR floor (${too_new% }); pin them in c/impl-linux/glibc_floor.h"
  fi
  floor_note="newest symbol version GLIBC_$newest (floor $GLIBC_FLOOR)"
else
  allowed='^libc\.so$'
  # musl has no symbol versions; a glibc-built file would carry some.
  if "$readelf" -V "$tmp" | grep -q 'GLIBC_'; then fail "carries GLIBC_ symbol versions: not a musl build"; fi
  floor_note="musl libc only"
fi
for lib in $needed; do
  echo "$lib" | grep -Eq "$allowed" || fail "imports $lib (allowed: $allowed)"
done
mv "$tmp" "$out"
echo "build-linux: $out ($(wc -c < "$out") bytes; imports: ${needed% }; $floor_note)"
