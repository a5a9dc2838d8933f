/**
 * How a test puts the OS-trust CA (pki osca) into the operating system's own
 * trust store, per platform, so the suite proves the OS trust path and not
 * just the ca option.
 */
import path from 'node:path'
import { pkiDir } from './pki'

export interface OsTrust {
  /** Environment for a child process that should trust osca through the OS store. */
  env?: NodeJS.ProcessEnv
  /** Set when this platform's runner has not put osca into the OS store. */
  skip?: string
}

export function osTrust(): OsTrust {
  if (process.platform === 'linux') {
    // The same variable every OpenSSL program honours for its default bundle.
    return { env: { SSL_CERT_FILE: path.join(pkiDir, 'osca.pem') } }
  }
  if (process.platform === 'win32' && process.env.OSTLS_TEST_OS_TRUST === 'crypt32') {
    // The Windows store is shared by every process, so the child itself puts the
    // CA into CurrentUser ROOT (crypt32) for its lifetime and takes it out at exit.
    const preload = path.join(__dirname, '..', '..', 'scripts', 'win-trust.js').replace(/\\/g, '/')
    return { env: { NODE_OPTIONS: `--require=${preload}`, OSTLS_WIN_TRUST_CA: path.join(pkiDir, 'osca.pem') } }
  }
  if (process.env.OSTLS_TEST_OS_TRUST === 'installed') return { env: {} }
  return { skip: `the OS-trust CA is installed by this platform's suite runner (scripts/); set OSTLS_TEST_OS_TRUST=installed once ${path.join(pkiDir, 'osca.pem')} is in the OS store` }
}
