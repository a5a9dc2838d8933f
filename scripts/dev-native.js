#!/usr/bin/env node
// `prepare` and `pretest`: in a git checkout (a contributor's clone) that has no
// native library for this machine, builds one with `npm run build:native`
// (node-gyp rebuild -> build/Release/ostls.node), so that `npm install && npm start`
// and `npm install && npm test` work on a fresh clone. It never runs for users:
// npm does not run `prepare` when it installs a package from the registry, and the
// tarball ships neither this script nor the C sources; users get prebuilds/.
'use strict'
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const root = path.resolve(__dirname, '..')
const say = (msg) => console.error(`ostls: ${msg}`)

if (!fs.existsSync(path.join(root, '.git'))) process.exit(0) // not a clone: nothing to do
if (process.env.OSTLS_LIBRARY) process.exit(0) // the library comes from elsewhere

function libraryFound() {
  if (fs.existsSync(path.join(root, 'build', 'Release', 'ostls.node'))) return 'build/Release/ostls.node'
  try {
    // The same resolver the run-time loader uses for prebuilds/.
    return path.relative(root, require('node-gyp-build').path(root))
  } catch {
    return null
  }
}

// A prebuild older than the C sources would still be loaded (prebuilds/ come
// before build/ for the loader): say so rather than test stale code.
function newestSource(dir) {
  let newest = 0
  for (const f of fs.readdirSync(dir, { recursive: true })) {
    if (/\.[ch]$/.test(f)) newest = Math.max(newest, fs.statSync(path.join(dir, f)).mtimeMs)
  }
  return newest
}

const dir = path.join('prebuilds', `${process.platform}-${process.arch}`)
const otherLibc = process.platform !== 'linux' ? null : process.report.getReport().header.glibcVersionRuntime ? '.musl.' : '.glibc.'
const sources = newestSource(path.join(root, 'c'))
for (const f of fs.existsSync(path.join(root, dir)) ? fs.readdirSync(path.join(root, dir)) : []) {
  if (otherLibc && f.includes(otherLibc)) continue
  if (f.endsWith('.node') && fs.statSync(path.join(root, dir, f)).mtimeMs < sources) {
    say(`${path.join(dir, f)} is older than the C sources in c/ and the loader tries prebuilds/ before build/: run npm run prebuilds, or delete it`)
  }
}
if (libraryFound()) process.exit(0)
say('no native library for this machine in this clone: building it (npm run build:native)')
const npm = process.env.npm_execpath
const r = npm
  ? spawnSync(process.execPath, [npm, 'run', 'build:native'], { cwd: root, stdio: 'inherit' })
  : spawnSync('npm', ['run', 'build:native'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' })
if (r.status !== 0) {
  say('building the native library failed: a C compiler, make and python3 are needed (see README, Building)')
  process.exit(1)
}
