// Bytes arrive exactly, in order, with backpressure honoured in both directions.
import t from 'tap'
import crypto from 'node:crypto'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { pki } from './helpers/pki'
import { tlsServer, endsFirstServer } from './helpers/servers'
import { open, collect } from './helpers/client'

const p = pki()
const MiB = 1024 * 1024
const opts = (port: number) => ({ host: '127.0.0.1', port, servername: 'localhost', ca: p.ca })

function sha256(b: Buffer | Buffer[]): string {
  const h = crypto.createHash('sha256')
  for (const x of Array.isArray(b) ? b : [b]) h.update(x)
  return h.digest('hex')
}

t.test('64 MiB both ways at once through an echo server, checked by hash', async (t) => {
  const srv = await tlsServer(p.leaf, (s) => s.pipe(s))
  t.teardown(() => srv.close())
  const s = await open(opts(srv.port))
  const blocks = Array.from({ length: 64 }, () => crypto.randomBytes(MiB))
  let sawBackpressure = false
  const source = Readable.from(
    (function* () {
      yield* blocks
    })()
  )
  const origWrite = s.write.bind(s)
  s.write = ((chunk: Buffer, ...rest: never[]) => {
    const ok = origWrite(chunk, ...rest)
    if (!ok) sawBackpressure = true
    return ok
  }) as typeof s.write
  const received = crypto.createHash('sha256')
  let bytes = 0
  s.on('data', (c: Buffer) => {
    received.update(c)
    bytes += c.length
  })
  const ended = new Promise<void>((resolve) => s.on('end', resolve))
  await pipeline(source, s, { end: true }).catch(() => {})
  await ended
  t.equal(bytes, 64 * MiB, 'every byte came back')
  t.equal(received.digest('hex'), sha256(blocks), 'in order and intact')
  t.ok(sawBackpressure, 'write() reported backpressure at least once')
})

t.test('64 MiB download: the reader pausing stops the flow (read backpressure)', async (t) => {
  const data = crypto.randomBytes(64 * MiB)
  let serverFinished = false
  const srv = await tlsServer(p.leaf, (s) => {
    s.end(data, () => (serverFinished = true))
  })
  t.teardown(() => srv.close())
  const s = await open(opts(srv.port))
  // Not reading yet: the stream must not pull 64 MiB into memory on its own.
  await new Promise((r) => setTimeout(r, 300))
  t.ok(s.readableLength <= 4 * MiB, `buffered only ${s.readableLength} bytes while paused`)
  t.equal(serverFinished, false, 'the server is held back by TCP flow control')
  const body = await collect(s)
  t.equal(body.length, data.length)
  t.equal(sha256(body), sha256(data))
})

t.test('64 MiB upload with a slow reader on the server', async (t) => {
  const data = crypto.randomBytes(64 * MiB)
  let got: Promise<Buffer>
  const srv = await tlsServer(p.leaf, (s) => {
    got = new Promise((resolve) => {
      const chunks: Buffer[] = []
      s.on('data', (c: Buffer) => {
        chunks.push(c)
        // Read slowly at first so the client's writes really block.
        if (chunks.length === 1) {
          s.pause()
          setTimeout(() => s.resume(), 200)
        }
      })
      s.on('end', () => {
        resolve(Buffer.concat(chunks))
        s.end()
      })
    })
  })
  t.teardown(() => srv.close())
  const s = await open(opts(srv.port))
  s.resume()
  const closed = new Promise((r) => s.on('close', r))
  s.end(data)
  await closed
  const body = await got!
  t.equal(body.length, data.length)
  t.equal(sha256(body), sha256(data))
  t.equal(s.bytesWritten, data.length)
})

t.test('many small writes arrive as one exact byte stream', async (t) => {
  const srv = await tlsServer(p.leaf, (s) => s.pipe(s))
  t.teardown(() => srv.close())
  const s = await open(opts(srv.port))
  const parts: string[] = []
  for (let i = 0; i < 20000; i++) parts.push(`${i},`)
  const done = collect(s)
  for (const part of parts) s.write(part)
  s.end()
  t.equal((await done).toString(), parts.join(''))
})

t.test('chunks handed out stay intact while later reads happen (small records, held by the reader)', async (t) => {
  // 300 records of 1-3000 bytes, each written on its own turn so that each is
  // its own read: a chunk is the reader's to keep, so no later read may write
  // over one handed out earlier, whether the reader holds it ('data') or the
  // stream's own buffer does (a paused reader).
  const messages = Array.from({ length: 300 }, (_, i) => crypto.randomBytes(1 + ((i * 997) % 3000)))
  const expected = sha256(messages)
  const srv = await tlsServer(p.leaf, (sock) => {
    // Without it, Nagle holds each small record until the client's delayed
    // ACK (up to 40 ms), and records arrive in bursts: Node's own client sees
    // the same bursts, but this test needs them one by one.
    sock.setNoDelay(true)
    let i = 0
    const next = () => (i < messages.length ? sock.write(messages[i++], () => setTimeout(next, 1)) : sock.end())
    next()
  })
  t.teardown(() => srv.close())

  const held: Buffer[] = []
  const a = await open(opts(srv.port))
  a.on('data', (c: Buffer) => held.push(c))
  await new Promise((r) => a.on('end', r))
  t.ok(held.length > 20, `arrived in many reads (${held.length})`)
  t.equal(sha256(held), expected, "'data' chunks kept by the reader")

  const b = await open(opts(srv.port))
  b.read(0) // paused: the stream reads up to its highWaterMark and holds the chunks
  await new Promise((r) => setTimeout(r, 300))
  const buffered = b.readableLength
  t.equal(sha256(await collect(b)), expected, `chunks buffered by a paused stream (${buffered} bytes waited)`)
})

t.test('half-close: after end() the client still receives the reply', async (t) => {
  const srv = await tlsServer(
    p.leaf,
    (s) => {
      const chunks: Buffer[] = []
      s.on('data', (c: Buffer) => chunks.push(c))
      s.on('end', () => {
        // Reply only after the client has finished sending.
        setTimeout(() => s.end(`got ${Buffer.concat(chunks).toString()}`), 50)
      })
    },
    { allowHalfOpen: true }
  )
  t.teardown(() => srv.close())
  const s = await open(opts(srv.port))
  const reply = collect(s)
  s.end('question')
  await new Promise((r) => s.once('finish', r))
  t.equal(s.writable, false, 'the writable side is finished')
  t.equal((await reply).toString(), 'got question')
})

t.test('allowHalfOpen: the client may keep writing after the server ends', async (t) => {
  const srv = await endsFirstServer(p.leaf, 'server done')
  t.teardown(() => srv.close())
  const s = await open({ ...opts(srv.port), allowHalfOpen: true })
  const body = await collect(s)
  t.equal(body.toString(), 'server done')
  t.equal(s.writable, true, 'still writable after the server ended')
  await new Promise<void>((r) => s.end('late words', () => r()))
  await new Promise((r) => setTimeout(r, 100))
  t.equal(srv.received(), 'late words')
})
