/**
 * connect()'s options: their types, the checks Node makes before any I/O
 * (port, minVersion, NUL bytes), and their translation into the native
 * connection's options (tls_set_option keys) before set-up starts.
 */
import { NativeConn } from './native'
import { TLSError, badOptionType, badOptionValue } from './errors'
import { IdentityOptions, identityOptions } from './identity'
import { ipFamily } from './ip'

export type TLSVersion = 'TLSv1.2' | 'TLSv1.3'

export interface ConnectOptions extends IdentityOptions {
  /** Host name or IP address to connect to. Default "localhost". */
  host?: string
  port: number
  /** Name for SNI and certificate verification. Default: host. */
  servername?: string
  /** Extra trusted CA certificates (PEM), added to the OS trust store for this connection. */
  ca?: string | Buffer | Array<string | Buffer>
  /** Verify the server's chain and name (default true). false must be said explicitly. */
  rejectUnauthorized?: boolean
  /** ALPN protocols in preference order: strings, or Node's wire-format Buffer. */
  ALPNProtocols?: Array<string | Buffer | Uint8Array> | Buffer | Uint8Array
  minVersion?: TLSVersion
  maxVersion?: TLSVersion
  /** Idle timeout in ms: emits 'timeout' (like net.Socket#setTimeout); does not close. */
  timeout?: number
  /** Time allowed for DNS + TCP + TLS handshake, in ms, before failing with TLS_TIMEOUT. Default 120000. */
  handshakeTimeout?: number
  /** Aborting the signal destroys the stream with an AbortError. */
  signal?: AbortSignal
  /** Keep the writable side open after the peer ends (default false, as tls.connect). */
  allowHalfOpen?: boolean
  /** TCP_NODELAY (default true). */
  noDelay?: boolean
  keepAlive?: boolean
  keepAliveInitialDelay?: number
  highWaterMark?: number
  /**
   * Tunnel through this proxy ("http[s]://[user:password@]host[:port]", user and
   * password %-encoded) with CONNECT; the origin's certificate is verified as
   * without a proxy. Or 'system': the proxy the OS's own settings name for
   * this origin (Windows, macOS; direct on Linux), looked up by the C library
   * off the JS thread; getProxyChoice() then says what it chose. connect()
   * reads no environment: Agent, fetch and register() resolve 'env' /
   * 'system' (proxy-env.ts).
   */
  proxy?: string
  /**
   * ostls's TLS session cache for this connection (default true, unless the
   * environment has OSTLS_SESSION_CACHE=0): resume a session cached under this
   * connection's key (host, port, servername, ca, rejectUnauthorized,
   * min/maxVersion, ALPN) and cache the one it makes. false does neither.
   */
  sessionCache?: boolean
  /**
   * Accepted for Node compatibility and ignored: ostls keeps its sessions in
   * its own cache (see sessionCache) and never hands them out, so there is no
   * 'session' event and getSession() is undefined.
   */
  session?: Buffer
  /**
   * As net.connect's and tls.connect's onread: incoming data goes into
   * `buffer` (memory the caller reuses, or a function called for the buffer
   * of each read) and to `callback` instead of 'data' events; 'end',
   * 'error' and 'close' come as usual. The callback returning false pauses
   * reading until resume() or read().
   */
  onread?: OnReadOptions
}

export interface OnReadOptions {
  buffer: Uint8Array | (() => Uint8Array)
  /** Called with the number of bytes written into buffer, and that buffer. */
  callback: (bytesRead: number, buffer: Uint8Array) => boolean | void
}

/** OSTLS_SESSION_CACHE=0 in the environment turns the session cache off for
 * every connection that does not say otherwise (sessionCache: true). */
function sessionCacheDefault(): boolean {
  return process.env.OSTLS_SESSION_CACHE !== '0'
}

function toPem(ca: ConnectOptions['ca']): string | undefined {
  if (ca === undefined || ca === null) return undefined
  const list = Array.isArray(ca) ? ca : [ca]
  return list.map((c) => (typeof c === 'string' ? c : Buffer.from(c).toString('latin1')).trim()).join('\n') + '\n'
}

/** ALPN list as the library wants it: "h2,http/1.1". Accepts Node's forms. */
function alpnList(p: ConnectOptions['ALPNProtocols']): string | undefined {
  if (!p) return undefined
  let names: string[]
  if (Array.isArray(p)) {
    names = p.map((x) => (typeof x === 'string' ? x : Buffer.from(x).toString('latin1')))
  } else {
    const wire = Buffer.from(p)
    names = []
    for (let i = 0; i < wire.length; ) {
      const n = wire[i]
      if (n === 0 || i + 1 + n > wire.length) throw new TLSError('TLS_INVALID_ARGUMENT', 'ALPNProtocols: malformed wire-format buffer')
      names.push(wire.toString('latin1', i + 1, i + 1 + n))
      i += 1 + n
    }
  }
  // The library takes a comma-separated list, so a name with a comma cannot be said.
  for (const n of names) {
    if (n.length === 0 || n.length > 255 || n.includes(',') || n.includes('\0')) {
      throw new TLSError('TLS_INVALID_ARGUMENT', `ALPNProtocols: ${JSON.stringify(n)} is not a protocol name ostls can offer (1-255 bytes, no comma, no NUL)`)
    }
  }
  return names.length ? names.join(',') : undefined
}

/**
 * host and servername reach C as NUL-terminated strings: a NUL would silently
 * cut 'localhost\0.evil.example' to 'localhost' while `servername` shows the
 * whole string, so it is refused here (the library refuses the other
 * control characters and malformed names itself).
 */
function checkNoNul(what: string, value: string): void {
  if (value.includes('\0')) {
    throw new TLSError('TLS_INVALID_ARGUMENT', `${what} must not contain NUL bytes: ${JSON.stringify(value)}`, { nodeCode: 'ERR_INVALID_ARG_VALUE' })
  }
}

/** A bad host or servername, as the library reported it, with Node's code for a bad argument value. */
export function asBadValue(e: unknown): unknown {
  const err = e as TLSError
  if (err instanceof TLSError && err.tlsCode === 'TLS_INVALID_ARGUMENT') return new TLSError(err.tlsCode, err.message, { nodeCode: 'ERR_INVALID_ARG_VALUE' })
  return e
}

/** Node's checks, made before any native call: the host and port to connect to. */
export function checkConnectOptions(options: ConnectOptions): { host: string; port: number } {
  const host = options.host ?? 'localhost'
  const port = Number(options.port)
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw Object.assign(new RangeError(`port must be an integer from 1 to 65535, got ${String(options.port)}`), { code: 'ERR_SOCKET_BAD_PORT' })
  }
  if (options.minVersion !== undefined && options.minVersion !== 'TLSv1.2' && options.minVersion !== 'TLSv1.3') {
    throw Object.assign(new TypeError(`minVersion must be 'TLSv1.2' or 'TLSv1.3' (ostls never negotiates older versions), got ${String(options.minVersion)}`), { code: 'ERR_TLS_INVALID_PROTOCOL_VERSION' })
  }
  checkNoNul('host', String(host))
  if (typeof options.servername === 'string') checkNoNul('servername', options.servername)
  if (options.onread != null) checkOnRead(options.onread)
  return { host, port }
}

/**
 * Node falls back to 'data' events when onread is malformed, so a callback
 * that is never called goes unnoticed; ostls refuses it. The buffer reaches
 * C as a pointer and a length: only a Uint8Array with room in it.
 */
function checkOnRead(onread: OnReadOptions): void {
  if (typeof onread !== 'object') throw badOptionType('onread', 'an object { buffer, callback }', onread)
  if (typeof onread.callback !== 'function') throw badOptionType('onread.callback', 'a function', onread.callback)
  if (typeof onread.buffer === 'function') return
  checkReadBuffer(onread.buffer, 'onread.buffer')
}

/** A buffer for one read: a non-empty Uint8Array (a Buffer is one). */
export function checkReadBuffer(buf: unknown, name: string): Uint8Array {
  if (!(buf instanceof Uint8Array)) throw badOptionType(name, 'a Uint8Array or Buffer', buf)
  if (buf.length === 0) throw badOptionValue(name, 'it is empty')
  return buf
}

/** The name a stream reports as servername: the option, else the host unless it is an IP address (as Node). */
export function servernameOf(options: ConnectOptions, host: string): string {
  return options.servername ?? (ipFamily(String(host)) ? '' : host)
}

/** Sets the options on conn (before set-up starts, so nothing is sent yet); throws what the library refuses. */
export function applyConnectOptions(conn: NativeConn, options: ConnectOptions): void {
  if (options.servername) {
    try {
      conn.setOption('servername', options.servername)
    } catch (e) {
      throw asBadValue(e)
    }
  }
  const ca = toPem(options.ca)
  if (ca) conn.setOption('ca', ca)
  if (options.rejectUnauthorized === false) conn.setOption('verify', 'none')
  const alpn = alpnList(options.ALPNProtocols)
  if (alpn) conn.setOption('alpn', alpn)
  if (options.minVersion) conn.setOption('min_version', options.minVersion)
  if (options.maxVersion) conn.setOption('max_version', options.maxVersion)
  for (const [key, value] of identityOptions(options)) {
    try {
      conn.setOption(key, value)
    } catch (e) {
      throw asBadValue(e)
    }
  }
  conn.setOption('nodelay', options.noDelay === false ? '0' : '1')
  if (options.proxy) {
    checkNoNul('proxy', options.proxy)
    try {
      conn.setOption('proxy', options.proxy)
    } catch (e) {
      throw asBadValue(e)
    }
  }
  if (!(options.sessionCache ?? sessionCacheDefault())) conn.setOption('session_cache', '0')
}
