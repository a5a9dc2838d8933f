#!/usr/bin/env node
// Prints the C sources of the native library for one OS (linux | win | mac),
// read from binding.gyp: the one list of sources, which node-gyp uses for
// `npm run build:native` and the scripts that build prebuilds without node-gyp
// (scripts/build-linux.sh, build-win.sh, mac-sdk.sh) read through this file.
// Paths are relative to the package root; --abs makes them absolute.
'use strict'
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const args = process.argv.slice(2)
const abs = args.includes('--abs')
const os = args.find((a) => !a.startsWith('--'))
if (!['linux', 'win', 'mac'].includes(os)) {
  console.error('usage: node scripts/sources.js linux|win|mac [--abs]')
  process.exit(2)
}
// binding.gyp is a Python literal; with its whole-line # comments removed,
// this one is also JSON.
const gyp = JSON.parse(
  fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8').split('\n').filter((l) => !/^\s*#/.test(l)).join('\n')
)
const target = gyp.targets.find((t) => t.target_name === 'ostls')
const sources = [...target.sources]
for (const [cond, settings] of target.conditions ?? []) {
  if (cond === `OS=='${os}'`) sources.push(...(settings.sources ?? []))
}
console.log(sources.map((s) => (abs ? path.join(root, s) : s)).join(' '))
