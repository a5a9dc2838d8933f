'use strict'
/*
 * The JS thread's own CPU clock (CLOCK_THREAD_CPUTIME_ID through koffi), for
 * loop-gap.js and loop-cpu.js: what the thread itself spent, apart from time
 * it sat ready but unscheduled. Linux only (the clock's number is Linux's).
 */
const fs = require('node:fs')
const path = require('node:path')

/** A function returning the thread's CPU time in ms, or null where it is not read (not Linux). */
function threadCpuClock() {
  if (process.platform !== 'linux') return null
  const koffi = require(require.resolve('koffi', { paths: [path.resolve(__dirname, '..')] }))
  const timespec = koffi.struct('bench_thread_cpu_timespec', { s: 'int64_t', ns: 'int64_t' })
  const clockGettime = koffi.load('libc.so.6').func('clock_gettime', 'int', ['int', koffi.out(koffi.pointer(timespec))])
  const CLOCK_THREAD_CPUTIME_ID = 3
  return () => { const t = {}; clockGettime(CLOCK_THREAD_CPUTIME_ID, t); return t.s * 1e3 + t.ns / 1e6 }
}

/**
 * A function returning how long (ms, in all) the calling thread has sat ready
 * in the run queue waiting for a CPU: the second field of Linux's
 * /proc/thread-self/schedstat. null where that is not there (not Linux, or a
 * kernel without CONFIG_SCHED_INFO). With the CPU clock it splits a stall into
 * running, ready but not running, and asleep (blocked: a lock, a wait, I/O).
 */
function threadRunQueueClock() {
  const file = '/proc/thread-self/schedstat'
  const read = () => Number(fs.readFileSync(file, 'latin1').split(' ')[1]) / 1e6
  try {
    return Number.isFinite(read()) ? read : null
  } catch {
    return null
  }
}

module.exports = { threadCpuClock, threadRunQueueClock }
