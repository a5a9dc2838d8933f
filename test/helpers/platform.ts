
/**
 * Where the suite runs when it matters to a test: only for skipping what the
 * platform itself cannot do, with the reason named.
 */

/** Windows Node under Wine (scripts/test-windows.sh sets OSTLS_TEST_WINE=1). */
export const underWine = process.platform === 'win32' && process.env.OSTLS_TEST_WINE === '1'

/**
 * A known gap of the Schannel engine, found by a shared test: the test still
 * runs there and reports, as a todo that names the gap (c/impl-win owns it).
 */
export const schannelGap = (what: string): string | undefined => (process.platform === 'win32' ? `Schannel engine: ${what}` : undefined)

/** A limit of Wine's own Schannel (its GnuTLS back end), not of the engine. */
export const wineGap = (what: string): string | undefined => (underWine ? `Wine's Schannel: ${what}` : undefined)

/**
 * What the Mbed TLS engine (OSTLS_BACKEND=mbedtls) cannot do because Mbed TLS
 * 2.28 cannot, keyed on the engine actually loaded: a test that needs it is
 * skipped with the limit named. undefined on every other engine.
 */
export const mbedtlsLimit = (what: string): string | undefined => (loadedBackend() === 'mbedtls' ? `Mbed TLS 2.28 engine: ${what}` : undefined)

function loadedBackend(): string | undefined {
  try {
    // Loaded lazily: files that test a missing library import this module too.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('../../dist/cjs/index') as typeof import('../../dist/cjs/index')).backendInfo().backend
  } catch {
    return undefined
  }
}

/**
 * A limit of the AWS s2n-tls engine's library itself (not a gap ostls could
 * close): when the loaded engine is s2n (OSTLS_BACKEND=s2n), the reason the
 * test is skipped; otherwise undefined, so the test runs.
 */
export function s2nLimit(what: string): string | undefined {
  if (process.env.OSTLS_BACKEND !== 's2n') return undefined
  return loadedBackend() === 's2n' ? `s2n-tls limit: ${what}` : undefined
}

/**
 * Set when the suite runs against another Linux engine than OpenSSL
 * (OSTLS_BACKEND=s2n, ...): tests of the OpenSSL engine's own loading
 * (OSTLS_LIBSSL) have nothing to test there.
 */
export const notOpensslEngine = (what: string): string | undefined =>
  process.platform === 'linux' && process.env.OSTLS_BACKEND && process.env.OSTLS_BACKEND !== 'openssl'
    ? `OSTLS_BACKEND=${process.env.OSTLS_BACKEND}: ${what} belongs to the OpenSSL engine`
    : undefined

/**
 * What an engine of this build does not implement yet (an ostls gap, not its
 * library's limit): when the loaded engine is one of `engines`, the reason
 * the test is skipped; otherwise undefined.
 */
export function engineGap(engines: string[], what: string): string | undefined {
  const loaded = loadedBackend()
  return loaded && engines.includes(loaded) ? `the ${loaded} engine: ${what}` : undefined
}

/**
 * Option proxy on the Network.framework engine: the OS makes the tunnel
 * (nw_proxy_config_create_http_connect, macOS 14+). http:// proxies are
 * proven on the live stand-in; these two are not.
 */
export const nwProxyStatusGap = engineGap(['network'], 'the OS makes the tunnel and reports no proxy status: a refusal, a 407 or garbage is a failed connection')
export const nwHttpsProxyGap = engineGap(['network'], 'https:// proxies (TLS to the proxy) are unproven: the live stand-in does not model them, and this never ran on a Mac')

/**
 * What ostls's live Network.framework stand-in cannot model
 * (scripts/test-network-standin.sh: c/impl-mac/network.c built for Linux on
 * test/standin/live, real sockets with OpenSSL underneath, which sets
 * OSTLS_TEST_STANDIN=network): the reason the test is skipped there;
 * undefined everywhere else, so the test runs.
 */
export const standinGap = (what: string): string | undefined =>
  process.env.OSTLS_TEST_STANDIN === 'network' && loadedBackend() === 'network' ? `Network.framework stand-in: ${what}` : undefined

/**
 * The code for a server that sends its leaf alone, signed by a CA nobody
 * trusts: Node (whose OpenSSL verifies on past the first error) says
 * UNABLE_TO_VERIFY_LEAF_SIGNATURE, and so do the engines; s2n-tls reports every
 * chain failure as one S2N_ERR_CERT_UNTRUSTED (UNABLE_TO_GET_ISSUER_CERT_LOCALLY).
 */
export function loneLeafUntrustedCode(): string {
  return s2nLimit('one code for every chain failure') ? 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' : 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
}
