/**
 * TLSError and the mapping from the C library's fixed codes (c/tls_client.h) to
 * the error codes Node programs already test for (ECONNREFUSED, CERT_HAS_EXPIRED…).
 */

/** The fixed code strings of c/tls_client.h, the same on every platform. */
export type TLSCode =
  | 'TLS_LIBRARY_NOT_FOUND'
  | 'TLS_INVALID_ARGUMENT'
  | 'TLS_DNS_FAILED'
  | 'TLS_CONNECT_FAILED'
  | 'TLS_CONNECTION_RESET'
  | 'TLS_TIMEOUT'
  | 'TLS_HANDSHAKE_FAILED'
  | 'TLS_PROTOCOL_VERSION'
  | 'TLS_CERT_UNTRUSTED'
  | 'TLS_CERT_EXPIRED'
  | 'TLS_CERT_HOSTNAME_MISMATCH'
  | 'TLS_CERT_REVOKED'
  | 'TLS_PROTOCOL_ERROR'
  | 'TLS_CLOSED'
  | 'TLS_OUT_OF_MEMORY'
  | 'TLS_INTERNAL_ERROR'
  | 'TLS_PROXY_FAILED'
  | 'TLS_PROXY_AUTH_REQUIRED'

/** What the native layer knows about a failure beyond its code. */
export interface FailureDetail {
  /** Symbolic OS error behind the failure, e.g. ECONNREFUSED (tls_info "os_error"). */
  osError?: string
  /** Certificate verification result as OpenSSL/Node name it (tls_info "verify_result"). */
  verifyResult?: string
  /** Node's code when the caller knows better than the table (ERR_INVALID_ARG_VALUE for a bad host). */
  nodeCode?: string
}

/**
 * Which detail explains which failure. The library keeps the OS error and the
 * verification result of a connection around; they belong on an error only
 * when they can be its cause (a verification result on a later reset would
 * send the reader after the wrong problem).
 */
const osErrorExplains = new Set<TLSCode>(['TLS_DNS_FAILED', 'TLS_CONNECT_FAILED', 'TLS_CONNECTION_RESET', 'TLS_INTERNAL_ERROR', 'TLS_PROXY_FAILED'])
const verifyExplains = new Set<TLSCode>(['TLS_CERT_UNTRUSTED', 'TLS_CERT_EXPIRED', 'TLS_CERT_HOSTNAME_MISMATCH', 'TLS_CERT_REVOKED'])

/** The part of detail that can explain a failure with this code. */
export function relevantDetail(tlsCode: TLSCode, d: FailureDetail): FailureDetail {
  const out: FailureDetail = {}
  if (d.osError && osErrorExplains.has(tlsCode)) out.osError = d.osError
  if (d.verifyResult && d.verifyResult !== 'ok' && verifyExplains.has(tlsCode)) out.verifyResult = d.verifyResult
  if (d.nodeCode) out.nodeCode = d.nodeCode
  return out
}

/**
 * Node's code for each library code, where Node has one. A function of the
 * detail where the library's code is coarser than Node's (Node tells a
 * self-signed leaf from an unknown issuer; the header's list does not).
 */
const nodeCodes: Record<TLSCode, (d: FailureDetail) => string> = {
  TLS_LIBRARY_NOT_FOUND: () => 'TLS_LIBRARY_NOT_FOUND',
  TLS_INVALID_ARGUMENT: () => 'TLS_INVALID_ARGUMENT',
  // ENOTFOUND, EAI_AGAIN, EAI_FAIL as Node names them; EAI_SYSTEM comes with its errno (EMFILE, ...).
  TLS_DNS_FAILED: (d) => osCode(d, 'ENOTFOUND'),
  TLS_CONNECT_FAILED: (d) => osCode(d, 'ECONNREFUSED'),
  TLS_CONNECTION_RESET: (d) => osCode(d, 'ECONNRESET'),
  TLS_TIMEOUT: () => 'ETIMEDOUT',
  TLS_HANDSHAKE_FAILED: () => 'TLS_HANDSHAKE_FAILED',
  TLS_PROTOCOL_VERSION: () => 'TLS_PROTOCOL_VERSION',
  TLS_CERT_UNTRUSTED: (d) => verifyCode(d, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'),
  TLS_CERT_EXPIRED: (d) => (d.verifyResult === 'CERT_NOT_YET_VALID' ? 'CERT_NOT_YET_VALID' : 'CERT_HAS_EXPIRED'),
  TLS_CERT_HOSTNAME_MISMATCH: () => 'ERR_TLS_CERT_ALTNAME_INVALID',
  // CERT_REVOKED; with revocation 'require', why the status is unknown (OCSP_NO_RESPONSE, ...).
  TLS_CERT_REVOKED: (d) => verifyCode(d, 'CERT_REVOKED'),
  TLS_PROTOCOL_ERROR: () => 'TLS_PROTOCOL_ERROR',
  TLS_CLOSED: () => 'TLS_CLOSED',
  TLS_OUT_OF_MEMORY: () => 'TLS_OUT_OF_MEMORY',
  TLS_INTERNAL_ERROR: () => 'TLS_INTERNAL_ERROR',
  // Node's own proxy tunnel (NODE_USE_ENV_PROXY, Node 24) fails with ERR_PROXY_TUNNEL for both.
  TLS_PROXY_FAILED: () => 'ERR_PROXY_TUNNEL',
  TLS_PROXY_AUTH_REQUIRED: () => 'ERR_PROXY_TUNNEL'
}

function osCode(d: FailureDetail, fallback: string): string {
  return d.osError && d.osError !== 'EUNKNOWN' && /^E[A-Z0-9_]+$/.test(d.osError) ? d.osError : fallback
}

function verifyCode(d: FailureDetail, fallback: string): string {
  const v = d.verifyResult
  return v && v !== 'ok' && /^[A-Z0-9_]+$/.test(v) ? v : fallback
}

export function isTLSCode(s: string): s is TLSCode {
  return Object.prototype.hasOwnProperty.call(nodeCodes, s)
}

/** Maps a library code to the code a Node program expects in `err.code`. */
export function nodeCode(tlsCode: TLSCode, detail: FailureDetail = {}): string {
  return nodeCodes[tlsCode](detail)
}

export class TLSError extends Error {
  /** The code from c/tls_client.h, exactly. */
  readonly tlsCode: TLSCode
  /** Node's well-known code where one exists, else the same as tlsCode. */
  readonly code: string
  readonly osError?: string
  readonly verifyResult?: string

  constructor(tlsCode: TLSCode, message: string, detail: FailureDetail = {}) {
    super(message)
    this.name = 'TLSError'
    this.tlsCode = tlsCode
    detail = relevantDetail(tlsCode, detail)
    this.code = detail.nodeCode ?? nodeCode(tlsCode, detail)
    if (detail.osError) this.osError = detail.osError
    if (detail.verifyResult && detail.verifyResult !== 'ok') this.verifyResult = detail.verifyResult
  }
}

/** A connect() option of a usable type with a value ostls refuses (Node's ERR_INVALID_ARG_VALUE). */
export function badOptionValue(name: string, why: string): TLSError {
  return new TLSError('TLS_INVALID_ARGUMENT', `invalid value for option ${name}: ${why}`, { nodeCode: 'ERR_INVALID_ARG_VALUE' })
}

/** A connect() option of the wrong type, in Node's words (ERR_INVALID_ARG_TYPE). */
export function badOptionType(name: string, expected: string, got: unknown): TypeError {
  const err = new TypeError(`The "${name}" option must be ${expected}. Received ${got === null ? 'null' : typeof got}`) as TypeError & { code: string }
  err.code = 'ERR_INVALID_ARG_TYPE'
  return err
}

/** Builds a TLSError from a code string that came from C (unknown codes become internal errors). */
export function fromNative(code: string | null, message: string | null, detail?: FailureDetail): TLSError {
  const c: TLSCode = code && isTLSCode(code) ? code : 'TLS_INTERNAL_ERROR'
  const m = message || (code ? `${code}` : 'the TLS library reported a failure without a code')
  return new TLSError(c, m, detail)
}
