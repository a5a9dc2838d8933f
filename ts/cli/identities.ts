/**
 * `ostls identities`: the client identities the OS would offer. Windows: the
 * certificates with a private key in CurrentUser\My and LocalMachine\My, read
 * through crypt32 (koffi). macOS: the keychain's identities, listed by the
 * library (tls_info "identities": SecItemCopyMatching kSecClassIdentity).
 * Both end up in the same shape (describe()). Linux takes identities from
 * files only.
 */
import crypto from 'node:crypto'
import koffi from 'koffi'
import { libraryInfo } from '../native'

export interface OsIdentity {
  /** Where it was found: 'CurrentUser\\My' / 'LocalMachine\\My' (Windows), 'keychain' (macOS). */
  store: string
  /** Windows: the certificate's friendly name; macOS: the keychain item's label (clientCertificate: { label }). '' when none. */
  label: string
  subject: string
  issuer: string
  validTo: string
  /** SHA-1 of the certificate, hex upper case (Windows: clientCertificate: { thumbprint }). */
  thumbprint: string
  /** SHA-256 of the certificate, hex upper case. */
  sha256: string
  /**
   * Where the private key lives, as far as the OS says: Windows 'key container',
   * 'in memory', 'CNG key'; macOS 'keychain', 'Secure Enclave', 'token <id>' (a smart card).
   */
  keyStorage: string
}

export interface IdentitiesReport {
  platform: string
  supported: boolean
  note?: string
  identities: OsIdentity[]
}

/** One identity from its certificate (DER or PEM), the same fields on every OS. */
export function describe(cert: Buffer | string, store: string, label: string, keyStorage: string): OsIdentity {
  const x = new crypto.X509Certificate(cert)
  const hex = (f: string) => f.replace(/:/g, '')
  return {
    store,
    label,
    subject: x.subject.replace(/\n/g, ', '),
    issuer: x.issuer.replace(/\n/g, ', '),
    validTo: new Date(x.validTo).toISOString(),
    thumbprint: hex(x.fingerprint),
    sha256: hex(x.fingerprint256),
    keyStorage
  }
}

/**
 * tls_info "identities" (macOS): per identity "identity\t<label>\t<key storage>"
 * then its certificate as PEM; "error\t<why>" when the keychain search failed.
 */
export function parseKeychainListing(text: string): { identities: OsIdentity[]; error?: string } {
  const identities: OsIdentity[] = []
  let error: string | undefined
  const re = /^identity\t([^\t\n]*)\t([^\n]*)\n(-----BEGIN CERTIFICATE-----\n[^-]*-----END CERTIFICATE-----\n?)|^error\t([^\n]*)$/gm
  for (const m of text.matchAll(re)) {
    if (m[4] !== undefined) error = m[4]
    else identities.push(describe(m[3], 'keychain', m[1], m[2]))
  }
  return { identities, error }
}

const CERT_STORE_PROV_SYSTEM_W = 10
const CERT_SYSTEM_STORE_CURRENT_USER = 1 << 16
const CERT_SYSTEM_STORE_LOCAL_MACHINE = 2 << 16
const CERT_STORE_READONLY_FLAG = 0x8000
const CERT_STORE_OPEN_EXISTING_FLAG = 0x4000
const KEY_PROPS: Array<[number, string]> = [[2, 'key container'], [5, 'in memory'], [78, 'CNG key']]
const CERT_FRIENDLY_NAME_PROP_ID = 11

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
        const size = [0]
        let label = ''
        if (prop(cert, CERT_FRIENDLY_NAME_PROP_ID, null, size) && size[0] > 0) {
          const name = Buffer.alloc(size[0])
          if (prop(cert, CERT_FRIENDLY_NAME_PROP_ID, name, size)) label = name.toString('utf16le').replace(/\0+$/, '')
        }
        out.push(describe(der, `${location}\\My`, label, keyStorage))
      }
    } finally {
      close(store, 0)
    }
  }
  return out
}

function macIdentities(): IdentitiesReport {
  const { identities, error } = parseKeychainListing(libraryInfo('identities'))
  return error ? { platform: 'darwin', supported: true, note: error, identities } : { platform: 'darwin', supported: true, identities }
}

export function identities(): IdentitiesReport {
  if (process.platform === 'win32') return { platform: 'win32', supported: true, identities: windowsIdentities() }
  if (process.platform === 'darwin') return macIdentities()
  const note = 'on Linux ostls takes client certificates from files only (cert + key, or pfx); PKCS#11 tokens are out of scope for now'
  return { platform: process.platform, supported: false, note, identities: [] }
}

export const identitiesHelp = `usage: ostls identities [--json]

Lists the client certificates (with their private keys) that the OS would
offer: on Windows, CurrentUser\\My and LocalMachine\\My; on macOS, the
keychain's identities. Each with subject, issuer, expiry, SHA-1 thumbprint
(for clientCertificate: { store, thumbprint } on Windows), SHA-256, label
(for clientCertificate: { label } on macOS) and where the key lives (macOS:
keychain, Secure Enclave, or a smart card token). Linux takes client
certificates from files only.
`

/** The text form of a report (what `ostls identities` prints without --json). */
export function identitiesText(r: IdentitiesReport): string {
  if (!r.supported) return `${r.note}\n`
  let out = r.note ? `${r.note}\n` : ''
  if (!r.identities.length) out += r.platform === 'darwin' ? 'no identity (certificate with its private key) in the keychain\n' : 'no certificate with a private key in CurrentUser\\My or LocalMachine\\My\n'
  for (const i of r.identities) {
    out += `${i.store}  ${i.thumbprint}\n${i.label ? `  label:   ${i.label}\n` : ''}  subject: ${i.subject}\n  issuer:  ${i.issuer}\n  expires: ${i.validTo}\n  sha256:  ${i.sha256}\n  key:     ${i.keyStorage}\n`
  }
  return out
}

export function runIdentities(argv: string[], out: NodeJS.WritableStream): number {
  const r = identities()
  out.write(argv.includes('--json') ? JSON.stringify({ schemaVersion: 1, ...r }, null, 2) + '\n' : identitiesText(r))
  return 0
}
