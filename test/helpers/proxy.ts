/**
 * A local HTTP CONNECT proxy (Node's http server, 'connect' event) that counts
 * the tunnels it opened, so a test can prove its traffic went through it.
 * Optional Basic auth or a connection-bound NTLM sign-in (Negotiate / NTLM,
 * checked by ./ntlm); fault modes for the error paths.
 */
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import type { KeyPair } from './pki'
import { ntlmChallenge, ntlmType, parseAuthenticate, verifyNtlmV2, type NtlmAuthenticate } from './ntlm'
import { closer } from './servers'

export type ProxyMode =
  | 'tunnel' // 200, then bytes both ways
  | 'close' // closes without answering
  | 'hang' // never answers
  | 'garbage' // answers with something that is not HTTP
  | 'oversize' // a header past 16 KiB
  | 'forbidden' // 403
  | 'trailing' // 200 with stray bytes after the header, in the same write
  | 'dribble' // 200, one byte at a time

export interface ProxyOptions {
  mode?: ProxyMode
  /** "user:password": anything else gets 407. */
  auth?: string
  /** An https:// proxy: TLS with this certificate before CONNECT. */
  tls?: KeyPair
  /** Demand an NTLM sign-in on the connection (MS-NLMP: NEGOTIATE, CHALLENGE, AUTHENTICATE). */
  ntlm?: NtlmGate
}

export interface NtlmGate {
  /** Offered in the first 407, in this order, one Proxy-Authenticate each (default ['NTLM']); the token is NTLMSSP either way. */
  schemes?: string[]
  /** Verify the NTLMv2 response against this password (else any well-formed AUTHENTICATE passes). */
  password?: string
  /** End the connection after the first 407 (the client must come back on a new one). */
  closeFirst?: boolean
}

/** One NTLM message the proxy received. */
export interface SignIn {
  scheme: string
  /** NTLMSSP message type (1 or 3), 0 if the token was not NTLMSSP. */
  type: number
  auth?: NtlmAuthenticate
  /** The NTLMv2 response verified with NtlmGate.password (undefined without one). */
  verified?: boolean
  error?: string
}

export interface TestProxy {
  port: number
  url: string
  /** CONNECTs answered 200 and tunnelled. */
  tunnels: number
  /** Every CONNECT seen: target and headers. */
  requests: Array<{ target: string; headers: http.IncomingHttpHeaders }>
  /** With options.ntlm: the NEGOTIATE / AUTHENTICATE tokens seen, in order. */
  signIns: SignIn[]
  close(): Promise<void>
}

/** Where a CONNECT target goes: every name is this machine's IPv4 loopback (the test servers listen there). */
function dial(target: string): net.Socket {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(target)
  const port = m ? Number(m[3]) : 0
  return net.connect({ host: '127.0.0.1', port })
}

/** "user:password" %-encoded for a URL (the first ':' separates them). */
function userinfo(auth: string): string {
  const i = auth.indexOf(':')
  return encodeURIComponent(auth.slice(0, i)) + ':' + encodeURIComponent(auth.slice(i + 1))
}

export async function connectProxy(options: ProxyOptions = {}): Promise<TestProxy> {
  const mode = options.mode ?? 'tunnel'
  const refuse: http.RequestListener = (_req, res) => {
    res.writeHead(405).end()
  }
  const server = options.tls ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, refuse) : http.createServer(refuse)
  if (options.tls) server.on('tlsClientError', () => {})
  const p: TestProxy = { port: 0, url: '', tunnels: 0, requests: [], signIns: [], close: async () => {} }
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    client.on('error', () => {})
    p.requests.push({ target: req.url ?? '', headers: req.headers })
    if (options.ntlm) {
      ntlmGate(options.ntlm, p, client, req.url ?? '', req.headers, head, (target, rest) => proceed(target, client, rest))
      return
    }
    if (options.auth) {
      const want = 'Basic ' + Buffer.from(options.auth).toString('base64')
      if (req.headers['proxy-authorization'] !== want) {
        client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n')
        return
      }
    }
    proceed(req.url ?? '', client, head)
  })
  const proceed = (target: string, client: net.Socket, head: Buffer) => {
    switch (mode) {
      case 'close':
        client.destroy()
        return
      case 'hang':
        return
      case 'garbage':
        client.write('SSH-2.0-OpenSSH_9.2\r\n')
        return
      case 'oversize':
        client.write('HTTP/1.1 200 OK\r\n' + `X-Pad: ${'a'.repeat(20000)}\r\n\r\n`)
        return
      case 'forbidden':
        client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n')
        return
    }
    const upstream = dial(target)
    upstream.on('error', () => client.destroy())
    upstream.once('connect', async () => {
      p.tunnels++
      const answer = 'HTTP/1.1 200 Connection Established\r\nVia: test-proxy\r\n\r\n'
      if (mode === 'trailing') client.write(answer + 'STRAY')
      else if (mode === 'dribble') {
        for (const ch of answer) {
          client.write(ch)
          await new Promise((r) => setTimeout(r, 2))
        }
      } else client.write(answer)
      if (head.length) upstream.write(head)
      client.pipe(upstream).pipe(client)
    })
    client.on('close', () => upstream.destroy())
  }
  const close = closer(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  p.port = (server.address() as net.AddressInfo).port
  p.url = `${options.tls ? 'https' : 'http'}://${options.auth ? userinfo(options.auth) + '@' : ''}127.0.0.1:${p.port}`
  p.close = close
  return p
}

/**
 * The NTLM sign-in on one client connection: 407 offering the schemes, a
 * CHALLENGE for the NEGOTIATE, the AUTHENTICATE checked; then done() tunnels
 * to the last request's target. Requests after the first come over the same
 * socket (Node's parser has let go of it), so they are parsed here.
 */
function ntlmGate(
  gate: NtlmGate,
  p: TestProxy,
  client: net.Socket,
  target: string,
  headers: http.IncomingHttpHeaders,
  head: Buffer,
  done: (target: string, rest: Buffer) => void
): void {
  const schemes = gate.schemes ?? ['NTLM']
  let challenge: Buffer | undefined
  let first = true
  let buffered = head
  // A body, as real proxies send one: the client must read past it on a kept connection.
  const body = '<html><body>Sign in to the proxy</body></html>\n'
  const reply = (fields: string, close: boolean) => {
    const answer = `HTTP/1.1 407 Proxy Authentication Required\r\n${fields}Content-Type: text/html\r\nContent-Length: ${body.length}\r\n${close ? 'Connection: close\r\n' : ''}\r\n${body}`
    if (close) client.end(answer)
    else client.write(answer)
  }
  const offer = () => schemes.map((s) => `Proxy-Authenticate: ${s}\r\n`).join('')
  const refuse = (signIn: SignIn) => {
    p.signIns.push(signIn)
    reply(offer(), true)
  }
  // true once the tunnel is handed on
  const handle = (target: string, headers: http.IncomingHttpHeaders): boolean => {
    const m = /^(\S+) +(\S+)$/.exec(String(headers['proxy-authorization'] ?? ''))
    const scheme = m ? schemes.find((s) => s.toLowerCase() === m[1].toLowerCase()) : undefined
    if (!m || !scheme) {
      reply(offer(), first && !!gate.closeFirst)
      first = false
      return false
    }
    const token = Buffer.from(m[2], 'base64')
    const type = ntlmType(token)
    if (type === 1) {
      const c = ntlmChallenge()
      challenge = c.serverChallenge
      p.signIns.push({ scheme, type })
      reply(`Proxy-Authenticate: ${scheme} ${c.message.toString('base64')}\r\n`, false)
      return false
    }
    if (type !== 3 || !challenge) {
      refuse({ scheme, type, error: type ? `NTLMSSP message type ${type} out of turn` : `not an NTLMSSP token (${token.subarray(0, 8).toString('hex')}...)` })
      return false
    }
    let auth: NtlmAuthenticate
    try {
      auth = parseAuthenticate(token)
    } catch (e) {
      refuse({ scheme, type, error: (e as Error).message })
      return false
    }
    const verified = gate.password === undefined ? undefined : verifyNtlmV2(auth, challenge, gate.password)
    if (verified === false) {
      refuse({ scheme, type, auth, verified, error: `the ${auth.version} response does not verify with the expected password` })
      return false
    }
    p.signIns.push({ scheme, type, auth, verified })
    client.off('data', onData)
    client.pause() // until the tunnel pipes it
    done(target, buffered)
    return true
  }
  const onData = (data: Buffer) => {
    buffered = Buffer.concat([buffered, data])
    for (;;) {
      const end = buffered.indexOf('\r\n\r\n')
      if (end < 0) return
      const lines = buffered.subarray(0, end).toString('latin1').split('\r\n')
      buffered = buffered.subarray(end + 4)
      const next: http.IncomingHttpHeaders = {}
      for (const line of lines.slice(1)) {
        const i = line.indexOf(':')
        if (i > 0) next[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
      }
      const t = lines[0].split(' ')[1] ?? ''
      p.requests.push({ target: t, headers: next })
      if (handle(t, next)) return
    }
  }
  client.on('data', onData)
  handle(target, headers)
}
