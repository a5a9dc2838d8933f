// The basic contract: a verified handshake, data both ways, and what tls.TLSSocket users read off the socket.
import t from 'tap'
import { X509Certificate } from 'node:crypto'
import { connect, backendInfo, TLSStream } from '../dist/cjs/index'
import { s2nLimit } from './helpers/platform'
import { pki } from './helpers/pki'
import { tlsServer } from './helpers/servers'
import { open, collect } from './helpers/client'

const p = pki()

t.test('backendInfo names the OS TLS stack', async (t) => {
  const info = backendInfo()
  t.match(info.backend, /^(openssl|mbedtls|s2n|schannel|securetransport|network)$/)
  t.ok(info.version.length > 0, 'has a version')
  t.ok(info.libraryPath.length > 0, 'names the OS library it loaded')
  t.ok(info.prebuildPath.length > 0, 'names the ostls library it loaded')
  t.equal(info.apiVersion, 1)
})

t.test('handshake with the ca option, then echo', async (t) => {
  const srv = await tlsServer(p.leaf, undefined, { ALPNProtocols: ['h2', 'http/1.1'] })
  t.teardown(() => srv.close())
  const s = await open({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ca: p.ca, ALPNProtocols: ['http/1.1'] })
  t.ok(s instanceof TLSStream)
  t.equal(s.authorized, true)
  t.equal(s.authorizationError, null)
  t.equal(s.encrypted, true)
  t.equal(s.alpnProtocol, 'http/1.1')
  t.match(s.getProtocol(), /^TLSv1\.[23]$/)
  t.match(s.getCipher(), { name: /^TLS_/, standardName: /^TLS_/, version: s.getProtocol() })
  const cipher = s.getCipher()
  cipher.name = 'changed by the caller'
  t.not(s.getCipher(), cipher, 'getCipher() gives a new object per call, as Node does')
  t.match(s.getCipher().name, /^TLS_/, "... so a caller's change is its own")
  t.equal(s.remoteAddress, '127.0.0.1')
  t.equal(s.remotePort, srv.port)
  t.equal(s.remoteFamily, 'IPv4')
  t.equal(s.localAddress, '127.0.0.1')
  t.ok(s.localPort! > 0)
  s.end('hello over the OS TLS stack')
  t.equal((await collect(s)).toString(), 'hello over the OS TLS stack')
  t.equal(srv.handshakes, 1, 'the server saw one handshake')
})

t.test('peer certificate matches what the server holds', async (t) => {
  const srv = await tlsServer(p.leaf)
  t.teardown(() => srv.close())
  const s = await open({ host: 'localhost', port: srv.port, ca: p.ca })
  t.teardown(() => s.destroy())
  const want = new X509Certificate(p.leaf.cert)
  const cert = s.getPeerCertificate()
  t.same(cert.raw, want.raw, 'raw DER')
  t.same(cert.subject, { CN: 'localhost' })
  t.same(cert.issuer, { O: 'ostls tests', CN: 'ostls test CA' })
  t.equal(cert.valid_from, want.validFrom)
  t.equal(cert.valid_to, want.validTo)
  t.equal(cert.fingerprint256, want.fingerprint256)
  t.match(cert.subjectaltname, /DNS:localhost/)
  const detailed = s.getPeerCertificate(true)
  t.same(detailed.raw, want.raw, 'detailed starts at the leaf')
})

t.test('IPv6 loopback works', async (t) => {
  const server6 = await new Promise<import('node:tls').Server | null>((resolve) => {
    const s = require('node:tls').createServer({ key: p.leaf.key, cert: p.leaf.cert }, (c: import('node:tls').TLSSocket) => c.end('v6'))
    s.once('error', () => resolve(null))
    s.listen(0, '::1', () => resolve(s))
  })
  if (!server6) return t.skip('this machine has no IPv6 loopback')
  t.teardown(() => server6.close())
  const port = (server6.address() as import('node:net').AddressInfo).port
  const s = await open({ host: '::1', port, ca: p.ca })
  t.equal(s.remoteFamily, 'IPv6')
  t.equal((await collect(s)).toString(), 'v6')
})

t.test('the name "localhost" resolves in the background and connects', async (t) => {
  const srv = await tlsServer(p.leaf, (s) => s.end('by name'))
  t.teardown(() => srv.close())
  const s = await open({ host: 'localhost', port: srv.port, ca: p.ca })
  t.equal((await collect(s)).toString(), 'by name')
})

t.test('connect() callback and events arrive in order', async (t) => {
  const srv = await tlsServer(p.leaf, (s) => s.end('x'))
  t.teardown(() => srv.close())
  const events: string[] = []
  await new Promise<void>((resolve) => {
    const s = connect({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ca: p.ca }, () => events.push('callback'))
    s.on('connect', () => events.push('connect'))
    s.on('secureConnect', () => events.push('secureConnect'))
    s.on('data', () => events.push('data'))
    s.on('end', () => events.push('end'))
    s.on('close', () => {
      events.push('close')
      resolve()
    })
  })
  t.same(events, ['connect', 'callback', 'secureConnect', 'data', 'end', 'close'])
})

t.test('rejectUnauthorized: false connects and reports why it is unauthorized', { skip: s2nLimit('with rejectUnauthorized: false s2n verifies nothing (s2n_config_disable_x509_verification), so there is no reason and no peer certificate to report') }, async (t) => {
  const srv = await tlsServer(p.self)
  t.teardown(() => srv.close())
  const s = await open({ host: '127.0.0.1', port: srv.port, servername: 'localhost', rejectUnauthorized: false })
  t.teardown(() => s.destroy())
  t.equal(s.authorized, false)
  t.equal(s.authorizationError, 'DEPTH_ZERO_SELF_SIGNED_CERT')
})

t.test('ALPN: no protocol selected gives false', async (t) => {
  const srv = await tlsServer(p.leaf)
  t.teardown(() => srv.close())
  const s = await open({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ca: p.ca })
  t.teardown(() => s.destroy())
  t.equal(s.alpnProtocol, false)
})

t.test('minVersion TLSv1.3 and maxVersion TLSv1.2 are honoured', async (t) => {
  const srv = await tlsServer(p.leaf)
  t.teardown(() => srv.close())
  const a = await open({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ca: p.ca, minVersion: 'TLSv1.3' }).catch((e: Error) => e)
  if (a instanceof Error) {
    // An OS TLS stack without TLS 1.3 (Windows 10's Schannel, Wine's) must refuse, and say so.
    t.match(a, { tlsCode: 'TLS_PROTOCOL_VERSION', message: /does not offer TLS 1\.3/ })
    t.skip(`this OS TLS stack has no TLS 1.3: ${a.message}`)
  } else {
    t.equal(a.getProtocol(), 'TLSv1.3')
    a.destroy()
  }
  const b = await open({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ca: p.ca, maxVersion: 'TLSv1.2' })
  t.equal(b.getProtocol(), 'TLSv1.2')
  b.destroy()
})
