// Misbehaving peers: every case ends in a correct result or ONE clean coded
// error, within a bound, with 'close' emitted and every native handle freed.
import t, { Test } from 'tap'
import https from 'node:https'
import crypto from 'node:crypto'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { connect, Agent, TLSStream, ConnectOptions } from '../dist/cjs/index'
import { pki } from './helpers/pki'
import { tlsServer, silentServer } from './helpers/servers'
import { httpsServer } from './helpers/http-server'
import { open } from './helpers/client'
import { handles, rawServer, faultProxy, outcome, Outcome, record, fatalAlert, oldServerHello } from './helpers/evil'

const p = pki()
const MiB = 1024 * 1024
/** Generous: Node reports a reset in well under a second; a loaded CI machine must not flake. */
const BOUND = 5000
const opts = (port: number, extra: Partial<ConnectOptions> = {}): ConnectOptions => ({ host: '127.0.0.1', port, servername: 'localhost', ca: p.ca, ...extra })

/** The case ended with exactly one error carrying these codes, then 'close'. */
function oneError(t: Test, o: Outcome, tlsCode: string | RegExp, code?: string | RegExp) {
  t.ok(o.closed, `'close' within ${BOUND} ms (took ${o.ms} ms)`)
  t.equal(o.errors.length, 1, `exactly one error: ${o.errors.map((e) => `${e.code} ${e.message}`).join(' | ')}`)
  const e = o.errors[0]
  if (!e) return
  t.match(e.tlsCode, tlsCode, `tlsCode (${e.message})`)
  if (code) t.match(e.code, code, 'code')
}

/** Every native connection made by the case has been freed. */
function noLeak(t: Test) {
  const before = handles()
  t.teardown(() => {
    // 'close' has been seen by then; the handle is freed in _destroy, before it.
    if (handles() !== before) t.fail(`native handles leaked: ${handles() - before}`)
  })
}

t.test('RST before any byte', async (t) => {
  noLeak(t)
  const srv = await rawServer((s) => s.resetAndDestroy())
  t.teardown(() => srv.close())
  oneError(t, await outcome(connect(opts(srv.port)), BOUND), 'TLS_CONNECTION_RESET', 'ECONNRESET')
})

t.test('RST in the middle of the server handshake flight', async (t) => {
  noLeak(t)
  const srv = await tlsServer(p.leaf)
  const proxy = await faultProxy(srv.port, { toClient: { after: 100, then: 'reset' } })
  t.teardown(() => Promise.all([proxy.close(), srv.close()]))
  const o = await outcome(connect(opts(proxy.port)), BOUND)
  oneError(t, o, 'TLS_CONNECTION_RESET', 'ECONNRESET')
  t.equal(srv.handshakes, 0)
  t.equal(o.errors[0]?.message.split('127.0.0.1').length - 1, 1, 'the message names the address once')
})

t.test('RST on an idle connection after the handshake is reported', async (t) => {
  noLeak(t)
  const srv = await tlsServer(p.leaf)
  const proxy = await faultProxy(srv.port)
  t.teardown(() => Promise.all([proxy.close(), srv.close()]))
  const s = await open(opts(proxy.port))
  const done = outcome(s, BOUND)
  await new Promise((r) => setTimeout(r, 50))
  proxy.reset()
  oneError(t, await done, 'TLS_CONNECTION_RESET', 'ECONNRESET')
})

t.test('RST on an idle pooled Agent socket: the next request gets a fresh connection', async (t) => {
  noLeak(t)
  const srv = await httpsServer((req, res) => res.end(`hello ${req.url}`))
  const proxy = await faultProxy(srv.port)
  t.teardown(() => Promise.all([proxy.close(), srv.close()]))
  const agent = new Agent({ keepAlive: true, ca: p.ca })
  t.teardown(() => agent.destroy())
  const get = (url: string) =>
    new Promise<string>((resolve, reject) => {
      const req = https.get(`https://localhost:${proxy.port}${url}`, { agent }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => (body += d))
        res.on('end', () => resolve(body))
      })
      req.on('error', reject)
      req.setTimeout(BOUND, () => req.destroy(new Error('request hung')))
    })
  t.equal(await get('/1'), 'hello /1')
  const pooled = Object.values(agent.freeSockets).flat()[0] as TLSStream
  t.ok(pooled, 'the socket went back to the pool')
  const closed = new Promise<number>((r) => {
    const started = Date.now()
    pooled.once('close', () => r(Date.now() - started))
  })
  proxy.reset()
  const ms = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), BOUND))])
  t.ok(ms >= 0, `the pooled socket noticed the reset and closed (${ms} ms)`)
  t.equal(await get('/2'), 'hello /2', 'the next request works')
  t.equal(srv.handshakes, 2, 'over a new connection')
})

t.test('a program whose connection is reset while idle does not exit 0 silently', async (t) => {
  const srv = await tlsServer(p.leaf)
  const proxy = await faultProxy(srv.port)
  t.teardown(() => Promise.all([proxy.close(), srv.close()]))
  const script = `
    const { connect } = require(${JSON.stringify(path.resolve(__dirname, '../dist/cjs/index.js'))})
    const s = connect(${JSON.stringify(opts(proxy.port))}, () => console.log('connected'))
    s.on('data', () => {})
    s.on('error', (e) => { console.log('error', e.code); process.exitCode = 3 })
    s.on('close', () => console.log('close'))
  `
  const child = execFile(process.execPath, ['-e', script], { timeout: 30_000 })
  let out = ''
  child.stdout!.on('data', (d: Buffer) => {
    out += d
    if (out.includes('connected')) setTimeout(() => proxy.reset(), 100)
  })
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)))
  t.equal(code, 3, `the error was reported (output: ${JSON.stringify(out)})`)
  t.match(out, /error ECONNRESET\s+close/)
})

t.test('RST during a 4 MiB write: every pending write callback gets the error', async (t) => {
  noLeak(t)
  const srv = await tlsServer(p.leaf, (s) => s.resume())
  const proxy = await faultProxy(srv.port, { toServer: { after: 16 * 1024, then: 'stall' } })
  t.teardown(() => Promise.all([proxy.close(), srv.close()]))
  const s = await open(opts(proxy.port))
  const done = outcome(s, BOUND)
  // Loopback buffers take several MiB: a first write fills them, so the 4 MiB
  // write after it is certainly still in flight when the reset comes.
  const cbs = [8 * MiB, 4 * MiB, 1024].map((n) => new Promise<(Error & { code?: string }) | null | undefined>((r) => s.write(crypto.randomBytes(n), (err) => r(err))))
  await proxy.faulted
  await new Promise((r) => setTimeout(r, 300))
  t.ok(s.writableLength >= 4 * MiB, `the 4 MiB write is still in flight (${s.writableLength} bytes pending)`)
  proxy.reset()
  const last = await Promise.race([Promise.all(cbs), new Promise<'hung'>((r) => setTimeout(() => r('hung'), BOUND))])
  t.not(last, 'hung', 'every write callback was called')
  if (last !== 'hung') {
    t.match(last[1]?.code, /^(ECONNRESET|EPIPE)$/, 'the 4 MiB write failed with the reset')
    t.match(last[2]?.code, /^(ECONNRESET|EPIPE|ERR_STREAM_DESTROYED)$/, 'so did the one queued behind it')
  }
  oneError(t, await done, 'TLS_CONNECTION_RESET', /^(ECONNRESET|EPIPE)$/)
  t.equal(s.writableLength, 0, 'writableLength went back to 0')
})

t.test('a reset after an unverified handshake does not carry the old verification result', async (t) => {
  noLeak(t)
  const srv = await tlsServer(p.self)
  const proxy = await faultProxy(srv.port)
  t.teardown(() => Promise.all([proxy.close(), srv.close()]))
  const s = await open(opts(proxy.port, { ca: undefined, rejectUnauthorized: false }))
  t.equal(s.authorizationError, 'DEPTH_ZERO_SELF_SIGNED_CERT')
  const done = outcome(s, BOUND)
  proxy.reset()
  const o = await done
  oneError(t, o, 'TLS_CONNECTION_RESET', 'ECONNRESET')
  t.equal((o.errors[0] as { verifyResult?: string })?.verifyResult, undefined, 'no verifyResult on a reset')
})
