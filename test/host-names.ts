// host and servername reach the library intact or not at all: a NUL would be
// cut at the FFI boundary ('localhost\0.evil.example' connecting to and
// verifying as 'localhost'), so it is refused in TS; the library itself
// refuses control characters and malformed names.
import t from 'tap'
import { connect, TLSError } from '../dist/cjs/index'
import { NativeConn } from '../dist/cjs/native'
import { pki } from './helpers/pki'
import { tlsServer } from './helpers/servers'
import { failure } from './helpers/client'
import { handles } from './helpers/handles'

const p = pki()
const badValue = { tlsCode: 'TLS_INVALID_ARGUMENT', code: 'ERR_INVALID_ARG_VALUE' }

t.test('a NUL in host or servername is refused before anything connects', async (t) => {
  const srv = await tlsServer(p.leaf)
  t.teardown(() => srv.close())
  const before = handles()
  t.throws(() => connect({ host: 'localhost\0.evil.example', port: srv.port, ca: p.ca }), badValue)
  t.throws(() => connect({ host: '127.0.0.1', port: srv.port, servername: 'localhost\0.evil.example', ca: p.ca }), badValue)
  t.throws(() => connect({ host: '127.0.0.1', port: srv.port, ALPNProtocols: ['http/1.1\0h2'] }), { tlsCode: 'TLS_INVALID_ARGUMENT' })
  await new Promise((r) => setTimeout(r, 200))
  t.equal(srv.handshakes, 0, 'the server saw no connection')
  t.equal(handles(), before, 'no native connection was made')
})

t.test('control characters, spaces and malformed names are refused', async (t) => {
  for (const host of ['local\x01host', 'local host', 'a..example', '.example', 'exa\x7fmple', 'a/b', 'x'.repeat(64) + '.example']) {
    t.throws(() => connect({ host, port: 443 }), badValue, JSON.stringify(host))
  }
  for (const servername of ['local\thost', 'a b', 'a..b', 'a;b']) {
    t.throws(() => connect({ host: '127.0.0.1', port: 443, servername }), badValue, JSON.stringify(servername))
  }
})

t.test('the library refuses them itself, whoever calls it', async (t) => {
  t.throws(() => new NativeConn('local\x01host', 443), { tlsCode: 'TLS_INVALID_ARGUMENT' })
  t.throws(() => new NativeConn('local host', 443), { tlsCode: 'TLS_INVALID_ARGUMENT' })
  const c = new NativeConn('127.0.0.1', 443)
  t.teardown(() => c.free())
  t.throws(() => c.setOption('servername', 'a\x1bb'), { tlsCode: 'TLS_INVALID_ARGUMENT' })
  t.doesNotThrow(() => c.setOption('servername', 'localhost'))
})

t.test('ordinary names and addresses still pass', async (t) => {
  for (const host of ['no-such-host.invalid', 'under_score.invalid', 'trailing-dot.invalid.']) {
    const err = (await failure({ host, port: 443 })) as TLSError
    t.equal(err.tlsCode, 'TLS_DNS_FAILED', `${host}: ${err.message}`)
  }
  const s = connect({ host: '[::1]', port: 9, servername: '127.0.0.1' })
  s.on('error', () => {})
  s.destroy()
})
