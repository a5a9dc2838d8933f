/**
 * The koffi binding of c/tls_client.h, and NativeConn: the only object that
 * holds a connection pointer. Every call checks the pointer is still live, so
 * no sequence of JS calls can hand C a freed handle.
 */
import koffi, { LibraryHandle } from 'koffi'
import { candidates, loadFirst, LoadAttempt } from './loader'
import { FailureDetail, TLSError, fromNative } from './errors'

export const WANT_READ = 1
export const WANT_WRITE = 2
export const POLL_NOW = 4

const connType = koffi.opaque()
const connPtr = koffi.pointer(connType)
const str = 'const char *'
const outStr = koffi.out(koffi.pointer(str))

function bind(lib: LibraryHandle) {
  const f = (name: string, ret: string, args: unknown[]) => lib.func(name, ret, [...(args as string[]), outStr, outStr] as never)
  return {
    tls_init: f('tls_init', 'int', []),
    tls_connect: f('tls_connect', 'int', [str, 'int', koffi.out(koffi.pointer(connPtr))]),
    tls_close: f('tls_close', 'int', [connPtr]),
    tls_isopen: f('tls_isopen', 'int', [connPtr, koffi.out(koffi.pointer('int'))]),
    tls_write: f('tls_write', 'int', [connPtr, 'const void *', 'size_t', koffi.out(koffi.pointer('size_t'))]),
    tls_bytesavailable: f('tls_bytesavailable', 'int', [connPtr, koffi.out(koffi.pointer('size_t'))]),
    tls_read: f('tls_read', 'int', [connPtr, 'void *', 'size_t', koffi.out(koffi.pointer('size_t'))]),
    tls_wait: f('tls_wait', 'int', [connPtr, 'int', 'int']),
    tls_free: lib.func('tls_free', 'void', [connPtr]),
    tls_set_option: f('tls_set_option', 'int', [connPtr, str, str]),
    tls_handshake: f('tls_handshake', 'int', [connPtr, koffi.out(koffi.pointer('int'))]),
    tls_pollhandle: f('tls_pollhandle', 'int', [connPtr, 'int', koffi.out(koffi.pointer('int64_t')), koffi.out(koffi.pointer('int'))]),
    tls_shutdown: f('tls_shutdown', 'int', [connPtr, koffi.out(koffi.pointer('int'))]),
    tls_info: f('tls_info', 'int', [connPtr, str, koffi.out(koffi.pointer(str))]),
    // The hot path: no out-parameters to marshal (see c/tls_client.h). The
    // status cell is passed as plain memory (an Int32Array), not as koffi.out.
    tls_read_fast: lib.func('tls_read_fast', 'int64_t', [connPtr, 'void *', 'size_t', 'void *']),
    tls_write_fast: lib.func('tls_write_fast', 'int64_t', [connPtr, 'const void *', 'size_t']),
    tls_pollevents: lib.func('tls_pollevents', 'int', [connPtr, 'int']),
    tls_polltimeout: lib.func('tls_polltimeout', 'int', [connPtr])
  }
}

export type Api = ReturnType<typeof bind>

export interface BindingState {
  ok: boolean
  /** Every library candidate tried, in order, with why each failed. */
  attempts: LoadAttempt[]
  /** Path of the ostls library that loaded, if one did. */
  path?: string
  /** Why the binding is unusable (no library loaded, or tls_init failed). */
  error?: TLSError
  api?: Api
}

let state: BindingState | undefined
/** The library loaded and bound, before (or without) tls_init. */
let library: BindingState | undefined

function loadLibrary(): BindingState {
  if (library) return library
  const { loaded, attempts } = loadFirst(bind, candidates())
  if (!loaded) {
    const tried = attempts.map((a) => `${a.path}: ${a.reason}${a.detail ? ` (${a.detail})` : ''}`).join('; ')
    library = { ok: false, attempts, error: new TLSError('TLS_LIBRARY_NOT_FOUND', `the ostls native library could not be loaded; tried ${tried || 'nothing'}`) }
  } else {
    library = { ok: true, attempts, path: loaded.path, api: loaded.api }
  }
  return library
}

/**
 * Finding the library, checking its headers, loading it and declaring its
 * functions cost 4-5 ms of the JS thread; inside a process's first connect()
 * they made that call hold the event loop 8 ms (issue 15). The package's entry
 * point therefore starts the load in a task of its own, on an unref'd
 * immediate after the module is loaded (a process that exits first never
 * loads it); connect() still loads it itself if that task has not run.
 * Failures are kept, as loadBinding keeps them, for the call that needs it.
 */
export function preloadLibrary(): void {
  if (library) return
  setImmediate(() => {
    loadLibrary()
  }).unref()
}

/**
 * Loads the library and runs tls_init, once per process. Never throws; a failure
 * is kept and reported by every later use (and by `ostls doctor`).
 */
export function loadBinding(): BindingState {
  if (state) return state
  const lib = loadLibrary()
  if (!lib.ok) return (state = lib)
  const api = lib.api as Api
  const err: (string | null)[] = [null]
  const msg: (string | null)[] = [null]
  if (!api.tls_init(err, msg)) {
    state = { ok: false, attempts: lib.attempts, path: lib.path, api, error: fromNative(err[0], msg[0]) }
    return state
  }
  state = { ok: true, attempts: lib.attempts, path: lib.path, api }
  return state
}

function api(): Api {
  const s = loadBinding()
  if (!s.ok) throw s.error
  return s.api as Api
}

/**
 * The binding for a new connection. tls_init is not run here: the first
 * tls_connect starts it on a worker thread and the connection waits for it
 * behind its poll handle (loading the OS's TLS library costs 5-15 ms that
 * would otherwise stall the event loop); a failure of it is the connection's
 * error. Once tls_init has been run here, its failure is thrown at once.
 */
function connApi(): Api {
  if (state) {
    if (!state.ok) throw state.error
    return state.api as Api
  }
  const lib = loadLibrary()
  if (!lib.ok) {
    state = lib
    throw lib.error
  }
  return lib.api as Api
}

// Output cells reused by every synchronous call: JS is single-threaded and each
// call reads its outputs before the next call, so sharing them is safe and
// saves two allocations per call on the data path.
const errOut: (string | null)[] = [null]
const msgOut: (string | null)[] = [null]
const numOut: number[] = [0]
const num2Out: number[] = [0]
const strOut: (string | null)[] = [null]
const waitCell = new Int32Array(1)

/** Library-wide diagnostics (tls_info with no connection). */
export function libraryInfo(key: string): string {
  const a = api()
  if (!a.tls_info(null, key, strOut, errOut, msgOut)) throw fromNative(errOut[0], msgOut[0])
  return strOut[0] ?? ''
}

/** One engine of the library's build, and what became of it at tls_init. */
export interface EngineStatus {
  /** "openssl", "schannel", "network", … (the value OSTLS_BACKEND takes). */
  name: string
  /** "loaded": the one in use; "failed": tried and did not load; "not tried". */
  status: 'loaded' | 'failed' | 'not tried'
  /** Why it was chosen or why it failed (empty when not tried). */
  reason: string
}

/** tls_info "engines": one line per engine, "name\tstatus\twhy" ([] from a library without the key). */
export function parseEngines(text: string): EngineStatus[] {
  return text.split('\n').filter(Boolean).map((line) => {
    const [name, status, ...why] = line.split('\t')
    return { name, status: status as EngineStatus['status'], reason: why.join('\t') }
  })
}

const forceWait = () => process.env.OSTLS_POLL === 'wait'

/**
 * One native connection. Owns the pointer: after free() (or while an async
 * tls_wait runs on a worker thread) no call reaches C.
 */
export class NativeConn {
  #ptr: unknown
  #a: Api
  #busy = false
  #freeWhenIdle = false

  constructor(host: string, port: number) {
    this.#a = connApi()
    const out: unknown[] = [null]
    if (!this.#a.tls_connect(host, port, out, errOut, msgOut)) throw fromNative(errOut[0], msgOut[0])
    this.#ptr = out[0]
  }

  get freed(): boolean {
    return this.#ptr === null
  }

  /** An async tls_wait is running on a worker thread: no other call may touch the connection. */
  get busy(): boolean {
    return this.#busy
  }

  #live(): unknown {
    if (this.#ptr === null) throw new TLSError('TLS_CLOSED', 'the connection has been released')
    if (this.#busy) throw new TLSError('TLS_INVALID_ARGUMENT', 'the connection is busy in tls_wait on another thread')
    return this.#ptr
  }

  /** Builds the error for a failed call, with the connection's OS error and verification result. */
  #fail(): TLSError {
    const code = errOut[0]
    const message = msgOut[0]
    const detail: FailureDetail = {}
    const ptr = this.#ptr
    if (this.#a.tls_info(ptr, 'os_error', strOut, errOut, msgOut) && strOut[0]) detail.osError = strOut[0]
    if (this.#a.tls_info(ptr, 'verify_result', strOut, errOut, msgOut) && strOut[0]) detail.verifyResult = strOut[0]
    return fromNative(code, message, detail)
  }

  setOption(key: string, value: string): void {
    if (!this.#a.tls_set_option(this.#live(), key, value, errOut, msgOut)) throw this.#fail()
  }

  /** true once the handshake is complete; false: wait and call again. */
  handshake(): boolean {
    if (!this.#a.tls_handshake(this.#live(), numOut, errOut, msgOut)) throw this.#fail()
    return numOut[0] === 1
  }

  /**
   * After read(): 0, or the events (WANT_READ/WANT_WRITE) to wait for when the
   * read stopped because nothing more can be read without waiting.
   */
  readWait = 0

  /** Bytes read into buf (0: nothing yet), or -1 at the end of the stream. */
  read(buf: Uint8Array): number {
    const n = Number(this.#a.tls_read_fast(this.#live(), buf, buf.length, waitCell))
    this.readWait = waitCell[0]
    if (n >= 0) return n
    // The full call says why: the end of the stream, or the failure.
    this.readWait = 0
    if (this.#a.tls_read(this.#live(), buf, buf.length, numOut, errOut, msgOut)) return numOut[0]
    if (errOut[0] === 'TLS_CLOSED') return -1
    throw this.#fail()
  }

  /** Bytes accepted from buf (0: wait for writable, then retry with the same bytes first). */
  write(buf: Buffer): number {
    const n = Number(this.#a.tls_write_fast(this.#live(), buf, buf.length))
    if (n >= 0) return n
    if (!this.#a.tls_write(this.#live(), buf, buf.length, numOut, errOut, msgOut)) throw this.#fail()
    return numOut[0]
  }

  bytesAvailable(): number {
    if (!this.#a.tls_bytesavailable(this.#live(), numOut, errOut, msgOut)) throw this.#fail()
    return numOut[0]
  }

  isOpen(): boolean {
    if (!this.#a.tls_isopen(this.#live(), numOut, errOut, msgOut)) throw this.#fail()
    return numOut[0] === 1
  }

  /** The OS handle to watch and for what (WANT_READ/WANT_WRITE/POLL_NOW); handle -1 means use waitAsync. */
  pollHandle(want: number): { handle: number; events: number } {
    if (!this.#a.tls_pollhandle(this.#live(), want, numOut, num2Out, errOut, msgOut)) throw this.#fail()
    return { handle: forceWait() ? -1 : Number(numOut[0]), events: num2Out[0] }
  }

  /** pollHandle's events only: for an open connection, whose handle no longer changes. */
  pollEvents(want: number): number {
    const events = this.#a.tls_pollevents(this.#live(), want)
    return events >= 0 ? events : this.pollHandle(want).events
  }

  /**
   * Milliseconds after which the connection must be driven again even if its
   * handle stays quiet (set-up racing several addresses); -1: no limit.
   */
  pollTimeout(): number {
    return this.#a.tls_polltimeout(this.#live())
  }

  /** true once close_notify is sent and the sending side is shut. */
  shutdown(): boolean {
    if (!this.#a.tls_shutdown(this.#live(), numOut, errOut, msgOut)) throw this.#fail()
    return numOut[0] === 1
  }

  info(key: string): string {
    if (!this.#a.tls_info(this.#live(), key, strOut, errOut, msgOut)) throw this.#fail()
    return strOut[0] ?? ''
  }

  /**
   * The fallback for a backend without a pollable handle: tls_wait on one of
   * koffi's worker threads, in slices so that a destroy never waits long.
   * cb(err) runs on the JS thread; err is null when progress may be possible.
   */
  waitAsync(want: number, sliceMs: number, cb: (err: TLSError | null) => void): void {
    const ptr = this.#live()
    const e: (string | null)[] = [null]
    const m: (string | null)[] = [null]
    this.#busy = true
    this.#a.tls_wait.async(ptr, want, sliceMs, e, m, (callErr: unknown, ok: number) => {
      this.#busy = false
      if (this.#freeWhenIdle) {
        this.free()
        return
      }
      if (callErr) return cb(new TLSError('TLS_INTERNAL_ERROR', String(callErr)))
      if (ok || e[0] === 'TLS_TIMEOUT') return cb(null)
      cb(fromNative(e[0], m[0]))
    })
  }

  /** Abortive close: the OS connection goes away; the pointer stays valid until free(). */
  close(): void {
    if (this.#ptr === null || this.#busy) return
    this.#a.tls_close(this.#ptr, errOut, msgOut)
  }

  /** Releases the connection. Safe to call any number of times; deferred while tls_wait runs. */
  free(): void {
    if (this.#ptr === null) return
    if (this.#busy) {
      this.#freeWhenIdle = true
      return
    }
    const p = this.#ptr
    this.#ptr = null
    this.#a.tls_free(p)
  }
}
