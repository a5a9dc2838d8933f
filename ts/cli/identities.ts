/**
 * `ostls identities`: the client identities the OS would offer. Windows: the
 * certificates with a private key in CurrentUser\My and LocalMachine\My, read
 * through crypt32 (koffi). Linux takes identities from files only; macOS's
 * keychain identities are not listed yet.
 */
import crypto from 'node:crypto'
import koffi from 'koffi'

export interface OsIdentity {
  store: string
  subject: string
  issuer: string
  validTo: string
  thumbprint: string
  /** Where the private key lives, as far as the store says: 'key container', 'in memory', 'CNG key'. */
  keyStorage: string
}

export interface IdentitiesReport {
  platform: string
  supported: boolean
  note?: string
  identities: OsIdentity[]
}

const CERT_STORE_PROV_SYSTEM_W = 10
const CERT_SYSTEM_STORE_CURRENT_USER = 1 << 16
const CERT_SYSTEM_STORE_LOCAL_MACHINE = 2 << 16
const CERT_STORE_READONLY_FLAG = 0x8000
const CERT_STORE_OPEN_EXISTING_FLAG = 0x4000
const KEY_PROPS: Array<[number, string]> = [[2, 'key container'], [5, 'in memory'], [78, 'CNG key']]

function windowsIdentities(): OsIdentity[] {
  const crypt32 = koffi.load('crypt32.dll')
  const CertContext = koffi.struct('OSTLS_CERT_CONTEXT', { type: 'uint32_t', encoded: 'void *', size: 'uint32_t', info: 'void *', store: 'void *' })
  const open = crypt32.func('void * __stdcall CertOpenStore(intptr_t provider, uint32_t encoding, void *prov, uint32_t flags, const char16_t *para)')
  const next = crypt32.func('void * __stdcall CertEnumCertificatesInStore(void *store, void *prev)')
  const prop = crypt32.func('bool __stdcall CertGetCertificateContextProperty(void *cert, uint32_t prop, void *data, _Inout_ uint32_t *size)')
  const close = crypt32.func('bool __stdcall CertCloseStore(void *store, uint32_t flags)')
  const out: OsIdentity[] = []
  for (const [location, flag] of [['CurrentUser', CERT_SYSTEM_STORE_CURRENT_USER], ['LocalMachine', CERT_SYSTEM_STORE_LOCAL_MACHINE]] as const) {
    const store = open(CERT_STORE_PROV_SYSTEM_W, 0, null, flag | CERT_STORE_READONLY_FLAG | CERT_STORE_OPEN_EXISTING_FLAG, 'My')
    if (!store) continue
    try {
      for (let cert = next(store, null); cert; cert = next(store, cert)) {
        const keyStorage = KEY_PROPS.find(([id]) => prop(cert, id, null, [0]))?.[1]
        if (!keyStorage) continue
        const ctx = koffi.decode(cert, CertContext) as { encoded: unknown; size: number }
        const der = Buffer.from(koffi.decode(ctx.encoded, 'uint8_t', ctx.size) as number[])
        const x = new crypto.X509Certificate(der)
        out.push({ store: `${location}\\My`, subject: x.subject.replace(/\n/g, ', '), issuer: x.issuer.replace(/\n/g, ', '), validTo: new Date(x.validTo).toISOString(), thumbprint: x.fingerprint.replace(/:/g, ''), keyStorage })
      }
    } finally {
      close(store, 0)
    }
  }
  return out
}

export function identities(): IdentitiesReport {
  if (process.platform === 'win32') return { platform: 'win32', supported: true, identities: windowsIdentities() }
  const note =
    process.platform === 'darwin'
      ? 'macOS keychain identities are not listed yet; the Apple engines take client certificates as pfx'
      : 'on Linux ostls takes client certificates from files only (cert + key, or pfx); PKCS#11 tokens are out of scope for now'
  return { platform: process.platform, supported: false, note, identities: [] }
}

export const identitiesHelp = `usage: ostls identities [--json]

Lists the client certificates (with their private keys) that the OS would
offer: on Windows, CurrentUser\\My and LocalMachine\\My, with subject, issuer,
expiry, thumbprint (for clientCertificate: { store, thumbprint }) and where
the key lives. Linux takes client certificates from files only.
`

export function runIdentities(argv: string[], out: NodeJS.WritableStream): number {
  const json = argv.includes('--json')
  const r = identities()
  if (json) {
    out.write(JSON.stringify({ schemaVersion: 1, ...r }, null, 2) + '\n')
    return 0
  }
  if (!r.supported) {
    out.write(`${r.note}\n`)
    return 0
  }
  if (!r.identities.length) out.write('no certificate with a private key in CurrentUser\\My or LocalMachine\\My\n')
  for (const i of r.identities) out.write(`${i.store}  ${i.thumbprint}\n  subject: ${i.subject}\n  issuer:  ${i.issuer}\n  expires: ${i.validTo}\n  key:     ${i.keyStorage}\n`)
  return 0
}
