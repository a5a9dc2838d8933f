// The package's types where users are: a file that uses every public API the
// way the README does, compiled with `tsc --strict` against the BUILT package
// (package.json + dist/*.d.ts, through node_modules/ostls) under (a) tsc's
// defaults (CommonJS, node10 resolution, ES5 target, DOM in the default lib)
// and (b) `--module nodenext`, as CommonJS (.ts) and as ESM (.mts).
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { underWine } from './helpers/platform'

const root = path.join(__dirname, '..')
const tsc = require.resolve('typescript/bin/tsc')

/** The README's uses, module-system neutral. */
const body = `
// Quick start
const socket = connect({ host: 'example.com', port: 443, ALPNProtocols: ['http/1.1'] }, () => {
  console.log(socket.getProtocol(), socket.getCipher().standardName, socket.authorized)
  socket.end('GET / HTTP/1.1\\r\\nHost: example.com\\r\\nConnection: close\\r\\n\\r\\n')
})
socket.pipe(process.stdout)
socket.on('error', (err) => console.error(err.code, err.tlsCode, err.message))
socket.once('secureConnect', () => {
  const cert = socket.getPeerCertificate(true)
  const cipher: CipherInfo = socket.getCipher()
  console.log(cert.subject, cert.fingerprint256, cipher.version, socket.alpnProtocol, socket.authorizationError, socket.remoteAddress)
})
const opts: ConnectOptions = { host: 'h', port: 443, ca: ['pem'], rejectUnauthorized: true, minVersion: 'TLSv1.2', handshakeTimeout: 1000, signal: new AbortController().signal }
const stream: TLSStream = connect(opts)
stream.setTimeout(1000).setNoDelay(true).setKeepAlive(true, 10).unref()
// onread: reads into the caller's buffer
const scratch = new Uint8Array(65536)
connect({ host: 'h', port: 443, onread: { buffer: scratch, callback: (n: number, buf: Uint8Array) => n < buf.length } })
const perRead: OnReadOptions = { buffer: () => Buffer.alloc(1024), callback: (n) => { console.log(n) } }
connect({ host: 'h', port: 443, onread: perRead }).resume()

// Node's HTTP client over it
https.request({ host: 'h', port: 443, createConnection: () => connect({ host: 'h', port: 443 }) }, (res) => res.resume()).end()

// register() and the per-call-site forms
const active: boolean = register({ ca: 'pem', rejectUnauthorized: true, handshakeTimeout: 5000 })
console.log(active, isRegistered())
unregister()
const agentOptions: AgentOptions = { keepAlive: true, maxSockets: 4, ca: 'pem', handshakeTimeout: 1000 }
https.get('https://h/', { agent: new Agent(agentOptions) }, (res) => res.resume())
const dispatcherOptions: DispatcherOptions = { ca: 'pem', connections: 4 }

async function http(url: string): Promise<void> {
  const res = await fetch(url)
  console.log(res.status, await res.text())
  await globalThis.fetch(url, { dispatcher: createDispatcher(dispatcherOptions) })
  await fetch(url, { dispatcher: createDispatcher(), method: 'POST', body: 'x', headers: { a: 'b' } })
  await fetch(new URL(url))
  const standIn: typeof globalThis.fetch = fetch
  await standIn(url)
}

// Errors and diagnostics
function onError(err: unknown): void {
  if (err instanceof TLSError) {
    const code: TLSCode = err.tlsCode
    console.log(code, err.code, err.osError, err.verifyResult, nodeCode(code))
  }
}
const info: BackendInfo = backendInfo()
console.log(info.backend, info.version, info.libraryPath, info.prebuildPath, info.apiVersion, info.trustStore)

async function report(): Promise<void> {
  const r: DoctorReport = await doctor()
  console.log(r.ok, r.schemaVersion, r.library.attempts.map((a) => \`\${a.source} \${a.path} \${a.reason ?? 'ok'}\`), r.library.loaded)
  console.log(r.selfTest?.timings?.setupMs, r.selfTest?.timings?.handshakeMs, r.backend?.name)
}
void http
void onError
void report
`

const imports = `
import * as https from 'node:https'
import { connect, TLSStream, TLSError, nodeCode, Agent, fetch, createDispatcher, register, unregister, isRegistered, backendInfo } from 'ostls'
import type { ConnectOptions, OnReadOptions, CipherInfo, TLSCode, AgentOptions, DispatcherOptions, BackendInfo } from 'ostls'
import { doctor } from 'ostls/doctor'
import type { DoctorReport } from 'ostls/doctor'
import 'ostls/register'
`

/** What ESM users add: the default import, and the HTTP clients' own typings with the Agent. */
const esmExtra = `
import ostls from 'ostls'
import { register as registerAgain } from 'ostls/register'
import axios from 'axios'
import got from 'got'
ostls.connect({ host: 'h', port: 1 })
registerAgain()
void axios.get('https://h/', { httpsAgent: new Agent() })
void got('https://h/', { agent: { https: new Agent() } })
`

function project(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ostls-types-'))
  fs.mkdirSync(path.join(dir, 'node_modules'))
  // The package as installed (its package.json, its dist/) and the user's own typings.
  fs.symlinkSync(root, path.join(dir, 'node_modules', 'ostls'), 'junction')
  for (const dep of ['@types', 'axios', 'got']) fs.symlinkSync(path.join(root, 'node_modules', dep), path.join(dir, 'node_modules', dep), 'junction')
  fs.writeFileSync(path.join(dir, 'usage.ts'), imports + body)
  fs.writeFileSync(path.join(dir, 'usage.mts'), imports + esmExtra + body)
  fs.writeFileSync(path.join(dir, 'misuse.ts'), `import { connect } from 'ostls'\nconnect({ host: 'h', port: 1 }).getCipher().noSuchField\n`)
  return dir
}

function compile(dir: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [tsc, '--strict', '--noEmit', ...args], { cwd: dir }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr })
    )
  )
}

const skip = underWine && 'Wine cannot create the symbolic links (junctions) the scratch project needs; the types are the same on every platform'

// Each compile type-checks all of @types/node (no skipLibCheck, as by default):
// seconds on an idle machine, minutes on a loaded one.
t.setTimeout(1_200_000)
const slow = { skip, timeout: 600_000 }

t.test('tsc --strict with no other flags (CommonJS, node10 resolution, ES5, DOM lib)', slow, async (t) => {
  const dir = project()
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  // misuse.ts rides along: its one error shows the compile does check these files.
  const r = await compile(dir, ['usage.ts', 'misuse.ts'])
  const lines = r.out.trim().split('\n').filter((l) => /error TS/.test(l))
  t.same(lines.filter((l) => !l.startsWith('misuse.ts(')), [], 'no diagnostics for usage.ts or for the package\'s own .d.ts files')
  const misuse = lines.filter((l) => l.startsWith('misuse.ts('))
  t.equal(misuse.length, 1, 'one error in misuse.ts: getCipher() is typed for use after secureConnect')
  t.match(misuse[0], /^misuse\.ts\(2,\d+\): error TS2339: Property 'noSuchField' does not exist/, 'the deliberate error')
})

t.test('tsc --strict --module nodenext, as CommonJS and as ESM', slow, async (t) => {
  const dir = project()
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const r = await compile(dir, ['--module', 'nodenext', 'usage.ts', 'usage.mts'])
  t.equal(r.out, '', 'no diagnostics')
  t.equal(r.code, 0)
})
