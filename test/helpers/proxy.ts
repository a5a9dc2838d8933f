/**
 * A local HTTP CONNECT proxy (Node's http server, 'connect' event) that counts
 * the tunnels it opened, so a test can prove its traffic went through it.
 * Optional Basic auth; fault modes for the error paths.
 */
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import type { KeyPair } from './pki'
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
}

export interface TestProxy {
  port: number
  url: string
  /** CONNECTs answered 200 and tunnelled. */
  tunnels: number
  /** Every CONNECT seen: target and headers. */
  requests: Array<{ target: string; headers: http.IncomingHttpHeaders }>
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
  const p: TestProxy = { port: 0, url: '', tunnels: 0, requests: [], close: async () => {} }
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    client.on('error', () => {})
    p.requests.push({ target: req.url ?? '', headers: req.headers })
    if (options.auth) {
      const want = 'Basic ' + Buffer.from(options.auth).toString('base64')
      if (req.headers['proxy-authorization'] !== want) {
        client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n')
        return
      }
    }
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
    const upstream = dial(req.url ?? '')
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
  })
  const close = closer(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  p.port = (server.address() as net.AddressInfo).port
  p.url = `${options.tls ? 'https' : 'http'}://${options.auth ? userinfo(options.auth) + '@' : ''}127.0.0.1:${p.port}`
  p.close = close
  return p
}
