/**
 * An https.Agent whose connections are ostls streams: https.get, axios, got and
 * anything else that takes an agent talk through the OS's TLS stack, with
 * Node's own keep-alive pooling (maxSockets, idle sockets unref'd) unchanged.
 */
import * as https from 'node:https'
import type { Duplex } from 'node:stream'
import { connect, ConnectOptions, TLSStream } from './stream'
import { proxyFor, ProxySetting } from './proxy-env'
import { ipFamily } from './ip'
import type { Revocation, StoreIdentity } from './identity'

/**
 * https.AgentOptions (cert, key, pfx and passphrase included, with Node's
 * meanings) plus ostls's own (handshakeTimeout, revocation). ALPN defaults to http/1.1.
 */
export interface AgentOptions extends https.AgentOptions {
  handshakeTimeout?: number
  /** false, 'env', 'system' (default) or an http:// / https:// proxy URL: see README "Proxies". */
  proxy?: ProxySetting
  revocation?: Revocation
  clientCertificate?: StoreIdentity | 'auto'
}

/** The options Node's Agent hands createConnection: agent options merged with the request's. */
type CreateOptions = https.RequestOptions & AgentOptions & { servername?: string; host?: string; port?: number | string }

/** Maps Node's tls.connect-style options to ostls's connect(), keeping only what ostls honours. */
export function connectOptionsFrom(o: CreateOptions): ConnectOptions {
  const host = o.host ?? o.hostname ?? 'localhost'
  const servername = o.servername || (ipFamily(host) ? undefined : host)
  return {
    host,
    port: Number(o.port ?? 443),
    servername,
    ca: o.ca as ConnectOptions['ca'],
    rejectUnauthorized: o.rejectUnauthorized,
    // Offer only what this stack speaks: HTTP/1.1 (never claim h2).
    ALPNProtocols: ['http/1.1'],
    minVersion: o.minVersion as ConnectOptions['minVersion'],
    maxVersion: o.maxVersion as ConnectOptions['maxVersion'],
    handshakeTimeout: o.handshakeTimeout,
    noDelay: o.noDelay,
    keepAlive: o.keepAlive,
    // Node's Agent later calls setKeepAlive(true, keepAliveMsecs) on each pooled socket ("the initial
    // delay for TCP Keep-Alive packets", its documentation): take it at connect time, where every engine
    // can apply it (Network.framework fixes TCP options when the connection is made).
    keepAliveInitialDelay: o.keepAliveInitialDelay ?? (o.keepAlive ? o.keepAliveMsecs : undefined),
    proxy: proxyFor(host, Number(o.port ?? 443), o.proxy).url,
    // Node's switch for its Agent's session cache turns ostls's off for these connections.
    ...(o.maxCachedSessions === 0 ? { sessionCache: false } : {}),
    // The client identity. Node's Agent already keys its pool by these.
    cert: o.cert as ConnectOptions['cert'],
    key: o.key as ConnectOptions['key'],
    pfx: o.pfx as ConnectOptions['pfx'],
    passphrase: o.passphrase,
    revocation: o.revocation,
    clientCertificate: o.clientCertificate
  }
}

export class Agent extends https.Agent {
  constructor(options: AgentOptions = {}) {
    super(options)
  }

  /** Node's pool key, plus the revocation policy (Node's covers the identity options). */
  override getName(options?: https.RequestOptions & { revocation?: Revocation; clientCertificate?: StoreIdentity | 'auto' }): string {
    const name = super.getName(options as https.RequestOptions)
    const own = this.options as AgentOptions
    const revocation = options?.revocation ?? own.revocation
    const store = (options as AgentOptions | undefined)?.clientCertificate ?? own.clientCertificate
    return name + (revocation ? `:revocation=${revocation}` : '') + (store ? `:store=${JSON.stringify(store)}` : '')
  }

  /**
   * Called by Node's Agent for each new pooled connection. Node's Agent uses the
   * socket returned here at once; a failure to create one (the native library
   * did not load) goes to the callback instead, so that it reaches the request
   * as an 'error' event rather than as a throw out of https.get().
   */
  override createConnection(options: CreateOptions, callback?: (err: Error | null, stream: Duplex) => void): TLSStream | undefined {
    try {
      return connect(connectOptionsFrom(options))
    } catch (e) {
      if (!callback) throw e
      callback(e as Error, undefined as never)
      return undefined
    }
  }
}
