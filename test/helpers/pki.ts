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

/** Makes the PKI unless it is already complete. */
export function ensurePki(dir = pkiDir): void {
  const done = path.join(dir, 'done')
  // Leaves are valid for 30 days: a PKI kept from an earlier run is remade after a week.
  if (fs.existsSync(done) && Date.now() - fs.statSync(done).mtimeMs < 7 * 86400_000) return
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
