// A TLS 1.2 server may renegotiate at any time, also while the client is in
// the middle of sending: the upload must arrive intact (checked by hash on the
// server) and nothing may hang. Runs on every backend.
import t, { Test } from 'tap'
import crypto, { constants } from 'node:crypto'
import path from 'node:path'
import { pki } from './helpers/pki'
import { tlsServer, opensslSink } from './helpers/servers'
import { open, collect, sha256 } from './helpers/client'
import { underWine, s2nLimit } from './helpers/platform'

const p = pki()
const MiB = 1024 * 1024
const opts = (port: number) => ({ host: '127.0.0.1', port, servername: 'localhost', ca: p.ca })
// Big enough that the client is still sending when the server's new flight
// arrives, even on a fast loopback with large socket buffers.
const UPLOAD = 32 * MiB
// Fresh each time: tap writes into a test's options. These servers answer only once the
// renegotiation has completed; test/upload-during-handshake-messages.ts covers the
// client's side of a declined one.
const limit = () => ({ timeout: 60_000, skip: underWine ? "Wine's Schannel declines a server's renegotiation" : s2nLimit("a server's renegotiation is declined (no_renegotiation alert) unless the application drives s2n's unstable s2n_renegotiate API") ?? false })

/**
 * A TLS 1.2 server that renegotiates once the upload has passed `at` bytes
 * (after not reading for pauseMs, so the client's writes back up and one is
 * pending when the HelloRequest arrives), and once it has all `size` bytes
 * and the renegotiation has finished, answers `<bytes> <sha256>` and ends.
 */
async function renegotiatingServer(t: Test, size: number, at: number, pauseMs = 0, full = true) {
  let settle: (v: string) => void = () => {}
  const outcome = new Promise<string>((r) => (settle = r))
  const srv = await tlsServer(
    p.leaf,
    (s) => {
      const hash = crypto.createHash('sha256')
      let total = 0
      let fired = false
      const go = () => {
        const started = s.renegotiate({ rejectUnauthorized: false }, (err) => settle(err ? `failed: ${err.message}` : 'done'))
        if (!started) settle('not started')
        s.resume()
      }
      s.on('data', (d: Buffer) => {
        hash.update(d)
        total += d.length
        if (!fired && total >= at) {
          fired = true
          if (!pauseMs) go()
          else {
            s.pause()
            setTimeout(go, pauseMs)
          }
        }
        if (total >= size) outcome.then(() => s.end(`${total} ${hash.digest('hex')}`))
      })
    },
    // A full handshake unless asked otherwise: an abbreviated one (the client
    // resuming its session) has the client speak last, so it never waits
    // with a flight of its own unsent.
    { maxVersion: 'TLSv1.2', secureOptions: full ? constants.SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION : 0 }
  )
  t.teardown(() => srv.close())
  return { port: srv.port, outcome }
}

/** Writes data without ending; resolves with what the server sends until it ends. */
async function send(t: Test, port: number, chunks: Buffer[]): Promise<string> {
  const s = await open(opts(port))
  t.teardown(() => s.destroy())
  const reply = collect(s)
  const written = chunks.map((c) => new Promise<void>((resolve, reject) => s.write(c, (err) => (err ? reject(err) : resolve()))))
  await Promise.all(written)
  return (await reply).toString()
}

t.test('server renegotiates (TLS 1.2) during a 32 MiB upload: every byte arrives', limit(), async (t) => {
  const data = crypto.randomBytes(UPLOAD)
  const srv = await renegotiatingServer(t, data.length, 256 * 1024)
  const reply = await send(t, srv.port, [data])
  t.equal(await srv.outcome, 'done', 'the renegotiation completed')
  t.equal(reply, `${data.length} ${sha256(data)}`, 'the server got the upload intact')
})

t.test('server renegotiates while the client is blocked in a write', limit(), async (t) => {
  const data = crypto.randomBytes(UPLOAD)
  const srv = await renegotiatingServer(t, data.length, 256 * 1024, 300)
  const reply = await send(t, srv.port, [data])
  t.equal(await srv.outcome, 'done', 'the renegotiation completed')
  t.equal(reply, `${data.length} ${sha256(data)}`, 'the server got the upload intact')
})

t.test('an abbreviated renegotiation (session resumed) during a 32 MiB upload', limit(), async (t) => {
  const data = crypto.randomBytes(UPLOAD)
  const srv = await renegotiatingServer(t, data.length, 256 * 1024, 0, false)
  const reply = await send(t, srv.port, [data])
  t.equal(await srv.outcome, 'done', 'the renegotiation completed')
  t.equal(reply, `${data.length} ${sha256(data)}`, 'the server got the upload intact')
})

t.test('renegotiation right after the first bytes, then many writes', limit(), async (t) => {
  const chunks = Array.from({ length: 64 }, (_, i) => crypto.randomBytes(1000 + i * 997))
  const all = Buffer.concat(chunks)
  const srv = await renegotiatingServer(t, all.length, 1)
  const reply = await send(t, srv.port, chunks)
  t.equal(await srv.outcome, 'done', 'the renegotiation completed')
  t.equal(reply, `${all.length} ${sha256(all)}`, 'the server got every write, in order')
})

t.test('openssl s_server renegotiates (its R command) during a 32 MiB upload', {
  ...limit(),
  skip: process.platform === 'win32' ? 'needs the openssl binary, which Windows Node cannot run' : s2nLimit("a server's renegotiation is declined (no_renegotiation alert) unless the application drives s2n's unstable s2n_renegotiate API") ?? false
}, async (t) => {
  const sink = await opensslSink({ keyFile: path.join(p.dir, 'leaf.key'), certFile: path.join(p.dir, 'leaf.pem') }, ['-tls1_2', '-no_ticket', '-no_resumption_on_reneg'])
  t.teardown(() => sink.close())
  const data = crypto.randomBytes(UPLOAD)
  const s = await open(opts(sink.port))
  s.on('error', (err) => t.fail(`stream error: ${err.message}`))
  const written = new Promise<void>((resolve) => s.write(data, () => resolve()))
  await sink.reached(256 * 1024)
  sink.command('R')
  await written
  await sink.reached(data.length)
  t.same(sink.received(), { bytes: data.length, sha256: sha256(data) }, 's_server got the upload intact')
  s.destroy()
})
