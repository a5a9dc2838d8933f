#!/usr/bin/env node
// Counts tap's saved results (one TAP file per test file) and prints
// "N passed, N failed[, N skipped]". A test is a top-level subtest of a file;
// a file that crashed before reporting any counts as one failure.
// Exit code 1 when anything failed or nothing ran.
'use strict'
const fs = require('node:fs')
const path = require('node:path')

const dir = process.argv[2] || '.tap/test-results'
let passed = 0
let failed = 0
let skipped = 0
let files = []
try {
  files = fs.readdirSync(dir, { recursive: true }).filter((f) => f.endsWith('.tap'))
} catch {}
for (const f of files) {
  const lines = fs.readFileSync(path.join(dir, f), 'utf8').split('\n')
  let any = false
  for (const line of lines) {
    const m = /^(not ok|ok) \d+/.exec(line)
    if (!m) continue
    any = true
    if (m[1] === 'not ok') {
      if (/# TODO/.test(line)) skipped++
      else failed++
    } else if (/# SKIP/i.test(line)) skipped++
    else passed++
  }
  if (!any) failed++
}
if (files.length === 0) failed++
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(failed > 0 || passed === 0 ? 1 : 0)
