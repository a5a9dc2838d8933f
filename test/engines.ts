// Engine selection (OSTLS_BACKEND): the library lists every engine of its
// build, says which one loaded and why the others did not, and a choice it
// cannot honour fails tls_init with TLS_LIBRARY_NOT_FOUND naming what was tried.
import t from 'tap'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { backendInfo } from '../dist/cjs/index'
import { cli } from './helpers/cli'
import { childEnv } from './helpers/child-env'
import { standinGap } from './helpers/platform'

const index = path.join(__dirname, '..', 'dist', 'cjs', 'index.js')

/** backendInfo() in a fresh process (the engine is chosen once per process), or the error it threw. */
function backendInfoIn(env: NodeJS.ProcessEnv): Promise<{ info?: ReturnType<typeof backendInfo>; error?: { tlsCode: string; message: string } }> {
  const script = `const o = require(${JSON.stringify(index)}); try { console.log(JSON.stringify({ info: o.backendInfo() })) } catch (e) { console.log(JSON.stringify({ error: { tlsCode: e.tlsCode, message: e.message } })) }`
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['-e', script], { env: childEnv(env) }, (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout))))
  )
}

function doctorJson(env: NodeJS.ProcessEnv): Promise<{ code: number; report: any }> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [cli, 'doctor', '--json'], { env: childEnv(env) }, (err, stdout, stderr) => {
      try {
        resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, report: JSON.parse(stdout) })
      } catch {
        reject(new Error(`doctor printed no JSON: ${stdout}\n${stderr}`))
      }
    })
  )
}

const platformEngines: Record<string, string[]> = { linux: ['openssl'], win32: ['schannel'], darwin: ['network', 'securetransport'] }

t.test('every engine of the build is listed; exactly one loaded, the one in use', { skip: standinGap("its test library holds network.c alone, not this platform's build and its engine list") }, async (t) => {
  const info = backendInfo()
  const names = info.engines.map((e) => e.name)
  for (const name of platformEngines[process.platform] ?? []) t.ok(names.includes(name), `the ${process.platform} build has the ${name} engine`)
  t.equal(new Set(names).size, names.length, 'each engine once')
  const loaded = info.engines.filter((e) => e.status === 'loaded')
  t.equal(loaded.length, 1)
  t.equal(loaded[0].name, info.backend)
  t.ok(loaded[0].reason.length > 0, 'says why it was chosen')
  for (const e of info.engines) {
    t.match(e.status, /^(loaded|failed|not tried)$/)
    if (e.status === 'not tried') t.equal(e.reason, '', `${e.name}: only an engine that was tried has a why`)
    if (e.status === 'failed') t.match(e.reason, /^TLS_\w+: \S/, `${e.name}: failed with a code and why`)
  }
  if (process.env.OSTLS_BACKEND) t.equal(info.backend, process.env.OSTLS_BACKEND, 'OSTLS_BACKEND chose it')
  else t.ok(info.engines.slice(0, names.indexOf(info.backend)).every((e) => e.status === 'failed'), 'without OSTLS_BACKEND, the first engine that loads')
})

t.test('OSTLS_BACKEND naming no engine of the build: TLS_LIBRARY_NOT_FOUND, nothing tried', async (t) => {
  const names = backendInfo().engines.map((e) => e.name)
  const r = await backendInfoIn({ OSTLS_BACKEND: 'nonexistent' })
  t.equal(r.error?.tlsCode, 'TLS_LIBRARY_NOT_FOUND')
  t.match(r.error?.message, /^OSTLS_BACKEND=nonexistent names no engine in this build; nothing was tried/)
  for (const name of names) t.match(r.error?.message, new RegExp(`\\b${name}\\b`), `names the engine ${name}`)
  const d = await doctorJson({ OSTLS_BACKEND: 'nonexistent' })
  t.equal(d.code, 1)
  t.match(d.report.library.error, { code: 'TLS_LIBRARY_NOT_FOUND', hint: /^OSTLS_BACKEND names no engine of this build: unset it, or set it to one of / })
  t.same(d.report.backend.engines.map((e: { status: string }) => e.status), names.map(() => 'not tried'))
})

t.test('OSTLS_BACKEND naming the engine in use: chosen by name, and a handshake works through it', async (t) => {
  const engine = backendInfo().backend
  const r = await backendInfoIn({ OSTLS_BACKEND: engine })
  t.equal(r.info?.backend, engine)
  t.match(r.info?.engines.find((e) => e.name === engine), { status: 'loaded', reason: 'chosen by OSTLS_BACKEND' })
  const d = await doctorJson({ OSTLS_BACKEND: engine })
  t.equal(d.code, 0)
  t.match(d.report, { ok: true, backend: { name: engine }, selfTest: { ok: true } })
})

t.test('OSTLS_BACKEND naming an engine that cannot load: its own reason, and no other engine instead', { skip: (process.platform !== 'linux' && 'only the OpenSSL engine (Linux) loads its library by a name that can be overridden') || standinGap("its test library holds network.c alone, not the Linux build's OpenSSL engine") }, async (t) => {
  const r = await backendInfoIn({ OSTLS_BACKEND: 'openssl', OSTLS_LIBSSL: 'libssl-not-here.so.9' })
  t.equal(r.error?.tlsCode, 'TLS_LIBRARY_NOT_FOUND')
  t.match(r.error?.message, /^OSTLS_BACKEND=openssl: the openssl engine did not load: could not load the system OpenSSL .*libssl-not-here\.so\.9/)
  const d = await doctorJson({ OSTLS_BACKEND: 'openssl', OSTLS_LIBSSL: 'libssl-not-here.so.9' })
  t.match(d.report.backend.engines.find((e: { name: string }) => e.name === 'openssl'), { status: 'failed', reason: /^TLS_LIBRARY_NOT_FOUND: .*libssl-not-here\.so\.9/ })
  t.notOk(d.report.backend.engines.some((e: { status: string }) => e.status === 'loaded'), 'no other engine stands in for the one asked for')
})

t.test('the mbedtls engine loads only the Mbed TLS 2.28 SONAMEs it was built for, and says so when it cannot', { skip: process.platform !== 'linux' ? 'the mbedtls engine is built on Linux only' : standinGap("its test library holds network.c alone, not the Linux build's mbedtls engine") }, async (t) => {
  const r = await backendInfoIn({ OSTLS_BACKEND: 'mbedtls', OSTLS_LIBMBEDTLS: '/nonexistent/libmbedtls.so.21' })
  t.equal(r.error?.tlsCode, 'TLS_LIBRARY_NOT_FOUND')
  // A clone built on a machine without Mbed TLS 2.28's headers (mbedtls_have.h);
  // prebuilds always have the engine, and scripts/test-contributor-build.sh checks this message.
  if (/this build of the library has no mbedtls engine/.test(r.error?.message ?? '')) {
    t.skip(`this library was built without the mbedtls engine: ${r.error?.message}`)
    return
  }
  t.match(r.error?.message, /could not load Mbed TLS 2\.28 \(\/nonexistent\/libmbedtls\.so\.21, with libmbedx509\.so\.1 and libmbedcrypto\.so\.7\)/)
  const ok = await backendInfoIn({ OSTLS_BACKEND: 'mbedtls' })
  if (ok.error) {
    t.match(ok.error.message, /libmbedtls\.so\.14/, 'not installed here: the message names the SONAME it needs')
    t.skip(`Mbed TLS 2.28 is not installed here: ${ok.error.message}`)
    return
  }
  t.equal(ok.info?.backend, 'mbedtls')
  t.match(ok.info?.version, /^mbed TLS 2\.28\.\d+$/)
  t.match(ok.info?.libraryPath, /libmbedtls\.so/)
})
