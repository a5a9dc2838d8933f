// Happy Eyeballs (RFC 8305): a dual-stack name whose first address blackholes
// still connects, through the other, long before the handshake timeout; when
// every address fails the error names each one.
//
// The names are under the reserved .test domain, resolved by the library's
// test hook OSTLS_TEST_HOSTS (c/tls_client.h, tls_connect: .test names and
// loopback addresses only), because no name here resolves to both ::1 and
// 127.0.0.1 on every machine.
import t, { Test } from 'tap'
import tls from 'node:tls'
import net from 'node:net'
import fs from 'node:fs'
import { TLSError } from '../dist/cjs/index'
import { pki } from './helpers/pki'
import { closer, closedPort } from './helpers/servers'
import { open, failure } from './helpers/client'
import { blackhole } from './helpers/evil'
import { handles } from './helpers/handles'
import { engineGap } from './helpers/platform'

const p = pki()
/** Well under handshakeTimeout (and generous for a loaded machine): the fallback starts after 250 ms. */
const BOUND = 4000
const HANDSHAKE_TIMEOUT = 30_000

const hosts: Record<string, string> = {}
function testName(name: string, addrs: string[]): string {
  hosts[name] = addrs.join(',')
  process.env.OSTLS_TEST_HOSTS = Object.entries(hosts)
    .map(([n, a]) => `${n}=${a}`)
    .join(';')
  return name
}

async function tlsOn(host: string, port: number): Promise<{ port: number; handshakes: number; close(): Promise<void> }> {
  const server = tls.createServer({ key: p.leaf.key, cert: p.leaf.cert }, (s) => {
    res.handshakes++
    s.on('error', () => {})
    s.end('hello')
  })
  server.on('tlsClientError', () => {})
  const close = closer(server)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  const res = { port: (server.address() as net.AddressInfo).port, handshakes: 0, close }
  return res
}

async function ipv6Loopback(): Promise<boolean> {
  const s = net.createServer()
  return new Promise((resolve) => {
    s.once('error', () => resolve(false))
    s.listen(0, '::1', () => s.close(() => resolve(true)))
  })
}

/**
 * A blackhole on `dead` and a TLS server on `live`, on one port number (a name
 * has one port for all its addresses). Null, with the test skipped, where no
 * blackhole can be made.
 */
async function deadAndLive(t: Test, dead: string, live: string) {
  for (let attempt = 0; ; attempt++) {
    let hole: Awaited<ReturnType<typeof blackhole>>
    try {
      hole = await blackhole(dead)
    } catch (e) {
      t.skip(`no blackholed address can be made here: ${(e as Error).message}`)
      return null
    }
    try {
      const srv = await tlsOn(live, hole.port)
      t.teardown(() => Promise.all([srv.close(), hole.close()]))
      return srv
    } catch (e) {
      await hole.close()
      if (attempt >= 5) throw e
    }
  }
}

/** Open sockets of this process (Linux: /proc/self/fd); -1 where that cannot be seen. */
function socketFds(): number {
  try {
    return fs.readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')
      } catch {
        return false
      }
    }).length
  } catch {
    return -1
  }
}

const opts = (host: string, port: number) => ({ host, port, servername: 'localhost', ca: p.ca, handshakeTimeout: HANDSHAKE_TIMEOUT })

const nwResolves = engineGap(['network'], 'Network.framework resolves and races the addresses itself (nw_endpoint_create_host), so the OSTLS_TEST_HOSTS test hook of c/common\'s resolver cannot reach it')

t.test('dual stack', { skip: nwResolves }, async (t) => {
  if (!(await ipv6Loopback())) return t.skip('no IPv6 loopback (::1) on this machine')

  t.test('the IPv6 address blackholes: connects over IPv4 well within the handshake timeout', async (t) => {
    const before = handles()
    const srv = await deadAndLive(t, '::1', '127.0.0.1')
    if (!srv) return
    const fdsBefore = socketFds()
    const host = testName('v6-blackhole.ostls.test', ['::1', '127.0.0.1'])
    const started = Date.now()
    const s = await open(opts(host, srv.port))
    const ms = Date.now() - started
    t.ok(ms < BOUND, `connected in ${ms} ms`)
    t.equal(s.remoteAddress, '127.0.0.1')
    t.equal(s.remoteFamily, 'IPv4')
    s.destroy()
    await new Promise((r) => s.once('close', r))
    t.equal(handles(), before, 'no native handle left behind')
    if (fdsBefore >= 0) {
      // The server's end of the connection closes when it sees the FIN.
      for (let i = 0; i < 50 && socketFds() !== fdsBefore; i++) await new Promise((r) => setTimeout(r, 20))
      t.equal(socketFds(), fdsBefore, 'the losing attempt was closed: no socket left behind')
    }
  })

  t.test('IPv6 is tried first, and wins when it works', async (t) => {
    const v6 = await tlsOn('::1', 0)
    t.teardown(() => v6.close())
    const v4 = await tlsOn('127.0.0.1', v6.port).catch(() => null)
    if (v4) t.teardown(() => v4.close())
    // The list puts IPv4 first; the race still starts with IPv6.
    const host = testName('both-good.ostls.test', ['127.0.0.1', '::1'])
    const s = await open(opts(host, v6.port))
    t.equal(s.remoteAddress, '::1')
    t.equal(s.remoteFamily, 'IPv6')
    s.destroy()
  })

  t.test('the IPv6 address refuses: falls back to IPv4 at once', async (t) => {
    const srv = await tlsOn('127.0.0.1', 0)
    t.teardown(() => srv.close())
    const host = testName('v6-refused.ostls.test', ['::1', '127.0.0.1'])
    const s = await open(opts(host, srv.port))
    t.equal(s.remoteAddress, '127.0.0.1')
    s.destroy()
  })

  t.test('the tls_wait fallback (OSTLS_POLL=wait) races too', async (t) => {
    const srv = await deadAndLive(t, '::1', '127.0.0.1')
    if (!srv) return
    const host = testName('v6-blackhole-wait.ostls.test', ['::1', '127.0.0.1'])
    process.env.OSTLS_POLL = 'wait'
    t.teardown(() => void delete process.env.OSTLS_POLL)
    const started = Date.now()
    const s = await open(opts(host, srv.port))
    t.ok(Date.now() - started < BOUND, `connected in ${Date.now() - started} ms`)
    t.equal(s.remoteAddress, '127.0.0.1')
    s.destroy()
  })

  t.test('every address fails: TLS_CONNECT_FAILED naming each', async (t) => {
    const before = handles()
    const port = await closedPort()
    const host = testName('all-refused.ostls.test', ['::1', '127.0.0.1'])
    const err = (await failure(opts(host, port))) as TLSError
    t.equal(err.tlsCode, 'TLS_CONNECT_FAILED', err.message)
    t.equal(err.code, 'ECONNREFUSED')
    t.equal(err.osError, 'ECONNREFUSED')
    t.match(err.message, `${host} port ${port}`)
    t.match(err.message, '[::1]: ')
    t.match(err.message, '127.0.0.1: ')
    t.equal(handles(), before)
  })
})

t.test('two IPv4 addresses, the first blackholed', { skip: nwResolves }, async (t) => {
  const srv = await deadAndLive(t, '127.0.0.2', '127.0.0.1').catch((e: Error) => {
    t.skip(`cannot listen on 127.0.0.2 here: ${e.message}`)
    return null
  })
  if (!srv) return
  const host = testName('v4-blackhole.ostls.test', ['127.0.0.2', '127.0.0.1'])
  const started = Date.now()
  const s = await open(opts(host, srv.port))
  t.ok(Date.now() - started < BOUND, `connected in ${Date.now() - started} ms`)
  t.equal(s.remoteAddress, '127.0.0.1')
  s.destroy()
})

t.test('the test hook cannot redirect other names or leave the machine', async (t) => {
  const srv = await tlsOn('127.0.0.1', 0)
  t.teardown(() => srv.close())
  testName('ostls-hook-check.invalid', ['127.0.0.1'])
  testName('offbox.ostls.test', ['192.0.2.1'])
  for (const host of ['ostls-hook-check.invalid', 'offbox.ostls.test', 'unlisted.ostls.test']) {
    const err = (await failure(opts(host, srv.port))) as TLSError
    t.equal(err.tlsCode, 'TLS_DNS_FAILED', `${host}: ${err.message}`)
  }
  t.equal(srv.handshakes, 0)
})

t.test('a single literal address: the message does not repeat it', async (t) => {
  const port = await closedPort()
  const err = (await failure({ host: '127.0.0.1', port })) as TLSError
  t.equal(err.tlsCode, 'TLS_CONNECT_FAILED')
  t.equal(err.message.split('127.0.0.1').length - 1, 1, err.message)
})
