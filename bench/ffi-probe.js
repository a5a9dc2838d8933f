#!/usr/bin/env node
/*
 * bench/ffi-probe.js <bytes> — what crossing into C costs ostls.
 *  1. The cost of one binding call (no I/O), next to a bare libc call through koffi.
 *  2. FFI calls made per MiB received and sent through the public TLSStream,
 *     counted by wrapping NativeConn's methods and koffi's uv_poll handle here,
 *     in the probe only (production code is untouched).
 * Needs OSTLS_BENCH_SERVER/CERT/KEY/CA (set by bench/run.js). Prints one JSON line.
 */
'use strict'
const { spawn } = require('node:child_process')
const path = require('node:path')
const fs = require('node:fs')
const koffi = require('koffi')

const root = process.env.OSTLS_BENCH_PKG || path.resolve(__dirname, '..')
const ostls = require(root)
const native = require(path.join(root, 'dist', 'cjs', 'native.js'))
const bytes = Number(process.argv[2] || 64 * 1024 * 1024)
const caPem = fs.readFileSync(process.env.OSTLS_BENCH_CA, 'utf8')

// ---- counting wrappers ----
const counts = {}
const proto = native.NativeConn.prototype
for (const name of Object.getOwnPropertyNames(proto)) {
  const d = Object.getOwnPropertyDescriptor(proto, name)
  if (name === 'constructor' || typeof d.value !== 'function') continue
  const orig = d.value
  proto[name] = function (...args) {
    counts[name] = (counts[name] || 0) + 1
    return orig.apply(this, args)
  }
}
let ioBytes = 0
let ioCalls = 0
const origRead = proto.read
proto.read = function (buf) {
  const n = origRead.call(this, buf)
  ioCalls++
  if (n > 0) ioBytes += n
  return n
}
const origWrite = proto.write
proto.write = function (buf) {
  const n = origWrite.call(this, buf)
  ioCalls++
  ioBytes += n
  return n
}
let pollOps = 0
// PollHandle's methods are read-only: count through a proxy around each handle.
const origPoll = koffi.node.poll
koffi.node.poll = function (...args) {
  pollOps++
  const h = origPoll.apply(this, args)
  return new Proxy(h, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target)
      if (typeof v !== 'function') return v
      return (...a) => {
        if (prop === 'start' || prop === 'stop' || prop === 'close') pollOps++
        return v.apply(target, a)
      }
    }
  })
}

function reset() {
  for (const k of Object.keys(counts)) delete counts[k]
  ioBytes = ioCalls = pollOps = 0
}

// ---- 1. cost of one call ----
function timeIt(name, n, fn) {
  for (let i = 0; i < 1000; i++) fn()
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) fn()
  return { name, ns: Number(process.hrtime.bigint() - t0) / n }
}

function startServer(mode, extra) {
  const proc = spawn(process.env.OSTLS_BENCH_SERVER, [mode, process.env.OSTLS_BENCH_CERT, process.env.OSTLS_BENCH_KEY, ...extra], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    let out = ''
    proc.stdout.on('data', (d) => {
      out += d
      const m = out.match(/PORT (\d+)/)
      if (m) resolve({ port: Number(m[1]), stop: () => proc.kill('SIGTERM') })
    })
    proc.on('exit', (c) => reject(new Error(`server exited ${c}`)))
  })
}

function perMiB(n) {
  return n / (bytes / 1048576)
}

function summary(direction, cpu, wall) {
  const c = { ...counts }
  const total = Object.values(c).reduce((a, b) => a + b, 0)
  const callsPerMiB = { total: perMiB(total) }
  for (const [k, v] of Object.entries(c)) callsPerMiB[k] = perMiB(v)
  return {
    direction, bytes, callsPerMiB,
    bytesPerIoCall: ioBytes / Math.max(1, ioCalls),
    pollOpsPerMiB: perMiB(pollOps),
    cpuPerGiB: (cpu.user + cpu.system) / 1e6 / (bytes / 2 ** 30),
    wallS: wall
  }
}

async function main() {
  const out = { callCost: [], transfers: [] }
  const libc = koffi.load('libc.so.6')
  const getppid = libc.func('int getppid(void)')
  out.callCost.push(timeIt('getppid (libc, bare koffi)', 200000, () => getppid()))

  const api = native.loadBinding().api
  const s = [null]
  const e = [null]
  const m = [null]
  out.callCost.push(timeIt("tls_info(NULL, 'backend')", 200000, () => api.tls_info(null, 'backend', s, e, m)))

  // A live connection for the per-connection calls.
  const srv = await startServer('sink', [])
  const sock = await new Promise((resolve, reject) => {
    const t = ostls.connect({ host: '127.0.0.1', port: srv.port, ca: caPem }, () => resolve(t))
    t.on('error', reject)
  })
  const conn = findConn(sock)
  if (conn) {
    out.callCost.push(timeIt('NativeConn.pollHandle (tls_pollhandle: 2 out-params + err/errmsg)', 200000, () => conn.pollHandle(1)))
    if (typeof conn.pollEvents === 'function') out.callCost.push(timeIt('NativeConn.pollEvents (tls_pollevents: no out-params)', 200000, () => conn.pollEvents(1)))
  }
  sock.destroy()
  srv.stop()

  // ---- 2. calls per MiB ----
  {
    const srv2 = await startServer('source', [String(bytes)])
    reset()
    const cpu0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    let got = 0
    await new Promise((resolve, reject) => {
      const t = ostls.connect({ host: '127.0.0.1', port: srv2.port, ca: caPem })
      t.on('data', (d) => { got += d.length })
      t.on('end', resolve)
      t.on('error', reject)
    })
    const cpu = process.cpuUsage(cpu0)
    if (got !== bytes) throw new Error(`received ${got} of ${bytes}`)
    out.transfers.push(summary('receive', cpu, Number(process.hrtime.bigint() - t0) / 1e9))
    srv2.stop()
  }
  {
    const srv3 = await startServer('sink', [])
    const chunk = Buffer.alloc(64 * 1024, 'x')
    reset()
    const cpu0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    await new Promise((resolve, reject) => {
      const t = ostls.connect({ host: '127.0.0.1', port: srv3.port, ca: caPem }, () => {
        let sent = 0
        const more = () => {
          while (sent < bytes) {
            sent += chunk.length
            if (!t.write(chunk)) return t.once('drain', more)
          }
          t.end()
        }
        more()
      })
      t.on('data', () => {})
      t.on('end', resolve)
      t.on('error', reject)
    })
    const cpu = process.cpuUsage(cpu0)
    out.transfers.push(summary('send', cpu, Number(process.hrtime.bigint() - t0) / 1e9))
    srv3.stop()
  }
  process.stdout.write(JSON.stringify(out) + '\n')
}

/** The stream's NativeConn, found through the counting wrapper (the field is private). */
function findConn(sock) {
  let found = null
  const orig = proto.info
  proto.info = function (...args) {
    found = this
    return orig.apply(this, args)
  }
  try {
    sock.nativeInfo('state')
  } finally {
    proto.info = orig
  }
  return found
}

main().catch((err) => {
  process.stderr.write(`ffi-probe: ${err.stack || err}\n`)
  process.exit(1)
})
