// Windows: a worker job (start-up, name resolution, trust loading) wakes the host with one UDP
// datagram (c/common/resolve_win.c). When that send fails for good, the host must still see the
// job finish: tls_polltimeout asks it to look again (resolve_recheck_ms). The test hook
// OSTLS_TEST_DROP_WAKE=1 makes every wake send fail; the connection must still be made, well
// inside handshakeTimeout (before the fix it waited for the timeout: TLS_TIMEOUT).
import t from 'tap'
import { pki } from './helpers/pki'
import { tlsServer } from './helpers/servers'
import { open, collect } from './helpers/client'

const p = pki()
const skip = process.platform === 'win32' ? undefined
  : "Windows only: elsewhere the worker wakes the host by closing a pipe's write end, which cannot be lost"

t.test('every wake datagram lost: start-up, DNS and trust loading still finish, and data flows', { skip }, async (t) => {
  const srv = await tlsServer(p.leaf)
  process.env.OSTLS_TEST_DROP_WAKE = '1'
  t.teardown(async () => {
    delete process.env.OSTLS_TEST_DROP_WAKE
    await srv.close()
  })
  // 'localhost' by name: a real lookup on a worker; the ca option: trust built on a worker too.
  const s = await open({ host: 'localhost', port: srv.port, ca: p.ca, handshakeTimeout: 30000 })
  t.equal(s.authorized, true)
  s.end('woken without a wake-up')
  t.equal((await collect(s)).toString(), 'woken without a wake-up')
})
