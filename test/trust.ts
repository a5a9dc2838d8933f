// The OS trust path: a server whose CA only the OS store knows is rejected by
// default, accepted once the CA is in the OS store, and accepted via the ca option.
import t from 'tap'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { pki } from './helpers/pki'
import { tlsServer } from './helpers/servers'
import { osTrust } from './helpers/ostrust'
import { open, failure } from './helpers/client'
import { childEnv } from './helpers/child-env'
import { loneLeafUntrustedCode } from './helpers/platform'

const p = pki()
const index = path.join(__dirname, '..', 'dist', 'cjs', 'index.js')

/** Connects from a fresh process (the trust store is read at start-up) and reports the outcome. */
function connectFromChild(port: number, env: NodeJS.ProcessEnv): Promise<{ ok: boolean; authorized?: boolean; tlsCode?: string; code?: string }> {
  const script = `
    const { connect } = require(${JSON.stringify(index)})
    const s = connect({ host: '127.0.0.1', port: ${port}, servername: 'localhost' })
    s.on('secureConnect', () => { console.log(JSON.stringify({ ok: true, authorized: s.authorized })); s.destroy() })
    s.on('error', (e) => console.log(JSON.stringify({ ok: false, tlsCode: e.tlsCode, code: e.code })))
  `
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script], { env: childEnv(env) }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`child failed: ${err.message}\n${stderr}`))
      resolve(JSON.parse(stdout.trim().split('\n').pop()!))
    })
  })
}

t.test('OS trust store decides by default', async (t) => {
  const trust = osTrust()
  const srv = await tlsServer(p.oslf)
  t.teardown(() => srv.close())

  if (process.platform === 'linux') {
    const untrusted = await connectFromChild(srv.port, {})
    t.same(untrusted, { ok: false, tlsCode: 'TLS_CERT_UNTRUSTED', code: loneLeafUntrustedCode() }, 'rejected while the CA is not in the OS store')
  }
  if (trust.skip) return t.skip(trust.skip)
  const trusted = await connectFromChild(srv.port, trust.env!)
  t.same(trusted, { ok: true, authorized: true }, 'accepted once the CA is in the OS store')
  t.equal(srv.handshakes, 1)
})

t.test('the ca option adds to the OS store for one connection only', async (t) => {
  // The test CA, which no platform's runner puts into the OS store.
  const srv = await tlsServer(p.leaf)
  t.teardown(() => srv.close())
  const s = await open({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ca: p.ca })
  t.equal(s.authorized, true)
  s.destroy()
  // The next connection without the option must not inherit the anchor.
  const err = await failure({ host: '127.0.0.1', port: srv.port, servername: 'localhost' })
  t.equal((err as { tlsCode?: string }).tlsCode, 'TLS_CERT_UNTRUSTED')
})

t.test('ca accepts several certificates: a bundle string or an array', async (t) => {
  const srv = await tlsServer(p.leaf)
  t.teardown(() => srv.close())
  const a = await open({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ca: [p.osca, p.ca] })
  t.equal(a.authorized, true)
  a.destroy()
  const b = await open({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ca: p.osca.toString() + p.ca.toString() })
  t.equal(b.authorized, true)
  b.destroy()
})

t.test('more distinct ca values than the engine keeps built: each verifies, none borrows another\'s anchors', async (t) => {
  // Engines build "OS store + these anchors" once per distinct ca and keep the last few (c/common's
  // trust cache, 8 entries): 16 bundles, each with the test CA among other certificates, push the first
  // ones out while their connections are still open; those keep working, and a ca without the test CA
  // never verifies this server, whatever was built before it.
  const srv = await tlsServer(p.leaf)
  t.teardown(() => srv.close())
  const others = [p.osca, p.self.cert, p.wrongname.cert, p.expired.cert]
  const bundles = Array.from({ length: 16 }, (_, i) => [...others.filter((_, b) => i & (1 << b)), p.ca])
  const streams = []
  for (const ca of bundles) {
    const s = await open({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ca })
    t.equal(s.authorized, true)
    streams.push(s)
    const wrong = await failure({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ca: ca.slice(0, -1).length ? ca.slice(0, -1) : [p.osca] })
    t.equal(wrong.tlsCode, 'TLS_CERT_UNTRUSTED')
  }
  const again = await open({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ca: bundles[0] })
  t.equal(again.authorized, true, 'the first ca, long pushed out, is built again')
  again.destroy()
  const first = streams[0]
  first.write('still open')
  const echoed = await new Promise<string>((resolve) => first.once('data', (d: Buffer) => resolve(d.toString())))
  t.equal(echoed, 'still open', 'a connection outlives its ca leaving the cache')
  for (const s of streams) s.destroy()
})

t.test('a ca that is not PEM is refused by name', async (t) => {
  const { connect } = await import('../dist/cjs/index')
  t.throws(() => connect({ host: '127.0.0.1', port: 443, ca: 'not a certificate' }), { tlsCode: 'TLS_INVALID_ARGUMENT', message: /ca/ })
})
