/**
 * `ostls doctor`: what a person debugging a failed load or a failed handshake
 * needs to know, gathered from the same code paths the library uses, each
 * failure with what to do about it. Rendering is in cli/doctor-text.ts.
 */
import fs from 'node:fs'
import path from 'node:path'
import tls from 'node:tls'
import { AddressInfo } from 'node:net'
import { loadBinding, libraryInfo, parseEngines } from './native'
import type { EngineStatus, Api } from './native'
import { LoadAttempt, packageRoot, insideAsar, onLoadAttempt, hostFacts } from './loader'
import { connect } from './stream'
import { TLSError } from './errors'
import { loadFailureHint, installHint, codeHint } from './hints'
import { probe, ProbeOptions, ProbeReport } from './probe'

/** Bumped when a field changes meaning or goes away (new fields may appear at any time). */
export const SCHEMA_VERSION = 1

export interface DoctorReport {
  schemaVersion: number
  ok: boolean
  ostlsVersion: string
  platform: { os: string; arch: string; libc: string; runtime: string; runtimeVersion: string; insideAsar: boolean }
  library: {
    attempts: Array<LoadAttempt & { hint?: string }>
    loaded: string | null
    error?: { code: string; message: string; hint: string }
  }
  backend?: {
    name: string; version: string; libraryPath: string; libraryTried: string; trustStore: string; apiVersion: number
    /** Every engine of this build: which loaded, why the others did not (tls_info "engines"). */
    engines: EngineStatus[]
  }
  selfTest?: SelfTest
  connect?: ProbeReport[]
  /** --connect targets not tried because the native library did not load. */
  connectSkipped?: string[]
  /** --export-root: the file, and the roots written to it (or why none was). */
  exportRoot?: ExportRoot
}

export interface ExportRoot {
  file: string
  written: boolean
  roots: Array<{ subject: string; fingerprint256: string }>
  reason?: string
}

export interface SelfTest {
  ok: boolean
  /**
   * setupMs: the one-time cost in this process, paid before the timed connection:
   * loading the ostls and OS TLS libraries (when doctor loaded them) and a first
   * connection, which builds its TLS context and reads the trust store.
   * Then, for a second connection: connectMs, from connect() until the loopback
   * server accepted the TCP connection (seen by the server, which runs in this
   * process); handshakeMs, from then until secureConnect; totalMs, both.
   */
  timings?: { setupMs: number; connectMs: number; handshakeMs: number; totalMs: number }
  protocol?: string
  cipher?: string
  alpn?: string
  error?: { tlsCode: string; code: string; message: string; hint?: string }
}

/** tls_info with no connection, straight from the library: works after a failed tls_init too ('' for an unknown key). */
function rawInfo(api: Api, key: string): string {
  const out: (string | null)[] = [null]
  return api.tls_info(null, key, out, [null], [null]) ? out[0] ?? '' : ''
}

export function ostlsVersion(): string {
  return JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')).version
}

function libc(): string {
  if (process.platform !== 'linux') return 'n/a'
  const kind = hostFacts().libc
  if (kind !== 'glibc') return kind ?? 'unknown libc (neither glibc nor musl was recognised)'
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
  return `glibc ${report?.header?.glibcVersionRuntime ?? '(version unknown)'}`
}

function assetsDir(): string {
  return path.join(packageRoot(), 'assets', 'selftest')
}

const ms = (from: bigint, to: bigint) => Math.round(Number(to - from) / 1e4) / 100

type Handshake = Omit<SelfTest, 'timings'> & { timings?: { connectMs: number; handshakeMs: number; totalMs: number } }

/** One handshake through ostls against a loopback server this process runs. */
async function handshake(timeoutMs: number): Promise<Handshake> {
  const dir = assetsDir()
  const server = tls.createServer({
    key: fs.readFileSync(path.join(dir, 'server.key')),
    cert: fs.readFileSync(path.join(dir, 'server.pem')),
    ALPNProtocols: ['http/1.1']
  }, (s) => s.end('ostls self-test\n'))
  let accepted: bigint | undefined
  server.on('connection', () => (accepted ??= process.hrtime.bigint()))
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const fail = (e: Error): Handshake => {
    const te = e as TLSError
    const code = te.code ?? 'ERR_UNEXPECTED'
    const hint = codeHint(code, te.tlsCode)
    return { ok: false, error: { tlsCode: te.tlsCode ?? 'TLS_INTERNAL_ERROR', code, message: e.message, ...(hint ? { hint } : {}) } }
  }
  const started = process.hrtime.bigint()
  try {
    return await new Promise<Handshake>((resolve) => {
      let s: ReturnType<typeof connect>
      try {
        s = connect({
          host: '127.0.0.1',
          port,
          servername: 'ostls-selftest.invalid',
          ca: fs.readFileSync(path.join(dir, 'ca.pem')),
          ALPNProtocols: ['http/1.1'],
          handshakeTimeout: timeoutMs
        })
      } catch (e) {
        return resolve(fail(e as Error))
      }
      let body = ''
      s.on('secureConnect', () => {
        const done = process.hrtime.bigint()
        const acc = accepted ?? done
        const result: Handshake = {
          ok: true,
          timings: { connectMs: ms(started, acc), handshakeMs: ms(acc, done), totalMs: ms(started, done) },
          protocol: s.getProtocol() ?? undefined,
          cipher: s.getCipher()?.standardName,
          alpn: s.alpnProtocol || undefined
        }
        s.setEncoding('utf8')
        s.on('data', (d: string) => (body += d))
        s.on('end', () => {
          s.destroy()
          if (body !== 'ostls self-test\n') {
            resolve(fail(new TLSError('TLS_PROTOCOL_ERROR', `unexpected data from the loopback server: ${JSON.stringify(body)}`)))
          } else resolve(result)
        })
      })
      s.on('error', (e: Error) => resolve(fail(e)))
    })
  } finally {
    server.close()
  }
}

/**
 * The self-test: a first handshake pays the one-time set-up (counted with
 * `loadMs`, the library load doctor timed), then a second is timed on its own,
 * as every later connection in the process would be.
 */
export async function selfTest(timeoutMs = 10_000, loadMs = 0): Promise<SelfTest> {
  const first = await handshake(timeoutMs)
  if (!first.ok) return first as SelfTest
  const second = await handshake(timeoutMs)
  if (!second.ok || !second.timings) return second as SelfTest
  return { ...second, timings: { setupMs: Math.round((loadMs + first.timings!.totalMs) * 100) / 100, ...second.timings } }
}

export interface DoctorOptions {
  selfTest?: boolean
  /** host:port targets for a handshake report each. */
  connect?: string[]
  probe?: ProbeOptions
  /** Called as each part of the report is known (the CLI prints them as they come). */
  progress?: DoctorProgress
}

/** Each part of the report as it becomes known, in report order. */
export interface DoctorProgress {
  platform?(r: Pick<DoctorReport, 'ostlsVersion' | 'platform'>): void
  attempt?(a: LoadAttempt & { hint?: string }): void
  library?(r: DoctorReport): void
  selfTest?(t: SelfTest): void
  connect?(p: ProbeReport): void
}

/**
 * The fix for a library that did not load: when every candidate was simply
 * missing, the first one's fix (inside an asar archive, the unpack rule);
 * otherwise each failed candidate carries its own.
 */
function libraryHint(attempts: Array<LoadAttempt & { hint?: string }>): string {
  const failed = attempts.filter((a) => !a.ok)
  if (failed.length && failed[0].source !== 'OSTLS_LIBRARY' && failed.every((a) => a.reason === 'file missing') && failed[0].hint) return failed[0].hint
  return 'every candidate above failed: follow the fix under each'
}

/**
 * The report `ostls doctor --json` prints: the same object, for an application
 * to log (`require('ostls/doctor').doctor()`). Never throws for a broken install.
 */
export async function doctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  const progress = opts.progress ?? {}
  const platform = {
    os: process.platform,
    arch: process.arch,
    libc: libc(),
    runtime: process.versions.electron ? 'electron' : 'node',
    runtimeVersion: process.versions.electron ?? process.versions.node,
    insideAsar: insideAsar(__filename)
  }
  const version = ostlsVersion()
  progress.platform?.({ ostlsVersion: version, platform })
  const hintEnv = { platform: platform.os, arch: platform.arch, insideAsar: platform.insideAsar }
  const withHint = (a: LoadAttempt) => (a.ok ? a : { ...a, hint: loadFailureHint(a, hintEnv) })
  // Each candidate is reported as soon as it is decided, so that even a crash
  // inside the OS loader leaves the lines before it on the screen.
  let shown = 0
  const stop = onLoadAttempt((a) => {
    shown++
    progress.attempt?.(withHint(a))
  })
  const loadStart = process.hrtime.bigint()
  let st: ReturnType<typeof loadBinding>
  try {
    st = loadBinding()
  } finally {
    stop()
  }
  const loadMs = ms(loadStart, process.hrtime.bigint())
  // Loaded before doctor ran: the records are replayed, not re-tried.
  if (!shown) st.attempts.forEach((a) => progress.attempt?.(withHint(a)))
  const report: DoctorReport = {
    schemaVersion: SCHEMA_VERSION,
    ok: st.ok,
    ostlsVersion: version,
    platform,
    library: {
      attempts: st.attempts.map(withHint),
      loaded: st.ok ? st.path ?? null : null
    }
  }
  if (st.error) {
    // A library that loaded but failed tls_init could not load the OS TLS library.
    const hint = !st.api
      ? libraryHint(report.library.attempts)
      : st.error.tlsCode === 'TLS_LIBRARY_NOT_FOUND'
        ? installHint(rawInfo(st.api, 'install_hint'))
        : `the library loaded but could not start: ${codeHint(st.error.code, st.error.tlsCode) ?? 'report this with the output of `ostls doctor --json`'}`
    report.library.error = { code: st.error.tlsCode, message: st.error.message, hint }
  }
  if (st.api) {
    // Library-wide facts are reported even when tls_init failed: they say what was tried.
    const safe = (k: string) => {
      try {
        return libraryInfo(k)
      } catch {
        return ''
      }
    }
    const raw = (k: string) => rawInfo(st.api!, k)
    const get = st.ok ? safe : raw
    report.backend = {
      name: get('backend'),
      version: get('backend_version'),
      libraryPath: get('library_path'),
      libraryTried: get('library_tried'),
      trustStore: get('trust_store'),
      apiVersion: Number(get('api_version')),
      engines: parseEngines(get('engines'))
    }
  }
  progress.library?.(report)
  if (st.ok && opts.selfTest !== false) {
    report.selfTest = await selfTest(10_000, shown ? loadMs : 0)
    report.ok &&= report.selfTest.ok
    progress.selfTest?.(report.selfTest)
  }
  if (!st.ok && opts.connect?.length) report.connectSkipped = [...opts.connect]
  if (st.ok && opts.connect?.length) {
    report.connect = []
    for (const target of opts.connect) {
      const p = await probe(target, opts.probe)
      report.connect.push(p)
      progress.connect?.(p)
    }
    report.ok &&= report.connect.every((c) => c.ok)
  }
  return report
}
