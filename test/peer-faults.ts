// Misbehaving peers: every case ends in a correct result or ONE clean coded
// error, within a bound, with 'close' emitted and every native handle freed.
import t, { Test } from 'tap'
import https from 'node:https'
import crypto from 'node:crypto'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { connect, Agent, TLSStream, ConnectOptions } from '../dist/cjs/index'
import { pki } from './helpers/pki'
import { tlsServer, silentServer, endsFirstServer } from './helpers/servers'
import { httpsServer } from './helpers/http-server'
import { underWine, s2nLimit } from './helpers/platform'
import { open } from './helpers/client'
import { handles } from './helpers/handles'
import { rawServer, faultProxy, outcome, Outcome, record, fatalAlert, oldServerHello } from './helpers/evil'

const p = pki()
const MiB = 1024 * 1024
/** Generous: Node reports a reset in well under a second; a loaded CI machine must not flake. */
const BOUND = 5000
const opts = (port: number, extra: Partial<ConnectOptions> = {}): ConnectOptions => ({ host: '127.0.0.1', port, servername: 'localhost', ca: p.ca, ...extra })

/**
 * Under Wine, recv() on a socket the peer reset often returns 0, as for an
 * orderly end, instead of WSAECONNRESET: the mid-handshake case shows it (no
 * OS error, "closed the connection"). A reset is then an end of stream there,
 * so the cases that need the reset itself are todo under Wine.
 */
const wineReset = underWine ? 'under Wine a reset reads as an orderly end of stream (recv returns 0)' : undefined

/** The case ended with exactly one error carrying these codes, then 'close'. todo: only the codes are known wrong. */
function oneError(t: Test, o: Outcome, tlsCode: string | RegExp, code?: string | RegExp, todo?: string) {
  t.ok(o.closed, `'close' within ${BOUND} ms (took ${o.ms} ms)`)
  t.equal(o.errors.length, 1, `exactly one error: ${o.errors.map((e) => `${e.code} ${e.message}`).join(' | ')}`, { todo })
  const e = o.errors[0]
  if (!e) return
  t.match(e.tlsCode, tlsCode, `tlsCode (${e.message})`, { todo })
  if (code) t.match(e.code, code, 'code', { todo })
}

/** A fault case; by its end every native connection it made has been freed. */
function fault(name: string, fn: (t: Test) => Promise<void>) {
  t.test(name, async (t) => {
    const before = handles()
    await fn(t)
    t.equal(handles(), before, 'no native handle leaked')
  })
}

fault('RST before any byte', async (t) => {
  const srv = await rawServer((s) => s.resetAndDestroy())
  t.teardown(() => srv.close())
  oneError(t, await outcome(connect(opts(srv.port)), BOUND), 'TLS_CONNECTION_RESET', 'ECONNRESET')
})

fault('RST in the middle of the server handshake flight', async (t) => {
  const srv = await tlsServer(p.leaf)
  const proxy = await faultProxy(srv.port, { toClient: { after: 100, then: 'reset' } })
  t.teardown(() => Promise.all([proxy.close(), srv.close()]))
  const o = await outcome(connect(opts(proxy.port)), BOUND)
  oneError(t, o, 'TLS_CONNECTION_RESET', 'ECONNRESET')
  t.equal(srv.handshakes, 0)
  t.equal(o.errors[0]?.message.split('127.0.0.1').length - 1, 1, 'the message names the address once')
})

fault('RST on an idle connection after the handshake is reported', async (t) => {
  const srv = await tlsServer(p.leaf)
  const proxy = await faultProxy(srv.port)
  t.teardown(() => Promise.all([proxy.close(), srv.close()]))
  const s = await open(opts(proxy.port))
  const done = outcome(s, BOUND)
  await new Promise((r) => setTimeout(r, 50))
  proxy.reset()
  oneError(t, await done, 'TLS_CONNECTION_RESET', 'ECONNRESET', wineReset)
})

fault('RST on an idle pooled Agent socket: the next request gets a fresh connection', async (t) => {
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
  // A request sent the moment the pooled socket is reset: it works or fails cleanly, never hangs.
  proxy.reset()
  const third = await get('/3').catch((e: Error & { code?: string }) => e)
  if (typeof third === 'string') t.equal(third, 'hello /3', 'the racing request worked')
  else t.match(third.code, /^(ECONNRESET|EPIPE)$/, `the racing request failed cleanly: ${third.message}`)
  agent.destroy()
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
  t.match(out, /close/, 'the stream closed: the program did not just stop')
  t.equal(code, 3, `the error was reported (output: ${JSON.stringify(out)})`, { todo: wineReset })
  t.match(out, /error ECONNRESET\s+close/, { todo: wineReset })
})

fault('RST during a 4 MiB write: every pending write callback gets the error', async (t) => {
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

fault('a reset after an unverified handshake does not carry the old verification result', async (t) => {
  const srv = await tlsServer(p.self)
  const proxy = await faultProxy(srv.port)
  t.teardown(() => Promise.all([proxy.close(), srv.close()]))
  const s = await open(opts(proxy.port, { ca: undefined, rejectUnauthorized: false }))
  t.equal(s.authorizationError, 'DEPTH_ZERO_SELF_SIGNED_CERT', { skip: s2nLimit('with rejectUnauthorized: false s2n verifies nothing (s2n_config_disable_x509_verification), so there is no reason and no peer certificate to report') })
  const done = outcome(s, BOUND)
  proxy.reset()
  const o = await done
  oneError(t, o, 'TLS_CONNECTION_RESET', 'ECONNRESET', wineReset)
  t.equal((o.errors[0] as { verifyResult?: string })?.verifyResult, undefined, 'no verifyResult on a reset')
})

/** Raw bytes in place of the server's first flight. */
async function answeredWith(t: Test, bytes: Buffer, then: 'end' | 'wait' = 'wait'): Promise<Outcome> {
  const srv = await rawServer((s) => {
    s.once('data', () => {
      s.write(bytes)
      if (then === 'end') s.end()
    })
  })
  t.teardown(() => srv.close())
  // A handshake that waits for more instead of failing ends by this timeout, inside the bound.
  return outcome(connect(opts(srv.port, { handshakeTimeout: BOUND / 2 })), BOUND)
}

/**
 * Malformed records are TLS_PROTOCOL_ERROR. The OpenSSL engine's mapping is
 * fixed on the integ-openssl branch; until both are merged the code is a todo
 * here (the one-clean-error shape is still required).
 */
const mappingTodo = (o: Outcome, tlsCode: string) => {
  const got = o.errors[0]?.tlsCode
  return got && got !== tlsCode && got !== 'TLS_TIMEOUT' ? `the engine says ${got} (mapping fixed on the integ-openssl branch)` : undefined
}

fault('garbage (an HTTP reply) instead of a ServerHello', async (t) => {
  const o = await answeredWith(t, Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'))
  oneError(t, o, 'TLS_PROTOCOL_ERROR', 'TLS_PROTOCOL_ERROR', mappingTodo(o, 'TLS_PROTOCOL_ERROR'))
})

fault('an oversize record header', async (t) => {
  const header = Buffer.from([22, 3, 3, 0xff, 0xff])
  const o = await answeredWith(t, Buffer.concat([header, Buffer.alloc(1024)]))
  oneError(t, o, 'TLS_PROTOCOL_ERROR', 'TLS_PROTOCOL_ERROR', mappingTodo(o, 'TLS_PROTOCOL_ERROR'))
})

fault('a plaintext fatal alert (handshake_failure) in place of the ServerHello', async (t) => {
  oneError(t, await answeredWith(t, fatalAlert(40), 'end'), 'TLS_HANDSHAKE_FAILED')
})

for (const [name, version] of [['SSLv3', 0x0300], ['TLS 1.0', 0x0301]] as const) {
  fault(`an ${name} ServerHello`, async (t) => {
    oneError(t, await answeredWith(t, oldServerHello(version)), 'TLS_PROTOCOL_VERSION', 'TLS_PROTOCOL_VERSION')
  })
}

fault('a server asking for a client certificate: ostls goes on without one, or fails at once saying so', async (t) => {
  // OpenSSL sends an empty Certificate; Schannel stops with SEC_I_INCOMPLETE_CREDENTIALS,
  // which must end in one coded error at once, not a retry loop.
  const srv = await tlsServer(p.leaf, (s) => s.end('hello'), { requestCert: true, rejectUnauthorized: false })
  t.teardown(() => srv.close())
  const o = await outcome(connect(opts(srv.port)), BOUND)
  if (o.errors.length === 0) {
    t.equal(o.data.toString(), 'hello', 'connected without a client certificate')
  } else {
    oneError(t, o, 'TLS_HANDSHAKE_FAILED')
    t.match(o.errors[0]?.message, /client certificate/, 'the message says why')
  }
})

fault('a silent server with a short handshakeTimeout', async (t) => {
  const srv = await silentServer()
  t.teardown(() => srv.close())
  const o = await outcome(connect(opts(srv.port, { handshakeTimeout: 300 })), BOUND)
  oneError(t, o, 'TLS_TIMEOUT', 'ETIMEDOUT')
  t.ok(o.ms >= 290, `waited for the timeout (${o.ms} ms)`)
})

fault('a silent server without handshakeTimeout: stays pending, no error, destroy ends it cleanly', async (t) => {
  const srv = await silentServer()
  t.teardown(() => srv.close())
  const s = connect(opts(srv.port, { handshakeTimeout: 0 }))
  const done = outcome(s, BOUND)
  await new Promise((r) => setTimeout(r, 500))
  t.equal(s.pending, true, 'still setting up')
  t.equal(s.readyState, 'opening')
  s.destroy()
  const o = await done
  t.ok(o.closed, 'closed')
  t.equal(o.errors.length, 0, 'no error')
})

/** A server that sends payload, through a proxy that ends the stream with a FIN after `after` bytes. */
async function cutStream(t: Test, payload: Buffer, after: number, atRecordEnd: boolean) {
  const srv = await tlsServer(p.leaf, (s) => s.write(payload))
  const proxy = await faultProxy(srv.port, { toClient: { after, then: 'end', atRecordEnd } })
  t.teardown(() => Promise.all([proxy.close(), srv.close()]))
  const o = await outcome(await open(opts(proxy.port)), BOUND)
  t.ok(o.closed, `'close' within ${BOUND} ms`)
  t.ok(payload.subarray(0, o.data.length).equals(o.data), `what arrived (${o.data.length} bytes of ${proxy.toClient} on the wire) is an exact prefix`)
  t.ok(o.data.length < payload.length, 'the cut really cut')
  return o
}

fault('a FIN in the middle of a record (no close_notify) is a truncation error, never a clean end', async (t) => {
  const o = await cutStream(t, crypto.randomBytes(100_000), 60_000, false)
  oneError(t, o, 'TLS_CONNECTION_RESET', 'ECONNRESET')
  t.notOk(o.ended, "no 'end': the application must not take a cut stream for a whole one")
})

fault('a FIN between records without close_notify ends the stream cleanly, as in Node', async (t) => {
  const o = await cutStream(t, crypto.randomBytes(100_000), 60_000, true)
  t.equal(o.errors.length, 0, o.errors.map((e) => e.message).join())
  t.ok(o.ended, "'end'")
})

fault('half-close in both directions through the proxy', async (t) => {
  // Server → client ends first: the client keeps writing and the server gets it.
  const srv = await endsFirstServer(p.leaf, 'server done')
  const proxy = await faultProxy(srv.port)
  t.teardown(() => Promise.all([proxy.close(), srv.close()]))
  const s = await open(opts(proxy.port, { allowHalfOpen: true }))
  const o = outcome(s, BOUND)
  await new Promise((r) => s.once('end', r))
  await new Promise<void>((r) => s.end('client words after the server ended', () => r()))
  const res = await o
  t.equal(res.data.toString(), 'server done')
  t.equal(res.errors.length, 0, res.errors.map((e) => e.message).join())
  await new Promise((r) => setTimeout(r, 100))
  t.equal(srv.received(), 'client words after the server ended')

  // Client → server ends first: the server still answers afterwards.
  const srv2 = await tlsServer(
    p.leaf,
    (s) => {
      let got = ''
      s.setEncoding('utf8')
      s.on('data', (d: string) => (got += d))
      s.on('end', () => setTimeout(() => s.end(`reply to ${got}`), 50))
    },
    { allowHalfOpen: true }
  )
  const proxy2 = await faultProxy(srv2.port)
  t.teardown(() => Promise.all([proxy2.close(), srv2.close()]))
  const s2 = await open(opts(proxy2.port))
  const o2 = outcome(s2, BOUND)
  s2.end('question')
  const res2 = await o2
  t.equal(res2.data.toString(), 'reply to question')
  t.equal(res2.errors.length, 0, res2.errors.map((e) => e.message).join())
})

fault('1-byte TCP segments through the whole handshake and the data', async (t) => {
  const srv = await tlsServer(p.leaf)
  const proxy = await faultProxy(srv.port, { segment: 1 })
  t.teardown(() => Promise.all([proxy.close(), srv.close()]))
  const s = await open(opts(proxy.port, { handshakeTimeout: 60_000 }))
  const data = crypto.randomBytes(2 * 1024)
  const o = outcome(s, 60_000)
  s.end(data)
  const res = await o
  t.equal(res.errors.length, 0, res.errors.map((e) => e.message).join())
  t.ok(res.data.equals(data), `echoed intact (${res.data.length} bytes)`)
  t.ok(proxy.toClient > 1000, `${proxy.toClient} bytes reached the client one by one`)
})
