/** The HTTPS server `ostls get` tests fetch from (test PKI leaf: trusted only with --ca). */
import https from 'node:https'
import net from 'node:net'
import crypto from 'node:crypto'
import { pki } from './pki'
import { closer } from './servers'

export interface Fixture {
  port: number
  origin: string
  /** 256 KiB covering every byte value. */
  binary: Buffer
  requests: Array<{ method?: string; url?: string; headers: Record<string, unknown> }>
  close(): Promise<void>
}

export async function httpsFixture(): Promise<Fixture> {
  const p = pki()
  const binary = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), crypto.randomBytes(256 * 1024 - 256)])
  const f: Fixture = { port: 0, origin: '', binary, requests: [], close: async () => {} }
  const server = https.createServer({ key: p.leaf.key, cert: p.leaf.cert }, (req, res) => {
    f.requests.push({ method: req.method, url: req.url, headers: req.headers })
    const u = new URL(req.url ?? '/', f.origin)
    const hop = /^\/hops\/(\d+)$/.exec(u.pathname)
    if (u.pathname === '/bin') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': binary.length })
      res.end(binary)
    } else if (u.pathname === '/text') {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end('hello\n')
    } else if (hop) {
      const n = Number(hop[1])
      if (n === 0) return res.end('arrived\n')
      res.writeHead(n % 2 ? 302 : 307, { location: `${n - 1}` }) // relative: resolves against /hops/
      res.end()
    } else if (u.pathname === '/elsewhere') {
      res.writeHead(301, { location: `https://127.0.0.1:${f.port}/headers` })
      res.end()
    } else if (u.pathname === '/headers') {
      res.end(JSON.stringify(req.headers))
    } else if (u.pathname === '/to-http') {
      res.writeHead(302, { location: `http://localhost:${f.port}/text` })
      res.end()
    } else if (u.pathname === '/slow') {
      // Size known or not (?chunked), sent in pieces over ~0.6 s so a progress bar has something to show.
      const total = 2 * 1024 * 1024
      const chunked = u.searchParams.has('chunked')
      res.writeHead(200, chunked ? {} : { 'content-length': total })
      let sent = 0
      const timer = setInterval(() => {
        res.write(binary.subarray(0, total / 8))
        sent += total / 8
        if (sent >= total) {
          clearInterval(timer)
          res.end()
        }
      }, 75)
      res.on('close', () => clearInterval(timer))
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' })
      res.end('no such thing\n')
    }
  })
  f.close = closer(server)
  server.on('tlsClientError', () => {})
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  f.port = (server.address() as net.AddressInfo).port
  f.origin = `https://localhost:${f.port}`
  return f
}
