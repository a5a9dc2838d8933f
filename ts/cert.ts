/**
 * Turns the PEM the native library reports into the object shape of Node's
 * tls.TLSSocket#getPeerCertificate(), using Node's own X509 parser.
 */
import { X509Certificate } from 'node:crypto'

export interface PeerCertificate {
  subject: Record<string, string | string[]>
  issuer: Record<string, string | string[]>
  subjectaltname?: string
  valid_from: string
  valid_to: string
  serialNumber: string
  fingerprint: string
  fingerprint256: string
  fingerprint512: string
  ca: boolean
  raw: Buffer
  pemEncoded: string
  /** With getPeerCertificate(true): the next certificate up the chain (the root points at itself, as in Node). */
  issuerCertificate?: PeerCertificate
}

/** Splits a PEM bundle into its certificates, in order. */
export function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
}

/** "CN=a\nO=b" (X509Certificate's form) → { CN: 'a', O: 'b' }, repeated keys as arrays like Node. */
export function parseDN(dn: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const line of dn.split('\n')) {
    const i = line.indexOf('=')
    if (i <= 0) continue
    const k = line.slice(0, i)
    const v = line.slice(i + 1)
    const prev = out[k]
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]
  }
  return out
}

export function certFromPem(pem: string): PeerCertificate {
  const x = new X509Certificate(pem)
  const cert: PeerCertificate = {
    subject: parseDN(x.subject),
    issuer: parseDN(x.issuer),
    valid_from: x.validFrom,
    valid_to: x.validTo,
    serialNumber: x.serialNumber,
    fingerprint: x.fingerprint,
    fingerprint256: x.fingerprint256,
    fingerprint512: x.fingerprint512,
    ca: x.ca,
    raw: x.raw,
    pemEncoded: pem.trim() + '\n'
  }
  if (x.subjectAltName) cert.subjectaltname = x.subjectAltName
  return cert
}

/** Links a chain (leaf first) through issuerCertificate, ending at a self-issued certificate. */
export function chainFromPem(pem: string): PeerCertificate | undefined {
  const certs = splitPem(pem).map(certFromPem)
  for (let i = 0; i < certs.length; i++) {
    const c = certs[i]
    const isRoot = JSON.stringify(c.subject) === JSON.stringify(c.issuer)
    c.issuerCertificate = isRoot ? c : certs[i + 1]
  }
  return certs[0]
}
