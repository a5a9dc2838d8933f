#!/usr/bin/env node
// Counts tap's saved results (one TAP file per test file) in each directory
// given and prints "N passed, N failed[, N skipped]" for all of them together,
// after one line per directory when there are several, and between those and
// the total, one line per failed test naming its file and the first failed
// check inside it (CI keeps only the tail of its log, so the names must be
// right above its last line). A test is a top-level
// subtest of a file; a file that reported nothing counts as one failure, and
// so does a directory with no results. Exit code 1 when anything failed or
// nothing passed.
'use strict'
const fs = require('node:fs')
const path = require('node:path')

function count(dir) {
  const c = { passed: 0, failed: 0, skipped: 0, failures: [] }
  let files = []
  try {
    files = fs.readdirSync(dir, { recursive: true }).filter((f) => f.endsWith('.tap'))
  } catch {}
  if (files.length === 0) {
    c.failed++
    c.failures.push(`${dir}: no results`)
  }
  for (const f of files) {
    let any = false
    let firstInner = null
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      const inner = /^\s+not ok \d+ - (.*)/.exec(line)
      if (inner && !firstInner && !/# (SKIP|TODO)/i.test(line)) firstInner = inner[1].trim()
      const m = /^(not ok|ok) \d+(?: - (.*))?/.exec(line)
      if (!m) continue
      any = true
      if (/# (SKIP|TODO)/i.test(line)) c.skipped++
      else if (m[1] === 'not ok') {
        c.failed++
        c.failures.push(`${path.join(dir, f)}: ${(m[2] || '').replace(/\s*# time=.*$/, '').trim()}${firstInner ? ` (first failed check: ${firstInner})` : ''}`)
      } else c.passed++
      firstInner = null
    }
    if (!any) {
      c.failed++
      c.failures.push(`${path.join(dir, f)}: reported nothing`)
    }
  }
  return c
}

const line = (c) => `${c.passed} passed, ${c.failed} failed${c.skipped ? `, ${c.skipped} skipped` : ''}`
const dirs = process.argv.slice(2)
if (dirs.length === 0) dirs.push('.tap/test-results')
const total = { passed: 0, failed: 0, skipped: 0 }
const counts = dirs.map(count)
counts.forEach((c, i) => {
  if (dirs.length > 1) console.log(`${dirs[i]}: ${line(c)}`)
  for (const k of Object.keys(total)) total[k] += c[k]
})
for (const c of counts) for (const failure of c.failures) console.log(`failed: ${failure}`)
console.log(line(total))
process.exit(total.failed > 0 || total.passed === 0 ? 1 : 0)
