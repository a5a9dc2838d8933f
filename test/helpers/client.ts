/** Promise helpers around the public API. */
import { createHash } from 'node:crypto'
import { connect, ConnectOptions, TLSStream } from '../../dist/cjs/index'

export function open(options: ConnectOptions): Promise<TLSStream> {
  return new Promise((resolve, reject) => {
    const s = connect(options)
    s.once('secureConnect', () => {
      s.off('error', reject)
      resolve(s)
    })
    s.once('error', reject)
  })
}

/** Resolves with the error the connection fails with (rejects if it connects). */
export function failure(options: ConnectOptions): Promise<Error & { code?: string; tlsCode?: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(options)
    s.once('secureConnect', () => {
      s.destroy()
      reject(new Error('connected, but a failure was expected'))
    })
    s.once('error', resolve)
  })
}

/** Everything the stream delivers until it ends. */
export function collect(s: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    s.on('data', (c: Buffer) => chunks.push(c))
    s.once('end', () => resolve(Buffer.concat(chunks)))
    s.once('error', reject)
  })
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

/**
 * Sends data in one write, ends, and resolves with the server's reply (a
 * hashServer answers `<bytes> <sha256>`). Rejects on a stream error.
 */
export async function upload(options: ConnectOptions, data: Buffer): Promise<string> {
  const s = await open(options)
  const reply = collect(s)
  const written = new Promise<void>((resolve, reject) => s.write(data, (err) => (err ? reject(err) : resolve())))
  s.end()
  await written
  return (await reply).toString()
}
