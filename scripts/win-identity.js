// Windows only (Windows Node; under Wine in `npm run test:windows`): puts the
// client certificate of a PKCS#12 file, with its private key, into the
// CurrentUser My store through crypt32 (and takes it out again), so the
// store-identity tests find it where Windows keeps user certificates.
//
//   node scripts/win-identity.js add FILE.pfx PASSPHRASE
//   node scripts/win-identity.js remove THUMBPRINT
//
// Never run it against a store you care about.
'use strict'
const fs = require('node:fs')
const koffi = require('koffi')

const crypt32 = koffi.load('crypt32.dll')
const Blob = koffi.struct('OSTLS_CRYPT_DATA_BLOB', { cbData: 'uint32_t', pbData: 'void *' })
const PFXImportCertStore = crypt32.func('void * __stdcall PFXImportCertStore(OSTLS_CRYPT_DATA_BLOB *pfx, const char16_t *password, uint32_t flags)')
const CertOpenStore = crypt32.func('void * __stdcall CertOpenStore(intptr_t provider, uint32_t encoding, void *prov, uint32_t flags, const char16_t *para)')
const CertEnumCertificatesInStore = crypt32.func('void * __stdcall CertEnumCertificatesInStore(void *store, void *prev)')
const CertGetCertificateContextProperty = crypt32.func('bool __stdcall CertGetCertificateContextProperty(void *cert, uint32_t prop, void *data, _Inout_ uint32_t *size)')
const CertAddCertificateContextToStore = crypt32.func('bool __stdcall CertAddCertificateContextToStore(void *store, void *cert, uint32_t disposition, void *out)')
const CertDeleteCertificateFromStore = crypt32.func('bool __stdcall CertDeleteCertificateFromStore(void *cert)')
const CertDuplicateCertificateContext = crypt32.func('void * __stdcall CertDuplicateCertificateContext(void *cert)')
const CertFreeCertificateContext = crypt32.func('bool __stdcall CertFreeCertificateContext(void *cert)')
const CertCloseStore = crypt32.func('bool __stdcall CertCloseStore(void *store, uint32_t flags)')

const CERT_STORE_PROV_SYSTEM_REGISTRY_W = 13
const CERT_SYSTEM_STORE_CURRENT_USER = 1 << 16
const CRYPT_EXPORTABLE = 0x1
const CRYPT_USER_KEYSET = 0x1000
const CERT_STORE_ADD_REPLACE_EXISTING = 3
const CERT_KEY_PROV_INFO_PROP_ID = 2
const CERT_SHA1_HASH_PROP_ID = 3

function openMy() {
  const store = CertOpenStore(CERT_STORE_PROV_SYSTEM_REGISTRY_W, 0, null, CERT_SYSTEM_STORE_CURRENT_USER, 'My')
  if (!store) throw new Error('win-identity: could not open the CurrentUser My store')
  return store
}

function thumbprintOf(cert) {
  const buf = Buffer.alloc(20)
  const size = [20]
  return CertGetCertificateContextProperty(cert, CERT_SHA1_HASH_PROP_ID, buf, size) ? buf.toString('hex').toUpperCase() : ''
}

function hasKey(cert) {
  const size = [0]
  return CertGetCertificateContextProperty(cert, CERT_KEY_PROV_INFO_PROP_ID, null, size)
}

/** Imports the pfx's certificate that has its key (the key into a persisted user key container); returns its thumbprint. */
function add(file, passphrase) {
  const der = fs.readFileSync(file)
  const temp = PFXImportCertStore({ cbData: der.length, pbData: der }, passphrase, CRYPT_EXPORTABLE | CRYPT_USER_KEYSET)
  if (!temp) throw new Error('win-identity: PFXImportCertStore failed')
  const my = openMy()
  try {
    for (let cert = CertEnumCertificatesInStore(temp, null); cert; cert = CertEnumCertificatesInStore(temp, cert)) {
      if (!hasKey(cert)) continue
      if (!CertAddCertificateContextToStore(my, cert, CERT_STORE_ADD_REPLACE_EXISTING, null)) throw new Error('win-identity: could not add the certificate to CurrentUser My')
      return thumbprintOf(cert)
    }
    throw new Error('win-identity: the pfx holds no certificate with its private key')
  } finally {
    CertCloseStore(my, 0)
    CertCloseStore(temp, 0)
  }
}

/** The first certificate in store with this thumbprint (a context to free or delete), or null. */
function find(store, thumbprint) {
  for (let cert = CertEnumCertificatesInStore(store, null); cert; cert = CertEnumCertificatesInStore(store, cert)) {
    if (thumbprintOf(cert) !== thumbprint.toUpperCase()) continue
    const found = CertDuplicateCertificateContext(cert)
    CertFreeCertificateContext(cert)   // ends the enumeration
    return found
  }
  return null
}

function remove(thumbprint) {
  const my = openMy()
  let n = 0
  try {
    // One at a time, enumerating afresh: deleting during an enumeration
    // never ends under Wine's registry store.
    for (let cert; n < 8 && (cert = find(my, thumbprint)); n++) {
      if (!CertDeleteCertificateFromStore(cert)) break
    }
  } finally {
    CertCloseStore(my, 0)
  }
  return n
}

const [action, ...args] = process.argv.slice(2)
if (action === 'add' && args.length === 2) console.log(add(args[0], args[1]))
else if (action === 'remove' && args.length === 1) console.log(`win-identity: ${remove(args[0])} certificate(s) removed from CurrentUser My`)
else {
  console.error('usage: node win-identity.js add FILE.pfx PASSPHRASE | remove THUMBPRINT')
  process.exit(2)
}
