/**
 * `ostls doctor`: what a person debugging a failed load or a failed handshake
 * needs to know, gathered from the same code paths the library uses, each
 * failure with what to do about it. Rendering is in cli-doctor-text.ts.
 */
import fs from 'node:fs'
import path from 'node:path'
import tls from 'node:tls'
import { AddressInfo } from 'node:net'
import { loadBinding, libraryInfo } from './native'
import { LoadAttempt, packageRoot, insideAsar } from './loader'
import { connect } from './stream'
import { TLSError } from './errors'
import { loadFailureHint, osLibraryHint, codeHint } from './cli-hints'
import { probe, ProbeOptions, ProbeReport } from './cli-probe'

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
  backend?: { name: string; version: string; libraryPath: string; libraryTried: string; trustStore: string; apiVersion: number }
  selfTest?: SelfTest
  connect?: ProbeReport[]
  /** --connect targets not tried because the native library did not load. */
  connectSkipped?: string[]
}

export interface SelfTest {
  ok: boolean
  /**
   * connectMs: from connect() until the loopback server accepted the TCP connection
   * (seen by the server, which runs in this process); handshakeMs: from then until
   * secureConnect; totalMs: both.
   */
  timings?: { connectMs: number; handshakeMs: number; totalMs: number }
  protocol?: string
  cipher?: string
  alpn?: string
  error?: { tlsCode: string; code: string; message: string; hint?: string }
}

export function ostlsVersion(): string {
  return JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')).version
}

function libc(): string {
  if (process.platform !== 'linux') return 'n/a'
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined
  const glibc = report?.header?.glibcVersionRuntime
  return glibc ? `glibc ${glibc}` : 'musl (or another non-glibc libc)'
}

function assetsDir(): string {
  return path.join(packageRoot(), 'assets', 'selftest')
}

const ms = (from: bigint, to: bigint) => Math.round(Number(to - from) / 1e4) / 100

/** One handshake through ostls against a loopback server this process runs. */
export async function selfTest(timeoutMs = 10_000): Promise<SelfTest> {
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
  const fail = (e: Error): SelfTest => {
    const te = e as TLSError
    const code = te.code ?? 'ERR_UNEXPECTED'
    const hint = codeHint(code, te.tlsCode)
    return { ok: false, error: { tlsCode: te.tlsCode ?? 'TLS_INTERNAL_ERROR', code, message: e.message, ...(hint ? { hint } : {}) } }
  }
  const started = process.hrtime.bigint()
  try {
    return await new Promise<SelfTest>((resolve) => {
      const s = connect({
        host: '127.0.0.1',
        port,
        servername: 'ostls-selftest.invalid',
        ca: fs.readFileSync(path.join(dir, 'ca.pem')),
        ALPNProtocols: ['http/1.1'],
        handshakeTimeout: timeoutMs
      })
      let body = ''
      s.on('secureConnect', () => {
        const done = process.hrtime.bigint()
        const acc = accepted ?? done
        const result: SelfTest = {
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

export interface DoctorOptions {
  selfTest?: boolean
  /** host:port targets for a handshake report each. */
  connect?: string[]
  probe?: ProbeOptions
}

export async function doctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  const st = loadBinding()
  const platform = {
    os: process.platform,
    arch: process.arch,
    libc: libc(),
    runtime: process.versions.electron ? 'electron' : 'node',
    runtimeVersion: process.versions.electron ?? process.versions.node,
    insideAsar: insideAsar(__filename)
  }
  const hintEnv = { platform: platform.os, arch: platform.arch, insideAsar: platform.insideAsar }
  const report: DoctorReport = {
    schemaVersion: SCHEMA_VERSION,
    ok: st.ok,
    ostlsVersion: ostlsVersion(),
    platform,
    library: {
      attempts: st.attempts.map((a) => (a.ok ? a : { ...a, hint: loadFailureHint(a, hintEnv) })),
      loaded: st.ok ? st.path ?? null : null
    }
  }
  if (st.error) {
    // A library that loaded but failed tls_init could not load the OS TLS library.
    const hint = !st.api
      ? 'every candidate above failed: follow the fix under each'
      : st.error.tlsCode === 'TLS_LIBRARY_NOT_FOUND'
        ? osLibraryHint(process.platform)
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
    const raw = (k: string): string => {
      const out: (string | null)[] = [null]
      return st.api!.tls_info(null, k, out, [null], [null]) ? out[0] ?? '' : ''
    }
    const get = st.ok ? safe : raw
    report.backend = {
      name: get('backend'),
      version: get('backend_version'),
      libraryPath: get('library_path'),
      libraryTried: get('library_tried'),
      trustStore: get('trust_store'),
      apiVersion: Number(get('api_version'))
    }
  }
  if (st.ok && opts.selfTest !== false) {
    report.selfTest = await selfTest()
    report.ok &&= report.selfTest.ok
  }
  if (!st.ok && opts.connect?.length) report.connectSkipped = [...opts.connect]
  if (st.ok && opts.connect?.length) {
    report.connect = []
    for (const target of opts.connect) report.connect.push(await probe(target, opts.probe))
    report.ok &&= report.connect.every((c) => c.ok)
  }
  return report
}
