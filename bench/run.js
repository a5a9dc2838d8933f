#!/usr/bin/env node
/*
 * npm run bench [-- --quick] [-- --repeat N] [-- --only recv,onread,send,peers,hs,ping,idle,gap] [-- --out DIR]
 *
 * ostls (public connect()/TLSStream API) against Node's tls.connect and a C
 * client on the same system OpenSSL (the reference limit). Every client run is
 * its own process; each scenario has one server process (bench/server.c) that
 * every client talks to. Clients alternate run by run (A B C, B C A, …) so
 * that noise from a shared machine spreads over all of them; the report gives
 * medians, the ostls/Node ratio of the medians, the median of the per-round
 * ratios and the spread (min–max).
 *
 * recv and send run against the C server over TLS 1.3; "peers" adds them against
 * a Node tls server (bench/node-server.js) and over TLS 1.2 with either server
 * (keys recv-node, recv12, recv12-node, send-node, …; each can be named alone).
 * "onread" receives with the onread option (ostls and Node), reading into one
 * reused buffer as the C client does.
 *
 * Writes <out>/latest.json, latest.md and ratios.svg (full run: bench/results,
 * quick run: bench/work/quick). The FFI probe (bench/ffi-probe.js) runs last.
 */
'use strict'
const { spawn, spawnSync, execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { renderMarkdown, renderSvg, summarize } = require('./report')

const root = path.resolve(__dirname, '..')
const work = path.join(__dirname, 'work')
const assets = path.join(root, 'assets', 'selftest')
const CERT = path.join(assets, 'server.pem')
const KEY = path.join(assets, 'server.key')
const CA = path.join(assets, 'ca.pem')

const argv = process.argv.slice(2)
const flag = (name) => argv.includes(`--${name}`)
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt
}
const quick = flag('quick')
const GiB = 1024 ** 3
const MiB = 1024 ** 2

const config = quick
  ? { repeat: 4, bulkBytes: 128 * MiB, chunk: 64 * 1024, hs: { 1: 150, 16: 300, 64: 300 }, hsRepeat: 3, ping: 3000, pingWarm: 300, idle: [1000], idleRepeat: 1, probeBytes: 32 * MiB, gapConcurrent: 200, gapRuns: 2 }
  : { repeat: 7, bulkBytes: 1 * GiB, chunk: 64 * 1024, hs: { 1: 800, 16: 1500, 64: 1500 }, hsRepeat: 5, ping: 20000, pingWarm: 1000, idle: [1000, 10000], idleRepeat: 3, probeBytes: 256 * MiB, gapConcurrent: 1000, gapRuns: 5 }
config.repeat = Number(opt('repeat', config.repeat))
config.hsRepeat = Number(opt('repeat', config.hsRepeat))
const only = opt('only', 'recv,onread,send,peers,hs,hsr,ping,idle,gap').split(',')
const outDir = path.resolve(opt('out', quick ? path.join(work, 'quick') : path.join(__dirname, 'results')))

function log(msg) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`)
}

// ---------------------------------------------------------------- build

function haveOpensslHeaders() {
  const r = spawnSync('cc', ['-E', '-x', 'c', '-'], { input: '#include <openssl/ssl.h>\n', stdio: ['pipe', 'ignore', 'ignore'] })
  return r.status === 0
}

function ensureOpensslHeaders() {
  if (haveOpensslHeaders()) return
  log('OpenSSL headers (libssl-dev) not found')
  const root_ = process.getuid && process.getuid() === 0
  const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0
  if (apt) {
    const cmd = root_ ? ['apt-get'] : ['sudo', '-n', 'apt-get']
    log(`installing libssl-dev with ${cmd.join(' ')} …`)
    spawnSync(cmd[0], [...cmd.slice(1), 'install', '-y', '--no-install-recommends', 'libssl-dev'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  }
  if (!haveOpensslHeaders()) {
    throw new Error('the C server and C client need the OpenSSL headers: install libssl-dev (Debian/Ubuntu), openssl-devel (Fedora) or openssl-dev (Alpine)')
  }
}

function build() {
  if (!fs.existsSync(path.join(root, 'dist', 'cjs', 'index.js'))) {
    log('building the TypeScript (dist/) …')
    execFileSync(process.execPath, [path.join(root, 'scripts', 'build-ts.js')], { stdio: 'inherit' })
  }
  ensureOpensslHeaders()
  fs.mkdirSync(work, { recursive: true })
  for (const name of ['server', 'client']) {
    const src = path.join(__dirname, `${name}.c`)
    const bin = path.join(work, name)
    if (fs.existsSync(bin) && fs.statSync(bin).mtimeMs > fs.statSync(src).mtimeMs) continue
    log(`cc ${name}.c`)
    execFileSync('cc', ['-O2', '-Wall', '-o', bin, src, '-lssl', '-lcrypto'], { stdio: 'inherit' })
  }
}

// --------------------------------------------------------------- processes

const children = new Set()
function killAll() {
  for (const c of children) {
    try { c.kill('SIGKILL') } catch {}
  }
}
process.on('exit', killAll)
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { killAll(); process.exit(130) })

/** peer: { node: a Node tls server instead of bench/server.c, tls: '1.2' to cap the protocol }. */
async function startServer(mode, bytes, peer = {}) {
  const args = [mode, CERT, KEY]
  if (bytes !== undefined) args.push(String(bytes))
  const env = { ...process.env, OSTLS_BENCH_TLS: peer.tls || '1.3' }
  const proc = peer.node
    ? spawn(process.execPath, [path.join(__dirname, 'node-server.js'), ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(path.join(work, 'server'), args, { env, stdio: ['ignore', 'pipe', 'inherit'] })
  children.add(proc)
  proc.on('exit', () => children.delete(proc))
  const port = await new Promise((resolve, reject) => {
    let out = ''
    proc.stdout.on('data', (d) => {
      out += d
      const m = out.match(/PORT (\d+)/)
      if (m) resolve(Number(m[1]))
    })
    proc.on('exit', (code) => reject(new Error(`server exited (${code})`)))
  })
  return {
    port,
    pid: proc.pid,
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve()
      proc.once('exit', resolve)
      proc.kill('SIGTERM')
    })
  }
}

function runClient(impl, args, timeoutMs, extraEnv = {}) {
  const env = { ...process.env, OSTLS_BENCH_CA: CA, ...extraEnv }
  // Not a client setting: it only makes every Node process parse that bundle at start-up.
  delete env.NODE_EXTRA_CA_CERTS
  // The C client's recv already reads into one reused buffer: what onread asks of the others.
  const [cmd, cargs] = impl === 'c'
    ? [path.join(work, 'client'), args[0] === 'recv-onread' ? ['recv', ...args.slice(1)] : args]
    : [process.execPath, ['--expose-gc', path.join(__dirname, 'client.js'), impl, ...args]]
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, cargs, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    children.add(proc)
    let out = ''
    let err = ''
    proc.stdout.on('data', (d) => { out += d })
    proc.stderr.on('data', (d) => { err += d })
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs)
    proc.on('exit', (code, signal) => {
      clearTimeout(timer)
      children.delete(proc)
      if (code !== 0) return reject(new Error(`${impl} ${args.join(' ')} failed (${signal || code}): ${err.trim().slice(-800)}`))
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()))
      } catch {
        reject(new Error(`${impl} ${args.join(' ')}: no result line: ${out.slice(-300)} ${err.slice(-300)}`))
      }
    })
  })
}

const IMPLS = ['ostls', 'node', 'c']
/** Round r runs the clients rotated by r: A B C, B C A, C A B, … */
const order = (r) => IMPLS.map((_, i) => IMPLS[(i + r) % IMPLS.length])

/**
 * Runs one scenario: rounds × clients, alternating, against one server.
 * metric(result) → the per-run figures kept.
 */
async function scenario(key, title, server, mode, args, rounds, metric, timeoutMs = 180_000) {
  log(`${title}: ${rounds} rounds`)
  const srv = await startServer(...server)
  // Bulk clients make one throw-away connection here first, so that the
  // process's one-time set-up is not counted as transfer cost.
  const warm = mode === 'recv' || mode === 'send' ? await startServer('sink') : null
  const env = warm ? { OSTLS_BENCH_WARM_PORT: String(warm.port) } : {}
  const runs = { ostls: [], node: [], c: [] }
  try {
    for (let r = 0; r < rounds; r++) {
      for (const impl of order(r)) {
        const res = await runClient(impl, [mode, String(srv.port), ...args], timeoutMs, env)
        runs[impl].push({ round: r, ...metric(res), raw: res })
      }
      log(`  round ${r + 1}/${rounds}: ` + IMPLS.map((i) => `${i} ${fmtShort(runs[i][runs[i].length - 1])}`).join('  '))
    }
  } finally {
    await srv.stop()
    if (warm) await warm.stop()
  }
  return { key, title, runs }
}
function fmtShort(run) {
  const k = Object.keys(run).find((x) => x !== 'round' && x !== 'raw')
  return `${k}=${Number(run[k]).toPrecision(3)}`
}

// --------------------------------------------------------------- scenarios

async function main() {
  const started = Date.now()
  build()
  // OSTLS_BENCH_PKG: measure another build of ostls (a copy of dist/ and build/).
  const ostls = require(process.env.OSTLS_BENCH_PKG || root)
  const backend = ostls.backendInfo()
  const machine = {
    host: os.hostname(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memGiB: Math.round(os.totalmem() / GiB),
    kernel: os.release(),
    node: process.version,
    nodeOpenssl: process.versions.openssl,
    systemOpenssl: backend.version,
    loadavgStart: os.loadavg().map((x) => Number(x.toFixed(2)))
  }
  let commit = ''
  try {
    commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
    if (execFileSync('git', ['-C', root, 'status', '--porcelain', '--', 'c', 'ts'], { encoding: 'utf8' }).trim()) commit += '+dirty'
  } catch {}
  log(`${machine.cpu}, ${machine.cores} cores, load ${machine.loadavgStart.join(' ')}; ${quick ? 'quick' : 'full'} mode`)

  const results = []
  const bulk = config.bulkBytes
  if (only.includes('recv')) {
    results.push(await scenario('recv', `bulk receive ${fmtBytes(bulk)}`, ['source', bulk], 'recv', [String(bulk)], config.repeat, (r) => ({
      cpu_per_gib: r.cpu_s / (r.units / GiB), gib_per_s: r.units / GiB / r.wall_s, rss_mb: r.maxrss_kb / 1024
    })))
  }
  if (only.includes('onread')) {
    results.push(await scenario('recv-onread', `bulk receive ${fmtBytes(bulk)}, onread into one 64 KiB buffer`, ['source', bulk], 'recv-onread', [String(bulk)], config.repeat, (r) => ({
      cpu_per_gib: r.cpu_s / (r.units / GiB), gib_per_s: r.units / GiB / r.wall_s
    })))
  }
  if (only.includes('send')) {
    results.push(await scenario('send', `bulk send ${fmtBytes(bulk)} (${config.chunk / 1024} KiB writes)`, ['sink'], 'send', [String(bulk), String(config.chunk)], config.repeat, (r) => ({
      cpu_per_gib: r.cpu_s / (r.units / GiB), gib_per_s: r.units / GiB / r.wall_s, rss_mb: r.maxrss_kb / 1024
    })))
  }
  // The same two directions against the other peers (issue 15).
  const peers = [['-node', { node: true, tls: '1.3' }, 'Node tls server, TLS 1.3'], ['12', { tls: '1.2' }, 'C server, TLS 1.2'], ['12-node', { node: true, tls: '1.2' }, 'Node tls server, TLS 1.2']]
  for (const [suffix, peer, label] of peers) {
    if (only.includes('peers') || only.includes(`recv${suffix}`)) {
      results.push(await scenario(`recv${suffix}`, `bulk receive ${fmtBytes(bulk)}, ${label}`, ['source', bulk, peer], 'recv', [String(bulk)], config.repeat, (r) => ({
        cpu_per_gib: r.cpu_s / (r.units / GiB), gib_per_s: r.units / GiB / r.wall_s
      })))
    }
    if (only.includes('peers') || only.includes(`send${suffix}`)) {
      results.push(await scenario(`send${suffix}`, `bulk send ${fmtBytes(bulk)} (${config.chunk / 1024} KiB writes), ${label}`, ['sink', undefined, peer], 'send', [String(bulk), String(config.chunk)], config.repeat, (r) => ({
        cpu_per_gib: r.cpu_s / (r.units / GiB), gib_per_s: r.units / GiB / r.wall_s
      })))
    }
  }
  if (only.includes('hs')) {
    for (const conc of [1, 16, 64]) {
      const n = config.hs[conc]
      results.push(await scenario(`hs${conc}`, `handshakes ×${n}, concurrency ${conc}`, ['sink'], 'hs', [String(n), String(conc)], config.hsRepeat, (r) => ({
        cpu_ms_per_hs: (r.cpu_s / r.units) * 1e3, hs_per_s: r.units / r.wall_s,
        ...(conc === 1 ? { first_cpu_ms: r.first_cpu_ms ?? NaN } : {})
      })))
    }
  }
  if (only.includes('hsr')) {
    const n = config.hs[1]
    results.push(await scenario('hsr', `sequential handshakes ×${n}, same host, with resumption`, ['greet'], 'hsr', [String(n)], config.hsRepeat, (r) => ({
      cpu_ms_per_hs: (r.cpu_s / r.units) * 1e3, hs_per_s: r.units / r.wall_s
    })))
  }
  if (only.includes('ping')) {
    results.push(await scenario('ping', `ping-pong 1 KiB ×${config.ping}`, ['echo'], 'ping', [String(config.ping), '1024', String(config.pingWarm)], config.repeat, (r) => ({
      p50_us: r.p50_us, p99_us: r.p99_us, msgs_per_s: r.msgs_per_s, cpu_us_per_msg: (r.cpu_s / r.units) * 1e6
    })))
  }
  if (only.includes('idle')) {
    for (const n of config.idle) {
      results.push(await scenario(`idle${n}`, `${n} idle connections`, ['sink'], 'idle', [String(n)], config.idleRepeat, (r) => ({
        rss_kb_per_conn: r.rss_per_conn_kb, threads: r.threads, cpu_ms_per_hs: (r.cpu_s / r.units) * 1e3
      }), 600_000))
    }
  }

  let loopGap
  if (only.includes('gap')) {
    log('event-loop gap')
    loopGap = JSON.parse(execFileSync(process.execPath, [path.join(__dirname, 'loop-gap.js'), '--json', '--concurrent', String(config.gapConcurrent), '--runs', String(config.gapRuns)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }))
  }

  log('FFI probe')
  const probe = await new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(__dirname, 'ffi-probe.js'), String(config.probeBytes)], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: '', OSTLS_BENCH_CA: CA, OSTLS_BENCH_SERVER: path.join(work, 'server'), OSTLS_BENCH_CERT: CERT, OSTLS_BENCH_KEY: KEY },
      stdio: ['ignore', 'pipe', 'inherit']
    })
    children.add(p)
    let out = ''
    p.stdout.on('data', (d) => { out += d })
    p.on('exit', (code) => {
      children.delete(p)
      if (code !== 0) return reject(new Error(`ffi-probe failed (${code})`))
      resolve(JSON.parse(out.trim().split('\n').pop()))
    })
  })

  machine.loadavgEnd = os.loadavg().map((x) => Number(x.toFixed(2)))
  const report = {
    schemaVersion: 1,
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    commit,
    machine,
    config,
    durationS: Math.round((Date.now() - started) / 1000),
    scenarios: results.map(summarize),
    loopGap,
    ffi: probe
  }
  fs.mkdirSync(outDir, { recursive: true })
  // Raw per-run records only in the JSON; keep it small.
  fs.writeFileSync(path.join(outDir, 'latest.json'), JSON.stringify(report, null, 1) + '\n')
  fs.writeFileSync(path.join(outDir, 'latest.md'), renderMarkdown(report))
  fs.writeFileSync(path.join(outDir, 'ratios.svg'), renderSvg(report))
  process.stdout.write(renderMarkdown(report))
  log(`done in ${report.durationS} s → ${path.relative(process.cwd(), outDir) || '.'}/latest.{md,json} and ratios.svg`)
}

function fmtBytes(n) {
  return n >= GiB ? `${n / GiB} GiB` : `${n / MiB} MiB`
}

main().catch((e) => {
  log(`failed: ${e.stack || e}`)
  killAll()
  process.exit(1)
})
