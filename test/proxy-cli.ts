// `ostls get --proxy / --no-proxy` and the environment, and `ostls doctor --connect` naming the proxy.
import t from 'tap'
import path from 'node:path'
import { run } from './helpers/cli'
import { pkiDir } from './helpers/pki'
import { httpsFixture, Fixture } from './helpers/https-fixture'
import { connectProxy, TestProxy } from './helpers/proxy'
import { nwProxyStatusGap } from './helpers/platform'


const ca = ['--ca', path.join(pkiDir, 'ca.pem')]
// Windows names its variables case-insensitively: there one spelling each clears and sets them.
const names = process.platform === 'win32' ? ['HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY'] : ['https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY', 'no_proxy', 'NO_PROXY']
const noEnv: Record<string, string> = Object.fromEntries(names.map((n) => [n, '']))
let f: Fixture
let proxy: TestProxy
t.before(async () => {
  f = await httpsFixture()
  proxy = await connectProxy({ auth: 'cli:secret' })
})
t.teardown(() => Promise.all([f.close(), proxy.close()]))

t.test('get --proxy url', async (t) => {
  const before = proxy.tunnels
  const r = await run(['get', ...ca, '--proxy', proxy.url, `${f.origin}/text`], noEnv)
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /hello/)
  t.equal(proxy.tunnels, before + 1)
})

t.test('get reads HTTPS_PROXY; --no-proxy ignores it', async (t) => {
  const before = proxy.tunnels
  const viaEnv = await run(['get', ...ca, `${f.origin}/text`], { ...noEnv, HTTPS_PROXY: proxy.url })
  t.equal(viaEnv.code, 0, viaEnv.stderr)
  t.equal(proxy.tunnels, before + 1, 'through the proxy from the environment')
  const direct = await run(['get', ...ca, '--no-proxy', `${f.origin}/text`], { ...noEnv, HTTPS_PROXY: proxy.url })
  t.equal(direct.code, 0, direct.stderr)
  t.equal(proxy.tunnels, before + 1, '--no-proxy: direct')
})

t.test('get: a 407 is a coded failure, usage errors exit 2', async (t) => {
  const r = await run(['get', ...ca, '--proxy', `http://127.0.0.1:${proxy.port}`, `${f.origin}/text`], noEnv)
  t.equal(r.code, 1)
  t.match(r.stderr, /^ostls: ERR_PROXY_TUNNEL \(TLS_PROXY_AUTH_REQUIRED\): .*407/, 'a 407 is coded', { skip: nwProxyStatusGap })
  const both = await run(['get', '--proxy', proxy.url, '--no-proxy', `${f.origin}/`], noEnv)
  t.equal(both.code, 2)
  t.match(both.stderr, /contradict/)
  const socks = await run(['get', '--proxy', 'socks5://127.0.0.1:1', `${f.origin}/`], noEnv)
  t.equal(socks.code, 2)
  t.match(socks.stderr, /http:\/\/ and https:\/\/ proxies only/)
})

t.test('doctor --connect says which proxy and why, without the password', async (t) => {
  const r = await run(['doctor', ...ca, '--connect', `localhost:${f.port}`], { ...noEnv, HTTPS_PROXY: proxy.url })
  t.equal(r.code, 0, r.stdout + r.stderr)
  t.match(r.stdout, new RegExp(`proxy +via proxy http://cli:\\*\\*\\*@127\\.0\\.0\\.1:${proxy.port} \\(from the environment, HTTPS_PROXY\\)`))
  t.notMatch(r.stdout, /secret/)
  const bypass = await run(['doctor', ...ca, '--connect', `localhost:${f.port}`], { ...noEnv, HTTPS_PROXY: proxy.url, NO_PROXY: 'localhost' })
  t.match(bypass.stdout, /proxy +direct \(NO_PROXY entry localhost\)/)
  const json = await run(['doctor', '--json', ...ca, '--connect', `localhost:${f.port}`], { ...noEnv, HTTPS_PROXY: proxy.url })
  t.match(JSON.parse(json.stdout).connect[0].proxy, { url: `http://cli:***@127.0.0.1:${proxy.port}`, source: 'env', reason: 'HTTPS_PROXY' })
})

t.test("doctor on a GNOME desktop with no proxy variable: a hint that GNOME's proxy settings are not read", { skip: process.platform === 'linux' ? undefined : "Linux only: Windows and macOS read the OS's own proxy settings" }, async (t) => {
  const args = ['doctor', ...ca, '--connect', `localhost:${f.port}`]
  const hint = /^    hint       GNOME's proxy settings are not read on Linux; if `gsettings get org\.gnome\.system\.proxy mode` is not 'none', export HTTPS_PROXY/m
  const gnome = await run(args, { ...noEnv, XDG_CURRENT_DESKTOP: 'ubuntu:GNOME' })
  t.match(gnome.stdout, /^  proxy        direct \(no https_proxy, HTTPS_PROXY, all_proxy or ALL_PROXY in the environment\)$/m)
  t.match(gnome.stdout, hint)
  const json = await run(['doctor', '--json', ...ca, '--connect', `localhost:${f.port}`], { ...noEnv, XDG_CURRENT_DESKTOP: 'GNOME' })
  t.match(JSON.parse(json.stdout).connect[0].proxy, { source: 'none', hint: /^GNOME's proxy settings are not read/ })
  for (const env of [{ XDG_CURRENT_DESKTOP: 'KDE' }, { XDG_CURRENT_DESKTOP: 'GNOME', HTTPS_PROXY: proxy.url }]) {
    const r = await run(args, { ...noEnv, ...env })
    t.notMatch(r.stdout, /GNOME's proxy settings/, JSON.stringify(env))
  }
})
