// Loading: every candidate is reported with the reason it failed, through the
// same code path the library uses (the doctor prints what the loader recorded).
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { unpackedPath, insideAsar, describeBinary } from '../dist/cjs/loader'
import { foreignLibrary as foreignLib, aLibraryWithoutOurSymbols } from './helpers/binaries'
import { childEnv } from './helpers/child-env'
import { notOpensslEngine } from './helpers/platform'

const cli = path.join(__dirname, '..', 'dist', 'cjs', 'cli', 'main.js')

interface Report {
  ok: boolean
  library: { attempts: Array<{ source: string; path: string; ok: boolean; reason?: string; detail?: string }>; loaded: string | null; error?: { code: string; message: string } }
  backend?: { libraryTried: string }
}

function doctorJson(env: NodeJS.ProcessEnv): Promise<{ code: number; report: Report }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [cli, 'doctor', '--json'], { env: childEnv(env) }, (err, stdout, stderr) => {
      try {
        resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, report: JSON.parse(stdout) })
      } catch {
        reject(new Error(`doctor printed no JSON: ${stdout}\n${stderr}`))
      }
    })
  })
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ostls-loader-'))
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }))

const foreignLibrary = () => foreignLib(tmp)


t.test('an override naming a missing file', async (t) => {
  const missing = path.join(tmp, 'nope', 'ostls.node')
  const { code, report } = await doctorJson({ OSTLS_LIBRARY: missing })
  t.equal(code, 1)
  t.equal(report.ok, false)
  t.match(report.library.attempts, [{ source: 'OSTLS_LIBRARY', path: missing, ok: false, reason: 'file missing' }])
  t.equal(report.library.error?.code, 'TLS_LIBRARY_NOT_FOUND')
})

t.test('an override naming a library of the wrong architecture', async (t) => {
  const f = foreignLibrary()
  const { code, report } = await doctorJson({ OSTLS_LIBRARY: f })
  t.equal(code, 1)
  t.match(report.library.attempts, [{ path: f, ok: false, reason: 'wrong architecture', detail: /this process is/ }])
})

t.test('an override naming a file that is not a library', async (t) => {
  const f = path.join(tmp, 'text.node')
  fs.writeFileSync(f, 'just some text, not machine code\n'.repeat(10))
  const { code, report } = await doctorJson({ OSTLS_LIBRARY: f })
  t.equal(code, 1)
  t.match(report.library.attempts, [{ path: f, ok: false, reason: 'not a library' }])
})

t.test('an override naming a library without the tls_* symbols', async (t) => {
  const { code, report } = await doctorJson({ OSTLS_LIBRARY: aLibraryWithoutOurSymbols })
  t.equal(code, 1)
  t.match(report.library.attempts, [{ ok: false, reason: 'symbol missing', detail: /tls_\w+ is not exported/ }])
})

t.test('the OS TLS library missing: TLS_LIBRARY_NOT_FOUND names what was tried', { skip: (process.platform !== 'linux' && 'only the Linux backend loads its OS TLS library by a name that can be overridden') || notOpensslEngine('OSTLS_LIBSSL') }, async (t) => {
  const { code, report } = await doctorJson({ OSTLS_LIBSSL: '/nonexistent/libssl.so.3:libssl-not-here.so' })
  t.equal(code, 1)
  t.equal(report.library.error?.code, 'TLS_LIBRARY_NOT_FOUND')
  t.match(report.library.error?.message, /\/nonexistent\/libssl\.so\.3/)
  t.match(report.library.error?.message, /libssl-not-here\.so/)
  t.match(report.backend?.libraryTried, /libssl-not-here\.so/)
})

t.test('the same error reaches API users', { skip: (process.platform !== 'linux' && 'Linux-only override') || notOpensslEngine('OSTLS_LIBSSL') }, async (t) => {
  const index = path.join(__dirname, '..', 'dist', 'cjs', 'index.js')
  const script = `const o = require(${JSON.stringify(index)}); try { o.backendInfo() } catch (e) { console.log(JSON.stringify({ tlsCode: e.tlsCode, code: e.code, message: e.message, isTLSError: e instanceof o.TLSError })) }`
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['-e', script], { env: childEnv({ OSTLS_BACKEND: 'openssl', OSTLS_LIBSSL: 'libssl-not-here.so.9' }) }, (err, stdout) => (err ? reject(err) : resolve(stdout)))
  )
  t.match(JSON.parse(out), { tlsCode: 'TLS_LIBRARY_NOT_FOUND', code: 'TLS_LIBRARY_NOT_FOUND', message: /libssl-not-here\.so\.9/, isTLSError: true })
})

t.test('asar paths are rewritten to app.asar.unpacked', async (t) => {
  const sep = path.sep
  const inAsar = ['', 'app', 'resources', 'app.asar', 'node_modules', 'ostls', 'prebuilds', 'linux-x64', 'node.napi.glibc.node'].join(sep)
  t.equal(unpackedPath(inAsar), inAsar.replace(`app.asar${sep}`, `app.asar.unpacked${sep}`))
  t.equal(unpackedPath(unpackedPath(inAsar)), unpackedPath(inAsar), 'idempotent')
  t.equal(unpackedPath('/srv/app/node_modules/ostls/build/Release/ostls.node'), '/srv/app/node_modules/ostls/build/Release/ostls.node', 'untouched outside asar')
  t.equal(unpackedPath('C:\\Apps\\My App\\resources\\app.asar\\node_modules\\ostls\\x.node'), 'C:\\Apps\\My App\\resources\\app.asar.unpacked\\node_modules\\ostls\\x.node')
  t.equal(unpackedPath('/x/my.asarchive/y.node'), '/x/my.asarchive/y.node', 'only whole .asar path parts')
  t.equal(insideAsar(inAsar), true)
  t.equal(insideAsar(unpackedPath(inAsar)), false)
})

t.test('describeBinary reads formats and architectures', async (t) => {
  t.match(describeBinary(foreignLibrary()), { arch: /./ })
  t.same(describeBinary(path.join(tmp, 'missing')), { format: 'unreadable' })
})
