// `npm start` / `ostls doctor`: the offline self-check, its text and JSON forms, usage.
import t from 'tap'
import { run } from './helpers/cli'
import { renderText } from '../dist/cjs/cli/doctor-text'
import type { DoctorReport } from '../dist/cjs/doctor'

const version = require('../package.json').version

t.test('doctor reports a healthy install, every line', async (t) => {
  const r = await run(['doctor'])
  t.equal(r.code, 0, r.stdout + r.stderr)
  t.equal(r.stderr, '')
  const expected = [
    /^ostls doctor \(ostls \d+\.\d+\.\d+\S*\)$/,
    /^  platform     \w+ \w+, (glibc [\d.]+|musl.*|n\/a), node \d+\.\d+\.\d+$/,
    /^  asar         not inside an asar archive$/,
    /^native library \(candidates in the order tried\)$/,
    /^  loaded       \S+ {2}\[(build|prebuild|OSTLS_LIBRARY)\]$/,
    /^OS TLS stack$/,
    /^  backend      (openssl|mbedtls|s2n|schannel|securetransport|network)$/,
    /^  version      \S.*$/,
    /^  library      \S.*$/,
    /^  tried        \S.*$/,
    /^  trust store  \S.*$/,
    /^  engine       (openssl|mbedtls|s2n|schannel|securetransport|network): loaded \(\S.*\)$/,
    /^self-test handshake \(in-process loopback server, throwaway CA via the ca option\)$/,
    /^  result       ok: TLSv1\.[23], TLS_\w+, ALPN http\/1\.1$/,
    /^  set-up       \d+\.\d\d ms, once per process \(library load, OS TLS start-up, a first connection with its context and trust store\)$/,
    /^  timings      then a connection: TCP accepted by the server after \d+\.\d\d ms, handshake \d+\.\d\d ms, total \d+\.\d\d ms$/,
    /^healthy$/
  ]
  // Candidates that are absent before the one that loads (a clone has no
  // prebuilds) are listed as missing, each with its reason, never as FAILED.
  // Engines of the build other than the one in use are listed too (not tried, or failed first).
  const all = r.stdout.trimEnd().split('\n').filter((l) => !/^  engine       \S+: (not tried|failed)/.test(l))
  const skipped = all.slice(4, all.findIndex((l) => l.startsWith('  loaded ')))
  for (let i = 0; i < skipped.length; i += 2) {
    t.match(skipped[i], /^  missing      \S+ {2}\[prebuild\]$/, 'an absent prebuild')
    t.match(skipped[i + 1], /^    reason     file missing: /)
  }
  const lines = [...all.slice(0, 4), ...all.slice(4 + skipped.length)]
  t.equal(lines.length, expected.length, r.stdout)
  expected.forEach((re, i) => t.match(lines[i], re, `line ${i + 1}`))
  t.notMatch(r.stdout, /\x1b\[/, 'no colour when stdout is not a terminal')
})

/** Exact shape: every key present is expected, every expected key present with the right type. */
type Shape = string | RegExp | { [k: string]: Shape } | [Shape] | { optional: Shape }
function check(t: Tap.Test, v: unknown, shape: Shape, at: string): void {
  if (typeof shape === 'string') return void t.equal(typeof v, shape, `${at} is a ${shape}`)
  if (shape instanceof RegExp) return void t.match(v, shape, at)
  if (Array.isArray(shape)) {
    t.ok(Array.isArray(v), `${at} is an array`)
    return (v as unknown[]).forEach((x, i) => check(t, x, shape[0], `${at}[${i}]`))
  }
  t.equal(typeof v, 'object', `${at} is an object`)
  const o = v as Record<string, unknown>
  for (const k of Object.keys(o)) t.ok(k in shape, `${at}.${k} is documented`)
  for (const [k, s] of Object.entries(shape)) {
    const optional = typeof s === 'object' && !(s instanceof RegExp) && !Array.isArray(s) && 'optional' in s
    if (optional) {
      if (k in o) check(t, o[k], (s as { optional: Shape }).optional, `${at}.${k}`)
    } else {
      t.ok(k in o, `${at}.${k} is present`)
      check(t, o[k], s, `${at}.${k}`)
    }
  }
}
declare namespace Tap {
  type Test = typeof t
}

export const attemptShape: Shape = {
  source: /^(build|prebuild|OSTLS_LIBRARY)$/,
  path: 'string',
  ok: 'boolean',
  reason: { optional: /^(file missing|not a file|not a library|not a complete library|wrong architecture|missing dependency|symbol missing|load failed)$/ },
  detail: { optional: 'string' },
  hint: { optional: 'string' }
}

t.test('doctor --json: schemaVersion 1, exactly the documented fields', async (t) => {
  const r = await run(['doctor', '--json'])
  t.equal(r.code, 0)
  const j = JSON.parse(r.stdout)
  check(t, j, {
    schemaVersion: /^1$/,
    ok: 'boolean',
    ostlsVersion: 'string',
    platform: { os: 'string', arch: 'string', libc: 'string', runtime: /^(node|electron)$/, runtimeVersion: 'string', insideAsar: 'boolean' },
    library: { attempts: [attemptShape], loaded: 'string', error: { optional: { code: 'string', message: 'string', hint: 'string' } } },
    backend: { name: 'string', version: 'string', libraryPath: 'string', libraryTried: 'string', trustStore: 'string', apiVersion: 'number', engines: [{ name: 'string', status: /^(loaded|failed|not tried)$/, reason: 'string' }] },
    selfTest: {
      ok: 'boolean',
      timings: { setupMs: 'number', connectMs: 'number', handshakeMs: 'number', totalMs: 'number' },
      protocol: /^TLSv1\.[23]$/,
      cipher: /^TLS_/,
      alpn: 'string'
    }
  }, 'report')
  t.match(j, { schemaVersion: 1, ok: true, ostlsVersion: version, platform: { os: process.platform, arch: process.arch, runtime: 'node', runtimeVersion: process.versions.node, insideAsar: false }, selfTest: { alpn: 'http/1.1' } })
  const m = j.selfTest.timings
  t.ok(m.connectMs >= 0 && m.handshakeMs >= 0 && Math.abs(m.connectMs + m.handshakeMs - m.totalMs) < 0.05, 'connect + handshake = total')
  t.ok(m.setupMs > 0, 'the one-time set-up is reported on its own')
})

const base: DoctorReport = {
  schemaVersion: 1,
  ok: false,
  ostlsVersion: '9.9.9',
  platform: { os: 'linux', arch: 'x64', libc: 'glibc 2.36', runtime: 'electron', runtimeVersion: '30.0.0', insideAsar: true },
  library: { attempts: [{ source: 'build', path: '/app/ostls.node', ok: true }], loaded: '/app/ostls.node' },
  backend: { name: 'openssl', version: 'OpenSSL 3', libraryPath: '/lib/libssl.so.3', libraryTried: 'libssl.so.3', trustStore: 'file /x', apiVersion: 1, engines: [{ name: 'openssl', status: 'loaded', reason: 'the first engine of this build\'s list' }] }
}

t.test('text lines that a healthy machine never shows', async (t) => {
  const text = renderText({
    ...base,
    selfTest: { ok: false, error: { tlsCode: 'TLS_CONNECT_FAILED', code: 'ECONNREFUSED', message: 'refused' , hint: 'nothing is listening' } },
    connect: [
      { target: 'a:1', host: 'a', port: 1, servername: 'a', ok: true, insecure: true, extraCa: false, protocol: 'TLSv1.2', cipher: 'TLS_X', verification: { ok: false, code: 'CERT_HAS_EXPIRED', hint: 'a certificate in the chain has expired' }, chainSource: 'unverified connection (--insecure)',
        chain: [{ subject: 'CN=a', issuer: 'CN=a', validFrom: '2020-01-01T00:00:00.000Z', validTo: '2021-01-01T00:00:00.000Z', validity: 'expired', fingerprint256: 'AA:BB' }] },
      { target: 'b:2', host: 'b', port: 2, servername: '', ok: false, insecure: false, extraCa: false, verification: { ok: false }, chain: [], error: { code: 'ERR_X', message: 'odd' } }
    ]
  })
  t.match(text, /^ostls doctor \(ostls 9\.9\.9\)$/m)
  t.match(text, /^  platform     linux x64, glibc 2\.36, electron 30\.0\.0$/m)
  t.match(text, /^  asar         running from inside an asar archive: native files load from app\.asar\.unpacked$/m)
  t.match(text, /^  FAILED       ECONNREFUSED \(TLS_CONNECT_FAILED\): refused$/m)
  t.match(text, /^    fix        nothing is listening; the self-test server is local, so this is a problem with ostls on this machine$/m)
  t.match(text, /^connect a:1 \(servername a\)$/m)
  t.match(text, /^  WARNING      --insecure: the connection is made whatever verification says$/m)
  t.match(text, /^  result       TLSv1\.2, TLS_X, ALPN \(none\)$/m)
  t.match(text, /^  unverified   CERT_HAS_EXPIRED$/m)
  t.match(text, /^    means      a certificate in the chain has expired$/m)
  t.match(text, /^  chain        1 certificate, leaf first, from the unverified connection \(--insecure\)$/m)
  t.match(text, /^      valid     2020-01-01T00:00:00\.000Z to 2021-01-01T00:00:00\.000Z \(EXPIRED\)$/m)
  t.notMatch(text, /^      names/m, 'no names line for a certificate without SANs')
  t.match(text, /^connect b:2$/m)
  t.match(text, /^  FAILED       ERR_X: odd$/m)
  t.match(text, /^NOT healthy: see the FAILED lines above and the fix under each$/m)

  const noHint = renderText({ ...base, selfTest: { ok: false, error: { tlsCode: 'TLS_INTERNAL_ERROR', code: 'TLS_INTERNAL_ERROR', message: 'boom' } } })
  t.match(noHint, /^  FAILED       TLS_INTERNAL_ERROR: boom$/m)
  t.match(noHint, /^    fix        the self-test server is local, so this is a problem with ostls on this machine: report it with the output of `ostls doctor --json`$/m)
})

t.test('bad usage exits 2 with one line that names the code', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['frobnicate'], /^ostls: ERR_UNKNOWN_COMMAND: unknown command "frobnicate"; see `ostls --help`$/],
    [['doctor', '--nope'], /^ostls: ERR_PARSE_ARGS_UNKNOWN_OPTION: unknown option --nope; see `ostls doctor --help`$/],
    [['--nope'], /^ostls: ERR_PARSE_ARGS_UNKNOWN_OPTION: unknown option --nope; see `ostls --help`$/],
    [['doctor', 'extra'], /^ostls: ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL: /],
    [['doctor', '--ca', 'x.pem'], /^ostls: ERR_INVALID_ARG_VALUE: --ca, --servername, --insecure, --timeout and --export-root apply to --connect/],
    [['doctor', '--connect', 'host:99999'], /^ostls: ERR_INVALID_ARG_VALUE: --connect wants host:port \(or \[ipv6\]:port\), got "host:99999"$/],
    [['doctor', '--connect', 'h:1', '--timeout', 'soon'], /^ostls: ERR_INVALID_ARG_VALUE: --timeout wants a number of seconds, got "soon"$/],
    [['doctor', '--connect', 'h:1', '--ca', '/nonexistent/ca.pem'], /^ostls: ENOENT: --ca \/nonexistent\/ca\.pem: no such file or directory, open '.*nonexistent[\\/]ca\.pem'$/],
    [['doctor', '--connect', 'h:1', '--ca', __filename], /^ostls: ERR_INVALID_ARG_VALUE: --ca \S+: no PEM certificate in the file$/],
    [['help', 'nothing'], /^ostls: ERR_UNKNOWN_COMMAND: no help for "nothing"; commands: doctor, get, identities$/]
  ]
  for (const [args, re] of cases) {
    const r = await run(args)
    t.equal(r.code, 2, args.join(' '))
    t.equal(r.stdout, '', `${args.join(' ')}: nothing on stdout`)
    t.match(r.stderr.trimEnd(), re, args.join(' '))
    t.equal(r.stderr.split('\n').length, 2, `${args.join(' ')}: one line`)
  }
})

t.test('help and version', async (t) => {
  for (const args of [[], ['--help'], ['-h'], ['help']]) {
    const r = await run(args)
    t.equal(r.code, 0)
    t.match(r.stdout, /^usage: ostls <command> \[options\]\n/, args.join(' ') || '(no arguments)')
    t.match(r.stdout, /NO_COLOR/)
  }
  for (const args of [['doctor', '--help'], ['doctor', '-h'], ['help', 'doctor'], ['--help', 'doctor']]) {
    const r = await run(args)
    t.equal(r.code, 0)
    t.match(r.stdout, /^usage: ostls doctor \[--json\]/, args.join(' '))
    t.match(r.stdout, /exit code: 0 healthy, 1 a check failed, 2 bad usage/)
  }
  for (const args of [['get', '--help'], ['help', 'get']]) {
    const r = await run(args)
    t.equal(r.code, 0)
    t.match(r.stdout, /^usage: ostls get \[options\] <https-url>/, args.join(' '))
  }
  for (const args of [['--version'], ['-v']]) {
    const r = await run(args)
    t.same(r, { code: 0, stdout: version + '\n', stderr: '', raw: Buffer.from(version + '\n') })
  }
})
