/**
 * The client identity and revocation options of connect(), with Node's names
 * and meanings (cert, key, pfx, passphrase as in tls.createSecureContext),
 * turned into the library's option strings (c/tls_client.h).
 */
import { badOptionType as badType, badOptionValue as badValue } from './errors'

type PemInput = string | Buffer
/** Node's `key` forms: PEM, or `{ pem, passphrase }`; an array of one. */
export type KeyInput = PemInput | { pem: PemInput; passphrase?: string } | Array<PemInput | { pem: PemInput; passphrase?: string }>
/** Node's `pfx` forms: the PKCS#12 bytes, or `{ buf, passphrase }`; an array of one. */
export type PfxInput = PemInput | { buf: PemInput; passphrase?: string } | Array<PemInput | { buf: PemInput; passphrase?: string }>
export type Revocation = 'os' | 'require' | 'off'

/** A client certificate in the OS store, its private key used in place (Windows: Schannel; macOS: the keychain). */
export interface StoreIdentity {
  /**
   * Windows: 'CurrentUser\\My' or 'LocalMachine\\My' (any store under those two
   * locations); macOS: 'keychain'. Default: 'keychain' on macOS, else 'CurrentUser\\My'.
   */
  store?: string
  /** Windows: SHA-1 thumbprint, hex (spaces and colons ignored). */
  thumbprint?: string
  /** macOS: the keychain item's label. */
  label?: string
  /** Text the subject contains, e.g. the CN. */
  subject?: string
  /** Text the issuer contains. */
  issuer?: string
}

export interface IdentityOptions {
  /**
   * A client certificate from the OS store instead of files (Windows only for
   * now); or 'auto': none is named, and when the server asks for one, the
   * first OS identity whose issuer is among the CAs the server names is sent
   * (Windows: CurrentUser\My, then LocalMachine\My). Never sent unasked.
   * Linux has no OS identity store: there 'auto' is refused.
   */
  clientCertificate?: StoreIdentity | 'auto'
  /** The client certificate chain, PEM (leaf first). Needs `key`. */
  cert?: PemInput | PemInput[]
  /** The client certificate's private key, PEM (encrypted with `passphrase`, or not). */
  key?: KeyInput
  /** The client certificate and key as PKCS#12 (a .pfx/.p12 file's bytes). */
  pfx?: PfxInput
  /** Decrypts `key` or `pfx`. */
  passphrase?: string
  /**
   * Revocation checking of the server's chain: 'os' (default: what the OS TLS
   * library does), 'require' (a certificate whose status cannot be
   * established fails with TLS_CERT_REVOKED / CERT_REVOCATION_UNKNOWN), 'off'.
   */
  revocation?: Revocation
}

/** ostls presents one identity: a one-element array is that element. */
function single<T>(name: string, v: T | T[]): T {
  if (!Array.isArray(v)) return v
  if (v.length !== 1) throw badValue(name, `ostls presents one client identity; got an array of ${v.length}`)
  return v[0]
}

function text(name: string, v: unknown): string {
  if (typeof v === 'string') return v
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v).toString('latin1')
  throw badType(name, 'a string or Buffer', v)
}

function passphraseOf(v: unknown, fallback: string | undefined): string | undefined {
  if (v && typeof v === 'object' && 'passphrase' in v && (v as { passphrase?: unknown }).passphrase !== undefined) {
    const p = (v as { passphrase?: unknown }).passphrase
    if (typeof p !== 'string') throw badType('passphrase', 'a string', p)
    return p
  }
  return fallback
}

/** [key, value] pairs for tls_set_option, in order. Throws on a bad type or shape. */
export function identityOptions(o: IdentityOptions): Array<[string, string]> {
  const out: Array<[string, string]> = []
  if (o.passphrase !== undefined && typeof o.passphrase !== 'string') throw badType('passphrase', 'a string', o.passphrase)
  let passphrase = o.passphrase
  if (o.pfx !== undefined && o.pfx !== null) {
    const entry = single('pfx', o.pfx)
    const buf = entry && typeof entry === 'object' && !Buffer.isBuffer(entry) && !(entry instanceof Uint8Array) ? (entry as { buf: PemInput }).buf : entry
    passphrase = passphraseOf(entry, passphrase)
    const bytes = typeof buf === 'string' ? Buffer.from(buf) : Buffer.isBuffer(buf) || buf instanceof Uint8Array ? Buffer.from(buf) : null
    if (!bytes) throw badType('pfx', 'a Buffer', buf)
    if (!bytes.length) throw badValue('pfx', 'it is empty')
    out.push(['pfx', bytes.toString('base64')])
  }
  if (o.cert !== undefined && o.cert !== null) out.push(['cert', text('cert', single('cert', o.cert))])
  if (o.key !== undefined && o.key !== null) {
    const entry = single('key', o.key)
    const pem = entry && typeof entry === 'object' && !Buffer.isBuffer(entry) && !(entry instanceof Uint8Array) ? (entry as { pem: PemInput }).pem : entry
    passphrase = passphraseOf(entry, passphrase)
    out.push(['key', text('key', pem)])
  }
  if (passphrase !== undefined && out.length) out.push(['passphrase', passphrase])
  const store = o.clientCertificate
  if (store === 'auto') out.push(['client_cert_auto', '1'])
  else if (store !== undefined && store !== null) {
    if (typeof store !== 'object' || (store.store !== undefined && typeof store.store !== 'string')) throw badType('clientCertificate', "'auto' or an object naming an identity ({ store, thumbprint | subject | issuer | label })", store)
    out.push(['client_cert_store', store.store ?? (process.platform === 'darwin' ? 'keychain' : 'CurrentUser\\My')])
    if (store.thumbprint !== undefined) out.push(['client_cert_thumbprint', String(store.thumbprint).replace(/[\s:]/g, '')])
    if (store.subject !== undefined) out.push(['client_cert_subject', String(store.subject)])
    if (store.issuer !== undefined) out.push(['client_cert_issuer', String(store.issuer)])
    if (store.label !== undefined) out.push(['client_cert_label', String(store.label)])
  }
  if (o.revocation !== undefined) {
    if (o.revocation !== 'os' && o.revocation !== 'require' && o.revocation !== 'off') throw badValue('revocation', `expected 'os', 'require' or 'off', got ${String(o.revocation)}`)
    out.push(['revocation', o.revocation])
  }
  return out
}
