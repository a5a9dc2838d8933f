// Windows only (Windows Node; under Wine in `npm run test:windows`): puts PEM
// certificates into the CurrentUser ROOT store through crypt32, so the suite's
// "OS trust" tests prove the Windows store itself.
//
//   node scripts/win-trust.js add|remove FILE.pem...   change the store
//   NODE_OPTIONS=--require=.../win-trust.js OSTLS_WIN_TRUST_CA=FILE.pem node ...
//       preload: the certificates are in the store while that process runs and
//       removed when it exits (the Windows store is shared by every process, so
//       this is how one child process alone gets to "trust the OS-store CA").
//
// Never run it against a store you care about: on a real desktop Windows asks
// for confirmation before adding to CurrentUser ROOT.
'use strict'
const fs = require('node:fs')
const koffi = require('koffi')

const crypt32 = koffi.load('crypt32.dll')
const CertOpenStore = crypt32.func('void * __stdcall CertOpenStore(intptr_t provider, uint32_t encoding, void *prov, uint32_t flags, const char16_t *para)')
const CertAddEncodedCertificateToStore = crypt32.func('bool __stdcall CertAddEncodedCertificateToStore(void *store, uint32_t encoding, const uint8_t *data, uint32_t len, uint32_t disposition, _Out_ void **out)')
const CertDeleteCertificateFromStore = crypt32.func('bool __stdcall CertDeleteCertificateFromStore(void *cert)')
const CertCloseStore = crypt32.func('bool __stdcall CertCloseStore(void *store, uint32_t flags)')

// The registry provider: Wine's CERT_STORE_PROV_SYSTEM_W store does not persist deletions.
const CERT_STORE_PROV_SYSTEM_REGISTRY_W = 13
const CERT_SYSTEM_STORE_CURRENT_USER = 1 << 16
const X509_ASN_ENCODING = 1
const CERT_STORE_ADD_REPLACE_EXISTING = 3

function certificates(files) {
  const out = []
  for (const file of files) {
    const pem = fs.readFileSync(file, 'latin1')
    for (const m of pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)) {
      out.push(Buffer.from(m[1].replace(/\s+/g, ''), 'base64'))
    }
  }
  return out
}

/** add: the certificates go in; remove: they go out (if there). Returns how many. */
function change(action, files) {
  const store = CertOpenStore(CERT_STORE_PROV_SYSTEM_REGISTRY_W, 0, null, CERT_SYSTEM_STORE_CURRENT_USER, 'ROOT')
  if (!store) throw new Error('win-trust: could not open the CurrentUser ROOT store')
  let n = 0
  try {
    for (const der of certificates(files)) {
      // Adding with REPLACE_EXISTING gives back the store's own context, which is
      // also what CertDeleteCertificateFromStore needs for a removal.
      const ctx = [null]
      if (!CertAddEncodedCertificateToStore(store, X509_ASN_ENCODING, der, der.length, CERT_STORE_ADD_REPLACE_EXISTING, ctx)) {
        throw new Error('win-trust: could not add a certificate to CurrentUser ROOT')
      }
      if (action === 'remove') {
        if (!CertDeleteCertificateFromStore(ctx[0])) throw new Error('win-trust: could not remove a certificate from CurrentUser ROOT')
      }
      n++
    }
  } finally {
    CertCloseStore(store, 0)
  }
  return n
}

if (require.main === module) {
  const [action, ...files] = process.argv.slice(2)
  if ((action !== 'add' && action !== 'remove') || files.length === 0) {
    console.error('usage: node win-trust.js add|remove FILE.pem...')
    process.exit(2)
  }
  console.log(`win-trust: ${change(action, files)} certificate(s) ${action === 'add' ? 'added to' : 'removed from'} CurrentUser ROOT`)
} else if (process.env.OSTLS_WIN_TRUST_CA) {
  const files = [process.env.OSTLS_WIN_TRUST_CA]
  change('add', files)
  process.on('exit', () => change('remove', files))
}
