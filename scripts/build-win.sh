#!/bin/sh
# Cross-compiles the Windows (Schannel) library with mingw-w64 into
# prebuilds/win32-x64/ostls.node, where node-gyp-build finds it on Windows.
# A plain DLL that koffi loads: it depends on system DLLs only (checked below).
# The sources are binding.gyp's (scripts/sources.js).
set -eu
cd "$(dirname "$0")/.."
CC=${CC:-x86_64-w64-mingw32-gcc}
OBJDUMP=${OBJDUMP:-x86_64-w64-mingw32-objdump}
if ! command -v "$CC" >/dev/null 2>&1; then
  echo "build-win: $CC not found (Debian/Ubuntu: apt-get install mingw-w64)" >&2
  exit 1
fi
out=prebuilds/win32-x64
mkdir -p "$out"
"$CC" -std=c11 -O2 -Wall -Wextra -Werror=implicit-function-declaration \
  -D_WIN32_WINNT=0x0A00 -DWINVER=0x0A00 -DUNICODE -D_UNICODE \
  -Ic -shared -o "$out/ostls.node" \
  $(node scripts/sources.js win) \
  -static-libgcc -static -Wl,--no-undefined -Wl,--dynamicbase -Wl,--nxcompat -Wl,--high-entropy-va \
  -s -lsecur32 -lcrypt32 -lws2_32 -lwinhttp
# Only DLLs every Windows has.
allowed='^(KERNEL32|SECUR32|CRYPT32|WS2_32|WINHTTP|ADVAPI32|msvcrt|USER32|ntdll|api-ms-win-crt-.*|api-ms-win-core-.*)\.dll$'
bad=$("$OBJDUMP" -p "$out/ostls.node" | sed -n 's/^\s*DLL Name: //p' | grep -Eiv "$allowed" || true)
if [ -n "$bad" ]; then
  echo "build-win: $out/ostls.node depends on non-system DLLs: $bad" >&2
  exit 1
fi
echo "build-win: $out/ostls.node ($(wc -c < "$out/ostls.node") bytes; imports: $("$OBJDUMP" -p "$out/ostls.node" | sed -n 's/^\s*DLL Name: //p' | tr '\n' ' '))"
