// Client certificates from files (cert + key, encrypted key + passphrase,
// pfx + passphrase) against servers that require one, through connect(),
// Agent, fetch/createDispatcher and register(); a bad identity fails with
// TLS_INVALID_ARGUMENT before any connection is made.
import t from 'tap'
import https from 'node:https'
import tls from 'node:tls'
import path from 'node:path'
import { connect, ConnectOptions, Agent, createDispatcher, fetch, register, unregister } from '../dist/cjs/index'
import { tlsServer, TestServer } from './helpers/servers'
import { httpsServer } from './helpers/http-server'
import { pki, pkiDir, clientIdentity } from './helpers/pki'
import { run } from './helpers/cli'
import { collect, failure } from './helpers/client'
import { engineGap, standinGap, wineGap } from './helpers/platform'

const p = pki()
const id = clientIdentity()
/** The Schannel engine takes pfx (and the Windows store), not PEM cert + key yet. */
// The Linux alternative engines do not send client certificates yet: they refuse them (below).
const refusesIdentity = engineGap(['mbedtls', 's2n'], 'no client certificates yet (refused, tested below)')
const noIdentity =
  refusesIdentity ||
  standinGap('client identities are not modelled (no SecPKCS12Import/SecIdentity, no sec_protocol challenge block for the server\'s certificate request)')
const pemGap = process.platform === 'win32' ? 'Schannel engine: PEM cert + key are not taken yet (pfx is)' : engineGap(['network', 'securetransport'], 'PEM cert + key are not taken yet (pfx is)')
const isPem = (o: Partial<ConnectOptions>) => o.cert !== undefined || o.key !== undefined
/** An identity every engine takes, for the drop-in tests. */
const anyIdentity: Partial<ConnectOptions> = pemGap ? { pfx: id.pfx, passphrase: id.passphrase } : { cert: id.cert, key: id.encryptedKey, passphrase: id.passphrase }

/** A server that requires a client certificate from the client CA and answers with the subject CN it saw. */
async function requiringServer(): Promise<TestServer & { connections: number }> {
  const srv = await tlsServer(p.leaf, (s) => s.end(`CN=${(s.getPeerCertificate() as tls.PeerCertificate).subject?.CN}\n`), {
    requestCert: true,
    rejectUnauthorized: true,
    ca: id.ca
  })
  const counted = Object.assign(srv, { connections: 0 })
  srv.server.on('connection', () => counted.connections++)
  return counted
}

const base = (port: number): ConnectOptions => ({ host: '127.0.0.1', port, servername: 'localhost', ca: p.ca })

const identities: Array<[string, Partial<ConnectOptions>]> = [
  ['PEM cert + key', { cert: id.cert, key: id.key }],
  ['PEM cert + key as strings', { cert: id.cert.toString(), key: id.key.toString() }],
  ['encrypted PEM key + passphrase', { cert: id.cert, key: id.encryptedKey, passphrase: id.passphrase }],
  ['encrypted PEM key as { pem, passphrase }', { cert: id.cert, key: [{ pem: id.encryptedKey, passphrase: id.passphrase }] }],
  ['pfx + passphrase', { pfx: id.pfx, passphrase: id.passphrase }],
  ['pfx as { buf, passphrase }', { pfx: [{ buf: id.pfx, passphrase: id.passphrase }] }]
]

for (const [what, identity] of identities) {
  t.test(`connect() with ${what}: the server sees the client's subject`, { skip: noIdentity || (isPem(identity) && pemGap) }, async (t) => {
    const srv = await requiringServer()
    t.teardown(() => srv.close())
    const s = connect({ ...base(srv.port), ...identity })
    const reply = (await collect(s)).toString()
    t.equal(reply, `CN=${id.cn}\n`)
    t.equal(srv.handshakes, 1)
  })
}

t.test('no client certificate: the server refuses and the caller gets one coded error', {
  skip:
    refusesIdentity ||
    engineGap(['network'], "the server's certificate request is not observed (no sec_protocol challenge block): the refusal cannot name it, and TLS 1.3's certificate_required alert, read after the handshake, becomes TLS_PROTOCOL_ERROR")
}, async (t) => {
  const srv = await requiringServer()
  t.teardown(() => srv.close())
  for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
    const s = connect({ ...base(srv.port), maxVersion })
    const err = await new Promise<Error & { code?: string; tlsCode?: string }>((resolve) => {
      s.on('data', () => {})
      s.once('error', resolve)
      s.once('end', () => resolve(new Error('the stream ended cleanly instead of failing')))
    })
    t.ok(err.tlsCode, `${maxVersion}: a TLSError (${err.message})`)
    t.equal(err.tlsCode, 'TLS_HANDSHAKE_FAILED', `${maxVersion}: ${err.message}`)
    t.match(err.message, /client certificate/, `${maxVersion}: the message says what the server wanted`, {
      todo: wineGap("Wine's Schannel does not report the server's certificate request (no SEC_I_INCOMPLETE_CREDENTIALS), so the failure cannot name it")
    })
  }
  t.equal(srv.handshakes, 0)
})

const bad: Array<[string, Partial<ConnectOptions>, RegExp]> = [
  ['a wrong passphrase for the PEM key', { cert: id.cert, key: id.encryptedKey, passphrase: 'wrong' }, /option key/],
  ['no passphrase for an encrypted PEM key', { cert: id.cert, key: id.encryptedKey }, /option key/],
  ['a wrong passphrase for the pfx', { pfx: id.pfx, passphrase: 'wrong' }, /option pfx/],
  ['a pfx that is not PKCS#12', { pfx: Buffer.from('not a pkcs#12 file at all'), passphrase: id.passphrase }, /option pfx/],
  ["a key that does not belong to the certificate", { cert: id.cert, key: p.leaf.key }, /belong together/],
  ['cert without key', { cert: id.cert }, /needs option key/],
  ['both pfx and cert/key', { pfx: id.pfx, cert: id.cert, key: id.key, passphrase: id.passphrase }, /two client identities/]
]

for (const [what, identity, message] of bad) {
  t.test(`${what}: TLS_INVALID_ARGUMENT before any connection`, { skip: refusesIdentity || (isPem(identity) && !identity.pfx && identity.key !== undefined && pemGap) }, async (t) => {
    const srv = await requiringServer()
    t.teardown(() => srv.close())
    const err = await failure({ ...base(srv.port), ...identity })
    t.equal(err.tlsCode, 'TLS_INVALID_ARGUMENT', err.message)
    t.equal(err.code, 'ERR_INVALID_ARG_VALUE')
    t.match(err.message, message)
    t.equal(srv.connections, 0, 'the server never saw a connection')
  })
}

t.test('an engine without client certificates refuses an identity instead of ignoring it', { skip: refusesIdentity ? undefined : 'this engine sends client certificates' }, async (t) => {
  const srv = await requiringServer()
  t.teardown(() => srv.close())
  for (const identity of [{ cert: id.cert, key: id.key }, { pfx: id.pfx, passphrase: id.passphrase }]) {
    const err = await failure({ ...base(srv.port), ...identity })
    t.equal(err.tlsCode, 'TLS_INVALID_ARGUMENT', err.message)
    t.match(err.message, /does not send client certificates/)
  }
  t.equal(srv.handshakes, 0, 'before any connection')
})

t.test('a key that is not PEM is refused at connect()', async (t) => {
  t.throws(() => connect({ host: '127.0.0.1', port: 1, cert: id.cert, key: 'not a key' }), { tlsCode: 'TLS_INVALID_ARGUMENT', code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => connect({ host: '127.0.0.1', port: 1, cert: [id.cert, id.cert], key: id.key }), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => connect({ host: '127.0.0.1', port: 1, pfx: 42 as never }), { code: 'ERR_INVALID_ARG_TYPE' })
})

const subjectHandler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) =>
  res.end(`CN=${((req.socket as tls.TLSSocket).getPeerCertificate() as tls.PeerCertificate).subject?.CN}`)
const requiring = { requestCert: true, rejectUnauthorized: true, ca: id.ca }

function get(url: string, options: https.RequestOptions): Promise<{ status?: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, options, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode, body }))
      })
      .on('error', reject)
  })
}

t.test('Agent passes the identity through (cert + key, and pfx per request)', { skip: noIdentity }, async (t) => {
  const srv = await httpsServer(subjectHandler, requiring)
  t.teardown(() => srv.close())
  const agent = new Agent({ ca: p.ca, ...(anyIdentity as object) })
  t.teardown(() => agent.destroy())
  t.same(await get(`${srv.origin}/`, { agent }), { status: 200, body: `CN=${id.cn}` })
  const plain = new Agent({ ca: p.ca })
  t.teardown(() => plain.destroy())
  t.same(await get(`${srv.origin}/`, { agent: plain, pfx: id.pfx, passphrase: id.passphrase }), { status: 200, body: `CN=${id.cn}` })
  t.equal(srv.viaOstls, 2)
  await t.rejects(get(`${srv.origin}/`, { agent: plain }), { tlsCode: 'TLS_HANDSHAKE_FAILED' }, 'without one the request fails')
})

t.test('createDispatcher()/fetch pass the identity through', { skip: noIdentity }, async (t) => {
  const srv = await httpsServer(subjectHandler, requiring)
  t.teardown(() => srv.close())
  const dispatcher = createDispatcher({ ca: p.ca, pfx: id.pfx, passphrase: id.passphrase })
  t.teardown(() => dispatcher.close())
  const res = await fetch(`${srv.origin}/`, { dispatcher })
  t.equal(await res.text(), `CN=${id.cn}`)
  const viaGlobal = await globalThis.fetch(`${srv.origin}/`, { dispatcher: createDispatcher({ ca: p.ca, ...anyIdentity }) })
  t.equal(await viaGlobal.text(), `CN=${id.cn}`)
  t.equal(srv.viaOstls, 2)
})

t.test('register({ cert, key }) routes https.get and global fetch with the identity', { skip: noIdentity }, async (t) => {
  const srv = await httpsServer(subjectHandler, requiring)
  t.teardown(() => srv.close())
  t.teardown(() => unregister())
  t.equal(register({ ca: p.ca, ...anyIdentity }), true)
  t.same(await get(`${srv.origin}/`, {}), { status: 200, body: `CN=${id.cn}` })
  const res = await globalThis.fetch(`${srv.origin}/`)
  t.equal(await res.text(), `CN=${id.cn}`)
  t.equal(srv.viaOstls, 2)
})

t.test('ostls get --pfx/--cert/--key/--passphrase-env', { skip: noIdentity }, async (t) => {
  const srv = await httpsServer(subjectHandler, requiring)
  t.teardown(() => srv.close())
  const ca = ['--ca', path.join(pkiDir, 'ca.pem')]
  const env = { OSTLS_TEST_PASSPHRASE: id.passphrase }
  const viaPfx = await run(['get', ...ca, '--pfx', path.join(pkiDir, 'x-client.pfx'), '--passphrase-env', 'OSTLS_TEST_PASSPHRASE', `${srv.origin}/`], env)
  t.same([viaPfx.code, viaPfx.stdout], [0, `CN=${id.cn}`], viaPfx.stderr)
  if (!pemGap) {
    const viaPem = await run(['get', ...ca, '--cert', path.join(pkiDir, 'x-client.pem'), '--key', path.join(pkiDir, 'x-client-enc.key'), '--passphrase-env', 'OSTLS_TEST_PASSPHRASE', `${srv.origin}/`], env)
    t.same([viaPem.code, viaPem.stdout], [0, `CN=${id.cn}`], viaPem.stderr)
  }
  const without = await run(['get', ...ca, `${srv.origin}/`])
  t.equal(without.code, 1)
  t.match(without.stderr, /TLS_HANDSHAKE_FAILED/)
  const wrong = await run(['get', ...ca, '--pfx', path.join(pkiDir, 'x-client.pfx'), '--passphrase-env', 'OSTLS_TEST_PASSPHRASE', `${srv.origin}/`], { OSTLS_TEST_PASSPHRASE: 'wrong' })
  t.equal(wrong.code, 1)
  t.match(wrong.stderr, /pfx/)
  for (const args of [['--cert', 'x.pem'], ['--pfx', 'a', '--key', 'b'], ['--pfx', path.join(pkiDir, 'x-client.pfx'), '--passphrase-env', 'OSTLS_TEST_UNSET_VARIABLE'], ['--revocation', 'strict']]) {
    const r = await run(['get', ...ca, ...args, `${srv.origin}/`])
    t.equal(r.code, 2, `${args.join(' ')}: bad usage (${r.stderr.trim()})`)
  }
  t.equal(srv.requests, 1 + (pemGap ? 0 : 1), 'only the requests with an identity got through')
})
