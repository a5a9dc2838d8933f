/**
 * fetch over ostls: an undici dispatcher whose connector hands undici ostls
 * streams for https: origins (plain http: stays on net). All of WHATWG fetch —
 * streams, redirects, AbortSignal, timeouts — is undici's, not ours.
 *
 * undici is loaded on first use only: loading it installs a process-wide
 * default dispatcher, which merely importing ostls must not do.
 */
import net from 'node:net'
import type * as Undici from 'undici'
import { connect, ConnectOptions } from './stream'
import { proxyFor, ProxySetting } from './proxy-env'
import { ipFamily } from './ip'
import type { IdentityOptions } from './identity'

/** undici's Agent options plus the TLS ones: ca, and the client identity (cert, key, pfx, passphrase) and revocation as in connect(). */
export interface DispatcherOptions extends Omit<Undici.Agent.Options, 'connect'>, IdentityOptions {
  /** Extra trusted CAs for these connections, added to the OS store. */
  ca?: ConnectOptions['ca']
  rejectUnauthorized?: boolean
  handshakeTimeout?: number
  /** false, 'env', 'system' (default) or an http:// / https:// proxy URL, for https: origins: see README "Proxies". */
  proxy?: ProxySetting
  /** As undici's connect option: 0 turns ostls's TLS session cache off for these connections. */
  maxCachedSessions?: number
}

type ConnectorOptions = IdentityOptions & Pick<DispatcherOptions, 'ca' | 'rejectUnauthorized' | 'handshakeTimeout' | 'proxy' | 'maxCachedSessions'>

const connectorKeys = ['ca', 'rejectUnauthorized', 'handshakeTimeout', 'proxy', 'maxCachedSessions', 'cert', 'key', 'pfx', 'passphrase', 'revocation', 'clientCertificate'] as const

export function undici(): typeof Undici {
  return require('undici')
}

/** undici's connector contract: (options, callback(err, socket)). */
export function ostlsConnector(defaults: ConnectorOptions = {}): Undici.buildConnector.connector {
  // The proxy is resolved per origin and the cache switch becomes sessionCache;
  // the rest (trust, identity, timeout) goes to connect() as given.
  const { proxy: proxySetting, maxCachedSessions, ...tlsDefaults } = defaults
  return (opts, callback) => {
    const port = Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80)
    if (opts.protocol !== 'https:') {
      const s = net.connect({ host: opts.hostname, port })
      s.once('connect', () => callback(null, s)).once('error', (e) => callback(e, null))
      return s
    }
    let proxy: string | undefined
    try {
      proxy = proxyFor(opts.hostname, port, proxySetting).url
    } catch (e) {
      callback(e as Error, null)
      return undefined as unknown as net.Socket
    }
    const options: ConnectOptions = {
      host: opts.hostname,
      port,
      proxy,
      servername: opts.servername || (ipFamily(opts.hostname) ? undefined : opts.hostname),
      ...tlsDefaults,
      ALPNProtocols: ['http/1.1'],
      ...(maxCachedSessions === 0 ? { sessionCache: false } : {})
    }
    let s: ReturnType<typeof connect>
    try {
      s = connect(options)
    } catch (e) {
      // No native library: the request fails with the reason, it does not throw.
      callback(e as Error, null)
      return undefined as unknown as net.Socket
    }
    const onError = (e: Error) => callback(e, null)
    s.once('error', onError)
    s.once('secureConnect', () => {
      s.off('error', onError)
      callback(null, s as unknown as net.Socket)
    })
    return s as unknown as net.Socket
  }
}

/** An undici Agent (a dispatcher) whose https: connections go through ostls. */
export function createDispatcher(options: DispatcherOptions = {}): Undici.Agent {
  const rest: Record<string, unknown> = { ...options }
  const tlsOptions: Record<string, unknown> = {}
  for (const k of connectorKeys) {
    if (rest[k] !== undefined) tlsOptions[k] = rest[k]
    delete rest[k]
  }
  return new (undici().Agent)({ ...(rest as Undici.Agent.Options), connect: ostlsConnector(tlsOptions as ConnectorOptions) })
}

let shared: Undici.Agent | undefined

/**
 * A Request made by another fetch implementation (Node's global Request is
 * Node's bundled undici, not this one) is rebuilt field by field: undici only
 * recognises its own Request objects and would read any other as a URL string.
 */
function ownInput(input: string | URL | globalThis.Request): Parameters<typeof Undici.fetch>[0] {
  const u = undici()
  if (typeof input === 'string' || input instanceof URL || input instanceof u.Request) return input
  const r = input as globalThis.Request
  return new u.Request(r.url, {
    method: r.method,
    headers: [...r.headers],
    body: r.body as Undici.RequestInit['body'],
    redirect: r.redirect,
    signal: r.signal as Undici.RequestInit['signal'],
    credentials: r.credentials,
    integrity: r.integrity,
    keepalive: r.keepalive,
    mode: r.mode,
    referrer: r.referrer,
    referrerPolicy: r.referrerPolicy,
    ...(r.body ? { duplex: 'half' as const } : {})
  })
}

/**
 * WHATWG fetch through the OS's TLS stack (init.dispatcher overrides the shared
 * ostls dispatcher). Typed as Node's own global fetch, so it can stand in for it.
 */
export function fetch(input: string | URL | globalThis.Request, init: globalThis.RequestInit = {}): Promise<globalThis.Response> {
  const own = init as Undici.RequestInit
  return undici().fetch(ownInput(input), { ...own, dispatcher: own.dispatcher ?? (shared ??= createDispatcher()) }) as unknown as Promise<globalThis.Response>
}

declare global {
  interface RequestInit {
    /**
     * undici's per-request dispatcher, which Node's fetch reads:
     * `globalThis.fetch(url, { dispatcher: createDispatcher() })`. @types/node
     * declares it only when the DOM library is absent; ostls declares it for
     * projects that include DOM too. Typed `any` because a narrower type would
     * conflict with @types/node's own declaration where that one is present.
     */
    dispatcher?: any
  }
}
