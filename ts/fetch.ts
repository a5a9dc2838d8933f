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

export interface DispatcherOptions extends Omit<Undici.Agent.Options, 'connect'> {
  /** Extra trusted CAs for these connections, added to the OS store. */
  ca?: ConnectOptions['ca']
  rejectUnauthorized?: boolean
  handshakeTimeout?: number
}

type ConnectorOptions = Pick<DispatcherOptions, 'ca' | 'rejectUnauthorized' | 'handshakeTimeout'>

export function undici(): typeof Undici {
  return require('undici')
}

/** undici's connector contract: (options, callback(err, socket)). */
export function ostlsConnector(defaults: ConnectorOptions = {}): Undici.buildConnector.connector {
  return (opts, callback) => {
    const port = Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80)
    if (opts.protocol !== 'https:') {
      const s = net.connect({ host: opts.hostname, port })
      s.once('connect', () => callback(null, s)).once('error', (e) => callback(e, null))
      return s
    }
    const s = connect({
      host: opts.hostname,
      port,
      servername: opts.servername || (net.isIP(opts.hostname) ? undefined : opts.hostname),
      ca: defaults.ca,
      rejectUnauthorized: defaults.rejectUnauthorized,
      handshakeTimeout: defaults.handshakeTimeout,
      ALPNProtocols: ['http/1.1']
    })
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
  const { ca, rejectUnauthorized, handshakeTimeout, ...rest } = options
  return new (undici().Agent)({ ...rest, connect: ostlsConnector({ ca, rejectUnauthorized, handshakeTimeout }) })
}

let shared: Undici.Agent | undefined

type FetchInput = Parameters<typeof Undici.fetch>[0]
type FetchInit = NonNullable<Parameters<typeof Undici.fetch>[1]>

/** WHATWG fetch through the OS's TLS stack (init.dispatcher overrides the shared ostls dispatcher). */
export function fetch(input: FetchInput, init: FetchInit = {}): ReturnType<typeof Undici.fetch> {
  return undici().fetch(input, { ...init, dispatcher: init.dispatcher ?? (shared ??= createDispatcher()) })
}
