/** The client-identity and revocation options of `ostls get`: --cert, --key, --pfx, --passphrase-env, --client-cert-store, --thumbprint, --revocation. */
import fs from 'node:fs'
import { CliError } from './style'
import type { IdentityOptions } from '../identity'

export const identityArgs = {
  cert: { type: 'string' },
  key: { type: 'string' },
  pfx: { type: 'string' },
  'passphrase-env': { type: 'string' },
  'client-cert-store': { type: 'string' },
  thumbprint: { type: 'string' },
  revocation: { type: 'string' }
} as const

export const identityHelp = `  --cert file             client certificate chain (PEM), with --key
  --key file              its private key (PEM; encrypted: --passphrase-env)
  --pfx file              client certificate and key as PKCS#12 (.pfx/.p12)
  --passphrase-env VAR    read the key's or pfx's passphrase from environment
                          variable VAR (never from the command line)
  --client-cert-store S   Windows: the client certificate from store S
                          (CurrentUser\\My), chosen by --thumbprint HEX;
                          or auto: when the server asks, the first OS
                          identity issued by a CA the server names
  --revocation policy     os (default), require (a server certificate whose
                          revocation status is unknown fails) or off
`

const bad = (msg: string) => new CliError('ERR_INVALID_ARG_VALUE', `${msg}; see \`ostls get --help\``, 2)

function readFile(flag: string, f: string): Buffer {
  try {
    return fs.readFileSync(f)
  } catch (e) {
    throw new CliError((e as { code?: string }).code ?? 'ERR_INVALID_ARG_VALUE', `--${flag} ${f}: ${(e as Error).message}`, 2)
  }
}

/** The parsed flags as connect() options; bad combinations are bad usage (exit 2). */
export function identityFromArgs(
  v: { cert?: string; key?: string; pfx?: string; 'passphrase-env'?: string; 'client-cert-store'?: string; thumbprint?: string; revocation?: string },
  env = process.env
): IdentityOptions {
  const out: IdentityOptions = {}
  const store = v['client-cert-store']
  if (store === 'auto') {
    // The OS picks by the CAs the server names; nothing to name here.
    if (v.thumbprint) throw bad('--client-cert-store auto takes no --thumbprint')
    if (v.pfx || v.cert || v.key) throw bad('--client-cert-store auto and --pfx or --cert/--key name two client identities: give one')
    out.clientCertificate = 'auto'
  } else {
    if (Boolean(store) !== Boolean(v.thumbprint)) throw bad(store ? '--client-cert-store needs --thumbprint' : '--thumbprint needs --client-cert-store')
    if (store && (v.pfx || v.cert || v.key)) throw bad('--client-cert-store and --pfx or --cert/--key name two client identities: give one')
    if (store) out.clientCertificate = { store, thumbprint: v.thumbprint }
  }
  if (v.pfx && (v.cert || v.key)) throw bad('--pfx and --cert/--key name two client identities: give one')
  if (!v.pfx && Boolean(v.cert) !== Boolean(v.key)) throw bad(v.cert ? '--cert needs --key' : '--key needs --cert')
  if (v.pfx) out.pfx = readFile('pfx', v.pfx)
  if (v.cert && v.key) {
    out.cert = readFile('cert', v.cert)
    out.key = readFile('key', v.key)
  }
  const name = v['passphrase-env']
  if (name !== undefined) {
    if (!(out.pfx || out.key)) throw bad('--passphrase-env is for --key or --pfx')
    const value = env[name]
    if (value === undefined) throw bad(`--passphrase-env ${name}: the environment variable is not set`)
    out.passphrase = value
  }
  if (v.revocation !== undefined) {
    if (v.revocation !== 'os' && v.revocation !== 'require' && v.revocation !== 'off') throw bad(`--revocation wants os, require or off, got ${JSON.stringify(v.revocation)}`)
    out.revocation = v.revocation
  }
  return out
}
