/**
 * What to do about a failure: one sentence per load-failure reason and per
 * error code, shown by `ostls doctor` next to the failure it explains.
 */
import fs from 'node:fs'

/** The unpack globs (README, Electron): ostls's library, which only the OS loader reads, and koffi's, which Electron would otherwise copy out to a temporary file. */
export const asarUnpackGlobs = ['**/node_modules/ostls/prebuilds/**', '**/node_modules/ostls/build/Release/**', '**/node_modules/@koromix/koffi-*/**']

export const asarUnpackRule = `add ${asarUnpackGlobs.map((g) => JSON.stringify(g)).join(', ')} to asarUnpack (electron-builder; Electron Forge: packagerConfig.asar.unpack) and repackage`

/** How the failed candidate was found decides the advice: an override is the user's to fix. */
export function loadFailureHint(a: { source: string; path: string; reason?: string }, env: { platform: string; arch: string; insideAsar: boolean }): string {
  const override = a.source === 'OSTLS_LIBRARY'
  const reinstall = 'reinstall ostls (`npm ci`, or `npm install ostls`): its package carries the library'
  const unset = 'unset OSTLS_LIBRARY to use the installed library, or point it at ostls\'s own library file'
  // The package ships prebuilds, not C sources: a build comes from a clone.
  const buildFromClone = 'build it in a clone of the ostls repository with `npm run build:native` (needs Python and a C compiler) and set OSTLS_LIBRARY to its build/Release/ostls.node'
  switch (a.reason) {
    case 'file missing':
      if (override) return 'OSTLS_LIBRARY names a file that does not exist: correct the path, or unset OSTLS_LIBRARY to use the installed library'
      // Inside a packed Electron app the usual cause is a missing unpack rule, not a broken install.
      if (env.insideAsar) return `the library was not unpacked from app.asar, and the OS cannot load it from inside the archive: ${asarUnpackRule}`
      if (a.source === 'build') return `no local build (only needed where no prebuild fits): ${buildFromClone}`
      return `ostls has no prebuilt library for ${env.platform}-${env.arch}: ${reinstall} (prebuilds: see README, Building); ` +
        `on a platform without one, ${buildFromClone}`
    case 'not a file':
      return override ? `OSTLS_LIBRARY must name the library file itself, not a directory: ${unset}` : `the library path is not a regular file: ${reinstall}`
    case 'not a library':
      return override
        ? `the file is not a shared library: ${unset}`
        : `the file is damaged or not a library (an interrupted download, a Git LFS pointer): ${reinstall}`
    case 'not a complete library':
      return override
        ? `not a complete library (cut short or corrupt), so it was not loaded: ${unset}`
        : `not a complete library (an interrupted download or copy), so it was not loaded: ${reinstall}`
    case 'wrong architecture':
      return `the library was built for another platform or CPU: install ostls on this machine (\`npm ci\` on ${env.platform} ${env.arch}); ` +
        `when installing for another target, set npm_config_platform and npm_config_arch to match it` + (override ? `; or ${unset}` : '')
    case 'missing dependency':
      return `a library it needs is not installed: \`ldd ${a.path}\` (Linux) or \`otool -L\` (macOS) names it; install that, or ${buildFromClone}`
    case 'symbol missing':
      return override ? `this is not ostls's library: ${unset}` : `the library is from another ostls version or damaged: ${reinstall}`
    default:
      return `the OS loader refused it (see its message above): ${override ? unset : reinstall}`
  }
}

/** Linux distribution family from /etc/os-release, for package-manager advice. */
function distro(osRelease: string): string {
  let text = ''
  try {
    text = fs.readFileSync(osRelease, 'utf8')
  } catch {
    return ''
  }
  const field = (k: string) => new RegExp(`^${k}="?([^"\\n]*)"?$`, 'm').exec(text)?.[1] ?? ''
  return `${field('ID')} ${field('ID_LIKE')}`
}

/**
 * Advice when the engine's OS TLS library did not load, from the engine's own
 * tls_info "install_hint": one line per distribution family, "<os-release IDs>\t<advice>",
 * "*" for any other system, "+" for a note that always applies. The line for the
 * distribution this runs on is chosen here; which library to install is the engine's to say.
 */
export function installHint(hint: string, osRelease = '/etc/os-release'): string {
  const lines = hint.split('\n').map((l) => l.split('\t')).filter((f) => f.length >= 2).map(([ids, text]) => ({ ids: ids.split(' '), text }))
  if (!lines.length) return 'the OS TLS library did not load: check that this OS version is supported (see README, Backends)'
  const here = distro(osRelease).split(/\s+/).filter(Boolean)
  const pick = lines.find((l) => l.ids.some((id) => id !== '*' && id !== '+' && here.includes(id))) ?? lines.find((l) => l.ids.includes('*'))
  const notes = lines.filter((l) => l.ids.includes('+')).map((l) => l.text)
  return [pick?.text, ...notes].filter(Boolean).join('; ')
}

/** What an error code usually means, keyed by Node's code first, then the library's. */
const codeHints: Record<string, string> = {
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'a TLS-inspecting proxy or a private CA whose root is not in the OS trust store: add that root to the OS trust store, or pass it with --ca',
  SELF_SIGNED_CERT_IN_CHAIN: 'the chain ends in a root the OS does not trust, typically a TLS-inspecting proxy or a private CA: add that root to the OS trust store, or pass it with --ca',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server\'s certificate is self-signed (common on development servers): trust that certificate with --ca if it is the one you expect',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the server sent its certificate without the intermediates that lead to a trusted root: the server\'s chain is incomplete, or its CA is private (then use --ca)',
  UNABLE_TO_GET_ISSUER_CERT: 'an intermediate certificate is missing from the chain the server sent: the server must send its full chain',
  CERT_HAS_EXPIRED: 'a certificate in the chain has expired, or this machine\'s clock is wrong: check the system date, then the server\'s certificate',
  CERT_NOT_YET_VALID: 'a certificate is not valid yet: this machine\'s clock is probably behind',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the certificate is for other names: check the host name (or --servername); a proxy or load balancer may be answering with its default certificate',
  CERT_REVOKED: 'the CA revoked this certificate: the server needs a new one',
  CERT_SIGNATURE_FAILURE: 'a signature in the chain does not verify: the chain is corrupt or tampered with',
  ECONNREFUSED: 'nothing is listening at that address and port, or a firewall rejects the connection: check the port and that the server runs',
  ENOTFOUND: 'the name does not resolve: check its spelling, the DNS configuration and any VPN the name needs',
  EAI_AGAIN: 'the DNS server did not answer in time: retry, then check the network and DNS configuration',
  ETIMEDOUT: 'no answer in time: a firewall dropping packets, a wrong address, or a network that only allows a proxy',
  ECONNRESET: 'the connection was cut: a firewall or proxy blocking TLS to this host, or a server that rejected the handshake',
  EPIPE: 'the connection was cut: a firewall or proxy blocking TLS to this host, or a server that rejected the handshake',
  EHOSTUNREACH: 'no route to the host: the network, VPN or host is down',
  ENETUNREACH: 'no route to that network: the network or VPN is down, or IPv6 is not available here',
  TLS_PROTOCOL_VERSION: 'no TLS version in common: the server offers only TLS 1.0/1.1, which ostls never negotiates',
  TLS_HANDSHAKE_FAILED: 'the handshake was refused: no cipher or group in common, or the server requires a client certificate',
  TLS_PROTOCOL_ERROR: 'the peer did not speak TLS as expected: a plain-HTTP port, or a proxy in the way',
  TLS_LIBRARY_NOT_FOUND: 'the native library or the OS TLS library did not load: run `ostls doctor`',
  ERR_TOO_MANY_REDIRECTS: 'the redirects go on (possibly in a loop): raise --max-redirects or fetch the final URL directly',
  ERR_INSECURE_REDIRECT: 'the server redirects to plain http://, which ostls get does not follow'
}

export function codeHint(code?: string, tlsCode?: string): string | undefined {
  return (code && codeHints[code]) || (tlsCode && codeHints[tlsCode]) || undefined
}

/** Codes that have a hint (tests check each one renders). */
export const hintedCodes = Object.keys(codeHints)
