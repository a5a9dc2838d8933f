#!/usr/bin/env node
// The package.json that ships names nothing the tarball does not hold: while
// npm packs, "scripts" (they run files in scripts/, test/, bench/) and the "tap"
// settings (test/) are taken out, then put back. So is "allowScripts": npm reads
// it from the project being installed into, never from a dependency.
//   node scripts/pack-manifest.js strip     end of `prepare` when npm packs or publishes (npm_command)
//   node scripts/pack-manifest.js restore   `postpack`
// `strip --force` strips outside npm pack (the workflow packs with --ignore-scripts).
// The original waits in .cache/pack/package.json; a strip finding one there
// (a pack that failed half-way) puts it back first.
'use strict'
const fs = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const manifest = path.join(root, 'package.json')
const saved = path.join(root, '.cache', 'pack', 'package.json')
const [cmd, flag] = process.argv.slice(2)

function restore() {
  if (!fs.existsSync(saved)) return false
  fs.copyFileSync(saved, manifest)
  fs.rmSync(saved)
  return true
}

if (cmd === 'restore') {
  restore()
} else if (cmd === 'strip') {
  if (flag !== '--force' && !['pack', 'publish'].includes(process.env.npm_command)) process.exit(0)
  if (restore()) console.error('pack-manifest: put back package.json from a pack that did not finish')
  const text = fs.readFileSync(manifest, 'utf8')
  fs.mkdirSync(path.dirname(saved), { recursive: true })
  fs.writeFileSync(saved, text)
  const pkg = JSON.parse(text)
  delete pkg.scripts
  delete pkg.tap
  delete pkg.allowScripts
  fs.writeFileSync(manifest, JSON.stringify(pkg, null, 2) + '\n')
} else {
  console.error('usage: node scripts/pack-manifest.js strip [--force] | restore')
  process.exit(2)
}
