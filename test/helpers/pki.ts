/**
 * The test PKI, made with the openssl CLI once per run (tap's `before` step):
 *   ca        the test CA: trusted only when a test passes it (ca option)
 *   osca      a second CA that tests put into the OS trust store (SSL_CERT_FILE
 *             on Linux, the CurrentUser ROOT store under Wine) and nothing else
 *   leaf      CA-signed, localhost + 127.0.0.1 + ::1
 *   oslf      OS-CA-signed, localhost + 127.0.0.1
 *   expired   CA-signed, valid 2020-01-01..2021-01-01
 *   wrongname CA-signed, only wrong.example
 *   self      self-signed, localhost + 127.0.0.1
 * Set OSTLS_TEST_PKI to use (or make) the files elsewhere, e.g. prepared on the
 * Linux side for the Windows suite.
 */
import fs from 'node:fs'
import path from 'node:path'
import os from 'node:os'
import crypto from 'node:crypto'
import { execFileSync } from 'node:child_process'

export const pkiDir = process.env.OSTLS_TEST_PKI || path.join(__dirname, '..', '.pki')

export interface KeyPair {
  key: Buffer
  cert: Buffer
}

export interface Pki {
  dir: string
  ca: Buffer
  osca: Buffer
  leaf: KeyPair
  oslf: KeyPair
  expired: KeyPair
  wrongname: KeyPair
  self: KeyPair
}

const names = ['leaf', 'oslf', 'expired', 'wrongname', 'self'] as const

export function pki(): Pki {
  const read = (f: string) => fs.readFileSync(path.join(pkiDir, f))
  const pair = (n: string): KeyPair => ({ key: read(`${n}.key`), cert: read(`${n}.pem`) })
  return {
    dir: pkiDir,
    ca: read('ca.pem'),
    osca: read('osca.pem'),
    leaf: pair('leaf'),
    oslf: pair('oslf'),
    expired: pair('expired'),
    wrongname: pair('wrongname'),
    self: pair('self')
  }
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
}

/** Makes the PKI unless it is already complete, then the extra leaves and OCSP responses. */
export function ensurePki(dir = pkiDir): void {
  const done = path.join(dir, 'done')
  // Leaves are valid for 30 days: a PKI kept from an earlier run is remade after a week.
  if (!fs.existsSync(done) || Date.now() - fs.statSync(done).mtimeMs >= 7 * 86400_000) makePki(dir)
  makeExtras(dir)
}

/** Numbered DNS names: n00000.example, ... (each `pad` characters longer). */
export function manyNames(count: number, pad = 0): string[] {
  return Array.from({ length: count }, (_, i) => `DNS:n${String(i).padStart(5, '0')}${'x'.repeat(pad)}.example`)
}

/**
 * Leaves made once per PKI (extraLeaf) and OCSP responses remade each run:
 *   x-nosan       no subjectAltName, CN=localhost
 *   x-bigchain    localhost + 10,000 more names: a chain of about 160 KB (DER)
 *   x-hugechain   localhost + 12,000 longer names: a chain of about 430 KB (DER)
 *   x-ecx-ca, x-ecx  a CA with explicit EC parameters and its leaf (explicitParamsChain)
 *   x-clientca, x-client  a client CA and a client certificate (clientIdentity)
 *   ocsp-leaf-good.der / ocsp-leaf-revoked.der   the test CA's word on leaf.pem
 */
function makeExtras(dir: string): void {
  extraLeaf('nosan', serverExtensions([]), 'localhost', dir)
  explicitParamsChain(dir)
  clientIdentity(dir)
  extraLeaf('bigchain', serverExtensions(['DNS:localhost', 'IP:127.0.0.1', ...manyNames(10_000)]), 'localhost', dir)
  extraLeaf('hugechain', serverExtensions(['DNS:localhost', 'IP:127.0.0.1', ...manyNames(12_000, 20)]), 'localhost', dir)
  for (const status of ['good', 'revoked'] as const) {
    const file = path.join(dir, `ocsp-leaf-${status}.der`)
    if (fs.existsSync(file) && Date.now() - fs.statSync(file).mtimeMs < 12 * 3600_000) continue
    fs.writeFileSync(file + '.tmp', ocspResponse(path.join(dir, 'leaf.pem'), status, dir))
    fs.renameSync(file + '.tmp', file)
  }
}

/** A file of the PKI directory (extra leaves: extraPair). */
export function pkiFile(name: string): Buffer {
  return fs.readFileSync(path.join(pkiDir, name))
}

/** A leaf made by makeExtras, e.g. extraPair('nosan'). */
export function extraPair(name: string): KeyPair & { keyFile: string; certFile: string } {
  const keyFile = path.join(pkiDir, `x-${name}.key`)
  const certFile = path.join(pkiDir, `x-${name}.pem`)
  return { key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile), keyFile, certFile }
}

function makePki(dir: string): void {
  const done = path.join(dir, 'done')
  fs.mkdirSync(dir, { recursive: true })
  const ext = `
[ca_ext]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
[leaf_localhost]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
[leaf_wrong]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:wrong.example
[ca]
default_ca=test_ca
[test_ca]
database=index.txt
new_certs_dir=.
serial=serial
default_md=sha256
policy=any
unique_subject=no
copy_extensions=none
[any]
commonName=supplied
`
  fs.writeFileSync(path.join(dir, 'ext.cnf'), ext)
  fs.writeFileSync(path.join(dir, 'index.txt'), '')
  fs.writeFileSync(path.join(dir, 'serial'), '1000\n')
  // RSA, not ECDSA: Wine's crypt32 rejects ECDSA signatures whose r or s is
  // shorter than the curve size (about 1 in 64 certificates), a false
  // CERT_SIGNATURE_FAILURE that would make the Windows suite flaky.
  const key = (n: string) => openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', `${n}.key`], dir)
  const rootCa = (n: string, cn: string) => {
    key(n)
    openssl(['req', '-x509', '-new', '-key', `${n}.key`, '-out', `${n}.pem`, '-subj', `/O=ostls tests/CN=${cn}`, '-days', '3650', '-config', 'ext.cnf', '-extensions', 'ca_ext'], dir)
  }
  const sign = (n: string, issuer: string, cn: string, extensions: string, dates: string[]) => {
    key(n)
    openssl(['req', '-new', '-key', `${n}.key`, '-out', `${n}.csr`, '-subj', `/CN=${cn}`, '-config', 'ext.cnf'], dir)
    openssl(['ca', '-batch', '-notext', '-config', 'ext.cnf', '-cert', `${issuer}.pem`, '-keyfile', `${issuer}.key`, '-in', `${n}.csr`, '-out', `${n}.pem`, '-extfile', 'ext.cnf', '-extensions', extensions, ...dates], dir)
  }
  rootCa('ca', 'ostls test CA')
  rootCa('osca', 'ostls test OS root')
  sign('leaf', 'ca', 'localhost', 'leaf_localhost', ['-days', '30'])
  sign('oslf', 'osca', 'localhost', 'leaf_localhost', ['-days', '30'])
  sign('expired', 'ca', 'localhost', 'leaf_localhost', ['-startdate', '20200101000000Z', '-enddate', '20210101000000Z'])
  sign('wrongname', 'ca', 'wrong.example', 'leaf_wrong', ['-days', '30'])
  key('self')
  openssl(['req', '-x509', '-new', '-key', 'self.key', '-out', 'self.pem', '-subj', '/CN=localhost', '-days', '30', '-config', 'ext.cnf', '-extensions', 'leaf_localhost'], dir)
  for (const n of names) if (!fs.existsSync(path.join(dir, `${n}.pem`))) throw new Error(`test PKI: ${n}.pem was not made`)
  fs.writeFileSync(path.join(dir, 'done'), new Date().toISOString() + '\n')
}

/**
 * A leaf signed by the test CA with the given v3 extension lines (one per
 * line, e.g. 'subjectAltName=DNS:localhost'; none at all is allowed), made on
 * first use and kept in the PKI directory. Built with `openssl x509 -req` and
 * a random serial, in a private temporary directory, so test files running at
 * the same time never share a CA database; the result is renamed into place.
 */
export function extraLeaf(name: string, extensions: string[], cn = 'localhost', dir = pkiDir): KeyPair {
  const keyFile = path.join(dir, `x-${name}.key`)
  const certFile = path.join(dir, `x-${name}.pem`)
  if (!fs.existsSync(certFile)) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ostls-pki-'))
    try {
      fs.writeFileSync(path.join(tmp, 'ext.cnf'), `[x]\n${extensions.join('\n')}\n`)
      openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'k.pem'], tmp)
      openssl(['req', '-new', '-key', 'k.pem', '-out', 'r.csr', '-subj', `/CN=${cn}`], tmp)
      const serial = '0x' + crypto.randomBytes(12).toString('hex')
      openssl(['x509', '-req', '-in', 'r.csr', '-CA', path.join(dir, 'ca.pem'), '-CAkey', path.join(dir, 'ca.key'), '-set_serial', serial, '-days', '30', '-sha256', '-extfile', 'ext.cnf', '-extensions', 'x', '-out', 'c.pem'], tmp)
      fs.renameSync(path.join(tmp, 'k.pem'), keyFile)
      fs.renameSync(path.join(tmp, 'c.pem'), certFile)
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true })
    }
  }
  return { key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) }
}

/** The usual server-certificate extensions, with these subjectAltName entries (none: no SAN at all). */
export function serverExtensions(san: string[]): string[] {
  const lines = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth']
  if (san.length) lines.push(`subjectAltName=${san.join(',')}`)
  return lines
}

/**
 * A DER OCSP response from the test CA about `certFile`: 'good' or 'revoked'.
 * Made in a private temporary directory with a one-line index of its own.
 */
export function ocspResponse(certFile: string, status: 'good' | 'revoked', dir = pkiDir): Buffer {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ostls-ocsp-'))
  try {
    const serial = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-serial']).toString().trim().split('=')[1]
    const now = new Date().toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'
    const line = status === 'revoked' ? ['R', '491231235959Z', now, serial, 'unknown', '/CN=localhost'] : ['V', '491231235959Z', '', serial, 'unknown', '/CN=localhost']
    fs.writeFileSync(path.join(tmp, 'index.txt'), line.join('\t') + '\n')
    const ca = path.join(dir, 'ca.pem')
    openssl(['ocsp', '-index', 'index.txt', '-rsigner', ca, '-rkey', path.join(dir, 'ca.key'), '-CA', ca, '-issuer', ca, '-cert', certFile, '-no_nonce', '-ndays', '1', '-respout', 'resp.der'], tmp)
    return fs.readFileSync(path.join(tmp, 'resp.der'))
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

/**
 * A CA whose EC key carries explicit curve parameters (OpenSSL 3 refuses it
 * with X509_V_ERR_EC_KEY_EXPLICIT_PARAMS, code 94) and a leaf it signed for
 * localhost. Made on first use; { ca, key, cert } as PEM.
 */
export function explicitParamsChain(dir = pkiDir): { ca: Buffer; key: Buffer; cert: Buffer } {
  const files = ['x-ecx-ca.pem', 'x-ecx.key', 'x-ecx.pem'].map((f) => path.join(dir, f))
  if (!files.every((f) => fs.existsSync(f))) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ostls-ecx-'))
    try {
      fs.writeFileSync(path.join(tmp, 'ext.cnf'), '[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n[x]\n' + serverExtensions(['DNS:localhost', 'IP:127.0.0.1']).join('\n') + '\n')
      openssl(['ecparam', '-name', 'prime256v1', '-param_enc', 'explicit', '-genkey', '-noout', '-out', 'ca.key'], tmp)
      openssl(['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=ostls explicit-parameters CA', '-days', '3650', '-config', 'ext.cnf', '-extensions', 'ca', '-out', 'ca.pem'], tmp)
      openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'leaf.key'], tmp)
      openssl(['req', '-new', '-key', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=localhost', '-config', 'ext.cnf'], tmp)
      openssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '0x' + crypto.randomBytes(12).toString('hex'), '-days', '30', '-extfile', 'ext.cnf', '-extensions', 'x', '-out', 'leaf.pem'], tmp)
      ;['ca.pem', 'leaf.key', 'leaf.pem'].forEach((f, i) => fs.renameSync(path.join(tmp, f), files[i]))
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true })
    }
  }
  const [ca, key, cert] = files.map((f) => fs.readFileSync(f))
  return { ca, key, cert }
}

export interface ClientIdentity {
  /** The client CA a server passes as `ca` with requestCert. */
  ca: Buffer
  cert: Buffer
  key: Buffer
  /** The same key, encrypted (AES-256) with `passphrase`. */
  encryptedKey: Buffer
  /** cert + key as PKCS#12, encrypted with `passphrase` (3DES + SHA-1 MAC, which every OS imports). */
  pfx: Buffer
  passphrase: string
  /** The client certificate's subject CN, as the server sees it. */
  cn: string
  /** SHA-1 thumbprint of the client certificate (hex, upper case), as Windows names it. */
  thumbprint: string
}

/**
 * A client CA and a client certificate (extendedKeyUsage clientAuth) it
 * signed, made on first use in the PKI directory: x-clientca.pem, x-client.pem,
 * x-client.key, x-client-enc.key, x-client.pfx.
 */
export function clientIdentity(dir = pkiDir): ClientIdentity {
  const passphrase = 'ostls test passphrase'
  const cn = 'ostls test client'
  const names = ['x-clientca.pem', 'x-client.pem', 'x-client.key', 'x-client-enc.key', 'x-client.pfx']
  const files = names.map((f) => path.join(dir, f))
  if (!files.every((f) => fs.existsSync(f))) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ostls-client-'))
    try {
      fs.writeFileSync(path.join(tmp, 'ext.cnf'), '[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n[x]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n')
      const genKey = (f: string) => openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', f], tmp)
      genKey('ca.key')
      openssl(['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/O=ostls tests/CN=ostls test client CA', '-days', '3650', '-config', 'ext.cnf', '-extensions', 'ca', '-out', 'ca.pem'], tmp)
      genKey('client.key')
      openssl(['req', '-new', '-key', 'client.key', '-out', 'client.csr', '-subj', `/O=ostls tests/CN=${cn}`], tmp)
      openssl(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '0x' + crypto.randomBytes(12).toString('hex'), '-days', '30', '-sha256', '-extfile', 'ext.cnf', '-extensions', 'x', '-out', 'client.pem'], tmp)
      openssl(['pkey', '-in', 'client.key', '-aes256', '-passout', `pass:${passphrase}`, '-out', 'client-enc.key'], tmp)
      openssl(['pkcs12', '-export', '-in', 'client.pem', '-inkey', 'client.key', '-certfile', 'ca.pem', '-name', cn, '-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'PBE-SHA1-3DES', '-macalg', 'sha1', '-passout', `pass:${passphrase}`, '-out', 'client.pfx'], tmp)
      ;['ca.pem', 'client.pem', 'client.key', 'client-enc.key', 'client.pfx'].forEach((f, i) => fs.renameSync(path.join(tmp, f), files[i]))
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true })
    }
  }
  const [ca, cert, key, encryptedKey, pfx] = files.map((f) => fs.readFileSync(f))
  const thumbprint = new crypto.X509Certificate(cert).fingerprint.replace(/:/g, '').toUpperCase()
  return { ca, cert, key, encryptedKey, pfx, passphrase, cn, thumbprint }
}
