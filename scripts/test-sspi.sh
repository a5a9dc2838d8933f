#!/usr/bin/env bash
# The SSPI stand-in: the Schannel engine (c/impl-win) and c/common built with
# mingw-w64 into a test program in which secur32's entry points are
# test/sspi/standin.c, a scripted SSPI that replays documented Windows 11
# behaviour (SEC_I_RENEGOTIATE for TLS 1.3 tickets, SECBUFFER_EXTRA, split and
# coalesced records, SEC_I_CONTEXT_EXPIRED, SEC_I_INCOMPLETE_CREDENTIALS with
# the server's CA list for clientCertificate 'auto', a renegotiation with
# another certificate), and test/sspi/os.c says "Windows
# 11, not Wine". The driver (test/sspi/driver.c) prints TAP; it runs under
# Wine (wine64), whose crypt32 and Winsock are used as they are.
# Exit status: 0 when every test passed.
set -euo pipefail
cd "$(dirname "$0")/.."
CC=${CC:-x86_64-w64-mingw32-gcc}
out=.cache/sspi
mkdir -p "$out"
wine=
for w in wine64 /usr/lib/wine/wine64 wine; do
  if command -v "$w" >/dev/null 2>&1; then wine=$(command -v "$w"); break; fi
done
command -v "$CC" >/dev/null 2>&1 || { echo "Bail out! $CC not found (apt-get install mingw-w64)"; exit 1; }
[ -n "$wine" ] || { echo "Bail out! wine64 not found (apt-get install wine64)"; exit 1; }

# The library's Windows sources, but the OS probe is the stand-in's.
sources=$(node scripts/sources.js win | tr ' ' '\n' | grep -v '^c/impl-win/schannel_os\.c$' | tr '\n' ' ')
# _NO_KSECDD_IMPORT_: the SSPI calls bind to the stand-in, not to __imp_ pointers into secur32.
"$CC" -std=c11 -O1 -g -Wall -Wextra -Werror=implicit-function-declaration \
  -D_WIN32_WINNT=0x0A00 -DWINVER=0x0A00 -DUNICODE -D_UNICODE -D_NO_KSECDD_IMPORT_ -Ic \
  -o "$out/standin.exe" $sources test/sspi/standin.c test/sspi/os.c test/sspi/identities.c test/sspi/driver.c \
  -static -Wl,--no-undefined -lcrypt32 -lws2_32 -lwinhttp
if x86_64-w64-mingw32-objdump -p "$out/standin.exe" | grep -qi 'DLL Name: secur32'; then
  echo "Bail out! the test build still imports secur32.dll"; exit 1
fi

# RSA, not ECDSA: Wine's crypt32 rejects an ECDSA signature whose r or s is
# shorter than 32 bytes (about 1 certificate in 128), which made a fresh
# checkout's run fail now and then with CERT_SIGNATURE_FAILURE.
for i in 0 1; do
  [ -f "$out/standin$i.der" ] || openssl req -x509 -newkey rsa:2048 -nodes \
    -subj "/CN=standin$i" -addext "subjectAltName=DNS:localhost" -days 3650 -outform DER \
    -keyout /dev/null -out "$out/standin$i.der" 2>/dev/null
  [ -f "$out/standin$i.pem" ] || openssl x509 -inform DER -in "$out/standin$i.der" -out "$out/standin$i.pem"
done

# clientCertificate 'auto': CAs A to E; identities (RSA keys) A and B (client
# auth, issued by A and B), D (server auth only) and E (expired), as PKCS#12
# files that the driver imports into the prefix's CurrentUser\My
# (test/sspi/identities.c). C issues none.
auto=$out/auto
if [ ! -f "$auto/idE.pfx" ]; then
  rm -rf "$auto"
  mkdir -p "$auto"
  for n in A B C D E; do
    openssl req -x509 -newkey rsa:2048 -nodes -subj "/O=ostls standin/CN=standin auto CA $n" -days 3650 \
      -addext basicConstraints=critical,CA:true -keyout "$auto/ca$n.key" -out "$auto/ca$n.pem" 2>/dev/null
    openssl x509 -in "$auto/ca$n.pem" -outform DER -out "$auto/ca$n.der"
  done
  printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n' >"$auto/client.ext"
  printf 'extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n' >"$auto/server.ext"
  # E's validity ended years ago: `openssl ca` takes explicit dates.
  printf '[ca]\ndefault_ca=d\n[d]\ndatabase=%s/index.txt\nnew_certs_dir=%s\nserial=%s/serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n' \
    "$auto" "$auto" "$auto" >"$auto/ca.cnf"
  : >"$auto/index.txt"
  echo 1E >"$auto/serial"
  for n in A B D E; do
    openssl req -newkey rsa:2048 -nodes -subj "/CN=standin identity $n" -keyout "$auto/id$n.key" \
      -out "$auto/id$n.csr" 2>/dev/null
    if [ $n = E ]; then
      openssl ca -batch -notext -config "$auto/ca.cnf" -cert "$auto/ca$n.pem" -keyfile "$auto/ca$n.key" \
        -startdate 20200101000000Z -enddate 20210101000000Z -extfile "$auto/client.ext" \
        -in "$auto/id$n.csr" -out "$auto/id$n.pem" 2>/dev/null
    else
      ext=client; [ $n = D ] && ext=server
      openssl x509 -req -in "$auto/id$n.csr" -CA "$auto/ca$n.pem" -CAkey "$auto/ca$n.key" -set_serial "$(printf '%d' "'$n")" \
        -days 3650 -extfile "$auto/$ext.ext" -out "$auto/id$n.pem" 2>/dev/null
    fi
    # 3DES/SHA-1 as test/helpers/pki.ts: what Wine's PFXImportCertStore reads.
    openssl pkcs12 -export -in "$auto/id$n.pem" -inkey "$auto/id$n.key" -keypbe PBE-SHA1-3DES \
      -certpbe PBE-SHA1-3DES -macalg sha1 -passout pass:standin -out "$auto/id$n.pfx"
  done
fi

export WINEPREFIX=$PWD/$out/prefix WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml='
unset DISPLAY
# Own prefix, made once (the first start takes a while).
status=0
"$wine" "$out/standin.exe" "Z:$(echo "$PWD/$out" | tr / '\\')" >"$out/tap.txt" 2>"$out/stderr.txt" || status=$?
cat "$out/tap.txt"
# Counted by scripts/count-results.js with the other stand-ins.
mkdir -p .tap/results-standin
cp "$out/tap.txt" .tap/results-standin/sspi.tap
exit $status
