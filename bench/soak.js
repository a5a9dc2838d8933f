#!/usr/bin/env node
/*
 * npm run soak [-- --cycles N] [-- --concurrent N] [-- --mib N]
 *
 * A soak run of the public API against a local server (loopback only; the
 * server is a child process, so this process's fds and RSS are the client's
 * alone). Not a timed test: a script with pass/fail limits, bounded in time.
 *
 * 1. cycles: 10,000 connect / handshake / close cycles (8 at a time; every
 *    fourth one also echoes a few bytes, every third one ends gracefully,
 *    the rest are destroyed). Open fds (/proc/self/fd), RSS (after a full GC)
 *    and the library's live handles are printed at 0, 2,000 and 10,000.
 *    Pass: no native handle left at each checkpoint; between 2,000 (warm) and
 *    10,000 the fd count grows by at most FD_SLACK and RSS by at most
 *    RSS_SLACK_MIB (less than 1 KiB per cycle: a per-connection leak of a
 *    record buffer, an SSL, a socket or a JS wrapper shows well above it).
 * 2. concurrent: 500 connections at once, each sending 1 MiB of random data
 *    that the server echoes; each side's SHA-256 must match.
 * The whole run is cut off after TIME_LIMIT_S (exit 1).
 */
'use strict'
const { spawn } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const v8 = require('node:v8')
const vm = require('node:vm')

const root = path.resolve(__dirname, '..')
const assets = path.join(root, 'assets', 'selftest')
const FD_SLACK = 2
const RSS_SLACK_MIB = 8
const TIME_LIMIT_S = Number(process.env.SOAK_TIME_LIMIT_S || 900)

const argv = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 && argv[i + 1] !== undefined ? Number(argv[i + 1]) : dflt
}

// ------------------------------------------------------------- the server

if (argv[0] === '--server') {
  const tls = require('node:tls')
  const server = tls.createServer({
    key: fs.readFileSync(path.join(assets, 'server.key')),
    cert: fs.readFileSync(path.join(assets, 'server.pem'))
  }, (s) => {
    s.on('error', () => {})
    s.pipe(s)
  })
  server.on('tlsClientError', () => {})
  server.maxConnections = 2000
  server.listen(0, '127.0.0.1', 1024, () => process.stdout.write(`${server.address().port}\n`))
  process.stdin.on('end', () => process.exit(0)).resume()
  return
}

// ------------------------------------------------------------- the client

const distIndex = path.join(root, 'dist', 'cjs', 'index.js')
if (!fs.existsSync(distIndex)) {
  console.error('soak: dist/ is missing: run npm run build first')
  process.exit(1)
}
const { connect } = require(distIndex)
const { libraryInfo } = require(path.join(root, 'dist', 'cjs', 'native.js'))
v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')
const CA = fs.readFileSync(path.join(assets, 'ca.pem'), 'utf8')
const MiB = 1024 * 1024

function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, '--server'], { stdio: ['pipe', 'pipe', 'inherit'] })
    child.stdout.once('data', (d) => resolve({ port: Number(String(d).trim()), stop: () => child.stdin.end() }))
    child.once('exit', (code) => reject(new Error(`the soak server exited (${code})`)))
  })
}

const fds = () => fs.readdirSync('/proc/self/fd').length
const handles = () => Number(libraryInfo('handles'))
const tick = () => new Promise((r) => setImmediate(r))

async function settle() {
  // Let close callbacks, FinalizationRegistry cleanups and freed buffers land.
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 50))
    gc()
    await tick()
  }
}

async function snapshot(label) {
  await settle()
  const s = { label, fds: fds(), rssMiB: process.memoryUsage.rss() / MiB, handles: handles(), heapMiB: process.memoryUsage().heapUsed / MiB }
  console.log(`  at ${label.padStart(6)}: fds ${s.fds}, rss ${s.rssMiB.toFixed(1)} MiB, js heap ${s.heapMiB.toFixed(1)} MiB, native handles ${s.handles}`)
  return s
}

function cycle(port, i) {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername: 'ostls-selftest.invalid', ca: CA })
    s.once('error', reject)
    s.once('close', () => resolve())
    s.once('secureConnect', () => {
      const finish = () => (i % 3 === 0 ? s.end() : s.destroy())
      if (i % 4 !== 0) return finish()
      s.write('ping')
      s.once('data', (d) => (String(d) === 'ping' ? finish() : reject(new Error(`echo gave ${d}`))))
    })
    s.on('end', () => s.destroy())
    s.resume()   // reads what the server sends (tickets, close_notify) so 'end' can come
  })
}

async function cycles(port, total, checkpoints) {
  const parallel = 8
  let next = 0
  const snaps = [await snapshot('0')]
  for (const until of checkpoints) {
    const worker = async () => {
      while (next < until) await cycle(port, next++)
    }
    await Promise.all(Array.from({ length: parallel }, worker))
    snaps.push(await snapshot(String(until)))
  }
  return snaps
}

function transfer(port, bytes) {
  return new Promise((resolve, reject) => {
    const data = crypto.randomBytes(bytes)
    const sent = crypto.createHash('sha256').update(data).digest('hex')
    const got = crypto.createHash('sha256')
    let n = 0
    const s = connect({ host: '127.0.0.1', port, servername: 'ostls-selftest.invalid', ca: CA })
    s.once('error', reject)
    s.on('data', (d) => {
      got.update(d)
      n += d.length
      if (n >= bytes) s.end()
    })
    s.once('close', () => {
      const echoed = got.digest('hex')
      if (n === bytes && echoed === sent) resolve()
      else reject(new Error(`echo of ${bytes} bytes came back as ${n} bytes, sha256 ${echoed.slice(0, 16)}… (sent ${sent.slice(0, 16)}…)`))
    })
    s.once('secureConnect', () => s.write(data))
  })
}

async function main() {
  const total = opt('cycles', 10000)
  const concurrent = opt('concurrent', 500)
  const mib = opt('mib', 1)
  const started = Date.now()
  const limit = setTimeout(() => {
    console.log(`soak: FAIL: not finished within ${TIME_LIMIT_S} s`)
    process.exit(1)
  }, TIME_LIMIT_S * 1000)
  const server = await startServer()
  let failed = false

  console.log(`soak: ${total} connect/handshake/close cycles against 127.0.0.1:${server.port} (8 at a time)`)
  // Warm-up ends at 2,000 (a fifth of a shorter run); flatness is judged after it.
  const checkpoints = [Math.max(1, Math.min(2000, Math.floor(total / 5))), total].filter((v, i, a) => a.indexOf(v) === i)
  const t0 = Date.now()
  const snaps = await cycles(server.port, total, checkpoints)
  const secs = (Date.now() - t0) / 1000
  console.log(`  ${total} cycles in ${secs.toFixed(1)} s (${(total / secs).toFixed(0)} per second)`)
  const warm = snaps[1]
  const end = snaps[snaps.length - 1]
  const fdGrowth = end.fds - warm.fds
  const rssGrowth = end.rssMiB - warm.rssMiB
  const leftHandles = snaps.filter((s) => s.handles !== 0)
  console.log(`  from ${warm.label} to ${end.label}: fds ${fdGrowth >= 0 ? '+' : ''}${fdGrowth} (limit +${FD_SLACK}), rss ${rssGrowth >= 0 ? '+' : ''}${rssGrowth.toFixed(1)} MiB (limit +${RSS_SLACK_MIB} MiB)`)
  if (fdGrowth > FD_SLACK || rssGrowth > RSS_SLACK_MIB || leftHandles.length) {
    console.log(`soak: FAIL: cycles are not flat${leftHandles.length ? ` (native handles left at ${leftHandles.map((s) => s.label).join(', ')})` : ''}`)
    failed = true
  } else {
    console.log('soak: cycles ok')
  }

  console.log(`soak: ${concurrent} concurrent connections x ${mib} MiB each, echoed, checked by SHA-256`)
  const t1 = Date.now()
  const results = await Promise.allSettled(Array.from({ length: concurrent }, () => transfer(server.port, mib * MiB)))
  const secs2 = (Date.now() - t1) / 1000
  const bad = results.filter((r) => r.status === 'rejected')
  console.log(`  ${concurrent - bad.length}/${concurrent} verified in ${secs2.toFixed(1)} s (${((2 * concurrent * mib) / secs2).toFixed(0)} MiB/s up+down)`)
  for (const r of bad.slice(0, 5)) console.log(`  failed: ${r.reason && r.reason.message}`)
  const after = await snapshot('after')
  if (bad.length || after.handles !== 0) {
    console.log('soak: FAIL: concurrent transfers')
    failed = true
  } else {
    console.log('soak: concurrent ok')
  }

  clearTimeout(limit)
  server.stop()
  console.log(`soak: ${failed ? 'FAIL' : 'PASS'} in ${((Date.now() - started) / 1000).toFixed(0)} s`)
  process.exit(failed ? 1 : 0)
}

main().catch((e) => {
  console.log(`soak: FAIL: ${e && e.stack ? e.stack : e}`)
  process.exit(1)
})
