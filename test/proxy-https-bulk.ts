// Bulk data through an https:// proxy while the tunnel is full: the origin (upload) or the client
// (download) reads in bursts with pauses, so the proxy stops reading its TLS socket, the socket
// buffers fill, and the tunnelled connection's writes to the proxy connection (TLS inside TLS)
// come back "would block" again and again. Every byte must arrive once, in order: compared by hash.
import crypto from 'node:crypto'
import t from 'tap'
import { pki } from './helpers/pki'
import { hashServer, tlsServer } from './helpers/servers'
import { open, collect, sha256, upload } from './helpers/client'
import { connectProxy } from './helpers/proxy'
import { nwHttpsProxyGap } from './helpers/platform'

const p = pki()
const MiB = 1024 * 1024
const data = crypto.randomBytes(16 * MiB)
const hash = sha256(data)

/** Pauses a readable stream for ms after every `every` bytes it delivers. */
function bursty(s: NodeJS.ReadableStream, every: number, ms: number): void {
  let since = 0
  s.on('data', (d: Buffer) => {
    since += d.length
    if (since < every) return
    since = 0
    s.pause()
    setTimeout(() => s.resume(), ms)
  })
}

t.test('16 MiB upload through an https:// proxy to an origin that reads slowly: nothing lost or repeated', { skip: nwHttpsProxyGap }, async (t) => {
  const srv = await hashServer(p.leaf, {}, (s, total) => {
    if (total % MiB < 64 * 1024) {
      s.pause()
      setTimeout(() => s.resume(), 40)
    }
  })
  const proxy = await connectProxy({ tls: p.leaf })
  t.teardown(() => Promise.all([srv.close(), proxy.close()]))
  const reply = await upload({ host: 'localhost', port: srv.port, ca: p.ca, proxy: proxy.url }, data)
  t.equal(reply, `${data.length} ${hash}`)
  t.equal(proxy.tunnels, 1)
})

t.test('16 MiB download through an https:// proxy to a client that reads slowly: nothing lost or repeated', { skip: nwHttpsProxyGap }, async (t) => {
  const srv = await tlsServer(p.leaf, (s) => s.end(data))
  const proxy = await connectProxy({ tls: p.leaf })
  t.teardown(() => Promise.all([srv.close(), proxy.close()]))
  const s = await open({ host: 'localhost', port: srv.port, ca: p.ca, proxy: proxy.url })
  const body = collect(s)
  bursty(s, MiB, 40)
  const got = await body
  t.equal(got.length, data.length)
  t.equal(sha256(got), hash)
  t.equal(proxy.tunnels, 1)
})

t.test('both ways at once through an https:// proxy, both ends bursty', { skip: nwHttpsProxyGap }, async (t) => {
  const srv = await tlsServer(p.leaf, (s) => {
    const h = crypto.createHash('sha256')
    let n = 0
    s.on('data', (d: Buffer) => {
      h.update(d)
      n += d.length
    })
    bursty(s, MiB, 25)
    s.on('end', () => s.end(`${n} ${h.digest('hex')}`))
    s.write(data)
  }, { allowHalfOpen: true })
  const proxy = await connectProxy({ tls: p.leaf })
  t.teardown(() => Promise.all([srv.close(), proxy.close()]))
  const s = await open({ host: 'localhost', port: srv.port, ca: p.ca, proxy: proxy.url })
  const body = collect(s)
  bursty(s, MiB, 25)
  s.end(data)
  const got = await body
  t.equal(got.subarray(0, data.length).equals(data), true, 'the download arrived whole')
  t.equal(got.subarray(data.length).toString(), `${data.length} ${hash}`, 'the origin hashed the upload whole')
})
