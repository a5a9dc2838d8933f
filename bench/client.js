#!/usr/bin/env node
/*
 * bench/client.js — the Node-side benchmark clients, one scenario per process:
 *   node bench/client.js ostls|node <mode> <port> ...   (modes and arguments as bench/client.c)
 * "ostls" uses only the public API (require('ostls') → connect()/TLSStream);
 * "node" uses tls.connect with one SecureContext reused for every connection
 * (what a well-written Node program, and Node's https.Agent, does).
 * Prints one JSON line. CPU is process.cpuUsage() over the measured phase only.
 */
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const tls = require('node:tls')

const [impl, mode, portArg, ...rest] = process.argv.slice(2)
const port = Number(portArg)
const caPem = fs.readFileSync(process.env.OSTLS_BENCH_CA, 'utf8')
const HOST = '127.0.0.1'

// Each side's one-time set-up (Node: the SecureContext; ostls: loading the
// library and the OS trust store) happens in the first open(), which the hs
// mode reports on its own as first_ms.
let open
if (impl === 'ostls') {
  // OSTLS_BENCH_PKG: another build of ostls (A/B comparisons while optimising).
  const ostls = require(process.env.OSTLS_BENCH_PKG || path.resolve(__dirname, '..'))
  open = (onSecure, p = port, extra = {}) => ostls.connect({ host: HOST, port: p, ca: caPem, ...extra }, onSecure)
} else if (impl === 'node') {
  let secureContext
  open = (onSecure, p = port, extra = {}) => {
    secureContext ??= tls.createSecureContext({ ca: caPem })
    return tls.connect({ host: HOST, port: p, secureContext, ...extra }, onSecure)
  }
} else {
  throw new Error(`unknown impl ${impl}`)
}

let nodeContext

function statusField(name) {
  const m = fs.readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${name}:\\s*(\\d+)`, 'm'))
  return m ? Number(m[1]) : -1
}

function fail(err) {
  process.stderr.write(`client ${impl} ${mode}: ${err && err.stack ? err.stack : err}\n`)
  process.exit(1)
}

let cpu0, t0
function start() {
  cpu0 = process.cpuUsage()
  t0 = process.hrtime.bigint()
}
function snapshot() {
  return { wall: Number(process.hrtime.bigint() - t0) / 1e9, c: process.cpuUsage(cpu0) }
}
function finish(units, extra = {}, snap = snapshot()) {
  const { wall, c } = snap
  const out = {
    impl, mode,
    user_s: c.user / 1e6, sys_s: c.system / 1e6, cpu_s: (c.user + c.system) / 1e6, wall_s: wall,
    units, rss_kb: statusField('VmRSS'), maxrss_kb: statusField('VmHWM'), threads: statusField('Threads'),
    ...extra
  }
  process.stdout.write(JSON.stringify(out) + '\n')
}

/** Handshakes with at most conc in flight until count completed; keep: hold them open. */
function handshakes(count, conc, keep) {
  return new Promise((resolve) => {
    let started = 0
    let done = 0
    const held = []
    const launch = () => {
      while (started < count && started - done < conc) {
        started++
        const s = open(() => {
          if (!s.authorized) fail(new Error('not authorized'))
          if (keep) {
            held.push(s)
            // An idle pooled connection still listens for the server's close.
            s.on('data', () => {})
          } else {
            s.destroy()
          }
          done++
          if (done === count) resolve(held)
          else launch()
        })
        s.on('error', fail)
      }
    }
    launch()
  })
}

async function main() {
  if (mode === 'recv' || mode === 'recv-onread') {
    const want = Number(rest[0])
    await warmup()
    let bytes = 0
    // recv-onread (both clients): every read into one reused buffer, as the C
    // client reads; no chunk is handed out.
    const extra = mode === 'recv-onread' ? { onread: { buffer: Buffer.allocUnsafe(64 * 1024), callback: (n) => { bytes += n } } } : {}
    await new Promise((resolve) => {
      start()
      const s = open(undefined, port, extra)
      if (mode === 'recv') s.on('data', (d) => { bytes += d.length })
      s.on('end', resolve)
      s.on('error', fail)
    })
    if (bytes !== want) fail(new Error(`received ${bytes} of ${want}`))
    finish(bytes)
  } else if (mode === 'send') {
    const want = Number(rest[0])
    const chunk = Buffer.alloc(Number(rest[1]), 'x')
    await warmup()
    start()
    let sent = 0
    await new Promise((resolve) => {
      const s = open(() => {
        const more = () => {
          while (sent < want) {
            const n = Math.min(chunk.length, want - sent)
            sent += n
            if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return s.once('drain', more)
          }
          s.end()
        }
        more()
      })
      s.on('data', () => {})
      s.on('end', resolve)
      s.on('error', fail)
    })
    finish(sent)
  } else if (mode === 'hs') {
    const count = Number(rest[0])
    const conc = Number(rest[1])
    start()
    await handshakes(1, 1, false) // the first connection pays each side's one-time set-up
    const first = snapshot()
    await handshakes(Math.max(8, conc), conc, false) // warm-up: code loaded and compiled
    start()
    await handshakes(count, conc, false)
    finish(count, { first_cpu_ms: (first.c.user + first.c.system) / 1e3, first_wall_ms: first.wall * 1e3 })
  } else if (mode === 'hsr') {
    // Sequential handshakes with resumption: each connection reads the
    // server's one byte (sent after its ticket) and closes. ostls resumes
    // through its own cache; Node reuses the previous connection's `session`.
    const count = Number(rest[0])
    let session
    const one = (check) =>
      new Promise((resolve) => {
        const s = impl === 'node'
          ? tls.connect({ host: HOST, port, secureContext: (nodeContext ??= tls.createSecureContext({ ca: caPem })), session })
          : open()
        if (impl === 'node') s.on('session', (sess) => { session = sess })
        s.once('data', () => {
          if (!s.authorized) fail(new Error('not authorized'))
          if (check && !s.isSessionReused()) fail(new Error('not resumed'))
          s.destroy()
          resolve()
        })
        s.on('error', fail)
      })
    for (let i = 0; i < 8; i++) await one(i > 0) // warm-up, and the first session
    start()
    for (let i = 0; i < count; i++) await one(true)
    finish(count)
  } else if (mode === 'ping') {
    const count = Number(rest[0])
    const size = Number(rest[1])
    const warm = Number(rest[2])
    const msg = Buffer.alloc(size, 'p')
    const lat = new Float64Array(count)
    await new Promise((resolve) => {
      const s = open(() => {
        let i = -warm
        let got = 0
        let sentAt = 0n
        const send = () => {
          if (i === 0) start()
          sentAt = process.hrtime.bigint()
          s.write(msg)
        }
        s.on('data', (d) => {
          got += d.length
          if (got < size) return
          got -= size
          if (i >= 0) lat[i] = Number(process.hrtime.bigint() - sentAt) / 1e3
          if (++i === count) return resolve(s)
          send()
        })
        send()
      })
      s.on('error', fail)
    }).then((s) => {
      const snap = snapshot()
      s.destroy()
      lat.sort()
      finish(count, { p50_us: lat[count >> 1], p99_us: lat[Math.floor(count * 0.99)], msgs_per_s: count / snap.wall }, snap)
    })
  } else if (mode === 'idle') {
    const count = Number(rest[0])
    await handshakes(8, 8, false)
    await settle()
    const rss0 = statusField('VmRSS')
    start()
    const held = await handshakes(count, 64, true)
    const snap = snapshot()
    finish(count, await idleMemory(rss0, count), snap)
    for (const s of held) s.destroy()
  } else {
    fail(new Error(`unknown mode ${mode}`))
  }
}

/**
 * Bulk modes measure the transfer, not the process's one-time set-up: one
 * connection first, closed at once, to another server (the bulk server would
 * start sending). OSTLS_BENCH_WARM_PORT is a sink server run by bench/run.js.
 */
async function warmup() {
  const wp = Number(process.env.OSTLS_BENCH_WARM_PORT)
  if (!wp) return
  await new Promise((resolve) => {
    const s = open(() => {
      s.destroy()
      resolve()
    }, wp)
    s.on('error', fail)
  })
}

async function settle() {
  for (let i = 0; i < 2; i++) {
    if (global.gc) global.gc()
    await new Promise((r) => setTimeout(r, 150))
  }
}

async function idleMemory(rss0, count) {
  await settle()
  const rss1 = statusField('VmRSS')
  return { rss_before_kb: rss0, rss_after_kb: rss1, rss_per_conn_kb: (rss1 - rss0) / count }
}

main().catch(fail)
