/** Local peers for the shared suite: Node's TLS server, `openssl s_server`, and misbehaving TCP servers. */
import tls from 'node:tls'
import net from 'node:net'
import { spawn, ChildProcess } from 'node:child_process'
import { KeyPair } from './pki'

/**
 * A close() for a listening server that also ends the connections it holds
 * (server.close() alone waits for them), so a test's teardown never hangs.
 */
export function closer(server: net.Server): () => Promise<void> {
  const sockets = new Set<net.Socket>()
  server.on('connection', (s: net.Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    })
}

export interface TestServer {
  port: number
  /** Completed TLS handshakes (proves traffic really reached this server). */
  handshakes: number
  server: tls.Server
  close(): Promise<void>
}

export async function tlsServer(
  pair: KeyPair,
  onSocket: (s: tls.TLSSocket) => void = (s) => s.pipe(s),
  extra: tls.TlsOptions = {}
): Promise<TestServer> {
  const server = tls.createServer({ key: pair.key, cert: pair.cert, ...extra }, (s) => {
    result.handshakes++
    s.on('error', () => {})
    onSocket(s)
  })
  const close = closer(server)
  server.on('tlsClientError', () => {})
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const result: TestServer = {
    port: (server.address() as net.AddressInfo).port,
    handshakes: 0,
    server,
    close
  }
  return result
}

/** A TCP server that accepts and then says nothing: a handshake against it never completes. */
export async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((s) => s.on('error', () => {}))
  const close = closer(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as net.AddressInfo).port, close }
}

/** A port on 127.0.0.1 where nothing listens (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/**
 * Windows (the suite under Wine): Windows Node cannot spawn the Linux `openssl`
 * binary, so the few s_server flags the suite uses become a Node TLS server
 * (Node's own OpenSSL) configured the same way.
 */
async function opensslServerWin32(pair: { keyFile: string; certFile: string }, args: string[]): Promise<{ port: number; proc: ChildProcess; close(): Promise<void> }> {
  const fs = await import('node:fs')
  const opts: tls.TlsOptions = { key: fs.readFileSync(pair.keyFile), cert: fs.readFileSync(pair.certFile) }
  for (let i = 0; i < args.length; i++) {
    const m = /^-tls1(?:_([123]))?$/.exec(args[i])
    if (m) opts.minVersion = opts.maxVersion = (m[1] ? `TLSv1.${m[1]}` : 'TLSv1') as tls.SecureVersion
    else if (args[i] === '-cipher') opts.ciphers = args[++i]
    else throw new Error(`opensslServer on win32: s_server flag ${args[i]} has no Node equivalent here`)
  }
  const srv = await tlsServer({ key: opts.key as Buffer, cert: opts.cert as Buffer }, (s) => s.pipe(s), opts)
  return { port: srv.port, proc: null as unknown as ChildProcess, close: () => srv.close() }
}

/** `openssl s_server` as an independent peer; resolves once it accepts connections. */
export async function opensslServer(pair: { keyFile: string; certFile: string }, args: string[] = []): Promise<{ port: number; proc: ChildProcess; close(): Promise<void> }> {
  if (process.platform === 'win32') return opensslServerWin32(pair, args)
  for (let attempt = 0; ; attempt++) {
    const port = await closedPort()
    const proc = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-key', pair.keyFile, '-cert', pair.certFile, ...args], {
      stdio: ['pipe', 'pipe', 'pipe']
    })
    const ok = await new Promise<boolean>((resolve) => {
      let out = ''
      const timer = setTimeout(() => resolve(false), 5000)
      const onData = (d: Buffer) => {
        out += d
        if (/ACCEPT/.test(out)) {
          clearTimeout(timer)
          resolve(true)
        }
      }
      proc.stdout.on('data', onData)
      proc.stderr.on('data', onData)
      proc.on('exit', () => {
        clearTimeout(timer)
        resolve(false)
      })
    })
    if (ok) {
      return {
        port,
        proc,
        close: () =>
          new Promise<void>((resolve) => {
            if (proc.exitCode !== null) return resolve()
            proc.on('exit', () => resolve())
            proc.kill()
          })
      }
    }
    proc.kill()
    if (attempt >= 3) throw new Error('openssl s_server did not start')
  }
}
