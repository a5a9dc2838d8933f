// The revocation option: 'os' (default: a verified stapled "revoked" fails,
// anything else goes on), 'require' (only a verified stapled "good" for the
// server's certificate will do: no staple, an unknown status or an
// unverifiable response fail in the revocation family), 'off' (no status is
// asked for or looked at).
import t from 'tap'
import https from 'node:https'
import { pki, pkiFile } from './helpers/pki'
import { staplingServer } from './helpers/servers'
import { open, failure } from './helpers/client'
import { connect, Agent, ConnectOptions } from '../dist/cjs/index'
import { engineGap, mbedtlsLimit, schannelGap, wineGap, standinGap } from './helpers/platform'

const noRevocation = standinGap("revocation is not modelled: its SecTrust evaluation ignores revocation policies and OCSP staples")

const p = pki()
const opts = (port: number, extra: Partial<ConnectOptions> = {}): ConnectOptions => ({ host: '127.0.0.1', port, servername: 'localhost', ca: p.ca, ...extra })
const revoked = () => pkiFile('ocsp-leaf-revoked.der')
const good = () => pkiFile('ocsp-leaf-good.der')
// The Mbed TLS and s2n engines refuse 'require' and 'off' (TLS_INVALID_ARGUMENT): they have no revocation policy.
const notYet = (what: string) => engineGap(['mbedtls', 's2n'], `revocation '${what}' is not honoured yet`)
// Under Wine the server's stapled response never reaches the chain engine, so a staple settles nothing.
const noStaple = wineGap("the stapled OCSP response is not handed to the chain engine (CERT_OCSP_RESPONSE_PROP_ID), so a staple settles nothing")

t.test("'require' without a staple fails: TLS_CERT_REVOKED / OCSP_NO_RESPONSE", { skip: noRevocation || notYet('require') }, async (t) => {
  const asked = { count: 0 }
  const srv = await staplingServer(p.leaf, null, asked)
  t.teardown(() => srv.close())
  const err = await failure(opts(srv.port, { revocation: 'require' }))
  t.equal(asked.count, 1, 'the client asked for the status')
  t.equal(err.tlsCode, 'TLS_CERT_REVOKED', err.message)
  t.equal(err.code, 'OCSP_NO_RESPONSE')
  t.match(err.message, /revocation status is unknown/)
  t.equal(srv.handshakes, 0)
})

t.test("'require' with a verified \"good\" staple connects", { skip: noRevocation || notYet('require'), todo: noStaple }, async (t) => {
  const srv = await staplingServer(p.leaf, good())
  t.teardown(() => srv.close())
  const s = await open(opts(srv.port, { revocation: 'require' }))
  t.equal(s.authorized, true)
  s.destroy()
})

t.test("'require' with a \"revoked\" staple is CERT_REVOKED", { skip: noRevocation || notYet('require'), todo: noStaple }, async (t) => {
  const srv = await staplingServer(p.leaf, revoked())
  t.teardown(() => srv.close())
  const err = await failure(opts(srv.port, { revocation: 'require' }))
  t.equal(err.tlsCode, 'TLS_CERT_REVOKED', err.message)
  t.equal(err.code, 'CERT_REVOKED')
})

t.test("'require' with a staple about another certificate fails: OCSP_VERIFY_FAILED", { skip: noRevocation || notYet('require'), todo: noStaple }, async (t) => {
  const srv = await staplingServer(p.wrongname, good())
  t.teardown(() => srv.close())
  const err = await failure(opts(srv.port, { revocation: 'require', servername: 'wrong.example' }))
  t.equal(err.tlsCode, 'TLS_CERT_REVOKED', err.message)
  t.equal(err.code, 'OCSP_VERIFY_FAILED')
})

t.test("'require' with rejectUnauthorized: false reports the unknown status, not fatal", { skip: noRevocation || notYet('require') }, async (t) => {
  const srv = await staplingServer(p.leaf, null)
  t.teardown(() => srv.close())
  const s = await open(opts(srv.port, { revocation: 'require', rejectUnauthorized: false }))
  t.equal(s.authorized, false)
  t.equal(s.authorizationError, 'OCSP_NO_RESPONSE')
  s.destroy()
})

t.test("'off' neither asks for nor heeds a staple: a \"revoked\" one is ignored", { skip: notYet('off') }, async (t) => {
  const asked = { count: 0 }
  const srv = await staplingServer(p.leaf, revoked(), asked)
  t.teardown(() => srv.close())
  const s = await open(opts(srv.port, { revocation: 'off' }))
  t.equal(s.authorized, true)
  t.equal(asked.count, 0, 'no status_request was sent', { todo: wineGap('it asks for the status (status_request) whatever the revocation flags of the credentials') })
  s.destroy()
})

t.test("the default ('os', and 'os' said explicitly): a \"revoked\" staple fails, none is fine", { todo: schannelGap('a stapled OCSP status is not checked yet'), skip: noRevocation || (mbedtlsLimit('its TLS client has no OCSP stapling (status_request)')) }, async (t) => {
  for (const revocation of [undefined, 'os'] as const) {
    const srv = await staplingServer(p.leaf, revoked())
    const err = await failure(opts(srv.port, { revocation }))
    t.equal(err.code, 'CERT_REVOKED', `${revocation ?? 'default'}: ${err.message}`)
    await srv.close()
    const none = await staplingServer(p.leaf, null)
    const s = await open(opts(none.port, { revocation }))
    t.equal(s.authorized, true, `${revocation ?? 'default'}: no staple connects`)
    s.destroy()
    await none.close()
  }
})

t.test('a revocation value that is not a policy is refused at connect()', async (t) => {
  t.throws(() => connect({ host: '127.0.0.1', port: 1, revocation: 'strict' as never }), { tlsCode: 'TLS_INVALID_ARGUMENT', code: 'ERR_INVALID_ARG_VALUE' })
})

t.test("Agent({ revocation: 'require' }) applies it to every request", { skip: noRevocation || notYet('require') }, async (t) => {
  const srv = await staplingServer(p.leaf, null)
  t.teardown(() => srv.close())
  srv.server.on('secureConnection', (s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok'))
  const agent = new Agent({ ca: p.ca, revocation: 'require' })
  t.teardown(() => agent.destroy())
  const err = await new Promise<Error & { code?: string }>((resolve, reject) => {
    https.get(`https://localhost:${srv.port}/`, { agent }, () => reject(new Error('a response arrived'))).on('error', resolve)
  })
  t.equal(err.code, 'OCSP_NO_RESPONSE', err.message)
})

t.test("engines that do not honour 'require' or 'off' yet refuse them, before any connection", { skip: notYet('x') ? undefined : 'this engine honours both' }, async (t) => {
  for (const revocation of ['require', 'off'] as const) {
    const srv = await staplingServer(p.leaf, null)
    const err = await failure(opts(srv.port, { revocation }))
    t.equal(err.tlsCode, 'TLS_INVALID_ARGUMENT', err.message)
    t.equal(srv.handshakes, 0)
    await srv.close()
  }
})
