/** Promise helpers around the public API. */
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
