// Agent, fetch, createDispatcher and register() through an HTTP CONNECT proxy: from the option and from
// the environment (HTTPS_PROXY, NO_PROXY), each proven by the proxy's tunnel count.
import t from 'tap'
import https from 'node:https'
import { Agent, fetch, createDispatcher, register, unregister } from '../dist/cjs/index'
import { pki } from './helpers/pki'
import { httpsServer } from './helpers/http-server'
import { connectProxy } from './helpers/proxy'
import { nwProxyStatusGap } from './helpers/platform'


const p = pki()

function get(url: string, agent?: https.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, agent ? { agent } : {}, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode!, body }))
        res.on('error', reject)
      })
      .on('error', reject)
  })
}

/**
 * Sets proxy variables for one test and puts the old values back. Deletions
 * come first: on Windows, names are case-insensitive, so deleting
 * HTTPS_PROXY after setting https_proxy would undo it.
 */
function withEnv(t: Tap.Test, vars: Record<string, string | undefined>): void {
  const old = Object.entries({ ...process.env })
  const entries = Object.entries(vars)
  for (const [k, v] of entries) if (v === undefined) delete process.env[k]
  for (const [k, v] of entries) if (v !== undefined) process.env[k] = v
  t.teardown(() => {
    for (const [k] of entries) delete process.env[k]
    for (const [k, v] of old) if (entries.some(([n]) => n.toLowerCase() === k.toLowerCase())) process.env[k] = v
  })
}

const clean = { https_proxy: undefined, HTTPS_PROXY: undefined, all_proxy: undefined, ALL_PROXY: undefined, no_proxy: undefined, NO_PROXY: undefined }

t.test('Agent with proxy: URL: keep-alive requests share one tunnel', async (t) => {
  const srv = await httpsServer((req, res) => res.end(`hello ${req.url}`))
  const proxy = await connectProxy()
  t.teardown(() => Promise.all([srv.close(), proxy.close()]))
  const agent = new Agent({ keepAlive: true, ca: p.ca, proxy: proxy.url })
  t.teardown(() => agent.destroy())
  for (let i = 0; i < 5; i++) t.same(await get(`${srv.origin}/n/${i}`, agent), { status: 200, body: `hello /n/${i}` })
  t.equal(proxy.tunnels, 1, 'five requests, one tunnel')
  t.equal(srv.handshakes, 1)
})

t.test('Agent reads HTTPS_PROXY by default, and NO_PROXY exempts', async (t) => {
  const srv = await httpsServer((_req, res) => res.end('ok'))
  const proxy = await connectProxy()
  t.teardown(() => Promise.all([srv.close(), proxy.close()]))
  withEnv(t, { ...clean, HTTPS_PROXY: proxy.url })
  const agent = new Agent({ ca: p.ca })
  t.teardown(() => agent.destroy())
  t.same(await get(`${srv.origin}/`, agent), { status: 200, body: 'ok' })
  t.equal(proxy.tunnels, 1, 'through the proxy from the environment')
  process.env.NO_PROXY = 'example.org,localhost'
  t.same(await get(`${srv.origin}/`, agent), { status: 200, body: 'ok' })
  t.equal(proxy.tunnels, 1, 'NO_PROXY=localhost: direct')
  const off = new Agent({ ca: p.ca, proxy: false })
  t.teardown(() => off.destroy())
  delete process.env.NO_PROXY
  t.same(await get(`${srv.origin}/`, off), { status: 200, body: 'ok' })
  t.equal(proxy.tunnels, 1, 'proxy: false ignores the environment')
})

t.test('fetch and createDispatcher through the proxy', async (t) => {
  const srv = await httpsServer((_req, res) => res.end('fetched'))
  const proxy = await connectProxy({ auth: 'me:pw' })
  t.teardown(() => Promise.all([srv.close(), proxy.close()]))
  const d = createDispatcher({ ca: p.ca, proxy: proxy.url })
  t.teardown(() => d.close())
  const r = await fetch(`${srv.origin}/`, { dispatcher: d })
  t.equal(await r.text(), 'fetched')
  const g = await globalThis.fetch(`${srv.origin}/`, { dispatcher: d })
  t.equal(await g.text(), 'fetched')
  t.ok(proxy.tunnels >= 1, 'through the proxy')
  t.equal(srv.handshakes, proxy.tunnels, 'every connection the server saw came through a tunnel')
  const bad = createDispatcher({ ca: p.ca, proxy: `http://127.0.0.1:${proxy.port}` })
  t.teardown(() => bad.close())
  const err = await fetch(`${srv.origin}/`, { dispatcher: bad }).catch((e: Error) => e)
  t.match((err as Error & { cause?: unknown }).cause, { tlsCode: 'TLS_PROXY_AUTH_REQUIRED', code: 'ERR_PROXY_TUNNEL' }, 'a 407 is coded', { skip: nwProxyStatusGap })
})

t.test('register() from the environment: https.get and global fetch go through the proxy', async (t) => {
  const srv = await httpsServer((_req, res) => res.end('registered'))
  const proxy = await connectProxy()
  t.teardown(() => Promise.all([srv.close(), proxy.close()]))
  withEnv(t, { ...clean, https_proxy: proxy.url })
  register({ ca: p.ca })
  t.teardown(() => unregister())
  t.same(await get(`${srv.origin}/`), { status: 200, body: 'registered' })
  t.equal(proxy.tunnels, 1, 'https.get')
  const r = await globalThis.fetch(`${srv.origin}/`)
  t.equal(await r.text(), 'registered')
  t.equal(proxy.tunnels, 2, 'global fetch')
})

t.test('an unusable proxy variable fails the request with the reason, it does not go direct', async (t) => {
  const srv = await httpsServer((_req, res) => res.end('no'))
  t.teardown(() => srv.close())
  withEnv(t, { ...clean, ALL_PROXY: 'socks5://127.0.0.1:1080' })
  const agent = new Agent({ ca: p.ca })
  t.teardown(() => agent.destroy())
  const err = await get(`${srv.origin}/`, agent).catch((e: Error) => e)
  t.match(err, { code: 'ERR_INVALID_ARG_VALUE', message: /ALL_PROXY: ostls tunnels through http:\/\/ and https:\/\/ proxies only/ })
  t.equal(srv.requests, 0)
})
