// Electron, as far as it can be proved without Electron: a real app.asar made
// with @electron/asar, ostls and koffi inside, the README's unpack globs
// applied. The loader, given the paths inside app.asar that Electron presents,
// must find and load the library in app.asar.unpacked; koffi's own binary must
// be unpacked too; and without the unpack rule doctor's first fix is that rule.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { createPackageWithOptions, listPackage } from '@electron/asar'
import { candidates, loadFirst, detectLibc, HostFacts } from '../dist/cjs/loader'
import { asarUnpackGlobs } from '../dist/cjs/hints'
import { ourLibrary } from './helpers/binaries'
import { underWine } from './helpers/platform'
import { childEnv } from './helpers/child-env'

const repo = path.join(__dirname, '..')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ostls-asar-'))
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }))

const host: HostFacts = { platform: process.platform, arch: process.arch, libc: detectLibc(process.platform, process.report?.getReport() as never) }
const tuple = `${process.platform}-${process.arch}`
const prebuild = `ostls${host.libc ? `.${host.libc}` : ''}.node`
const koffiPkg = `@koromix/koffi-${tuple}`

/** An app as a packager sees it: its code, and node_modules with ostls (as installed: dist/ and prebuilds/) and koffi. */
function appSource(): string {
  const app = path.join(tmp, 'app-src')
  const nm = path.join(app, 'node_modules')
  fs.mkdirSync(path.join(nm, 'ostls', 'prebuilds', tuple), { recursive: true })
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'demo', main: 'main.js' }))
  fs.writeFileSync(path.join(app, 'main.js'), "require('ostls/register')\n")
  fs.copyFileSync(path.join(repo, 'package.json'), path.join(nm, 'ostls', 'package.json'))
  fs.cpSync(path.join(repo, 'dist'), path.join(nm, 'ostls', 'dist'), { recursive: true })
  fs.copyFileSync(ourLibrary(), path.join(nm, 'ostls', 'prebuilds', tuple, prebuild))
  for (const dep of ['koffi', koffiPkg, 'node-gyp-build']) fs.cpSync(path.join(repo, 'node_modules', dep), path.join(nm, dep), { recursive: true })
  return app
}

/** `resources/` as Electron ships it: app.asar and, with an unpack rule, app.asar.unpacked beside it. */
async function pack(name: string, unpack?: string): Promise<string> {
  const resources = path.join(tmp, name, 'resources')
  fs.mkdirSync(resources, { recursive: true })
  await createPackageWithOptions(appSource(), path.join(resources, 'app.asar'), unpack ? { unpack } : {})
  return resources
}

const skip = !fs.existsSync(path.join(repo, 'node_modules', koffiPkg)) && `koffi's binary package ${koffiPkg} is not installed here`

t.test('app.asar with the README\'s unpack rule: the loader loads the library from app.asar.unpacked', { skip }, async (t) => {
  // electron-builder takes the globs as a list; @electron/asar takes one pattern.
  const resources = await pack('with-rule', `{${asarUnpackGlobs.join(',')}}`)
  const archive = path.join(resources, 'app.asar')
  const unpacked = path.join(resources, 'app.asar.unpacked')
  const listed = listPackage(archive, { isPack: false }).map((p) => p.split(path.sep).join('/'))
  t.ok(listed.includes('/node_modules/ostls/dist/cjs/loader.js'), 'ostls\'s code is in the archive')
  t.notOk(fs.existsSync(path.join(unpacked, 'node_modules', 'ostls', 'dist')), 'and stays packed')
  const lib = path.join(unpacked, 'node_modules', 'ostls', 'prebuilds', tuple, prebuild)
  t.ok(fs.statSync(lib).isFile(), 'the library is a real file in app.asar.unpacked')
  const koffiBinaries = fs.readdirSync(path.join(unpacked, 'node_modules', koffiPkg), { recursive: true }).map(String).filter((f) => f.endsWith('koffi.node'))
  t.ok(koffiBinaries.length > 0, `koffi's own binary is unpacked too (${koffiBinaries.join(', ')}), so Electron loads it in place`)

  // Electron presents module paths inside the archive: ostls's root is app.asar/node_modules/ostls.
  const root = path.join(archive, 'node_modules', 'ostls')
  const list = candidates({}, root, host)
  t.equal(list[0].path, lib, 'the first candidate is the unpacked prebuild')
  const r = loadFirst((l) => l.func('tls_init', 'int', ['void *', 'void *']), list)
  t.equal(r.loaded?.path, lib, 'and it loads')
  r.loaded?.lib.unload()
})

t.test('app.asar without an unpack rule: nothing is outside the archive', { skip }, async (t) => {
  const resources = await pack('no-rule')
  t.notOk(fs.existsSync(path.join(resources, 'app.asar.unpacked')), 'no app.asar.unpacked')
  const list = candidates({}, path.join(resources, 'app.asar', 'node_modules', 'ostls'), host)
  const r = loadFirst((l) => l.func('tls_init', 'int', ['void *', 'void *']), list)
  t.equal(r.loaded, undefined, 'nothing loads')
  t.ok(r.attempts.every((a) => a.reason === 'file missing' && a.path.includes(`app.asar.unpacked${path.sep}`)), 'every candidate is looked for where it would be unpacked')
})

t.test('doctor inside an asar path with the library not unpacked: the first fix is the unpack rule', { skip: underWine && 'Wine cannot create the symbolic link this copy of the package needs' }, async (t) => {
  // The paths Electron presents, as a plain directory named app.asar (plain Node
  // cannot run code from inside a real archive); app.asar.unpacked is absent.
  const pkg = path.join(tmp, 'doctor', 'resources', 'app.asar', 'node_modules', 'ostls')
  fs.mkdirSync(pkg, { recursive: true })
  fs.cpSync(path.join(repo, 'dist'), path.join(pkg, 'dist'), { recursive: true })
  fs.copyFileSync(path.join(repo, 'package.json'), path.join(pkg, 'package.json'))
  fs.symlinkSync(path.join(repo, 'node_modules'), path.join(pkg, 'node_modules'), 'junction')
  const r = await new Promise<{ code: number; stdout: string }>((resolve) =>
    execFile(process.execPath, [path.join(pkg, 'dist', 'cjs', 'cli', 'main.js'), 'doctor'], { env: childEnv({ OSTLS_LIBRARY: '' }) }, (err, stdout) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout })
    )
  )
  t.equal(r.code, 1)
  t.match(r.stdout, /^  asar         running from inside an asar archive/m)
  const fixes = r.stdout.split('\n').filter((l) => l.startsWith('    fix '))
  t.match(fixes[0], /^    fix        the library was not unpacked from app\.asar, and the OS cannot load it from inside the archive: add "\*\*\/node_modules\/ostls\/prebuilds\/\*\*", .*"\*\*\/node_modules\/@koromix\/koffi-\*\/\*\*" to asarUnpack/)
  t.notMatch(r.stdout, /npm rebuild|build:native/, 'no advice to build: a packed app cannot')
})
