// No sequence of JS calls may crash the process or hand C a freed handle:
// each misuse gives an error or does nothing, and native handles never leak.
import t from 'tap'
import v8 from 'node:v8'
import vm from 'node:vm'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { connect, TLSStream } from '../dist/cjs/index'
import { pki } from './helpers/pki'
import { tlsServer, silentServer } from './helpers/servers'
import { open, collect } from './helpers/client'
import { childEnv } from './helpers/child-env'
import { handles } from './helpers/handles'

v8.setFlagsFromString('--expose-gc')
const gc: () => void = vm.runInNewContext('gc')
const p = pki()
const closed = (s: TLSStream) => new Promise<void>((r) => (s.destroyed && s.closed ? r() : s.once('close', () => r())))
const opts = (port: number) => ({ host: '127.0.0.1', port, servername: 'localhost', ca: p.ca })

t.test('write after destroy is an error, not a crash', async (t) => {
  const srv = await tlsServer(p.leaf)
  t.teardown(() => srv.close())
  const s = await open(opts(srv.port))
  s.destroy()
  const err = await new Promise<Error & { code?: string }>((resolve) => s.write('late', resolve as never))
  t.equal(err.code, 'ERR_STREAM_DESTROYED')
  t.throws(() => s.nativeInfo('protocol'), { tlsCode: 'TLS_CLOSED' }, 'native calls after destroy stop in JS')
  t.same(s.getPeerCertificate(), {}, 'no certificate once released')
  t.doesNotThrow(() => s.setNoDelay(true))
  t.doesNotThrow(() => s.setKeepAlive(true, 1000))
})

t.test('destroy twice is harmless', async (t) => {
  const srv = await tlsServer(p.leaf)
  t.teardown(() => srv.close())
  const s = await open(opts(srv.port))
  s.destroy()
  s.destroy()
  s.destroy(new Error('third'))
  await closed(s)
  t.pass('still alive')
})

t.test('destroy during the handshake, at every stage', async (t) => {
  const before = handles()
  const srv = await tlsServer(p.leaf)
  const silent = await silentServer()
  t.teardown(() => Promise.all([srv.close(), silent.close()]))
  // Immediately (DNS not started), after a tick, after TCP connects, while the handshake waits on the server.
  for (const delay of [-1, 0, 1, 5, 20]) {
    for (const port of [srv.port, silent.port]) {
      const s = connect({ ...opts(port), host: 'localhost' })
      s.on('error', () => {})
      if (delay < 0) s.destroy()
      else setTimeout(() => s.destroy(), delay)
      await closed(s)
    }
  }
  t.equal(handles(), before, 'every native connection was freed')
})

t.test('end then write gives write-after-end', async (t) => {
  const srv = await tlsServer(p.leaf)
  t.teardown(() => srv.close())
  const s = await open(opts(srv.port))
  s.resume()
  s.end('last')
  const err = await new Promise<Error & { code?: string }>((resolve) => {
    s.once('error', resolve)
    s.write('too late')
  })
  t.equal(err.code, 'ERR_STREAM_WRITE_AFTER_END')
})

t.test('destroy from inside a data handler mid-transfer', async (t) => {
  const srv = await tlsServer(p.leaf, (s) => s.end(Buffer.alloc(8 * 1024 * 1024, 7)))
  t.teardown(() => srv.close())
  const s = await open(opts(srv.port))
  let chunks = 0
  s.on('data', () => {
    if (++chunks === 3) s.destroy()
  })
  await closed(s)
  t.equal(chunks, 3, 'no data after destroy')
})

t.test('writes queued during the handshake are sent once it completes', async (t) => {
  const srv = await tlsServer(p.leaf)
  t.teardown(() => srv.close())
  const s = connect(opts(srv.port))
  s.write('early ')
  s.end('bird')
  t.equal((await collect(s)).toString(), 'early bird')
})

t.test('a stream dropped without close is freed by the garbage collector', async (t) => {
  const srv = await tlsServer(p.leaf)
  t.teardown(() => srv.close())
  const before = handles()
  await (async () => {
    const s = await open(opts(srv.port))
    t.equal(handles(), before + 1)
    void s // dropped here: never read, written, ended or destroyed
  })()
  for (let i = 0; i < 20 && handles() !== before; i++) {
    gc()
    await new Promise((r) => setTimeout(r, 20))
  }
  t.equal(handles(), before, 'the finalizer released the native connection')
})

t.test('a flowing stream nobody references stays alive until it ends', async (t) => {
  const srv = await tlsServer(p.leaf, (s) => setTimeout(() => s.end('still here'), 200))
  t.teardown(() => srv.close())
  const body = await new Promise<string>((resolve) => {
    let got = ''
    const s = connect(opts(srv.port))
    s.setEncoding('utf8')
    s.on('data', (d: string) => (got += d))
    s.on('end', () => resolve(got))
  })
  for (let i = 0; i < 5; i++) gc()
  t.equal(body, 'still here')
})

t.test('the tls_wait fallback (no pollable handle) works and is safe to destroy', async (t) => {
  const srv = await tlsServer(p.leaf, (s) => s.pipe(s))
  const silent = await silentServer()
  t.teardown(() => Promise.all([srv.close(), silent.close()]))
  const index = path.join(__dirname, '..', 'dist', 'cjs', 'index.js')
  const script = `
    const { connect } = require(${JSON.stringify(index)})
    const ca = ${JSON.stringify(p.ca.toString())}
    const s = connect({ host: '127.0.0.1', port: ${srv.port}, servername: 'localhost', ca })
    let got = ''
    s.setEncoding('utf8')
    s.on('data', (d) => { got += d; if (got.length >= 200000) s.end() })
    s.on('end', () => {
      const h = connect({ host: '127.0.0.1', port: ${silent.port}, servername: 'localhost', ca })
      h.on('close', () => console.log(JSON.stringify({ len: got.length, ok: got === 'x'.repeat(200000) })))
      setTimeout(() => h.destroy(), 30)
    })
    s.write('x'.repeat(200000))
  `
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['-e', script], { env: childEnv({ OSTLS_POLL: 'wait' }), timeout: 20000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)
    )
  )
  t.same(JSON.parse(out), { len: 200000, ok: true })
})
