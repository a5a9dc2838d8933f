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

/** A Node TLS server for `pair` that staples `response` (DER; null: none) when the client asks; asked counts the asks. */
export async function staplingServer(pair: KeyPair, response: Buffer | null, asked: { count: number } = { count: 0 }): Promise<TestServer> {
  const srv = await tlsServer(pair)
  srv.server.on('OCSPRequest', (_cert: Buffer, _issuer: Buffer, cb: (err: Error | null, resp?: Buffer) => void) => {
    asked.count++
    cb(null, response ?? undefined)
  })
  return srv
}

/**
 * A half-closing server: it ends its side at once with `reply` and keeps
 * reading; received() is what the client sent, after the server's end.
 */
export async function endsFirstServer(pair: KeyPair, reply: string): Promise<TestServer & { received(): string }> {
  let got = ''
  const srv = await tlsServer(
    pair,
    (s) => {
      s.setEncoding('utf8')
      s.on('data', (d: string) => (got += d))
      s.end(reply)
    },
    { allowHalfOpen: true }
  )
  return Object.assign(srv, { received: () => got })
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

/** Resolves once something accepts TCP connections on 127.0.0.1:port (tries for up to 5 s). */
export async function listening(port: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy()
        resolve(true)
      })
      s.on('error', () => resolve(false))
    })
    if (ok) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return false
}

export interface Sink {
  port: number
  /** Bytes received so far and their SHA-256 (hex). */
  received(): { bytes: number; sha256: string }
  /** Resolves once at least n bytes have arrived (or the server exited). */
  reached(n: number): Promise<void>
  /** One s_server command line (e.g. 'R': renegotiate, asking for a client certificate). */
  command(line: string): void
  close(): Promise<void>
}

/**
 * `openssl s_server -quiet` as an upload sink: with -quiet its stdout is
 * exactly the application bytes the client sent, which are hashed here; its
 * stdin takes s_server's one-letter commands. Linux only (the openssl binary).
 */
export async function opensslSink(pair: { keyFile: string; certFile: string }, args: string[] = []): Promise<Sink> {
  const crypto = await import('node:crypto')
  const port = await closedPort()
  const proc = spawn('openssl', ['s_server', '-quiet', '-accept', `127.0.0.1:${port}`, '-key', pair.keyFile, '-cert', pair.certFile, ...args], {
    stdio: ['pipe', 'pipe', 'pipe']
  })
  const hash = crypto.createHash('sha256')
  let bytes = 0
  let waiters: Array<() => void> = []
  const wake = () => {
    const w = waiters
    waiters = []
    for (const f of w) f()
  }
  proc.stdout.on('data', (d: Buffer) => {
    hash.update(d)
    bytes += d.length
    wake()
  })
  proc.stderr.on('data', () => {})
  proc.on('exit', wake)
  // The readiness probe is one failed handshake for s_server; it goes on accepting.
  if (!(await listening(port))) {
    proc.kill()
    throw new Error('openssl s_server did not start')
  }
  return {
    port,
    received: () => ({ bytes, sha256: hash.copy().digest('hex') }),
    reached: async (n) => {
      while (bytes < n && proc.exitCode === null) await new Promise<void>((r) => waiters.push(r))
    },
    command: (line) => proc.stdin.write(line + '\n'),
    close: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve()
        proc.on('exit', () => resolve())
        proc.kill()
      })
  }
}

/**
 * A Node TLS server that hashes what each client sends and, when the client
 * ends, answers `<bytes> <sha256 hex>` and ends too. onData sees every chunk
 * with the running total (to act mid-upload, e.g. renegotiate).
 */
export async function hashServer(
  pair: KeyPair,
  extra: tls.TlsOptions = {},
  onData: (s: tls.TLSSocket, total: number) => void = () => {}
): Promise<TestServer> {
  const crypto = await import('node:crypto')
  return tlsServer(
    pair,
    (s) => {
      const hash = crypto.createHash('sha256')
      let total = 0
      s.on('data', (d: Buffer) => {
        hash.update(d)
        total += d.length
        onData(s, total)
      })
      s.on('end', () => s.end(`${total} ${hash.digest('hex')}`))
    },
    { allowHalfOpen: true, ...extra }
  )
}

/**
 * A TCP server that answers the client's first bytes (its ClientHello) with
 * `reply`, verbatim, then closes after closeAfterMs: a peer that is not TLS,
 * or a broken one.
 */
export async function scriptedServer(reply: Buffer, closeAfterMs = 200): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((s) => {
    s.on('error', () => {})
    s.once('data', () => {
      s.write(reply)
      setTimeout(() => s.end(), closeAfterMs)
    })
  })
  const close = closer(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as net.AddressInfo).port, close }
}
