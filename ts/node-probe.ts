/**
 * `ostls doctor --connect`'s second opinion: the same host through Node's own
 * `tls` (its bundled roots, plus NODE_EXTRA_CA_CERTS, which Node itself reads),
 * exactly as an application that does not use ostls would see it.
 */
import http from 'node:http'
import https from 'node:https'
import tls from 'node:tls'
import type { Duplex } from 'node:stream'

export interface NodeVerdict {
  /** true when Node's default trust accepts the server (chain and name). */
  trusted: boolean
  /** Node's authorizationError (UNABLE_TO_GET_ISSUER_CERT_LOCALLY, ERR_TLS_CERT_ALTNAME_INVALID, …) when not trusted. */
  code?: string
  /** What Node trusted: its bundled roots, and NODE_EXTRA_CA_CERTS's file when set. */
  trust: string
  /** Node could not complete a handshake at all (connection refused, timeout, protocol): then there is no trust verdict. */
  error?: { code: string; message: string; /** it was the https:// proxy's TLS that Node's own trust refused */ proxyTls?: true }
}

export interface NodeProbeOptions {
  host: string
  port: number
  servername?: string
  timeoutMs: number
  /** The proxy ostls went through, so that Node takes the same path (an HTTP CONNECT tunnel). */
  proxy?: string
}

export function nodeTrustDescription(env: NodeJS.ProcessEnv = process.env): string {
  return `Node's bundled roots${env.NODE_EXTRA_CA_CERTS ? ` + NODE_EXTRA_CA_CERTS (${env.NODE_EXTRA_CA_CERTS})` : ''}`
}

/**
 * A CONNECT tunnel through the proxy, as ostls makes one (Basic auth from the
 * URL). An https:// proxy is reached over TLS first, verified as Node itself
 * would verify it (its own roots): a proxy Node does not trust fails Node's
 * side with "TLS to proxy X failed (Node's own trust)".
 */
function tunnel(proxy: string, host: string, port: number, timeoutMs: number): Promise<Duplex> {
  const u = new URL(proxy)
  const secure = u.protocol === 'https:'
  const proxyHost = u.hostname.replace(/^\[|\]$/g, '')
  const target = `${host.includes(':') ? `[${host}]` : host}:${port}`
  const headers: Record<string, string> = { host: target }
  if (u.username) headers['proxy-authorization'] = 'Basic ' + Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')
  return new Promise((resolve, reject) => {
    const options = { host: proxyHost, port: Number(u.port || (secure ? 443 : 80)), method: 'CONNECT', path: target, headers, timeout: timeoutMs, agent: false as const }
    const req = secure ? https.request(options) : http.request(options)
    let tcpUp = false
    let tlsUp = false
    req.once('socket', (s) => {
      s.once('connect', () => (tcpUp = true))
      s.once('secureConnect', () => (tlsUp = true))
    })
    req.once('connect', (res, socket) => {
      if (res.statusCode === 200) return resolve(socket)
      socket.destroy()
      reject(Object.assign(new Error(`the proxy answered ${res.statusCode} ${res.statusMessage ?? ''}`.trim()), { code: 'ERR_PROXY_TUNNEL' }))
    })
    req.once('timeout', () => req.destroy(Object.assign(new Error(`no answer from the proxy within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })))
    req.once('error', (e: Error & { code?: string }) => {
      if (secure && tcpUp && !tlsUp) reject(Object.assign(e, { message: `TLS to proxy ${proxyHost} failed (Node's own trust): ${e.message}`, proxyTls: true }))
      else reject(e)
    })
    req.end()
  })
}

/**
 * One handshake with Node's tls. rejectUnauthorized is off so that the
 * handshake completes and authorizationError carries Node's reason, chain
 * and host name alike (Node checks the name before 'secureConnect').
 */
export async function nodeProbe(o: NodeProbeOptions): Promise<NodeVerdict> {
  const trust = nodeTrustDescription()
  const fail = (e: Error & { code?: string; proxyTls?: true }): NodeVerdict => ({ trusted: false, trust, error: { code: e.code ?? 'ERR_UNEXPECTED', message: e.message, ...(e.proxyTls ? { proxyTls: e.proxyTls } : {}) } })
  let socket: Duplex | undefined
  try {
    if (o.proxy) socket = await tunnel(o.proxy, o.host, o.port, o.timeoutMs)
  } catch (e) {
    return fail(e as Error)
  }
  return new Promise((resolve) => {
    const s = tls.connect({
      host: o.host,
      port: o.port,
      ...(socket ? { socket } : {}),
      ...(o.servername ? { servername: o.servername } : {}),
      rejectUnauthorized: false
    })
    const timer = setTimeout(() => s.destroy(Object.assign(new Error(`no TLS connection within ${o.timeoutMs} ms`), { code: 'ETIMEDOUT' })), o.timeoutMs)
    const done = (v: NodeVerdict) => {
      clearTimeout(timer)
      s.destroy()
      resolve(v)
    }
    s.once('secureConnect', () => {
      const code = s.authorizationError ? String((s.authorizationError as Error & { code?: string }).code ?? s.authorizationError) : undefined
      done(s.authorized ? { trusted: true, trust } : { trusted: false, trust, ...(code ? { code } : {}) })
    })
    s.once('error', (e) => done(fail(e)))
  })
}
