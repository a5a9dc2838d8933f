// Several TLS records arriving in one TCP segment, then silence: the client's
// engine may take them all with one recv() (OpenSSL's read-ahead), so the
// socket is empty while records still wait inside the engine. A reader that
// then waits for the socket to become readable waits forever; every record
// must be delivered without any more bytes coming (tls_read's drained-socket
// shortcut must look at what the engine holds, not only at the socket).
// The stream re-asks tls_pollevents before each wait, which would hide a wrong
// waitfor, so a second test is a host that trusts tls_read_fast's waitfor as
// c/tls_client.h allows: it waits on the handle for exactly those events.
import t from 'tap'
import net from 'node:net'
import tls from 'node:tls'
import { Duplex } from 'node:stream'
import { pki } from './helpers/pki'
import { closer } from './helpers/servers'
import { open } from './helpers/client'
import { NativeConn, WANT_READ, WANT_WRITE } from '../dist/cjs/native'
import { Watcher } from '../dist/cjs/poll'

const p = pki()
// Sizes of the records of one burst: tiny, small, one full record, odd.
const SIZES = [1, 100, 3000, 16384, 5000]
const BURSTS = 4
// Not a speed limit: a hung read is reported with what arrived, before tap's own timeout.
const HANG_MS = 20_000

/**
 * A TLS server (Node's) over a wire it controls: after the handshake it
 * writes each burst's records one by one (one record each), holds their
 * bytes back and hands them to TCP in one write, then sends nothing until the
 * client says "ok". It ends after the last burst's "ok".
 */
async function burstServer(bursts: Buffer[][], maxVersion: tls.SecureVersion) {
  const context = tls.createSecureContext({ key: p.leaf.key, cert: p.leaf.cert, maxVersion })
  const server = net.createServer((raw) => {
    raw.on('error', () => {})
    let held: Buffer[] | null = null
    const wire = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        if (held) held.push(chunk)
        else raw.write(chunk)
        cb()
      }
    })
    raw.on('data', (d) => wire.push(d))
    raw.on('end', () => wire.push(null))
    const s = new tls.TLSSocket(wire, { isServer: true, secureContext: context })
    s.on('error', () => raw.destroy())
    s.once('secure', async () => {
      let acks = ''
      s.on('data', (d: Buffer) => (acks += d.toString()))
      for (let i = 0; i < bursts.length; i++) {
        // Written one at a time (each write's callback first), so that each
        // is its own record: writes queued together would become one.
        held = []
        for (const rec of bursts[i]) await new Promise<void>((resolve) => s.write(rec, () => resolve()))
        const burst = Buffer.concat(held)
        held = null
        raw.write(burst)
        while (acks.length < 2 * (i + 1)) await new Promise((resolve) => s.once('data', resolve))
      }
      s.end()
    })
  })
  const close = closer(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as net.AddressInfo).port, close }
}

function makeBursts(): Buffer[][] {
  let seq = 0
  return Array.from({ length: BURSTS }, () =>
    SIZES.map((n) => {
      const b = Buffer.alloc(n)
      for (let i = 0; i < n; i++) b[i] = (seq++ * 31 + 7) & 255
      return b
    })
  )
}

for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
  t.test(`${version}: records that came in one segment are all delivered, in order, with the socket silent`, async (t) => {
    const bursts = makeBursts()
    const srv = await burstServer(bursts, version)
    t.teardown(() => srv.close())
    const s = await open({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ca: p.ca, maxVersion: version })
    t.teardown(() => s.destroy())
    for (let i = 0; i < bursts.length; i++) {
      const want = Buffer.concat(bursts[i])
      const got: Buffer[] = []
      let have = 0
      const arrived = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          s.off('data', onData)
          resolve(false)
        }, HANG_MS)
        const onData = (c: Buffer) => {
          got.push(c)
          have += c.length
          if (have >= want.length) {
            clearTimeout(timer)
            s.off('data', onData)
            resolve(true)
          }
        }
        s.on('data', onData)
      })
      t.ok(arrived, `burst ${i + 1}: ${have} of ${want.length} bytes arrived while the server waited for them`)
      if (!arrived) return
      t.ok(Buffer.concat(got).equals(want), `burst ${i + 1}: every byte, in order`)
      s.write('ok')
    }
  })
}

/** Resolves when handle is ready for events, or with false after HANG_MS. */
function ready(conn: NativeConn, handle: number, events: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      w.close()
      resolve(false)
    }, HANG_MS)
    const w = new Watcher(() => {
      clearTimeout(timer)
      w.close()
      resolve(true)
    })
    if (handle >= 0) return w.watch(handle, events)
    // An engine without a pollable handle: tls_wait on a worker instead.
    conn.waitAsync(events, 50, () => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}

for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
  t.test(`${version}: a host that waits for exactly what tls_read_fast's waitfor names gets every record`, async (t) => {
    const bursts = makeBursts()
    const srv = await burstServer(bursts, version)
    t.teardown(() => srv.close())
    const conn = new NativeConn('127.0.0.1', srv.port)
    t.teardown(() => conn.free())
    conn.setOption('servername', 'localhost')
    conn.setOption('ca', p.ca.toString())
    conn.setOption('max_version', version)
    while (!conn.handshake()) {
      const { handle, events } = conn.pollHandle(WANT_READ | WANT_WRITE)
      if (!(await ready(conn, handle, events & (WANT_READ | WANT_WRITE) || WANT_READ | WANT_WRITE))) return t.fail('handshake hung')
    }
    const handle = conn.pollHandle(WANT_READ).handle
    const buf = Buffer.alloc(256 * 1024)
    for (let i = 0; i < bursts.length; i++) {
      const want = Buffer.concat(bursts[i])
      const got: Buffer[] = []
      let have = 0
      while (have < want.length) {
        const n = conn.read(buf)
        if (n < 0) return t.fail(`burst ${i + 1}: the stream ended after ${have} of ${want.length} bytes`)
        if (n > 0) {
          got.push(Buffer.from(buf.subarray(0, n)))
          have += n
        }
        if (have >= want.length) break
        const wait = conn.readWait || (n === 0 ? WANT_READ : 0)
        if (wait && !(await ready(conn, handle, wait))) break
      }
      t.equal(have, want.length, `burst ${i + 1}: every byte arrived while the server waited for them`)
      if (have !== want.length) return
      t.ok(Buffer.concat(got).equals(want), `burst ${i + 1}: in order`)
      t.equal(conn.write(Buffer.from('ok')), 2)
    }
  })
}
