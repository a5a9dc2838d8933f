// The OS trust store is loaded off the JS thread (issue 15): its bundle is
// read and parsed on a worker behind the poll handle, as DNS is, so the event
// loop runs on while it loads. Proven without timing: SSL_CERT_FILE is a FIFO
// that only the child's own JS thread fills, from a timer. An engine reading
// the bundle on the JS thread blocks in open() and never fires that timer;
// one reading it again (for a new ca, or per connection) waits for a second
// fill that never comes.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFile, execFileSync } from 'node:child_process'
import { pki, pkiDir } from './helpers/pki'
import { tlsServer } from './helpers/servers'
import { childEnv } from './helpers/child-env'
import { mbedtlsLimit, s2nLimit } from './helpers/platform'

const p = pki()
const index = path.join(__dirname, '..', 'dist', 'cjs', 'index.js')

// Each phase: connect, then (if the store must be read) feed the FIFO from a
// timer on this thread. Every outcome is printed; the parent checks them.
const script = `
  const fs = require('fs')
  const { connect } = require(${JSON.stringify(index)})
  const port = Number(process.env.TEST_PORT)
  const fifo = process.env.SSL_CERT_FILE
  const bundle = fs.readFileSync(process.env.TEST_BUNDLE)
  const otherCa = fs.readFileSync(process.env.TEST_OTHER_CA, 'utf8')
  function phase(name, options, feed) {
    return new Promise((resolve) => {
      let timerRan = false
      const s = connect({ host: '127.0.0.1', port, servername: 'localhost', ...options })
      if (feed) setTimeout(() => { timerRan = true; fs.writeFileSync(fifo, bundle) }, 50)
      s.on('secureConnect', () => { console.log(JSON.stringify({ name, ok: true, authorized: s.authorized, timerRan })); s.destroy(); resolve() })
      s.on('error', (e) => { console.log(JSON.stringify({ name, ok: false, code: e.tlsCode, timerRan })); resolve() })
    })
  }
  ;(async () => {
    await phase('first', {}, true)
    await phase('new-ca', { ca: otherCa }, false)
    await phase('again', {}, false)
  })()
`

t.test('the OS trust bundle is read on a worker, never on the JS thread', {
  skip: process.platform !== 'linux'
    ? 'the OS store is a file only on Linux (SSL_CERT_FILE); elsewhere the OS holds it'
    : mbedtlsLimit('Mbed TLS sizes a bundle file before reading it (fseek/ftell), so a FIFO cannot stand in for one') ??
      s2nLimit('s2n_init itself reads the system trust store (its default configs), in tls_init on the JS thread'),
}, async (t) => {
  const srv = await tlsServer(p.oslf)
  t.teardown(() => srv.close())
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ostls-fifo-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const fifo = path.join(dir, 'bundle.pem')
  execFileSync('mkfifo', [fifo])
  const env = childEnv({
    SSL_CERT_FILE: fifo,
    SSL_CERT_DIR: dir,
    TEST_PORT: String(srv.port),
    TEST_BUNDLE: path.join(pkiDir, 'osca.pem'),
    TEST_OTHER_CA: path.join(pkiDir, 'ca.pem'),
  })
  const out = await new Promise<string>((resolve, reject) => {
    // A JS thread stuck in open() never finishes: the kill is the failure.
    execFile(process.execPath, ['-e', script], { env, timeout: 30_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`the child did not finish (${err.message}): its JS thread waited on the trust bundle\n${stdout}${stderr}`))
      resolve(stdout)
    })
  })
  const results = out.trim().split('\n').map((line) => JSON.parse(line))
  t.same(results, [
    { name: 'first', ok: true, authorized: true, timerRan: true },
    { name: 'new-ca', ok: true, authorized: true, timerRan: false },
    { name: 'again', ok: true, authorized: true, timerRan: false },
  ], 'the load ran while the loop was free, and the OS store is read once: a new ca and later connections share it')
})
