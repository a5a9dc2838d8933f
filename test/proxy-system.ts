// proxy 'system': the OS's own proxy settings, looked up by the C library off the JS thread.
// Windows: the WinHTTP / Internet Options settings written into the (throwaway) Wine prefix's registry —
// a fixed proxy, its bypass list (<local>), a PAC script served locally, and automatic detection that finds
// nothing. Linux: no system setting, so direct. The environment still comes first (proxyFor).
import http from 'node:http'
import net from 'node:net'
import t from 'tap'
import path from 'node:path'
import { pki, pkiDir } from './helpers/pki'
import { run } from './helpers/cli'
import { tlsServer, closer } from './helpers/servers'
import { open } from './helpers/client'
import { connectProxy } from './helpers/proxy'
import { underWine, standinGap } from './helpers/platform'
import { setWinProxy, clearWinProxy } from './helpers/win-proxy-settings'
import { proxyFor } from '../ts/proxy-env'

const macEngine = standinGap("the engine is macOS's: it asks CFNetwork's (scripted, empty) settings, not Linux's answer")

const p = pki()
const caFile = path.join(pkiDir, 'ca.pem')
const registryReason = process.platform !== 'win32' ? 'the Windows proxy settings exist only on Windows'
  : underWine ? undefined : 'writes the user\'s proxy settings: run only in the throwaway Wine prefix of scripts/test-windows.sh'

t.test('the environment comes first; without it, Windows and macOS ask the OS and Linux goes direct', async (t) => {
  const env = { HTTPS_PROXY: 'http://envproxy:3128' }
  t.same(proxyFor('a.example', 443, 'system', env), { url: 'http://envproxy:3128', source: 'env', reason: 'HTTPS_PROXY' })
  t.equal(proxyFor('a.example', 443, 'system', { ...env, NO_PROXY: 'a.example' }).source, 'none', 'NO_PROXY still exempts')
  const bare = proxyFor('a.example', 443, 'system', {})
  const def = proxyFor('a.example', 443, undefined, {})
  if (process.platform === 'win32' || process.platform === 'darwin') {
    t.equal(proxyFor('a.example', 443, 'system', { no_proxy: '.example' }).reason, 'no_proxy entry .example', 'NO_PROXY exempts from the OS proxy too')
    t.equal(bare.url, 'system', 'handed to the C library')
    t.equal(bare.source, 'system')
    t.same(def, bare, "'system' is the default")
  } else {
    t.equal(bare.url, undefined, 'direct')
    t.same(def, bare)
  }
  t.equal(proxyFor('a.example', 443, 'env', {}).url, undefined, "'env' never asks the OS")
})

t.test('Linux: connect({ proxy: "system" }) goes direct and says why', { skip: macEngine || (process.platform === 'linux' ? undefined : 'Linux only') }, async (t) => {
  const srv = await tlsServer(p.leaf)
  t.teardown(() => srv.close())
  const s = await open({ host: 'localhost', port: srv.port, ca: p.ca, proxy: 'system' })
  t.equal(s.remotePort, srv.port, 'the TCP peer is the server')
  t.equal(s.getProxyChoice()?.source, 'none')
  t.match(s.getProxyChoice()?.reason, /no system-wide proxy setting/)
  t.equal(s.getProxyChoice()?.url, undefined, 'no proxy URL')
  s.destroy()
})

/** A PAC script server: the script sends only pac-proxy.test through proxyPort. */
async function pacServer(proxyPort: number): Promise<{ url: string; fetches: number; close(): Promise<void> }> {
  const script = `function FindProxyForURL(url, host) { return host == "pac-proxy.test" ? "PROXY 127.0.0.1:${proxyPort}" : "DIRECT"; }`
  const r = { url: '', fetches: 0, close: async () => {} }
  const server = http.createServer((_req, res) => {
    r.fetches++
    res.writeHead(200, { 'content-type': 'application/x-ns-proxy-autoconfig' }).end(script)
  })
  r.close = closer(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  r.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/proxy.pac`
  return r
}

t.test('Windows settings in the registry: fixed proxy, bypass list, PAC, automatic detection', { skip: registryReason }, async (t) => {
  const srv = await tlsServer(p.leaf)
  const proxy = await connectProxy()
  const pac = await pacServer(proxy.port)
  t.teardown(async () => {
    clearWinProxy()
    await Promise.all([srv.close(), proxy.close(), pac.close()])
  })
  // Other test files run meanwhile in the same prefix: the bypass list keeps their loopback connections direct,
  // and the settings are removed as soon as each case has connected.
  setWinProxy({ proxy: `http=127.0.0.1:1;https=127.0.0.1:${proxy.port}`, bypass: '<local>;127.0.0.1;::1;*.bypass.test' })
  let s = await open({ host: 'static.test', servername: 'localhost', port: srv.port, ca: p.ca, proxy: 'system' })
  t.equal(s.getProxyChoice()?.source, 'static')
  t.match(s.getProxyChoice()?.reason, /Windows proxy settings/)
  t.equal(s.remotePort, proxy.port, 'through the https= proxy')
  t.equal(s.getProxyChoice()?.url, `http://127.0.0.1:${proxy.port}`, 'the URL the OS chose')
  t.equal(proxy.tunnels, 1)
  t.equal(proxy.requests[0].target, `static.test:${srv.port}`)
  s.destroy()
  // doctor's Node side takes the proxy the OS chose, as ostls did.
  const noEnv = { HTTPS_PROXY: '', ALL_PROXY: '', NO_PROXY: '', NODE_EXTRA_CA_CERTS: caFile }
  const d = await run(['doctor', '--json', '--ca', caFile, '--servername', 'localhost', '--connect', `static.test:${srv.port}`], noEnv)
  const c = JSON.parse(d.stdout).connect[0]
  t.match(c.proxy, { source: 'system', os: 'static', url: `http://127.0.0.1:${proxy.port}` })
  t.match(c.node, { trusted: true })
  t.equal(proxy.tunnels, 3, 'ostls and Node each tunnelled through the proxy the OS chose')
  s = await open({ host: 'localhost', port: srv.port, ca: p.ca, proxy: 'system' })
  t.equal(s.getProxyChoice()?.source, 'bypass')
  t.match(s.getProxyChoice()?.reason, /<local>/)
  t.equal(s.getProxyChoice()?.url, undefined)
  t.equal(s.remotePort, srv.port, 'direct')
  t.equal(proxy.tunnels, 3, 'not through the proxy')
  s.destroy()

  setWinProxy({ pacUrl: pac.url })
  // A new port: the answers are cached per host and port for 30 s.
  const srv2 = await tlsServer(p.leaf)
  t.teardown(() => srv2.close())
  s = await open({ host: 'pac-proxy.test', servername: 'localhost', port: srv2.port, ca: p.ca, proxy: 'system' })
  t.equal(s.getProxyChoice()?.source, 'pac')
  t.match(s.getProxyChoice()?.reason, new RegExp(`PAC script ${pac.url.replace(/[.?]/g, '\\$&')} said 127\\.0\\.0\\.1:${proxy.port}`))
  t.equal(s.getProxyChoice()?.url, `http://127.0.0.1:${proxy.port}`)
  t.equal(proxy.tunnels, 4, 'the PAC script sent it through the proxy')
  s.destroy()
  s = await open({ host: 'localhost', port: srv2.port, ca: p.ca, proxy: 'system' })
  t.equal(s.getProxyChoice()?.source, 'pac')
  t.match(s.getProxyChoice()?.reason, /said DIRECT/)
  t.equal(s.remotePort, srv2.port, 'direct, as the script said')
  t.equal(proxy.tunnels, 4)
  s.destroy()
  t.ok(pac.fetches >= 1, 'WinHTTP fetched the script')

  clearWinProxy()
  const srv3 = await tlsServer(p.leaf)
  t.teardown(() => srv3.close())
  s = await open({ host: 'localhost', port: srv3.port, ca: p.ca, proxy: 'system' })
  t.equal(s.getProxyChoice()?.source, 'direct', 'automatic detection found no script')
  t.match(s.getProxyChoice()?.reason, /auto-detection/)
  t.equal(s.remotePort, srv3.port)
  s.destroy()
})
