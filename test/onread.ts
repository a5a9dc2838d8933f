// The onread option (as net.connect's and tls.connect's): reads go into the
// caller's buffer and to its callback, never to 'data'; nothing is lost, and
// the callback's false holds the flow back.
import t from 'tap'
import crypto from 'node:crypto'
import { pki } from './helpers/pki'
import { tlsServer } from './helpers/servers'
import { sha256 } from './helpers/client'
import { connect, ConnectOptions, TLSStream } from '../dist/cjs/index'

const p = pki()
const MiB = 1024 * 1024
const opts = (port: number, onread: ConnectOptions['onread']): ConnectOptions => ({ host: '127.0.0.1', port, servername: 'localhost', ca: p.ca, onread })

/** A server that sends data to each client, then ends; finished() says whether it all left. */
async function source(data: Buffer) {
  let finished = false
  const srv = await tlsServer(p.leaf, (s) => {
    s.end(data, () => (finished = true))
  })
  return { srv, finished: () => finished }
}

const ended = (s: TLSStream) =>
  new Promise<void>((resolve, reject) => {
    s.once('end', resolve)
    s.once('error', reject)
  })

t.test('16 MiB into one reused buffer: every byte in order, no chunk made, and an end nobody read for', async (t) => {
  const data = crypto.randomBytes(16 * MiB)
  const { srv } = await source(data)
  t.teardown(() => srv.close())
  const buffer = Buffer.alloc(64 * 1024)
  const hash = crypto.createHash('sha256')
  let bytes = 0
  let otherBuffer = 0
  let tooLong = 0
  const s = connect(
    opts(srv.port, {
      buffer,
      callback: (n, b) => {
        if (b !== buffer) otherBuffer++
        if (n < 1 || n > buffer.length) tooLong++
        hash.update(b.subarray(0, n))
        bytes += n
      }
    })
  )
  // No 'data' listener and no resume(): the stream is never put into flowing
  // mode, and 'end' must come all the same.
  await ended(s)
  t.equal(bytes, data.length, 'every byte came')
  t.equal(hash.digest('hex'), sha256(data), 'in order and intact')
  t.equal(s.bytesRead, data.length, 'bytesRead counts them')
  t.equal(otherBuffer, 0, "every call was given the caller's buffer")
  t.equal(tooLong, 0, 'no call reported more bytes than the buffer holds, or none')
  t.equal(s.readableLength, 0, 'nothing was pushed into the stream')
})

t.test('a buffer function is asked for each read; writes go out as usual; no data event', async (t) => {
  const srv = await tlsServer(p.leaf) // echoes
  t.teardown(() => srv.close())
  const sent = crypto.randomBytes(MiB)
  let last: Buffer | null = null
  let asked = 0
  let mismatched = 0
  const got: Buffer[] = []
  let dataEvents = 0
  const s = connect(
    opts(srv.port, {
      buffer: () => {
        asked++
        last = Buffer.alloc(1000)
        return last
      },
      callback: (n, b) => {
        if (b !== last) mismatched++
        got.push(Buffer.from(b.subarray(0, n)))
      }
    })
  )
  s.on('data', () => dataEvents++)
  s.end(sent)
  await ended(s)
  const body = Buffer.concat(got)
  t.equal(body.length, sent.length, 'the echo came back whole')
  t.equal(sha256(body), sha256(sent), 'in order and intact')
  t.equal(asked, got.length + 1, `asked once for each of the ${got.length} reads, and once for the read that found the end`)
  t.ok(got.length >= sent.length / 1000, 'no read was longer than its buffer')
  t.equal(mismatched, 0, 'each call was given the buffer the function had just returned')
  t.equal(dataEvents, 0, "the 'data' listener got nothing")
})

t.test('the callback returning false holds reading back until resume()', async (t) => {
  const data = crypto.randomBytes(32 * MiB)
  const { srv, finished } = await source(data)
  t.teardown(() => srv.close())
  let calls = 0
  const hash = crypto.createHash('sha256')
  let bytes = 0
  const s = connect(
    opts(srv.port, {
      buffer: Buffer.alloc(16 * 1024),
      callback: (n, b) => {
        hash.update(b.subarray(0, n))
        bytes += n
        return ++calls > 1
      }
    })
  )
  await new Promise((r) => s.once('secureConnect', r))
  await new Promise((r) => setTimeout(r, 300))
  t.equal(calls, 1, 'no read after the callback said false')
  t.equal(finished(), false, 'the server is held back by TCP flow control')
  const done = ended(s)
  s.resume()
  await done
  t.equal(bytes, data.length)
  t.equal(hash.digest('hex'), sha256(data))
})

t.test('pause() before the handshake: nothing is read until resume()', async (t) => {
  const data = crypto.randomBytes(MiB)
  const { srv } = await source(data)
  t.teardown(() => srv.close())
  let bytes = 0
  const s = connect(opts(srv.port, { buffer: Buffer.alloc(8192), callback: (n) => void (bytes += n) }))
  s.pause()
  await new Promise((r) => s.once('secureConnect', r))
  await new Promise((r) => setTimeout(r, 200))
  t.equal(bytes, 0, 'nothing read while paused')
  const done = ended(s)
  s.resume()
  await done
  t.equal(bytes, data.length)
})

t.test('a callback that throws ends the stream with its error, nothing else', async (t) => {
  const { srv } = await source(crypto.randomBytes(MiB))
  t.teardown(() => srv.close())
  const boom = new Error('boom')
  const s = connect(
    opts(srv.port, {
      buffer: Buffer.alloc(8192),
      callback: () => {
        throw boom
      }
    })
  )
  const err = await new Promise((r) => s.once('error', r))
  t.equal(err, boom, "the callback's own error")
  await new Promise((r) => (s.closed ? r(null) : s.once('close', r)))
  t.ok(s.destroyed)
})

t.test('a buffer function that returns no usable buffer ends the stream with a coded error', async (t) => {
  const { srv } = await source(crypto.randomBytes(MiB))
  t.teardown(() => srv.close())
  for (const bad of [undefined, Buffer.alloc(0), new Uint16Array(8)]) {
    const s = connect(opts(srv.port, { buffer: () => bad as unknown as Uint8Array, callback: () => {} }))
    const err = (await new Promise((r) => s.once('error', r))) as Error & { code?: string }
    t.match(err, { code: bad instanceof Buffer ? 'ERR_INVALID_ARG_VALUE' : 'ERR_INVALID_ARG_TYPE', message: /onread\.buffer\(\)/ }, String(bad && bad.constructor.name))
  }
})

t.test('a buffer whose memory is transferred away ends the stream with a coded error, not a read into it', async (t) => {
  const { srv } = await source(crypto.randomBytes(MiB))
  t.teardown(() => srv.close())
  const buffer = new Uint8Array(8192)
  let calls = 0
  const s = connect(
    opts(srv.port, {
      buffer,
      callback: () => {
        calls++
        structuredClone(buffer.buffer, { transfer: [buffer.buffer] })
      }
    })
  )
  const err = (await new Promise((r) => s.once('error', r))) as Error & { code?: string }
  t.equal(buffer.length, 0, 'the buffer is detached')
  t.match(err, { code: 'ERR_INVALID_ARG_VALUE', message: /onread\.buffer: it is empty/ })
  t.equal(calls, 1, 'no call after it')
})

t.test('a malformed onread is refused by connect(), before any connection', async (t) => {
  const cases: Array<[string, unknown, string]> = [
    ['no callback', { buffer: Buffer.alloc(10) }, 'ERR_INVALID_ARG_TYPE'],
    ['a string for buffer', { buffer: 'text', callback: () => {} }, 'ERR_INVALID_ARG_TYPE'],
    ['a Uint32Array for buffer', { buffer: new Uint32Array(4), callback: () => {} }, 'ERR_INVALID_ARG_TYPE'],
    ['an empty buffer', { buffer: Buffer.alloc(0), callback: () => {} }, 'ERR_INVALID_ARG_VALUE'],
    ['not an object', 'yes', 'ERR_INVALID_ARG_TYPE']
  ]
  for (const [what, onread, code] of cases) {
    t.throws(() => connect({ host: '127.0.0.1', port: 9, onread: onread as ConnectOptions['onread'] }), { code }, what)
  }
})
