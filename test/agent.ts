// The https.Agent drop-in: Node's https client, axios and got over ostls with keep-alive pooling.
import t from 'tap'
import https from 'node:https'
import crypto from 'node:crypto'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { Agent } from '../dist/cjs/index'
import { pki } from './helpers/pki'
import { httpsServer } from './helpers/http-server'
import { childEnv } from './helpers/child-env'

const p = pki()
const MiB = 1024 * 1024
const big = crypto.randomBytes(50 * MiB)
const bigHash = crypto.createHash('sha256').update(big).digest('hex')

function get(url: string, agent: https.Agent, options: https.RequestOptions = {}): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { agent, ...options }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }))
        res.on('error', reject)
      })
      .on('error', reject)
  })
}

t.test('https.get through the Agent, with keep-alive reuse', async (t) => {
  const srv = await httpsServer((req, res) => res.end(`hello ${req.url}`))
  t.teardown(() => srv.close())
  const agent = new Agent({ keepAlive: true, ca: p.ca })
  t.teardown(() => agent.destroy())
  for (let i = 0; i < 20; i++) {
    const r = await get(`${srv.origin}/n/${i}`, agent)
    t.equal(r.status, 200)
    t.equal(r.body.toString(), `hello /n/${i}`)
  }
  t.equal(srv.handshakes, 1, '20 requests, one TLS handshake')
  t.equal(srv.viaOstls, 20, 'every request came from ostls')
})

t.test('maxSockets is honoured and sockets are shared', async (t) => {
  let inFlight = 0
  let peak = 0
  const srv = await httpsServer((_req, res) => {
    peak = Math.max(peak, ++inFlight)
    setTimeout(() => {
      inFlight--
      res.end('ok')
    }, 20)
  })
  t.teardown(() => srv.close())
  const agent = new Agent({ keepAlive: true, maxSockets: 2, ca: p.ca })
  t.teardown(() => agent.destroy())
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => get(`${srv.origin}/${i}`, agent)))
  t.ok(results.every((r) => r.body.toString() === 'ok'))
  // At most 2; exactly 2 needs the second handshake to finish while the first
  // socket is still busy, which a slow machine (qemu) does not guarantee.
  t.ok(peak >= 1 && peak <= 2, `never more than maxSockets at once (peak ${peak})`)
  t.equal(srv.handshakes, 2, 'ten requests over two connections')
})

t.test('idle pooled sockets do not keep the process alive', async (t) => {
  const srv = await httpsServer((_req, res) => res.end('x'))
  // The server keeps the idle connection open far longer than the child may
  // live: a child that exits at all before being killed did not wait for it.
  srv.server.keepAliveTimeout = 600_000
  t.teardown(() => srv.close())
  const index = path.join(__dirname, '..', 'dist', 'cjs', 'index.js')
  const script = `
    const https = require('node:https')
    const { Agent } = require(${JSON.stringify(index)})
    const agent = new Agent({ keepAlive: true, ca: ${JSON.stringify(p.ca.toString())} })
    https.get('${srv.origin}/', { agent }, (res) => {
      res.resume()
      res.on('end', () => setImmediate(() => console.log(Object.values(agent.freeSockets).flat().length)))
    })
  `
  const started = Date.now()
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['-e', script], { env: childEnv(), timeout: 90_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)))
  )
  t.equal(out.trim(), '1', 'the socket was pooled, still open')
  t.ok(Date.now() - started < srv.server.keepAliveTimeout, 'the process exited on its own while the pooled socket stayed open')
  t.equal(srv.handshakes, 1)
})

t.test('a server closing an idle pooled socket removes it from the pool', async (t) => {
  const srv = await httpsServer((_req, res) => res.end('x'))
  t.teardown(() => srv.close())
  const agent = new Agent({ keepAlive: true, ca: p.ca })
  t.teardown(() => agent.destroy())
  await get(`${srv.origin}/`, agent)
  srv.server.closeIdleConnections()
  await new Promise((r) => setTimeout(r, 100))
  t.equal(Object.values(agent.freeSockets).flat().length, 0, 'the closed socket left the pool')
  const r = await get(`${srv.origin}/again`, agent)
  t.equal(r.body.toString(), 'x')
  t.equal(srv.handshakes, 2)
})

t.test('redirects are plain responses the caller can follow on the same pool', async (t) => {
  const srv = await httpsServer((req, res) => {
    if (req.url === '/old') {
      res.writeHead(302, { location: '/new' })
      return res.end()
    }
    res.end(`at ${req.url}`)
  })
  t.teardown(() => srv.close())
  const agent = new Agent({ keepAlive: true, ca: p.ca })
  t.teardown(() => agent.destroy())
  const first = await get(`${srv.origin}/old`, agent)
  t.equal(first.status, 302)
  const next = await get(new URL(String(first.headers.location), srv.origin).href, agent)
  t.equal(next.body.toString(), 'at /new')
  t.equal(srv.handshakes, 1)
})

t.test('chunked responses', async (t) => {
  const srv = await httpsServer((_req, res) => {
    let i = 0
    const timer = setInterval(() => {
      res.write(`chunk ${i};`)
      if (++i === 50) {
        clearInterval(timer)
        res.end()
      }
    }, 1)
  })
  t.teardown(() => srv.close())
  const agent = new Agent({ ca: p.ca })
  t.teardown(() => agent.destroy())
  const r = await get(`${srv.origin}/`, agent)
  t.equal(r.headers['transfer-encoding'], 'chunked')
  t.equal(r.body.toString(), Array.from({ length: 50 }, (_, i) => `chunk ${i};`).join(''))
})

t.test('a 50 MiB download, checked by hash', async (t) => {
  const srv = await httpsServer((_req, res) => res.end(big))
  t.teardown(() => srv.close())
  const agent = new Agent({ ca: p.ca })
  t.teardown(() => agent.destroy())
  const r = await get(`${srv.origin}/big`, agent)
  t.equal(r.body.length, big.length)
  t.equal(crypto.createHash('sha256').update(r.body).digest('hex'), bigHash)
})

t.test('a request body with backpressure, checked by hash', async (t) => {
  const srv = await httpsServer((req, res) => {
    const h = crypto.createHash('sha256')
    let n = 0
    req.on('data', (c: Buffer) => {
      h.update(c)
      n += c.length
      // A slow reader at first, so the client really waits for drain.
      if (n < 4 * MiB) {
        req.pause()
        setTimeout(() => req.resume(), 2)
      }
    })
    req.on('end', () => res.end(JSON.stringify({ n, hash: h.digest('hex') })))
  })
  t.teardown(() => srv.close())
  const agent = new Agent({ ca: p.ca })
  t.teardown(() => agent.destroy())
  const body = big.subarray(0, 20 * MiB)
  let sawDrain = false
  const result = await new Promise<string>((resolve, reject) => {
    const req = https.request(`${srv.origin}/upload`, { method: 'PUT', agent }, (res) => {
      let b = ''
      res.on('data', (c) => (b += c))
      res.on('end', () => resolve(b))
    })
    req.on('error', reject)
    let off = 0
    const pump = () => {
      while (off < body.length) {
        const ok = req.write(body.subarray(off, off + 64 * 1024))
        off += 64 * 1024
        if (!ok) {
          sawDrain = true
          return req.once('drain', pump)
        }
      }
      req.end()
    }
    pump()
  })
  t.same(JSON.parse(result), { n: body.length, hash: crypto.createHash('sha256').update(body).digest('hex') })
  t.ok(sawDrain, 'the request waited for drain')
})

t.test('a server that dies mid-response gives a reset-style error', async (t) => {
  const srv = await httpsServer((_req, res) => {
    res.writeHead(200, { 'content-length': 1000000 })
    res.write(Buffer.alloc(1000))
    setTimeout(() => res.socket?.destroy(), 20)
  })
  t.teardown(() => srv.close())
  const agent = new Agent({ ca: p.ca })
  t.teardown(() => agent.destroy())
  const err = await get(`${srv.origin}/`, agent).then(
    () => null,
    (e: Error & { code?: string }) => e
  )
  t.ok(err, 'the truncated response is an error')
  t.match(err?.code, /^(ECONNRESET|ERR_STREAM_PREMATURE_CLOSE)$/)
})

t.test('axios with httpsAgent goes through ostls', async (t) => {
  const axios = (await import('axios')).default
  const srv = await httpsServer((_req, res) => res.end(JSON.stringify({ hello: 'axios' })))
  t.teardown(() => srv.close())
  const agent = new Agent({ keepAlive: true, ca: p.ca })
  t.teardown(() => agent.destroy())
  for (let i = 0; i < 3; i++) {
    const r = await axios.get(`${srv.origin}/a`, { httpsAgent: agent })
    t.same(r.data, { hello: 'axios' })
  }
  t.equal(srv.viaOstls, 3, 'the server saw ostls for every request')
  t.equal(srv.handshakes, 1, 'pooled')
})

t.test('got with agent.https goes through ostls', async (t) => {
  // got is ESM-only: a real dynamic import, not one compiled to require().
  const got = (await (new Function('s', 'return import(s)') as (s: string) => Promise<{ default: (url: string, o: object) => { json(): Promise<unknown> } }>)('got')).default
  const srv = await httpsServer((_req, res) => res.end(JSON.stringify({ hello: 'got' })))
  t.teardown(() => srv.close())
  const agent = new Agent({ keepAlive: true, ca: p.ca })
  t.teardown(() => agent.destroy())
  for (let i = 0; i < 3; i++) {
    t.same(await got(`${srv.origin}/g`, { agent: { https: agent }, retry: { limit: 0 } }).json(), { hello: 'got' })
  }
  t.equal(srv.viaOstls, 3)
  t.equal(srv.handshakes, 1)
})
