#!/usr/bin/env node
/*
 * Event-loop gap: how long any one ostls call (or Node's) holds the JS thread.
 *
 *   node bench/loop-gap.js [--json] [--concurrent N] [--runs N]
 *
 * For each client (ostls, Node tls) a fresh process measures, with
 * perf_hooks.monitorEventLoopDelay at 1 ms resolution, the lateness of the
 * loop (max and p99) over three phases:
 *   first   the first connection in the process (trust store loaded here)
 *   new-ca  a connection with a `ca` not seen before
 *   many    N simultaneous connects (default 1000)
 * (and each phase's wall time; with --runs, medians over that many fresh
 * processes per client, alternating). On Linux each phase also reports
 * busyMax: the most CPU the JS thread itself used between two ticks of a
 * second 1 ms timer (CLOCK_THREAD_CPUTIME_ID through koffi). Lateness beyond
 * it is time the thread sat ready but unscheduled (2 cores shared with the
 * server) or asleep inside a call; 'many' splits its longest interval after
 * the calls into the three (worstCpu, worstReady from the run-queue time in
 * /proc/thread-self/schedstat, worstAsleep the rest). That split found the
 * 12-20 ms stalls once taken for the machine's to be the thread asleep in
 * socket() (the kernel growing the descriptor table: c/common/sock_posix.c).
 * Each phase also reports callMax, its longest
 * single connect() call; 'many' makes its calls in one synchronous loop, so
 * its max is their sum (loopMax) or the longest stretch after them (afterMax:
 * the callbacks they queued, then every later task).
 * against a Node tls server in its own process (so its work does not land on
 * the measured loop). Both clients verify: ostls trusts the test CA through
 * SSL_CERT_FILE = the system bundle + the test CA (a realistic store size);
 * Node gets the same roots as `ca` (tls.rootCertificates + the test CA).
 *
 * The design goal (issue 15): no gap above 5 ms caused by an ostls call.
 */
'use strict'
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { median } = require('./report')
const { threadCpuClock, threadRunQueueClock } = require('./thread-cpu')

const root = path.resolve(__dirname, '..')
const assets = path.join(root, 'assets', 'selftest')
const argv = process.argv.slice(2)
const concurrentAt = argv.indexOf('--concurrent')
const concurrent = (concurrentAt >= 0 && Number(argv[concurrentAt + 1])) || 1000
const runsAt = argv.indexOf('--runs')
const runs = (runsAt >= 0 && Number(argv[runsAt + 1])) || 1

// ------------------------------------------------------------- server side

function serverMain() {
  const tls = require('node:tls')
  const server = tls.createServer({
    cert: fs.readFileSync(path.join(assets, 'server.pem')),
    key: fs.readFileSync(path.join(assets, 'server.key')),
    sessionTimeout: 0,
  }, (sock) => { sock.on('error', () => {}); sock.end('ok') })
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`))
}

// ------------------------------------------------------------- client side

async function clientMain(impl, port, extraCaFile) {
  const { monitorEventLoopDelay } = require('node:perf_hooks')
  const threadCpu = threadCpuClock()
  const runQueue = threadCpu && threadRunQueueClock()
  const testCa = fs.readFileSync(path.join(assets, 'ca.pem'), 'utf8')
  const extraCa = fs.readFileSync(extraCaFile, 'utf8')
  let connect
  if (impl === 'ostls') {
    // OSTLS_BENCH_PKG: measure another build of ostls (as bench/run.js does).
    const ostls = require(process.env.OSTLS_BENCH_PKG || root)
    connect = (ca) => ostls.connect({ host: '127.0.0.1', port, ...(ca ? { ca } : {}) })
  } else {
    const tls = require('node:tls')
    // One SecureContext for the default roots, made by the first connection
    // and shared after it, as https.Agent and a well-written program do.
    let shared
    connect = (ca) => {
      if (ca) return tls.connect({ host: '127.0.0.1', port, ca: [testCa, ca] })
      shared ??= tls.createSecureContext({ ca: tls.rootCertificates.concat(testCa) })
      return tls.connect({ host: '127.0.0.1', port, secureContext: shared })
    }
  }
  // The longest single connect() call of a phase: the 'many' phase makes its
  // calls in one synchronous loop, so its timer lateness is their sum.
  let callMax = 0
  const once = (ca) => new Promise((resolve, reject) => {
    const t0 = performance.now()
    const s = connect(ca)
    callMax = Math.max(callMax, performance.now() - t0)
    s.on('error', reject)
    s.on('data', () => {})
    s.on('end', () => { s.destroy(); resolve() })
  })
  // Lateness beyond the 1 ms resolution itself.
  const ms = (ns) => Math.max(0, ns / 1e6 - 1)
  const measure = async (work) => {
    const h = monitorEventLoopDelay({ resolution: 1 })
    await new Promise((r) => setTimeout(r, 20))
    callMax = 0
    h.enable()
    // The histogram records the time between two of its timer's ticks, from
    // the second tick on: work started at once would go unrecorded.
    await new Promise((r) => setTimeout(r, 5))
    const t0 = process.hrtime.bigint()
    // afterCalls(loopMs): the connect() calls took loopMs in one piece; the
    // histogram starts again for what follows them (every later task) once
    // its timer, due during the loop, has ticked (timers run in due order).
    // The first timer's own lateness covers what runs between the loop and
    // the reset: the nextTick callbacks the calls queued (their first steps).
    // The JS thread's own CPU between two ticks of a 1 ms timer: the most of it
    // (busy), and the most after the calls (busyAfter, reset with the histogram).
    // The longest interval between two of its ticks after the calls (worst),
    // split into the thread's CPU, its time ready in the run queue, and the
    // rest, asleep: a stall the thread slept through is a wait (a lock, GC
    // helpers), one it sat ready through is the machine's other work.
    let busy = 0, busyAfter = 0, lastCpu = threadCpu ? threadCpu() : 0
    let lastWall = performance.now(), lastQueued = runQueue ? runQueue() : 0
    let worst = { wall: 0, cpu: NaN, ready: NaN }
    const sampler = threadCpu && setInterval(() => {
      const c = threadCpu()
      const now = performance.now()
      const queued = runQueue ? runQueue() : NaN
      busy = Math.max(busy, c - lastCpu)
      busyAfter = Math.max(busyAfter, c - lastCpu)
      if (now - lastWall > worst.wall) worst = { wall: now - lastWall, cpu: c - lastCpu, ready: queued - lastQueued }
      lastCpu = c
      lastWall = now
      lastQueued = queued
    }, 1)
    let calls, firstLate
    await work((loopMs) => {
      const due = performance.now() + 1
      return new Promise((r) => setTimeout(() => {
        firstLate = Math.max(0, performance.now() - due)
        calls = loopMs
        h.reset()
        busyAfter = 0
        worst = { wall: 0, cpu: NaN, ready: NaN }
        r()
      }, 1))
    })
    const wall = Number(process.hrtime.bigint() - t0) / 1e6
    await new Promise((r) => setTimeout(r, 20))
    h.disable()
    if (sampler) clearInterval(sampler)
    const out = { max: ms(h.max), p99: ms(h.percentile(99)), wall, callMax, busyMax: threadCpu ? busy : NaN }
    if (calls !== undefined) {
      const after = Math.max(firstLate, out.max)
      Object.assign(out, { loopMax: calls, afterMax: after, max: Math.max(calls, after), afterBusyMax: threadCpu ? busyAfter : NaN,
        worstWall: worst.wall, worstCpu: worst.cpu, worstReady: worst.ready, worstAsleep: worst.wall - worst.cpu - worst.ready })
    }
    return out
  }
  const out = {}
  out.first = await measure(() => once(null))
  out['new-ca'] = await measure(() => once(extraCa))
  out.many = await measure(async (afterCalls) => {
    const t0 = performance.now()
    const all = Array.from({ length: concurrent }, () => once(null))
    await afterCalls(performance.now() - t0)
    await Promise.all(all)
  })
  process.stdout.write(JSON.stringify(out) + '\n')
}

// ------------------------------------------------------------- driver

function run(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.on('exit', (code) => code === 0 ? resolve(out.trim()) : reject(new Error(`${args[0]} exited ${code}`)))
  })
}

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ostls-gap-'))
  const system = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem']
    .find((f) => fs.existsSync(f))
  const bundle = path.join(work, 'bundle.pem')
  fs.writeFileSync(bundle, (system ? fs.readFileSync(system, 'utf8') : '') + fs.readFileSync(path.join(assets, 'ca.pem'), 'utf8'))
  // A second CA (any certificate not yet seen) makes the `ca` "new".
  const tls = require('node:tls')
  const extra = path.join(work, 'extra.pem')
  fs.writeFileSync(extra, tls.rootCertificates[0] + '\n')

  const server = spawn(process.execPath, [__filename, '--server'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(Number(String(d).trim()))))
  const env = { ...process.env, SSL_CERT_FILE: bundle }
  delete env.NODE_EXTRA_CA_CERTS
  // Each run is a fresh process per client; clients alternate run by run.
  const rounds = { ostls: [], node: [] }
  try {
    for (let r = 0; r < runs; r++) {
      for (const impl of r % 2 ? ['node', 'ostls'] : ['ostls', 'node'])
        rounds[impl].push(JSON.parse(await run(['--client', impl, String(port), extra, '--concurrent', String(concurrent)], env)))
    }
  } finally {
    server.kill()
    fs.rmSync(work, { recursive: true, force: true })
  }
  // Per phase and field: the median over the runs, and the range of max.
  const results = {}
  for (const impl of ['ostls', 'node']) {
    results[impl] = {}
    for (const phase of Object.keys(rounds[impl][0])) {
      const out = {}
      for (const field of Object.keys(rounds[impl][0][phase])) out[field] = median(rounds[impl].map((x) => x[phase][field]))
      const maxes = rounds[impl].map((x) => x[phase].max)
      out.maxMin = Math.min(...maxes)
      out.maxMax = Math.max(...maxes)
      results[impl][phase] = out
    }
  }
  if (argv.includes('--json')) {
    process.stdout.write(JSON.stringify({ concurrent, runs, results, rounds }, null, 2) + '\n')
    return
  }
  if (runs > 1) console.log(`medians of ${runs} runs per client`)
  const f = (v) => v.toFixed(1).padStart(6)
  console.log(`event-loop gap (ms beyond a 1 ms timer), ${concurrent} concurrent in "many"`)
  console.log('phase     ostls max   p99  call  wall | node max   p99  call  wall')
  for (const phase of ['first', 'new-ca', 'many']) {
    const o = results.ostls[phase], n = results.node[phase]
    console.log(`${phase.padEnd(8)} ${f(o.max)} ${f(o.p99)} ${f(o.callMax)} ${f(o.wall)} | ${f(n.max)} ${f(n.p99)} ${f(n.callMax)} ${f(n.wall)}`)
  }
  const o = results.ostls.many, n = results.node.many
  console.log(`many: the ${concurrent} connect() calls held the loop ${o.loopMax.toFixed(1)} ms (Node ${n.loopMax.toFixed(1)}); every later task at most ${o.afterMax.toFixed(1)} ms (Node ${n.afterMax.toFixed(1)})`)
  console.log(`many, the longest interval between two 1 ms ticks after the calls: ${o.worstWall.toFixed(1)} ms = CPU ${o.worstCpu.toFixed(1)} + ready ${o.worstReady.toFixed(1)} + asleep ${o.worstAsleep.toFixed(1)} (Node ${n.worstWall.toFixed(1)} = ${n.worstCpu.toFixed(1)} + ${n.worstReady.toFixed(1)} + ${n.worstAsleep.toFixed(1)})`)
  console.log(`JS thread's own CPU between two 1 ms ticks, at most: ${['first', 'new-ca', 'many'].map((p) => `${p} ${results.ostls[p].busyMax.toFixed(1)} (Node ${results.node[p].busyMax.toFixed(1)})`).join(', ')}; many after the calls ${o.afterBusyMax.toFixed(1)} (Node ${n.afterBusyMax.toFixed(1)})`)
}

if (argv[0] === '--server') serverMain()
else if (argv[0] === '--client') clientMain(argv[1], Number(argv[2]), argv[3]).catch((e) => { console.error(e); process.exit(1) })
else main().catch((e) => { console.error(e); process.exit(1) })
