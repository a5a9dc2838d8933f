// Every failure surfaces as a TLSError with the header's code in tlsCode and Node's code in code.
import t, { Test } from 'tap'
import { TLSError } from '../dist/cjs/index'
import { pki } from './helpers/pki'
import { tlsServer, silentServer, closedPort, opensslServer } from './helpers/servers'
import { failure } from './helpers/client'
import { s2nLimit, loneLeafUntrustedCode } from './helpers/platform'
import path from 'node:path'

const p = pki()

async function rejectedBy(t: Test, pair: typeof p.leaf, opts: Record<string, unknown>, tlsCode: string, code: string) {
  const srv = await tlsServer(pair)
  t.teardown(() => srv.close())
  const err = await failure({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ...opts })
  t.ok(err instanceof TLSError, 'is a TLSError')
  t.equal(err.tlsCode, tlsCode)
  t.equal(err.code, code)
  t.ok(err.message.length > 10, `has a message: ${err.message}`)
  t.equal(srv.handshakes, 0, 'the server saw no completed handshake')
  return err
}

// The server sends its leaf alone: Node (checked with v20) reports this as UNABLE_TO_VERIFY_LEAF_SIGNATURE.
t.test('untrusted issuer', (t) => rejectedBy(t, p.leaf, {}, 'TLS_CERT_UNTRUSTED', loneLeafUntrustedCode()))
t.test('expired certificate', (t) => rejectedBy(t, p.expired, { ca: p.ca }, 'TLS_CERT_EXPIRED', 'CERT_HAS_EXPIRED'))
t.test('wrong host name', (t) => rejectedBy(t, p.wrongname, { ca: p.ca }, 'TLS_CERT_HOSTNAME_MISMATCH', 'ERR_TLS_CERT_ALTNAME_INVALID'))
t.test('self-signed certificate', { skip: s2nLimit('every chain failure is S2N_ERR_CERT_UNTRUSTED: a self-signed leaf is not told apart from an unknown issuer') }, (t) => rejectedBy(t, p.self, {}, 'TLS_CERT_UNTRUSTED', 'DEPTH_ZERO_SELF_SIGNED_CERT'))
t.test('IP address not in the certificate', (t) => rejectedBy(t, p.wrongname, { ca: p.ca, servername: undefined }, 'TLS_CERT_HOSTNAME_MISMATCH', 'ERR_TLS_CERT_ALTNAME_INVALID'))

t.test('a server that speaks only TLS 1.0/1.1 is refused', async (t) => {
  const srv = await opensslServer(
    { keyFile: path.join(p.dir, 'leaf.key'), certFile: path.join(p.dir, 'leaf.pem') },
    ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']
  )
  t.teardown(() => srv.close())
  const err = await failure({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ca: p.ca })
  t.equal((err as TLSError).tlsCode, 'TLS_PROTOCOL_VERSION', err.message)
  t.equal(err.code, 'TLS_PROTOCOL_VERSION')
})

t.test('connection refused', async (t) => {
  const port = await closedPort()
  const err = await failure({ host: '127.0.0.1', port, ca: p.ca })
  t.equal((err as TLSError).tlsCode, 'TLS_CONNECT_FAILED')
  t.equal(err.code, 'ECONNREFUSED')
  t.match(err.message, String(port))
})

t.test('a name that does not resolve', async (t) => {
  const err = await failure({ host: 'no-such-host.invalid', port: 443 })
  t.equal((err as TLSError).tlsCode, 'TLS_DNS_FAILED')
  t.equal(err.code, 'ENOTFOUND')
  t.match(err.message, 'no-such-host.invalid')
})

t.test('handshake timeout against a server that never answers', async (t) => {
  const srv = await silentServer()
  t.teardown(() => srv.close())
  const started = Date.now()
  const err = await failure({ host: '127.0.0.1', port: srv.port, ca: p.ca, handshakeTimeout: 300 })
  t.equal((err as TLSError).tlsCode, 'TLS_TIMEOUT')
  t.equal(err.code, 'ETIMEDOUT')
  t.ok(Date.now() - started >= 290, 'waited for the timeout')
})

t.test('the server resets the connection during the handshake', async (t) => {
  const net = await import('node:net')
  const server = net.createServer((s) => s.resetAndDestroy())
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => server.close())
  const err = await failure({ host: '127.0.0.1', port: (server.address() as import('node:net').AddressInfo).port, ca: p.ca })
  t.equal((err as TLSError).tlsCode, 'TLS_CONNECTION_RESET', err.message)
  t.equal(err.code, 'ECONNRESET')
})

t.test('the server closes mid-stream: the client sees the end, not a hang', async (t) => {
  const srv = await tlsServer(p.leaf, (s) => {
    s.write('partial')
    setTimeout(() => s.destroy(), 20)
  })
  t.teardown(() => srv.close())
  const { open, collect } = await import('./helpers/client')
  const s = await open({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ca: p.ca })
  const body = await collect(s).catch((e: TLSError) => e)
  if (Buffer.isBuffer(body)) t.equal(body.toString(), 'partial')
  else t.match(body.tlsCode, /^TLS_(CONNECTION_RESET|CLOSED)$/)
})

t.test('bad arguments are refused before any connection', async (t) => {
  const { connect } = await import('../dist/cjs/index')
  t.throws(() => connect({ host: '127.0.0.1', port: 0 }), { code: 'ERR_SOCKET_BAD_PORT' })
  t.throws(() => connect({ host: '127.0.0.1', port: 70000 }), { code: 'ERR_SOCKET_BAD_PORT' })
  t.throws(() => connect({ host: '127.0.0.1', port: 443, minVersion: 'TLSv1.1' as never }), { code: 'ERR_TLS_INVALID_PROTOCOL_VERSION' })
  t.throws(() => connect({ host: '', port: 443 }), { tlsCode: 'TLS_INVALID_ARGUMENT' })
  t.throws(() => connect({ host: '127.0.0.1', port: 443, ALPNProtocols: ['a,b'] }), { tlsCode: 'TLS_INVALID_ARGUMENT' })
})

t.test('DNS failures: EAI_SYSTEM carries its errno as the code; other detail only where it explains', async (t) => {
  const { nodeCode } = await import('../dist/cjs/errors')
  t.equal(nodeCode('TLS_DNS_FAILED', { osError: 'ENOTFOUND' }), 'ENOTFOUND')
  t.equal(nodeCode('TLS_DNS_FAILED', { osError: 'EAI_AGAIN' }), 'EAI_AGAIN')
  t.equal(nodeCode('TLS_DNS_FAILED', { osError: 'EMFILE' }), 'EMFILE', 'getaddrinfo failed with EAI_SYSTEM and errno EMFILE')
  t.equal(nodeCode('TLS_DNS_FAILED', {}), 'ENOTFOUND')
  const reset = new TLSError('TLS_CONNECTION_RESET', 'reset', { osError: 'ECONNRESET', verifyResult: 'DEPTH_ZERO_SELF_SIGNED_CERT' })
  t.equal(reset.verifyResult, undefined, 'a verification result does not explain a reset')
  t.equal(reset.osError, 'ECONNRESET')
  const cert = new TLSError('TLS_CERT_UNTRUSTED', 'untrusted', { osError: 'ECONNREFUSED', verifyResult: 'DEPTH_ZERO_SELF_SIGNED_CERT' })
  t.equal(cert.osError, undefined, 'an OS error does not explain a certificate failure')
  t.equal(cert.code, 'DEPTH_ZERO_SELF_SIGNED_CERT')
})
