// macOS only, run by scripts/mac-system-proxy.ts (CI's macOS job): the Mac's own
// Secure Web Proxy, set with `networksetup -setsecurewebproxy` to a local CONNECT
// proxy (test/helpers/proxy.ts) for the length of this file, is what
// proxy: 'system' uses. OSTLS_TEST_MAC_SYSTEM_PROXY is that proxy's URL;
// OSTLS_TEST_MAC_SYSTEM_PROXY_AUTH=1: the proxy asks for Basic and the password
// was given to networksetup, which keeps it in the keychain (issue 13: ostls reads
// it there after the 407). The origin's name is one no resolver knows: only the
// proxy (which sends every CONNECT to 127.0.0.1) can reach it.
import t from 'tap'
import { pki } from './helpers/pki'
import { tlsServer } from './helpers/servers'
import { open, collect } from './helpers/client'

const p = pki()
const proxyUrl = process.env.OSTLS_TEST_MAC_SYSTEM_PROXY
const withAuth = process.env.OSTLS_TEST_MAC_SYSTEM_PROXY_AUTH === '1'
const skip = process.platform !== 'darwin' ? 'the macOS proxy settings exist only on macOS'
  : !proxyUrl ? 'changes the Mac\'s proxy settings: run by scripts/mac-system-proxy.ts (CI), not by the plain suite' : undefined
const engine = process.env.OSTLS_BACKEND || process.env.OSTLS_MAC_BACKEND || 'network'

// Network.framework applies the system proxy itself (if it does, for a plain
// nw_connection with TLS, is what this run finds out: a todo, not a failure).
const todo = engine === 'network' ? 'Network.framework: whether nw_connection honours the Secure Web Proxy is not known yet' : undefined

t.test(`proxy 'system' takes the Mac's Secure Web Proxy (${engine} engine${withAuth ? ', password from the keychain' : ''})`, { skip, todo }, async (t) => {
  const srv = await tlsServer(p.leaf, (s) => s.end('through\n'))
  t.teardown(() => srv.close())
  const proxyPort = Number(new URL(proxyUrl!).port)
  const s = await open({ host: 'ostls-origin.test', port: srv.port, servername: 'localhost', ca: p.ca, proxy: 'system' })
  const choice = s.getProxyChoice()
  t.comment(`proxy choice: ${JSON.stringify(choice)}; TCP peer ${s.remoteAddress}:${s.remotePort}`)
  t.equal((await collect(s)).toString(), 'through\n', 'the origin answered (its name resolves nowhere but through the proxy)')
  if (engine === 'securetransport') {
    t.equal(choice?.source, 'static', 'c/common asked CFNetwork (sysproxy_mac.c)')
    t.match(choice?.reason, withAuth ? /Secure Web Proxy.*signed in with the password the OS keeps/ : /Secure Web Proxy/)
    t.equal(s.remotePort, proxyPort, 'the TCP peer is the proxy')
  } else {
    t.equal(choice?.source, 'engine', 'Network.framework makes its own connections and applies the system proxy itself')
  }
})
