// A missing native library after register(): register() says so at once
// (a warning and `false`) without throwing, and each HTTPS request through the
// registered agents fails with TLS_LIBRARY_NOT_FOUND as an error on that
// request — https.get's 'error' event, axios's and got's rejections, fetch's —
// never as a throw out of the call that started it.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { childEnv } from './helpers/child-env'

const index = path.join(__dirname, '..', 'dist', 'cjs', 'index.js')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ostls-register-missing-'))
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }))

// Port 2 on loopback: nothing listens there (and fetch allows it), so a request that got as far as
// the network would fail with ECONNREFUSED, not with the library's code.
const script = `
import { createRequire } from 'node:module'
import https from 'node:https'
const require = createRequire(${JSON.stringify(index)})
const ostls = require(${JSON.stringify(index)})
const axios = require('axios')
const { default: got } = await import('got')
const out = { warnings: [], threw: [], errors: {} }
process.on('warning', (w) => out.warnings.push({ name: w.name, code: w.code, message: w.message }))
let active
try { active = ostls.register() } catch (e) { out.threw.push('register: ' + e.message) }
out.active = active
out.registered = ostls.isRegistered()
const url = 'https://127.0.0.1:2/'
const seen = (name, e) => { out.errors[name] = { code: e.code ?? e.cause?.code, tlsCode: e.tlsCode ?? e.cause?.tlsCode } }
await new Promise((resolve) => {
  try {
    https.get(url, () => resolve()).on('error', (e) => { seen('https.get', e); resolve() })
  } catch (e) { out.threw.push('https.get: ' + e.message); resolve() }
})
for (const [name, call] of [['axios', () => axios.get(url)], ['got', () => got(url, { retry: { limit: 0 } })], ['fetch', () => fetch(url)], ['ostls.fetch', () => ostls.fetch(url)]]) {
  let p
  try { p = call() } catch (e) { out.threw.push(name + ': ' + e.message); continue }
  await p.then(() => { out.errors[name] = 'resolved' }, (e) => seen(name, e))
}
console.log(JSON.stringify(out))
process.exit(0)
`

t.test('OSTLS_LIBRARY names a missing file: register() warns and returns false; requests error', async (t) => {
  const missing = path.join(tmp, 'nope', 'ostls.node')
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--input-type=module', '-e', script], { cwd: path.join(__dirname, '..'), env: childEnv({ OSTLS_LIBRARY: missing }), timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)
    )
  )
  const r = JSON.parse(out)
  t.same(r.threw, [], 'nothing throws')
  t.equal(r.active, false, 'register() says ostls is not active')
  t.equal(r.registered, true, 'the agents are installed all the same: no silent bypass of the OS trust store')
  t.match(r.warnings, [{ name: 'OstlsWarning', code: 'TLS_LIBRARY_NOT_FOUND', message: new RegExp(`ostls is not active.*ostls doctor.*${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) }])
  const want = { code: 'TLS_LIBRARY_NOT_FOUND', tlsCode: 'TLS_LIBRARY_NOT_FOUND' }
  for (const name of ['https.get', 'axios', 'got', 'fetch', 'ostls.fetch']) t.same(r.errors[name], want, `${name}: the request fails with the library's error`)
})

t.test('with the library present, register() returns true and warns nothing', async (t) => {
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['-e', `const w = []; process.on('warning', (x) => w.push(x.name)); const ok = require(${JSON.stringify(index)}).register(); setImmediate(() => console.log(JSON.stringify({ ok, w })))`], { env: childEnv() }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)
    )
  )
  t.same(JSON.parse(out), { ok: true, w: [] })
})
