/**
 * TLSStream: a stream.Duplex over one native connection, shaped like
 * tls.TLSSocket so that code written for Node's TLS (http clients, agents,
 * protocol libraries) can use it unchanged.
 *
 * Readiness comes from libuv polling the connection's OS handle (Watcher), so
 * steady-state I/O never blocks the JS thread and never occupies a worker
 * thread. A backend without a pollable handle falls back to tls_wait on
 * koffi's worker threads.
 */
import { Duplex } from 'node:stream'
import { NativeConn, WANT_READ, WANT_WRITE, POLL_NOW } from './native'
import { Watcher, PollEvents } from './poll'
import { TLSError } from './errors'
import { PeerCertificate, certFromPem, chainFromPem, splitPem } from './cert'
import { addressFamily } from './ip'
import { admitLoneStep, admitStep, forgetStep, runStep, stepClock, warmTurnCode } from './turn'
import { sharedText } from './shared-text'
import { ConnectOptions, OnReadOptions, applyConnectOptions, asBadValue, checkConnectOptions, checkReadBuffer, servernameOf } from './connect-options'

export type { ConnectOptions, OnReadOptions, TLSVersion } from './connect-options'

const DEFAULT_HANDSHAKE_TIMEOUT = 120_000
const WAIT_SLICE_MS = 50
const SLAB_SIZE = 256 * 1024
const MIN_READ = 16 * 1024
const NO_SLAB = Buffer.alloc(0)
/**
 * Reads of a connection that is not streaming go here first and are copied
 * out at their own size (small ones into Node's shared pool): a reply of a
 * few bytes no longer takes a slab of its own, which for a thousand short
 * connections was 32 MB of fresh memory and the scavenges it forced. One
 * buffer for the process: JS is single-threaded and every read is copied out
 * before the next.
 */
const SCRATCH = Buffer.allocUnsafeSlow(64 * 1024)

/**
 * Streams waiting for I/O. A stream with a pending wait must stay alive even
 * if the program dropped every reference to it (as a net.Socket does); an idle
 * stream nobody references is collected and its connection freed.
 */
const waiting = new Set<TLSStream>()

/** The native resources of one stream: what the finalizer must release. */
interface Resources {
  conn: NativeConn
  watcher: Watcher
}

const finalizer = new FinalizationRegistry<Resources>((r) => {
  r.watcher.close()
  r.conn.free()
})

function abortError(signal: AbortSignal): Error {
  const err = new Error('The operation was aborted', { cause: signal.reason }) as Error & { code: string }
  err.name = 'AbortError'
  err.code = 'ABORT_ERR'
  return err
}

/** The error Node gives a write cut short by destroy() without an error. */
function destroyedError(): Error {
  return Object.assign(new Error('Cannot call write after a stream was destroyed'), { code: 'ERR_STREAM_DESTROYED' })
}

interface PendingWrite {
  buf: Buffer
  off: number
  cb: (err?: Error | null) => void
}

/** Socket options whose refusal has been warned about (once per process). */
const socketOptionWarned = new Set<string>()

export class TLSStream extends Duplex {
  readonly encrypted = true
  /** true when the server's certificate chain and name verified. */
  authorized = false
  /** Why verification failed (only when rejectUnauthorized is false), e.g. DEPTH_ZERO_SELF_SIGNED_CERT. */
  authorizationError: string | null = null
  /** The protocol the server selected by ALPN, or false. */
  alpnProtocol: string | false = false
  readonly servername: string
  connecting = true
  bytesRead = 0
  bytesWritten = 0
  remoteAddress?: string
  remotePort?: number
  remoteFamily?: string
  localAddress?: string
  localPort?: number

  readonly #res: Resources
  /** The onread option: reads go to the caller's buffer and callback, never to 'data'. */
  readonly #onread: OnReadOptions | null
  /** What onread.buffer() returned for a read that found nothing: the next read uses it. */
  #unusedCallerBuffer: Uint8Array | null = null
  #open = false
  #wantRead = false
  #readEnded = false
  #pending: PendingWrite | null = null
  #finalCb: ((err?: Error | null) => void) | null = null
  #pumping = false
  #again = false
  #immediate: NodeJS.Immediate | null = null
  #slab = NO_SLAB
  #slabOff = 0
  /** The last read filled at least MIN_READ: the next ones go to a slab. */
  #streaming = false
  /** Events the last read said it must wait for before reading again (0: read on). */
  #readWait = 0
  /** Bytes went out after the last read: a reply may be back without a poll (_read). */
  #wroteSinceRead = false
  /** The OS handle once open (it no longer changes then); -1 before. */
  #handle = -1
  #idleMs = 0
  #idleTimer: NodeJS.Timeout | null = null
  #handshakeTimer: NodeJS.Timeout | null = null
  /** Set-up's own timer (tls_polltimeout: the next address to race). */
  #setupTimer: NodeJS.Timeout | null = null
  #signal?: AbortSignal
  #onAbort?: () => void
  #sessionReused = false
  #proxyChoice: ProxyChoiceInfo | undefined
  #protocol: string | null = null
  #cipher: string | null = null
  #peerChainPem: string | null = null

  constructor(options: ConnectOptions) {
    super({ allowHalfOpen: options.allowHalfOpen ?? false, highWaterMark: options.highWaterMark })
    const startedAt = stepClock()
    const { host, port } = checkConnectOptions(options)
    this.servername = servernameOf(options, host)
    // Taken as it is now, as Node does (checked above).
    this.#onread = options.onread ? { buffer: options.onread.buffer, callback: options.onread.callback } : null
    if (this.#onread) {
      // With onread, pause(), resume() and read() also stop and start the
      // reads, as net.Socket's do. Own methods, so that the read() Readable
      // calls for every chunk of every other stream stays Readable's own.
      this.pause = () => {
        this.#wantRead = false
        return super.pause()
      }
      this.resume = () => {
        super.resume()
        this.#readOnAgain()
        return this
      }
      this.read = (size?: number) => {
        this.#readOnAgain()
        return super.read(size)
      }
    }

    let conn: NativeConn
    try {
      conn = new NativeConn(host, port)
    } catch (e) {
      throw asBadValue(e)
    }
    this.#res = { conn, watcher: new Watcher(TLSStream.#weakDriver(new WeakRef(this))) }
    finalizer.register(this, this.#res, this)

    try {
      applyConnectOptions(conn, options)
      if (options.keepAlive) this.setKeepAlive(true, options.keepAliveInitialDelay ?? 0)
    } catch (e) {
      this.#release()
      throw e
    }

    if (options.timeout) this.setTimeout(options.timeout)
    const hsMs = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT
    if (hsMs > 0) {
      this.#handshakeTimer = setTimeout(() => {
        this.destroy(new TLSError('TLS_TIMEOUT', `no TLS connection to ${host}:${port} within ${hsMs} ms (DNS, TCP connect and handshake)`))
      }, hsMs)
      this.#handshakeTimer.unref()
    }
    if (options.signal) {
      const signal = options.signal
      if (signal.aborted) {
        process.nextTick(() => this.destroy(abortError(signal)))
        return
      }
      this.#signal = signal
      this.#onAbort = () => this.destroy(abortError(signal))
      signal.addEventListener('abort', this.#onAbort, { once: true })
    }
    waiting.add(this)
    // Start on the next tick so that listeners attached after connect() returns
    // see every event; over this turn's set-up budget, in a later turn (the
    // queue is drained after the ticks, so the same holds).
    // The call's own work counts against the budget (a process's first call
    // takes a few ms: its first step then waits for the next turn).
    if (admitStep(this, startedAt)) process.nextTick(() => this.#drive())
  }

  /**
   * The watcher reaches the stream only through a WeakRef: while idle, nothing
   * native keeps the stream alive, so a dropped stream can be collected. Made in
   * a static method so the closure's scope holds nothing but the WeakRef (a
   * closure made in the constructor would share a scope that holds `this`).
   */
  static #weakDriver(ref: WeakRef<TLSStream>): (ev: PollEvents) => void {
    return (ev) => {
      const s = ref.deref()
      if (s) s.#drive(ev)
    }
  }

  /** The step the turn budget queued (ts/turn.ts) is due. */
  [runStep](): void {
    this.#drive(undefined, true)
  }

  /** Called when the OS handle is ready (or a fallback wait returned): moves the connection on. */
  #drive(ev?: PollEvents, admitted = false): void {
    // While a fallback wait runs on a worker thread, its completion drives us.
    if (this.destroyed || this.#res.conn.freed || this.#res.conn.busy) return
    // A read that found nothing waits for what it named; another wake-up (say,
    // writable while sending) is no reason to try it again.
    // An error or hang-up ends every wait: the next call says what happened.
    const rw = this.#readWait
    if (rw && (!ev || ev.error || ev.disconnect || (ev.readable && rw & WANT_READ) || (ev.writable && rw & WANT_WRITE))) this.#readWait = 0
    const { conn, watcher } = this.#res
    if (this.#open) {
      // Over this turn's budget, the wake-up waits for a later turn (ts/turn.ts);
      // the handle is not watched meanwhile, and #pump watches it again.
      // The only stream waiting cannot share its turn with another's steps.
      if (!admitted && !(waiting.size <= 1 ? admitLoneStep(this) : admitStep(this))) return watcher.stop()
      return this.#pump()
    }
    // During set-up the library may close the handle we watch: let go of it first.
    watcher.close()
    // Over this turn's budget, the step waits for a later turn; the
    // handle is not watched meanwhile (libuv would report it every turn).
    if (!admitted && !admitStep(this)) return
    if (this.#setupTimer) clearTimeout(this.#setupTimer)
    this.#setupTimer = null
    let done: boolean
    try {
      done = conn.handshake()
    } catch (e) {
      // A bad option value (a ca, a client key and its passphrase) is found
      // when set-up starts, before any connection: the caller's mistake.
      this.destroy(asBadValue(e) as Error)
      return
    }
    if (done) return this.#onSecure()
    this.#wait(WANT_READ | WANT_WRITE)
    if (this.destroyed || conn.busy) return // a tls_wait fallback honours the timer itself
    // While addresses are raced, only the newest attempt is the watched handle;
    // the library also needs a call when the next one is due.
    const ms = conn.pollTimeout()
    if (ms >= 0) {
      this.#setupTimer = setTimeout(() => {
        this.#setupTimer = null
        this.#drive()
      }, ms)
      if (!watcher.refed) this.#setupTimer.unref()
    }
  }

  #onSecure(): void {
    const conn = this.#res.conn
    this.#open = true
    this.connecting = false
    if (this.#handshakeTimer) clearTimeout(this.#handshakeTimer)
    this.#handshakeTimer = null
    try {
      // One FFI call for all of them (tls_info "summary", in this order).
      const [verify, protocol, reused, cipher, remoteAddress, remotePort, localAddress, localPort, ...alpnLines] =
        conn.info('summary').split('\n')
      const alpn = alpnLines.join('\n')
      this.authorized = verify === 'ok'
      this.authorizationError = this.authorized ? null : verify || 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
      this.alpnProtocol = alpn ? sharedText(alpn) : false
      this.#protocol = protocol ? sharedText(protocol) : null
      this.#sessionReused = reused === '1'
      this.#cipher = cipher ? sharedText(cipher) : null
      this.remoteAddress = remoteAddress ? sharedText(remoteAddress) : undefined
      this.remotePort = Number(remotePort) || undefined
      this.remoteFamily = this.remoteAddress ? addressFamily(this.remoteAddress) : undefined
      this.localAddress = localAddress ? sharedText(localAddress) : undefined
      this.localPort = Number(localPort) || undefined
      const source = conn.info('proxy_source')
      if (source) {
        const url = conn.info('proxy_url')
        this.#proxyChoice = { source, reason: conn.info('proxy_reason'), ...(url ? { url } : {}) }
      }
    } catch (e) {
      this.destroy(e as Error)
      return
    }
    this.#touch()
    this.emit('connect')
    this.emit('secureConnect')
    // With onread nothing calls _read(): reading starts once connected unless
    // paused, as net.Socket's does.
    if (this.#onread && !this.isPaused()) this.#wantRead = true
    // The step that finished the handshake may have used this turn's budget
    // (the server's flight: 1-2 ms of the OS library's CPU): the first reads
    // and writes are a step of their own (ts/turn.ts).
    if (!this.destroyed && admitStep(this)) this.#pump()
  }

  /** Moves data both ways as far as the OS allows without waiting, then waits for what is left. */
  #pump(): void {
    if (this.#res.conn.busy) return
    if (this.#pumping) {
      this.#again = true
      return
    }
    this.#pumping = true
    try {
      do {
        this.#again = false
        if (!this.#flush() || !this.#fill()) return
      } while (this.#again && !this.destroyed)
      if (!this.destroyed) this.#rearm()
    } finally {
      this.#pumping = false
    }
  }

  /** Writes pending data, then the shutdown once all is written. false if the stream died. */
  #flush(): boolean {
    const conn = this.#res.conn
    try {
      while (this.#pending) {
        const p = this.#pending
        const n = conn.write(p.off === 0 ? p.buf : p.buf.subarray(p.off))
        if (n > 0) {
          p.off += n
          this.bytesWritten += n
          this.#wroteSinceRead = true
          this.#touch()
        }
        if (p.off < p.buf.length) return true
        this.#pending = null
        p.cb()
      }
      if (this.#finalCb && this.#shutdown()) {
        const cb = this.#finalCb
        this.#finalCb = null
        cb()
      }
      return !this.destroyed
    } catch (e) {
      this.destroy(e as Error)
      return false
    }
  }

  /**
   * Sends close_notify. Once the peer has finished sending, it may already have
   * closed its socket, so a reset while saying goodbye is a normal end, not an
   * error (all our data was written before this point).
   */
  #shutdown(): boolean {
    try {
      return this.#res.conn.shutdown()
    } catch (e) {
      if (this.#readEnded && (e as TLSError).tlsCode === 'TLS_CONNECTION_RESET') return true
      throw e
    }
  }

  /** Reads while the consumer wants data. false if the stream died. */
  #fill(): boolean {
    if (this.#onread) return this.#fillCallerBuffer(this.#onread)
    const conn = this.#res.conn
    try {
      while (this.#wantRead && !this.#readEnded && !this.#readWait) {
        // A slab only while data streams in (the last read filled MIN_READ):
        // chunks are then views of it, never copied.
        let scratch = false
        if (this.#slab.length - this.#slabOff < MIN_READ) {
          scratch = !this.#streaming
          this.#slab = scratch ? NO_SLAB : Buffer.allocUnsafe(SLAB_SIZE)
          this.#slabOff = 0
        }
        const n = conn.read(scratch ? SCRATCH : this.#slab.subarray(this.#slabOff))
        this.#readWait = conn.readWait
        this.#wroteSinceRead = false
        if (n === 0) {
          // Nothing came: an idle connection keeps no slab (this one is still unused).
          if (this.#slabOff === 0) this.#slab = NO_SLAB
          break
        }
        if (n < 0) {
          this.#readEnded = true
          this.push(null)
          break
        }
        this.#streaming = n >= MIN_READ
        let chunk: Buffer
        if (scratch) {
          chunk = Buffer.allocUnsafe(n)
          SCRATCH.copy(chunk, 0, 0, n)
        } else {
          chunk = this.#slab.subarray(this.#slabOff, this.#slabOff + n)
          this.#slabOff += n
        }
        this.bytesRead += n
        this.#touch()
        if (!this.push(chunk)) this.#wantRead = false
      }
      return !this.destroyed
    } catch (e) {
      this.destroy(e as Error)
      return false
    }
  }

  /**
   * #fill for the onread option: each read goes into the caller's buffer,
   * memory the caller reuses and so still in the cache (a chunk handed out
   * must be fresh memory each time), and no chunk is pushed.
   */
  #fillCallerBuffer(onread: OnReadOptions): boolean {
    const conn = this.#res.conn
    const { buffer, callback } = onread
    const perRead = typeof buffer === 'function'
    try {
      while (this.#wantRead && !this.#readEnded && !this.#readWait && !this.destroyed) {
        // Checked on every read: a buffer whose memory was transferred since is empty.
        const buf = perRead
          ? checkReadBuffer(this.#unusedCallerBuffer ?? buffer(), 'onread.buffer()')
          : checkReadBuffer(buffer, 'onread.buffer')
        this.#unusedCallerBuffer = null
        const n = conn.read(buf)
        this.#readWait = conn.readWait
        this.#wroteSinceRead = false
        if (n === 0) {
          if (perRead) this.#unusedCallerBuffer = buf
          break
        }
        if (n < 0) {
          this.#readEnded = true
          this.push(null)
          // Nobody may be reading the (empty) stream: 'end' still comes.
          this.read(0)
          break
        }
        this.bytesRead += n
        this.#touch()
        if (callback(n, buf) === false) this.#wantRead = false
      }
      return !this.destroyed
    } catch (e) {
      this.destroy(e as Error)
      return false
    }
  }

  /** onread: reading goes on after pause() or the callback's false. */
  #readOnAgain(): void {
    if (this.#wantRead || this.#readEnded || this.destroyed) return
    this.#wantRead = true
    this.#readWait = 0
    if (this.#open) this.#pump()
  }

  /** Waits for whatever the connection still needs to do; stops waiting when nothing is wanted. */
  #rearm(): void {
    const want = (this.#wantRead && !this.#readEnded ? WANT_READ : 0) | (this.#pending || this.#finalCb ? WANT_WRITE : 0)
    if (want === 0) {
      this.#res.watcher.stop()
      waiting.delete(this)
      return
    }
    this.#wait(want)
  }

  #wait(want: number): void {
    const { conn, watcher } = this.#res
    let handle: number
    let events: number
    try {
      if (this.#handle >= 0) {
        handle = this.#handle
        events = conn.pollEvents(want)
      } else {
        ;({ handle, events } = conn.pollHandle(want))
        if (this.#open) this.#handle = handle
      }
    } catch (e) {
      this.destroy(e as Error)
      return
    }
    waiting.add(this)
    if (events & POLL_NOW) {
      watcher.stop()
      this.#immediate ??= setImmediate(() => {
        this.#immediate = null
        this.#drive()
      })
      return
    }
    if (handle >= 0) return watcher.watch(handle, events)
    conn.waitAsync(want, WAIT_SLICE_MS, (err) => {
      if (err) this.destroy(err)
      else this.#drive()
    })
  }

  override _read(): void {
    // Try the read even if the last one found nothing when data may have come
    // since: the consumer had stopped reading (nothing watched for it), or we
    // have written since (a reply may be back: that saves a trip through the
    // poll about half of the time in ping-pong). Otherwise the poll is already
    // watching: Readable asks again right after every chunk it hands out, and
    // trying then cost a recv() that failed with EAGAIN (issue 15).
    if (!this.#wantRead || this.#wroteSinceRead) this.#readWait = 0
    this.#wantRead = true
    if (this.#open) this.#pump()
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#pending = { buf: chunk, off: 0, cb }
    if (this.#open) this.#pump()
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    // One buffer for many small writes: fewer TLS records and fewer FFI calls.
    this._write(Buffer.concat(chunks.map((c) => c.chunk)), 'binary', cb)
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#finalCb = cb
    if (this.#open) this.#pump()
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Readable may otherwise go on emitting chunks it had buffered before destroy().
    this.pause()
    this.connecting = false
    this.#release()
    // The write (and the end()) in progress get the error: their callbacks
    // must not be dropped, or writableLength never goes back and code that
    // awaits the write waits forever. Node errors the writes queued behind it.
    const pending = this.#pending
    const final = this.#finalCb
    this.#pending = this.#finalCb = null
    // Made only when a callback gets it: an Error's stack trace is costly, and
    // most streams end with neither a write nor an end() in progress.
    if (pending || final) {
      const reason = err ?? destroyedError()
      pending?.cb(reason)
      final?.(reason)
    }
    cb(err)
  }

  #release(): void {
    if (this.#handshakeTimer) clearTimeout(this.#handshakeTimer)
    if (this.#idleTimer) clearTimeout(this.#idleTimer)
    if (this.#immediate) clearImmediate(this.#immediate)
    if (this.#setupTimer) clearTimeout(this.#setupTimer)
    this.#handshakeTimer = this.#idleTimer = this.#immediate = this.#setupTimer = null
    if (this.#signal && this.#onAbort) this.#signal.removeEventListener('abort', this.#onAbort)
    waiting.delete(this)
    forgetStep(this)
    finalizer.unregister(this)
    // Order matters: libuv lets go of the handle before the library closes it.
    this.#res.watcher.close()
    this.#res.conn.free()
  }

  #touch(): void {
    this.#idleTimer?.refresh()
  }

  /** Emits 'timeout' after ms of inactivity (0 disables), like net.Socket#setTimeout. */
  setTimeout(ms: number, callback?: () => void): this {
    if (this.#idleTimer) clearTimeout(this.#idleTimer)
    this.#idleTimer = null
    this.#idleMs = ms
    if (ms > 0) {
      this.#idleTimer = setTimeout(() => this.emit('timeout'), ms)
      this.#idleTimer.unref()
      if (callback) this.once('timeout', callback)
    } else if (callback) {
      this.removeListener('timeout', callback)
    }
    return this
  }

  get timeout(): number | undefined {
    return this.#idleMs || undefined
  }

  setNoDelay(noDelay = true): this {
    this.#socketOption('nodelay', noDelay ? '1' : '0')
    return this
  }

  /** TCP keep-alive; an initial delay of 0 means 60 s. */
  setKeepAlive(enable = false, initialDelay = 0): this {
    const secs = enable ? Math.max(1, Math.ceil((initialDelay || 60_000) / 1000)) : 0
    this.#socketOption('keepalive', String(secs))
    return this
  }

  /**
   * As net.Socket's setters, these never throw: Node's own http Agent calls
   * setKeepAlive on every socket it pools. A change the engine refuses (the
   * Network.framework engine fixes TCP options when the connection is made)
   * becomes one process warning per option instead of being ignored silently;
   * on a closed stream there is nothing to change.
   */
  #socketOption(key: 'nodelay' | 'keepalive', value: string): void {
    if (this.#res.conn.freed || this.destroyed) return
    try {
      this.#res.conn.setOption(key, value)
    } catch (e) {
      if (!(e instanceof TLSError) || socketOptionWarned.has(key)) return
      let state = ''
      try {
        state = this.#res.conn.info('state')
      } catch {}
      if (this.#res.conn.freed || this.destroyed || state === 'closed') return
      socketOptionWarned.add(key)
      process.emitWarning(e.message, { type: 'OstlsWarning', code: e.tlsCode })
    }
  }

  ref(): this {
    this.#res.watcher.ref()
    this.#setupTimer?.ref()
    return this
  }

  unref(): this {
    this.#res.watcher.unref()
    this.#setupTimer?.unref()
    return this
  }

  address(): { address: string; family: string; port: number } | Record<string, never> {
    if (!this.localAddress) return {}
    return { address: this.localAddress, family: addressFamily(this.localAddress), port: this.localPort ?? 0 }
  }

  get pending(): boolean {
    return !this.#open
  }

  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.destroyed) return 'closed'
    if (!this.#open) return 'opening'
    if (this.readable && this.writable) return 'open'
    if (this.readable) return 'readOnly'
    if (this.writable) return 'writeOnly'
    return 'closed'
  }

  /** Negotiated version, e.g. "TLSv1.3"; null before the handshake. */
  /**
   * How the `proxy` option was resolved, once connected: source "option" (a
   * URL), or for 'system' the OS's answer — "static", "pac", "wpad",
   * "bypass", "direct", "none" — with the reason in words, and the URL the OS
   * chose. undefined without the option.
   */
  getProxyChoice(): ProxyChoiceInfo | undefined {
    return this.#proxyChoice
  }

  getProtocol(): string | null {
    return this.#protocol
  }

  /**
   * The cipher suite; name and standardName are both the IANA name on every
   * backend. Typed, as Node types tls.TLSSocket#getCipher, for use after
   * 'secureConnect'; before it, the value is undefined.
   */
  getCipher(): CipherInfo {
    // A new object per call, as Node's: what a caller does to it stays its own.
    const name = this.#cipher
    return (name ? { name, standardName: name, version: this.#protocol ?? '' } : undefined) as CipherInfo
  }

  /** The server's certificate ({} before the handshake or when none). detailed: link the chain. */
  getPeerCertificate(detailed = false): PeerCertificate | Record<string, never> {
    if (this.#peerChainPem === null && this.#open && !this.#res.conn.freed) {
      this.#peerChainPem = this.#res.conn.info('peer_chain')
    }
    if (!this.#peerChainPem) return {}
    return (detailed ? chainFromPem(this.#peerChainPem) : certFromPem(splitPem(this.#peerChainPem)[0])) ?? {}
  }

  /** Diagnostics from the native library (tls_info keys: protocol, cipher, verify_result, …). */
  nativeInfo(key: string): string {
    return this.#res.conn.info(key)
  }

  /** Always undefined: ostls's sessions stay in its own cache (see the sessionCache option). */
  getSession(): undefined {
    return undefined
  }

  /** true when the handshake resumed a session from ostls's cache (no certificate was sent: the
   * verification result and peer certificate are those of the connection that made the session). */
  isSessionReused(): boolean {
    return this.#sessionReused
  }
}

/** TLSStream#getProxyChoice(): how the `proxy` option was resolved. */
export interface ProxyChoiceInfo {
  /** "option", or for 'system': "static", "pac", "wpad", "bypass", "direct", "none", "engine". */
  source: string
  /** The same in words. */
  reason: string
  /** For 'system': the proxy URL the OS chose (no user:password); absent when direct or for a URL option. */
  url?: string
}

export interface CipherInfo {
  name: string
  standardName: string
  version: string
}

/** What 'error' listeners receive: a TLSError from the connection, or Node's own stream and abort errors. */
export type TLSStreamError = Error & Partial<Pick<TLSError, 'code' | 'tlsCode' | 'osError' | 'verifyResult'>>

// Listener types for the events a TLSStream emits beyond Duplex's, so that
// `socket.on('error', (err) => err.tlsCode)` type-checks. Any other event
// keeps Duplex's typing through the catch-all overload.
export interface TLSStream {
  on(event: 'error', listener: (err: TLSStreamError) => void): this
  on(event: 'connect' | 'secureConnect' | 'timeout' | 'end' | 'close' | 'drain' | 'finish' | 'readable', listener: () => void): this
  on(event: 'data', listener: (chunk: Buffer | string) => void): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
  once(event: 'error', listener: (err: TLSStreamError) => void): this
  once(event: 'connect' | 'secureConnect' | 'timeout' | 'end' | 'close' | 'drain' | 'finish' | 'readable', listener: () => void): this
  once(event: 'data', listener: (chunk: Buffer | string) => void): this
  once(event: string | symbol, listener: (...args: any[]) => void): this
  addListener(event: 'error', listener: (err: TLSStreamError) => void): this
  addListener(event: string | symbol, listener: (...args: any[]) => void): this
  prependListener(event: 'error', listener: (err: TLSStreamError) => void): this
  prependListener(event: string | symbol, listener: (...args: any[]) => void): this
}

/**
 * Node compiles its stream code on first use (about 1 ms, once per process,
 * measured inside a process's first connect(); as much again for flowing
 * mode, 'end' and destroy() when the first reply arrives), and so does V8
 * for the turn budget's own functions: the package's entry point runs them
 * on a throwaway Duplex and two steps that do nothing, in a task of its own
 * instead (index.ts).
 */
export function warmStreamCode(): void {
  const d = new Duplex({ read() {}, write: (_chunk, _enc, cb) => cb() })
  d.on('data', () => {})
  d.on('end', () => d.destroy())
  d.push(Buffer.allocUnsafe(1))
  d.push(null)
  d.end()
  warmTurnCode()
}

/** Opens a TLS connection through the OS's TLS stack. */
export function connect(options: ConnectOptions, onSecureConnect?: () => void): TLSStream {
  const s = new TLSStream(options)
  if (onSecureConnect) s.once('secureConnect', onSecureConnect)
  return s
}
