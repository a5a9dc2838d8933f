#!/usr/bin/env node
/*
 * JS-thread CPU of a process's first connection and of a connection with a
 * new `ca` (CLOCK_THREAD_CPUTIME_ID through koffi), beside the 1 ms timer's
 * worst lateness: in all, in the connect() call, and the most spent between
 * two ticks of a 1 ms timer (max_slice: the gap an idle machine would show).
 * On a loaded machine the lateness mostly measures other processes; the JS
 * thread's own CPU does not (issue 15's A/B comparisons).
 *
 *   node bench/node-server.js sink assets/selftest/server.pem assets/selftest/server.key  # PORT n
 *   OSTLS_BENCH_PKG=<another build> node bench/loop-cpu.js <port>
 */
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const { monitorEventLoopDelay } = require('node:perf_hooks')
const root = path.resolve(__dirname, '..')
const { threadCpuClock } = require('./thread-cpu')

const threadCpuMs = threadCpuClock()
if (!threadCpuMs) {
  console.error('loop-cpu.js reads the JS thread\'s CPU clock, which it does on Linux only')
  process.exit(1)
}

const ostls = require(process.env.OSTLS_BENCH_PKG || root)
const port = Number(process.argv[2])
const testCa = fs.readFileSync(path.join(root, 'assets', 'selftest', 'ca.pem'), 'utf8')
const otherCa = require('node:tls').rootCertificates[5]
let callCpu = 0
const once = (ca) => new Promise((resolve, reject) => {
  const c0 = threadCpuMs()
  const s = ostls.connect({ host: '127.0.0.1', port, ca })
  callCpu = threadCpuMs() - c0
  s.on('error', reject)
  s.on('secureConnect', () => { s.destroy(); resolve() })
})
;(async () => {
  const out = {}
  for (const [name, ca] of [['first', testCa], ['new-ca', testCa + otherCa]]) {
    const h = monitorEventLoopDelay({ resolution: 1 })
    h.enable()
    // The JS thread's CPU between two ticks of a 1 ms timer: the longest is
    // what the gap would be on an idle machine (the tasks run between ticks).
    let slice = 0
    let last = threadCpuMs()
    const tick = setInterval(() => {
      const now = threadCpuMs()
      slice = Math.max(slice, now - last)
      last = now
    }, 1)
    await new Promise((r) => setTimeout(r, 5))
    slice = 0
    const t0 = threadCpuMs()
    await once(ca)
    out[`${name}_js_cpu_ms`] = Number((threadCpuMs() - t0).toFixed(2))
    await new Promise((r) => setTimeout(r, 20))
    clearInterval(tick)
    out[`${name}_call_cpu_ms`] = Number(callCpu.toFixed(2))
    out[`${name}_max_slice_cpu_ms`] = Number(slice.toFixed(2))
    h.disable()
    out[`${name}_gap_ms`] = Number(Math.max(0, h.max / 1e6 - 1).toFixed(1))
  }
  console.log(JSON.stringify(out))
})().catch((e) => { console.error(e); process.exit(1) })
