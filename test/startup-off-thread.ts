// The OS's TLS library is loaded off the JS thread (issue 15): dlopen of
// libssl/libcrypto into a process as big as Node binds thousands of symbols
// (5-15 ms), so a process's first connect() starts the library's start-up on
// a worker and waits for it behind its poll handle. Proven without timing:
// OSTLS_LIBSSL names a FIFO first; dlopen blocks in open() on it until a
// writer comes, and only the child's own JS thread writes to it, from a
// timer. (What it writes is no library, so the next name, the real libssl,
// is loaded.) A start-up on the JS thread never fires that timer.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFile, execFileSync } from 'node:child_process'
import { pki } from './helpers/pki'
import { tlsServer } from './helpers/servers'
import { childEnv } from './helpers/child-env'
import { notOpensslEngine } from './helpers/platform'

const p = pki()
const index = path.join(__dirname, '..', 'dist', 'cjs', 'index.js')

const script = `
  const fs = require('fs')
  const { connect, backendInfo } = require(${JSON.stringify(index)})
  let timerRan = false
  const s = connect({ host: '127.0.0.1', port: Number(process.env.TEST_PORT), servername: 'localhost', ca: process.env.TEST_CA })
  setTimeout(() => { timerRan = true; fs.writeFileSync(process.env.TEST_FIFO, 'not a library') }, 50)
  s.on('secureConnect', () => { console.log(JSON.stringify({ ok: true, authorized: s.authorized, timerRan, backend: backendInfo().backend })); s.destroy() })
  s.on('error', (e) => console.log(JSON.stringify({ ok: false, code: e.tlsCode, message: e.message, timerRan })))
`

t.test('the first connect loads the OS TLS library on a worker, never on the JS thread', {
  skip: (process.platform !== 'linux' && 'only the Linux OpenSSL engine loads its library by a name that can be overridden (OSTLS_LIBSSL)') || notOpensslEngine('OSTLS_LIBSSL'),
}, async (t) => {
  const srv = await tlsServer(p.leaf)
  t.teardown(() => srv.close())
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ostls-libfifo-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const fifo = path.join(dir, 'libssl.so.3')
  execFileSync('mkfifo', [fifo])
  const env = childEnv({
    OSTLS_LIBSSL: `${fifo}:libssl.so.3:libssl.so.1.1`,
    TEST_FIFO: fifo,
    TEST_PORT: String(srv.port),
    TEST_CA: p.ca.toString(),
  })
  const out = await new Promise<string>((resolve, reject) => {
    // A JS thread stuck in dlopen's open() never finishes: the kill is the failure.
    execFile(process.execPath, ['-e', script], { env, timeout: 30_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`the child did not finish (${err.message}): its JS thread waited in the library's start-up\n${stdout}${stderr}`))
      resolve(stdout)
    })
  })
  t.same(JSON.parse(out.trim()), { ok: true, authorized: true, timerRan: true, backend: 'openssl' }, 'the start-up ran while the loop was free, then the connection verified')
})

t.test('a start-up that fails is the first connection\'s error, with its code, and the next connect throws it', {
  skip: (process.platform !== 'linux' && 'only the Linux OpenSSL engine loads its library by a name that can be overridden (OSTLS_LIBSSL)') || notOpensslEngine('OSTLS_LIBSSL'),
}, async (t) => {
  const script2 = `
    const { connect } = require(${JSON.stringify(index)})
    const s = connect({ host: '127.0.0.1', port: 9 })
    s.on('error', (e) => {
      const out = { first: { code: e.code, tlsCode: e.tlsCode, message: e.message } }
      try { connect({ host: '127.0.0.1', port: 9 }) } catch (e2) { out.second = { tlsCode: e2.tlsCode } }
      console.log(JSON.stringify(out))
    })
  `
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['-e', script2], { env: childEnv({ OSTLS_BACKEND: 'openssl', OSTLS_LIBSSL: 'libssl-not-here.so.9' }), timeout: 30_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))
  )
  t.match(JSON.parse(out.trim()), {
    first: { code: 'TLS_LIBRARY_NOT_FOUND', tlsCode: 'TLS_LIBRARY_NOT_FOUND', message: /libssl-not-here\.so\.9/ },
    second: { tlsCode: 'TLS_LIBRARY_NOT_FOUND' },
  })
})
