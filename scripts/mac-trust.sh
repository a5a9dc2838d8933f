#!/bin/sh
# Puts the test suite's OS-trust CA (test/.pki/osca.pem, made by test/setup.ts)
# into macOS's own trust store for a CI run, so test/trust.ts proves the
# keychain path (run the suite with OSTLS_TEST_OS_TRUST=installed), and takes
# it out again.
#
#   scripts/mac-trust.sh install   temporary keychain ostls-test.keychain-db,
#                                  first in the user's search list, holding osca
#                                  with an admin-domain "trust as root" setting
#   scripts/mac-trust.sh remove    the trust setting and the keychain
#
# For throwaway CI machines (GitHub's macos runners: passwordless sudo). The
# admin trust domain is used because changing user-domain trust settings asks
# for a password in a dialog, which a CI runner cannot answer.
set -eu
cd "$(dirname "$0")/.."
ca=${OSTLS_TEST_PKI:-$PWD/test/.pki}/osca.pem
name=ostls-test.keychain
keychain="$HOME/Library/Keychains/$name-db"   # where security(1) creates it

case "${1:-}" in
install)
  [ -f "$ca" ] || { echo "mac-trust: $ca missing: make the test PKI first (npx ts-node --transpile-only test/setup.ts)" >&2; exit 1; }
  security create-keychain -p "" "$name"
  security set-keychain-settings "$keychain"            # no auto-lock
  security unlock-keychain -p "" "$keychain"
  # shellcheck disable=SC2046
  security list-keychains -d user -s "$keychain" $(security list-keychains -d user | tr -d '"')
  if sudo security add-trusted-cert -d -r trustRoot -k "$keychain" "$ca"; then
    echo "mac-trust: $ca trusted as a root (admin trust settings), stored in $keychain"
  else
    # Fallback: the System keychain, as many CI set-ups do.
    sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain "$ca"
    echo "mac-trust: $ca trusted as a root in /Library/Keychains/System.keychain"
  fi
  ;;
remove)
  sudo security remove-trusted-cert -d "$ca" 2>/dev/null || true
  sudo security delete-certificate -c "ostls test OS root" /Library/Keychains/System.keychain 2>/dev/null || true
  security delete-keychain "$keychain" 2>/dev/null || true
  echo "mac-trust: removed"
  ;;
*)
  echo "usage: scripts/mac-trust.sh install|remove" >&2
  exit 2
  ;;
esac
