#!/usr/bin/env node
// Compiles ts/ to CommonJS in dist/cjs and writes thin ESM entry points in dist/esm
// that re-export the CommonJS build, so both module systems share one instance
// of the native binding (two copies would load the library twice).
'use strict'
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const tsc = require.resolve('typescript/bin/tsc')
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true })
execFileSync(process.execPath, [tsc, '-p', root], { stdio: 'inherit' })

// ESM wrappers: one per public entry point, named exports listed explicitly
// so `import { connect } from 'ostls'` works in every Node version we support.
const entries = { index: 'index.js', register: 'auto-register.js', doctor: 'doctor-api.js' }
const esmDir = path.join(root, 'dist', 'esm')
// Requiring the entries only reads their export names: the register entry must
// not register (in a fresh clone the native library is not built yet, and its
// warning would say HTTPS is broken while npm install is still running).
process.env.OSTLS_DISABLE = '1'
fs.mkdirSync(esmDir, { recursive: true })
for (const [name, file] of Object.entries(entries)) {
  const mod = require(path.join(root, 'dist', 'cjs', file))
  const names = Object.keys(mod).filter((k) => k !== 'default' && k !== '__esModule')
  const src = [
    `import cjs from '../cjs/${file}';`,
    `export const { ${names.join(', ')} } = cjs;`,
    'export default cjs;',
    ''
  ].join('\n')
  fs.writeFileSync(path.join(esmDir, `${name}.mjs`), src)
}
fs.chmodSync(path.join(root, 'dist', 'cjs', 'cli', 'main.js'), 0o755)

// tsc writes `#private;` into the .d.ts of a class with #private members; a
// project compiled for ES5 (tsc's default target) rejects that line (TS18028)
// in our types. It only makes the class nominal, so the public types lose
// nothing when it goes.
for (const f of fs.readdirSync(path.join(root, 'dist', 'cjs'))) {
  if (!f.endsWith('.d.ts')) continue
  const file = path.join(root, 'dist', 'cjs', f)
  const text = fs.readFileSync(file, 'utf8')
  const stripped = text.replace(/^[ \t]*#private;\r?\n/gm, '')
  if (stripped !== text) fs.writeFileSync(file, stripped)
}
