/**
 * A small scriptable evil server for the peer-fault tests: raw TCP servers that
 * answer with chosen bytes, and a byte-level TCP proxy in front of a real TLS
 * server that can split the stream into tiny segments, truncate it, stall it
 * or reset it at a chosen byte. Node-only (no external tools, no root), so the
 * same tests run under Wine.
 */
import net from 'node:net'
import { Worker } from 'node:worker_threads'
import { setImmediate as tick } from 'node:timers/promises'
import { closer } from './servers'

/** A TCP server on 127.0.0.1 that hands each accepted socket to onConnection. */
export async function rawServer(onConnection: (s: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {})
    onConnection(s)
  })
  const close = closer(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as net.AddressInfo).port, close }
}

/** One TLS record. */
export function record(type: number, version: number, body: Buffer): Buffer {
  const h = Buffer.alloc(5)
  h[0] = type
  h.writeUInt16BE(version, 1)
  h.writeUInt16BE(body.length, 3)
  return Buffer.concat([h, body])
}

/** A plaintext fatal alert record (description: 40 handshake_failure, 70 protocol_version, ...). */
export const fatalAlert = (description: number): Buffer => record(21, 0x0303, Buffer.from([2, description]))

/** A ServerHello record for an old protocol version (0x0300 SSLv3, 0x0301 TLS 1.0), suite TLS_RSA_WITH_AES_128_CBC_SHA. */
export function oldServerHello(version: number): Buffer {
  const body = Buffer.concat([
    Buffer.from([version >> 8, version & 0xff]),
    Buffer.alloc(32, 0x42), // random
    Buffer.from([0]), // no session id
    Buffer.from([0x00, 0x2f]), // cipher suite
    Buffer.from([0]) // no compression
  ])
  const hs = Buffer.concat([Buffer.from([2, 0, 0, body.length]), body])
  return record(22, version, hs)
}

/**
 * What to do once a direction has carried `after` bytes: 'reset' sends RST to
 * the client, 'end' closes the client's side with a FIN (truncation: no
 * close_notify unless it was already in the bytes), 'stall' stops forwarding
 * and reading in that direction (the connection stays open).
 */
export interface Fault {
  after: number
  then: 'reset' | 'end' | 'stall'
  /** Fire only once the TLS record in which `after` falls has been forwarded whole. */
  atRecordEnd?: boolean
}

/** Follows TLS record boundaries in a byte stream: how many bytes finish the current record. */
function recordCursor() {
  const header: number[] = []
  let bodyLeft = 0
  return {
    feed(b: Buffer) {
      for (let i = 0; i < b.length; ) {
        if (bodyLeft > 0) {
          const k = Math.min(bodyLeft, b.length - i)
          bodyLeft -= k
          i += k
          continue
        }
        header.push(b[i++])
        if (header.length === 5) {
          bodyLeft = (header[3] << 8) | header[4]
          header.length = 0
        }
      }
    },
    /** 0 on a boundary; else the bytes to the end of the header, or of the body. */
    left: () => (header.length ? 5 - header.length : bodyLeft)
  }
}

export interface ProxyOptions {
  /** Largest write in each direction: 1 sends every byte as its own TCP segment. */
  segment?: number
  /** Fault on the server → client direction. */
  toClient?: Fault
  /** Fault on the client → server direction. */
  toServer?: Fault
}

export interface FaultProxy {
  port: number
  /** Bytes forwarded so far toward the client / toward the server. */
  readonly toClient: number
  readonly toServer: number
  /** Resolves once a fault has fired. */
  faulted: Promise<void>
  /** Sends RST on every client connection now. */
  reset(): void
  close(): Promise<void>
}

/** A TCP proxy on 127.0.0.1 in front of 127.0.0.1:targetPort that misbehaves as told. */
export async function faultProxy(targetPort: number, opts: ProxyOptions = {}): Promise<FaultProxy> {
  const clients = new Set<net.Socket>()
  let fired!: () => void
  const faulted = new Promise<void>((r) => (fired = r))
  const counts = { toClient: 0, toServer: 0 }
  const act = (client: net.Socket, upstream: net.Socket, f: Fault) => {
    fired()
    if (f.then === 'reset') {
      client.resetAndDestroy()
      upstream.destroy()
    } else if (f.then === 'end') {
      client.end()
      upstream.destroy()
    }
  }
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    clients.add(client)
    client.on('close', () => clients.delete(client))
    client.setNoDelay(true)
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort, allowHalfOpen: true, noDelay: true })
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
    client.on('close', () => upstream.destroy())
    forward(upstream, client, opts.segment, opts.toClient, (n) => (counts.toClient += n), (f) => act(client, upstream, f))
    forward(client, upstream, opts.segment, opts.toServer, (n) => (counts.toServer += n), (f) => act(client, upstream, f))
  })
  const close = closer(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    get toClient() {
      return counts.toClient
    },
    get toServer() {
      return counts.toServer
    },
    faulted,
    reset: () => {
      for (const c of clients) if (!c.destroyed) c.resetAndDestroy()
    },
    close
  }
}

/** Copies from → to in writes of at most `segment` bytes, honouring backpressure, until the fault. */
function forward(from: net.Socket, to: net.Socket, segment: number | undefined, fault: Fault | undefined, count: (n: number) => void, act: (f: Fault) => void): void {
  const queue: Buffer[] = []
  let sent = 0
  let limit = fault ? fault.after : Infinity
  const records = fault?.atRecordEnd ? recordCursor() : undefined
  let busy = false
  let ended = false
  let stopped = false
  const drained = () => new Promise<void>((r) => {
    const done = () => {
      to.off('drain', done)
      to.off('close', done)
      r()
    }
    to.on('drain', done)
    to.on('close', done)
  })
  const pump = async () => {
    if (busy) return
    busy = true
    while (queue.length && !stopped && !to.destroyed) {
      let n = queue[0].length
      if (segment) n = Math.min(n, segment)
      if (fault) n = Math.min(n, limit - sent)
      if (n > 0) {
        const part = queue[0].subarray(0, n)
        queue[0] = queue[0].subarray(n)
        if (!queue[0].length) queue.shift()
        sent += n
        records?.feed(part)
        count(n)
        if (!to.write(part)) await drained()
        if (segment) await tick()
      }
      if (fault && sent >= limit && records?.left()) {
        limit = sent + records.left()
        continue
      }
      if (fault && sent >= limit) {
        stopped = true
        from.pause()
        act(fault)
      }
    }
    busy = false
    if (stopped) return
    if (!queue.length) from.resume()
    if (ended && !queue.length && !to.destroyed) to.end()
  }
  from.on('data', (d: Buffer) => {
    if (stopped) return
    queue.push(d)
    from.pause()
    void pump()
  })
  from.on('end', () => {
    ended = true
    void pump()
  })
}

/** How a stream ended: every error it emitted, the data it delivered, and whether it closed in time. */
export interface Outcome {
  errors: Array<Error & { code?: string; tlsCode?: string }>
  data: Buffer
  ended: boolean
  closed: boolean
  ms: number
}

/** Reads the stream until 'close' or until boundMs pass (then closed is false). */
export function outcome(s: NodeJS.ReadableStream & { destroyed?: boolean }, boundMs: number): Promise<Outcome> {
  const started = Date.now()
  const o: Outcome = { errors: [], data: Buffer.alloc(0), ended: false, closed: false, ms: 0 }
  const chunks: Buffer[] = []
  s.on('error', (e: Error) => o.errors.push(e))
  s.on('data', (c: Buffer) => chunks.push(c))
  s.on('end', () => (o.ended = true))
  return new Promise((resolve) => {
    const finish = (closed: boolean) => {
      clearTimeout(timer)
      o.closed = closed
      o.ms = Date.now() - started
      o.data = Buffer.concat(chunks)
      resolve(o)
    }
    const timer = setTimeout(() => finish(false), boundMs)
    s.once('close', () => finish(true))
  })
}

/**
 * A blackholed address: a listener on host:port (0: any free port) that
 * never accepts and whose accept queue is full, so the OS silently drops new
 * SYNs (Linux with the default tcp_abort_on_overflow=0, and Wine on it): a
 * connect there neither succeeds nor fails until the OS gives up minutes
 * later. Plain Node, loopback only, no root: the listener lives in a worker
 * thread whose event loop is then blocked, and connections fill its queue
 * (backlog 1 holds two on Linux; libuv on Windows has some 32 accepts posted
 * in advance, so it takes more there). Throws if the queue cannot be filled.
 */
export async function blackhole(host: string, port = 0): Promise<{ port: number; close(): Promise<void> }> {
  const gate = new Int32Array(new SharedArrayBuffer(4))
  const worker = new Worker(
    `const net = require('node:net'); const { parentPort, workerData } = require('node:worker_threads')
     const srv = net.createServer()
     srv.on('error', (e) => parentPort.postMessage({ error: e.code || String(e) }))
     srv.listen({ host: workerData.host, port: workerData.port, backlog: 1 }, () => {
       parentPort.postMessage({ port: srv.address().port })
       parentPort.once('message', () => {
         Atomics.wait(workerData.gate, 0, 0)
         srv.close()
         parentPort.close()
       })
     })`,
    { eval: true, workerData: { host, port, gate } }
  )
  const msg = await new Promise<{ port?: number; error?: string }>((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  if (!msg.port) {
    await worker.terminate()
    throw Object.assign(new Error(`blackhole: cannot listen on ${host}:${port}: ${msg.error}`), { code: msg.error })
  }
  worker.postMessage('block')
  await new Promise((r) => setTimeout(r, 50))
  const fillers: net.Socket[] = []
  const connected = (s: net.Socket, ms: number) =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms)
      s.once('connect', () => (clearTimeout(timer), resolve(true)))
      s.once('error', () => (clearTimeout(timer), resolve(false)))
    })
  let full = false
  for (let i = 0; i < 80 && !full; i++) {
    const s = net.connect({ host, port: msg.port })
    s.on('error', () => {})
    fillers.push(s)
    full = !(await connected(s, 300)) // the queue is full: this SYN was dropped
  }
  const close = async () => {
    for (const s of fillers) s.destroy()
    Atomics.store(gate, 0, 1)
    Atomics.notify(gate, 0)
    await new Promise<void>((r) => worker.once('exit', () => r()))
  }
  if (!full) {
    await close()
    throw new Error(`blackhole: ${host} kept accepting connections; no full accept queue here`)
  }
  return { port: msg.port, close }
}
