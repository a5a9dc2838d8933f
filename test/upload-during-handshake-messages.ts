// Handshake messages that arrive while an upload is blocked (a TLS 1.2
// HelloRequest here) must not lose, repeat or reorder a byte of the upload:
// the server hashes exactly what it received.
import t from 'tap'
import crypto from 'node:crypto'
import tls from 'node:tls'
import { pki } from './helpers/pki'
import { tlsServer } from './helpers/servers'
import { open } from './helpers/client'

const p = pki()
const MiB = 1024 * 1024

function sha256(b: Buffer): string {
  return crypto.createHash('sha256').update(b).digest('hex')
}

t.test('a TLS 1.2 renegotiation asked for during a blocked upload: every byte arrives once', async (t) => {
  const data = crypto.randomBytes(16 * MiB)
  let received: Promise<{ length: number; hash: string }>
  const renegotiation: { asked: boolean; result?: string } = { asked: false }
  const srv = await tlsServer(
    p.leaf,
    (s: tls.TLSSocket) => {
      received = new Promise((resolve) => {
        const hash = crypto.createHash('sha256')
        let length = 0
        s.on('data', (c: Buffer) => {
          hash.update(c)
          length += c.length
        })
        // Not reading at first: the client's writes fill the TCP buffers and
        // block with a record half sent. Then ask for a renegotiation and read on.
        s.pause()
        setTimeout(() => {
          renegotiation.asked = s.renegotiate({ rejectUnauthorized: false }, (err) => {
            renegotiation.result = err ? `failed: ${err.message}` : 'completed'
          })
          s.resume()
        }, 500)
        s.on('end', () => {
          resolve({ length, hash: hash.digest('hex') })
          s.end()
        })
      })
    },
    { maxVersion: 'TLSv1.2' }
  )
  t.teardown(() => srv.close())
  const s = await open({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ca: p.ca })
  t.equal(s.getProtocol(), 'TLSv1.2')
  s.resume()
  const closed = new Promise((r) => s.on('close', r))
  s.on('error', (err) => t.fail(`client error: ${err.message}`))
  s.end(data)
  await closed
  const got = await received!
  t.ok(renegotiation.asked, 'the server sent a HelloRequest')
  t.comment(`renegotiation: ${renegotiation.result ?? 'declined or still pending when the upload ended'}`)
  t.equal(got.length, data.length, 'the server received exactly as many bytes as were sent')
  t.equal(got.hash, sha256(data), 'and they are the bytes sent, in order')
  t.equal(s.bytesWritten, data.length)
})
