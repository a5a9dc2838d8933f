// A connection whose TLS session could not be set up (here: a `ca` whose PEM
// block holds invalid base64) fails with one clean error, and every later
// call on it - info keys, read, write, shutdown, close, free - answers
// without crashing. The native calls run in a child process, so a crash
// shows as its exit signal instead of taking the test runner down.
import t from 'tap'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { connect } from '../dist/cjs/index'
import { tlsServer } from './helpers/servers'
import { pki } from './helpers/pki'

const p = pki()
const badCa = '-----BEGIN CERTIFICATE-----\nThis is not base64 at all!!\n-----END CERTIFICATE-----\n'

t.test('the public API: one TLS_INVALID_ARGUMENT, then harmless calls', async (t) => {
  const srv = await tlsServer(p.leaf)
  t.teardown(() => srv.close())
  const s = connect({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ca: badCa })
  const err = await new Promise<Error & { tlsCode?: string }>((resolve) => s.once('error', resolve))
  t.equal(err.tlsCode, 'TLS_INVALID_ARGUMENT', err.message)
  t.same(s.getPeerCertificate(), {})
  t.equal(s.getProtocol(), null)
  t.equal(s.getCipher(), undefined)
  t.throws(() => s.nativeInfo('alpn'), { tlsCode: 'TLS_CLOSED' })
  t.equal(srv.handshakes, 0)
})

t.test('the native calls on the failed connection, in a child process', async (t) => {
  const srv = await tlsServer(p.leaf)
  t.teardown(() => srv.close())
  const native = path.join(__dirname, '..', 'dist', 'cjs', 'native.js')
  const script = `
    const { NativeConn } = require(${JSON.stringify(native)})
    const c = new NativeConn('127.0.0.1', ${srv.port})
    c.setOption('servername', 'localhost')
    c.setOption('ca', ${JSON.stringify(badCa)})
    const out = []
    const tryIt = (what, fn) => {
      try { out.push(what + '=' + JSON.stringify(fn())) } catch (e) { out.push(what + '!' + e.tlsCode) }
    }
    ;(async () => {
      // The handshake may first wait (trust material loads on a worker):
      // drive it until it reports.
      for (let i = 0; i < 100; i++) {
        let done
        try { done = c.handshake() } catch (e) { out.push('handshake!' + e.tlsCode); break }
        if (done) { out.push('handshake=true'); break }
        await new Promise((r) => c.waitAsync(1, 200, () => r()))
      }
      for (const key of ['protocol', 'cipher', 'alpn', 'peer_cert', 'peer_chain', 'state', 'verify_result'])
        tryIt(key, () => c.info(key))
      tryIt('read', () => c.read(Buffer.alloc(16)))
      tryIt('write', () => c.write(Buffer.from('x')))
      tryIt('bytesAvailable', () => c.bytesAvailable())
      tryIt('shutdown', () => c.shutdown())
      tryIt('pollHandle', () => c.pollHandle(1).events)
      tryIt('close', () => c.close())
      tryIt('info after close', () => c.info('alpn'))
      tryIt('free', () => c.free())
      console.log(out.join('\\n'))
    })()
  `
  const { code, signal, stdout, stderr } = await new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(process.execPath, ['-e', script], { timeout: 30_000 }, (_err, stdout, stderr) =>
      resolve({ code: child.exitCode, signal: child.signalCode, stdout, stderr })
    )
  })
  t.equal(signal, null, `the process was not killed by a signal (${stderr.trim().split('\n').slice(-3).join(' | ')})`)
  t.equal(code, 0, 'the process exited normally')
  const lines = stdout.trim().split('\n')
  t.equal(lines[0], 'handshake!TLS_INVALID_ARGUMENT', 'the handshake reports the bad ca')
  for (const key of ['protocol', 'cipher', 'alpn', 'peer_cert', 'peer_chain']) t.ok(lines.includes(`${key}=""`), `${key} is empty`)
  t.ok(lines.includes('state="failed"'), 'state is failed')
  for (const call of ['read', 'write', 'bytesAvailable', 'shutdown']) t.ok(lines.includes(`${call}!TLS_INVALID_ARGUMENT`), `${call} repeats the failure`)
  t.ok(lines.includes('free=undefined'), 'free returns')
  t.equal(srv.handshakes, 0)
})
