// Verification stricter than Node's, as browsers are: no CN fallback, a
// stapled "revoked" fails the handshake, large chains are fine and oversized
// ones fail cleanly, and every verification result has its name.
import t from 'tap'
import path from 'node:path'
import { pki, extraPair, pkiFile, explicitParamsChain } from './helpers/pki'
import { tlsServer, opensslServer, staplingServer as stapling } from './helpers/servers'
import { open, failure } from './helpers/client'
import { backendInfo } from '../dist/cjs/index'
import { mbedtlsLimit, wineGap, s2nLimit, standinGap } from './helpers/platform'

const noRevocation = standinGap("revocation is not modelled: its SecTrust evaluation ignores revocation policies and OCSP staples")

const p = pki()
const opts = (port: number) => ({ host: '127.0.0.1', port, servername: 'localhost', ca: p.ca })
const notOpenssl = backendInfo().backend !== 'openssl' ? 'checks an OpenSSL verification code' : false
const noStapling = mbedtlsLimit('its TLS client has no OCSP stapling (status_request)')
const noBigMessages = mbedtlsLimit('a handshake message over one TLS record (a chain over 16 KB) cannot be reassembled')
const noOpensslBinary = process.platform === 'win32' ? 'needs the openssl binary, which Windows Node cannot run' : false

t.test('a certificate without subjectAltName does not match by its CN', async (t) => {
  const srv = await tlsServer(extraPair('nosan'))
  t.teardown(() => srv.close())
  const err = await failure(opts(srv.port))
  t.equal(err.tlsCode, 'TLS_CERT_HOSTNAME_MISMATCH', err.message)
  t.equal(err.code, 'ERR_TLS_CERT_ALTNAME_INVALID')
  t.equal(srv.handshakes, 0, 'the handshake was refused')
})

t.test('with rejectUnauthorized: false the CN-only certificate is reported unauthorized', { skip: s2nLimit('with rejectUnauthorized: false s2n verifies nothing (s2n_config_disable_x509_verification), so there is no reason and no peer certificate to report') }, async (t) => {
  const srv = await tlsServer(extraPair('nosan'))
  t.teardown(() => srv.close())
  const s = await open({ ...opts(srv.port), rejectUnauthorized: false })
  t.equal(s.authorized, false)
  t.equal(s.authorizationError, 'ERR_TLS_CERT_ALTNAME_INVALID')
  s.destroy()
})

// Windows hands the stapled response to the chain engine on the server
// certificate's context (CERT_OCSP_RESPONSE_PROP_ID); Wine's Schannel does not.
const noStapleOnCert = wineGap('the stapled OCSP response is not attached to the server certificate (CERT_OCSP_RESPONSE_PROP_ID), so the chain engine never sees it')

const staplingServer = (response: Buffer | null, asked: { count: number }) => stapling(p.leaf, response, asked)

t.test('a stapled OCSP "revoked" fails the handshake with CERT_REVOKED', { todo: noStapleOnCert, skip: noRevocation || (noStapling) }, async (t) => {
  const asked = { count: 0 }
  const srv = await staplingServer(pkiFile('ocsp-leaf-revoked.der'), asked)
  t.teardown(() => srv.close())
  const err = await failure(opts(srv.port))
  t.equal(asked.count, 1, 'the client asked for the status')
  t.equal(err.tlsCode, 'TLS_CERT_REVOKED', err.message)
  t.equal(err.code, 'CERT_REVOKED')
})

t.test('a stapled "revoked" with rejectUnauthorized: false is reported, not fatal', { todo: noStapleOnCert, skip: noRevocation || (noStapling ?? s2nLimit('with rejectUnauthorized: false s2n verifies nothing (s2n_config_disable_x509_verification), so there is no reason and no peer certificate to report')) }, async (t) => {
  const srv = await staplingServer(pkiFile('ocsp-leaf-revoked.der'), { count: 0 })
  t.teardown(() => srv.close())
  const s = await open({ ...opts(srv.port), rejectUnauthorized: false })
  t.equal(s.authorized, false)
  t.equal(s.authorizationError, 'CERT_REVOKED')
  s.destroy()
})

t.test('a stapled "good" or no staple: the connection goes on', async (t) => {
  for (const [what, response] of [['good', pkiFile('ocsp-leaf-good.der')], ['none', null]] as const) {
    const srv = await staplingServer(response, { count: 0 })
    const s = await open(opts(srv.port))
    t.equal(s.authorized, true, `staple: ${what}`)
    s.destroy()
    await srv.close()
  }
})

t.test('a stapled "revoked" about another certificate is ignored', { todo: wineGap('a handshake with a stapled OCSP response fails with SEC_E_INTERNAL_ERROR'), skip: noRevocation || (noBigMessages ?? s2nLimit('the bigchain certificate (about 160 KB) is one handshake message over the 64 KiB s2n accepts (S2N_MAXIMUM_HANDSHAKE_MESSAGE_LENGTH, fixed at build time)')) }, async (t) => {
  // The response names leaf.pem; this server presents another certificate of the same CA.
  const srv = await tlsServer(extraPair('bigchain'))
  srv.server.on('OCSPRequest', (_c: Buffer, _i: Buffer, cb: (e: Error | null, r?: Buffer) => void) => cb(null, pkiFile('ocsp-leaf-revoked.der')))
  t.teardown(() => srv.close())
  const s = await open(opts(srv.port))
  t.equal(s.authorized, true)
  s.destroy()
})

t.test('openssl s_server -status_file with a "revoked" response', { skip: noRevocation || noOpensslBinary || noStapling }, async (t) => {
  const srv = await opensslServer({ keyFile: path.join(p.dir, 'leaf.key'), certFile: path.join(p.dir, 'leaf.pem') }, ['-status_file', path.join(p.dir, 'ocsp-leaf-revoked.der')])
  t.teardown(() => srv.close())
  const err = await failure(opts(srv.port))
  t.equal(err.tlsCode, 'TLS_CERT_REVOKED', err.message)
  t.equal(err.code, 'CERT_REVOKED')
})

t.test('a chain of about 160 KB (10,000 names) is accepted', { todo: wineGap('a chain of 160 KB or more fails with SEC_E_INTERNAL_ERROR'), skip: noBigMessages ?? s2nLimit('a handshake message over 64 KiB (S2N_MAXIMUM_HANDSHAKE_MESSAGE_LENGTH, fixed at build time) is refused as S2N_ERR_BAD_MESSAGE, which does not say it was the size') }, async (t) => {
  const srv = await tlsServer(extraPair('bigchain'))
  t.teardown(() => srv.close())
  const s = await open(opts(srv.port))
  t.equal(s.authorized, true)
  t.ok((s.getPeerCertificate().raw?.length ?? 0) > 150_000, 'the whole certificate arrived')
  s.destroy()
})

t.test('a chain over 300 KB fails with a clear TLS_PROTOCOL_ERROR', { todo: wineGap('a chain of 160 KB or more fails with SEC_E_INTERNAL_ERROR'), skip: standinGap("what Network.framework reports for an oversize certificate message is not known here (the stand-in says errSSLProtocol, which does not name the size)") || s2nLimit('a handshake message over 64 KiB (S2N_MAXIMUM_HANDSHAKE_MESSAGE_LENGTH, fixed at build time) is refused as S2N_ERR_BAD_MESSAGE, which does not say it was the size') }, async (t) => {
  const srv = await tlsServer(extraPair('hugechain'))
  t.teardown(() => srv.close())
  const err = await failure({ ...opts(srv.port), rejectUnauthorized: false })
  t.equal(err.tlsCode, 'TLS_PROTOCOL_ERROR', err.message)
  t.match(err.message, /larger|too long|size/i, 'the message says what was too big')
})

t.test('verification codes above 79 have names (EC_KEY_EXPLICIT_PARAMS)', { skip: notOpenssl }, async (t) => {
  // A CA whose EC key has explicit curve parameters: OpenSSL 3 reports 94.
  const chain = explicitParamsChain()
  const srv = await tlsServer({ key: chain.key, cert: chain.cert })
  t.teardown(() => srv.close())
  const err = await failure({ ...opts(srv.port), ca: chain.ca })
  t.equal(err.tlsCode, 'TLS_CERT_UNTRUSTED', err.message)
  t.equal(err.code, 'EC_KEY_EXPLICIT_PARAMS')
})
