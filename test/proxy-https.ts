// https:// proxies: TLS to the proxy (verified by the OS like any server, with the ca option's anchors),
// CONNECT inside it, then the origin's TLS inside the tunnel, verified as without a proxy.
import https from 'node:https'
import t from 'tap'
import { Agent } from '../dist/cjs/index'
import { pki } from './helpers/pki'
import { tlsServer } from './helpers/servers'
import { httpsServer } from './helpers/http-server'
import { open, failure, collect } from './helpers/client'
import { connectProxy } from './helpers/proxy'
import { nwHttpsProxyGap } from './helpers/platform'


const p = pki()

t.test('connect() through an https:// proxy: TLS in TLS, data both ways, both ends closed cleanly', { skip: nwHttpsProxyGap }, async (t) => {
  const srv = await tlsServer(p.leaf)
  const proxy = await connectProxy({ tls: p.leaf })
  t.teardown(() => Promise.all([srv.close(), proxy.close()]))
  t.match(proxy.url, /^https:\/\/127\.0\.0\.1:\d+$/)
  const s = await open({ host: 'localhost', port: srv.port, ca: p.ca, proxy: proxy.url })
  t.equal(s.authorized, true, 'the origin verified')
  t.equal(s.remotePort, proxy.port, 'the TCP peer is the proxy')
  t.equal(s.getProxyChoice()?.source, 'option')
  s.end('inside two TLS layers')
  t.equal((await collect(s)).toString(), 'inside two TLS layers')
  t.equal(proxy.tunnels, 1)
  t.equal(proxy.requests[0].target, `localhost:${srv.port}`)
  t.equal(srv.handshakes, 1)
})

t.test("the proxy's certificate is verified: an untrusted or wrong-name proxy fails before CONNECT", { skip: nwHttpsProxyGap }, async (t) => {
  const srv = await tlsServer(p.leaf)
  t.teardown(() => srv.close())
  for (const pair of [p.self, p.wrongname]) {
    const proxy = await connectProxy({ tls: pair })
    const err = await failure({ host: 'localhost', port: srv.port, ca: p.ca, proxy: proxy.url })
    await proxy.close()
    t.match(err.tlsCode, /^TLS_CERT_/)
    t.match(err.message, /TLS to proxy 127\.0\.0\.1 failed/)
    t.equal(proxy.requests.length, 0, 'no CONNECT was sent')
  }
  t.equal(srv.handshakes, 0, 'the origin was never reached')
})

t.test('the origin is still verified inside the tunnel; 407 still TLS_PROXY_AUTH_REQUIRED', { skip: nwHttpsProxyGap }, async (t) => {
  const bad = await tlsServer(p.wrongname)
  const proxy = await connectProxy({ tls: p.leaf, auth: 'u:right' })
  t.teardown(() => Promise.all([bad.close(), proxy.close()]))
  const wrongName = await failure({ host: 'localhost', port: bad.port, ca: p.ca, proxy: proxy.url.replace('u:right@', 'u:right@') })
  t.equal(wrongName.code, 'ERR_TLS_CERT_ALTNAME_INVALID')
  const denied = await failure({ host: 'localhost', port: bad.port, ca: p.ca, proxy: proxy.url.replace('u:right@', 'u:wrong@') })
  t.equal(denied.tlsCode, 'TLS_PROXY_AUTH_REQUIRED')
})

t.test('Agent keep-alive: two requests over one tunnel through an https:// proxy', { skip: nwHttpsProxyGap }, async (t) => {
  const srv = await httpsServer((_req, res) => res.end('hello'))
  const proxy = await connectProxy({ tls: p.leaf })
  const agent = new Agent({ keepAlive: true, ca: p.ca, proxy: proxy.url })
  t.teardown(async () => {
    agent.destroy()
    await Promise.all([srv.close(), proxy.close()])
  })
  for (let i = 0; i < 2; i++) {
    const body = await new Promise<string>((resolve, reject) => {
      https.get(`${srv.origin}/`, { agent }, (res) => {
        let b = ''
        res.on('data', (c: Buffer) => (b += c))
        res.on('end', () => resolve(b))
      }).on('error', reject)
    })
    t.equal(body, 'hello')
  }
  t.equal(proxy.tunnels, 1, 'one tunnel, reused')
})
