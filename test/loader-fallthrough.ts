// The loader's candidates: prebuilds for this platform, CPU and libc, then the
// local build; a candidate that is missing, for another OS or CPU, or damaged is
// passed over for the next. Layouts are fixture copies in a temp directory.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import koffi from 'koffi'
import { candidates, detectLibc, loadFirst, HostFacts } from '../dist/cjs/loader'
import { ourLibrary, otherOsLibrary, foreignLibrary, damagedCopies } from './helpers/binaries'

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ostls-fallthrough-'))
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }))

/** A package directory holding `files` (relative path -> source file, or null for a few bytes that are never loaded). */
function layout(name: string, files: Record<string, string | null>): string {
  const root = path.join(tmp, name)
  for (const [rel, src] of Object.entries(files)) {
    const dest = path.join(root, rel)
    fs.mkdirSync(path.dirname(dest), { recursive: true })
    if (src) fs.copyFileSync(src, dest)
    else fs.writeFileSync(dest, 'placeholder')
  }
  return root
}

const rel = (root: string, list: Array<{ path: string }>) => list.map((c) => path.relative(root, c.path).split(path.sep).join('/'))

t.test('glibc or musl, from what the process shows', async (t) => {
  t.equal(detectLibc('linux', { header: { glibcVersionRuntime: '2.36' }, sharedObjects: ['/lib/x86_64-linux-gnu/libc.so.6'] }), 'glibc')
  t.equal(detectLibc('linux', { header: {}, sharedObjects: ['/usr/local/bin/node', '/lib/ld-musl-x86_64.so.1'] }), 'musl', 'Alpine: musl\'s loader is the libc')
  t.equal(detectLibc('linux', { header: {}, sharedObjects: ['/usr/lib/libc.musl-aarch64.so.1'] }), 'musl', 'another musl layout, with no /etc/alpine-release')
  t.equal(detectLibc('linux', { header: {}, sharedObjects: ['/lib64/libc.so.6'] }), 'glibc', 'glibc without a version in the header')
  t.equal(detectLibc('linux', { header: {}, sharedObjects: [] }), undefined, 'a static or unknown libc: undecided, both flavours are tried')
  t.equal(detectLibc('linux', undefined), undefined)
  t.equal(detectLibc('win32', { header: { glibcVersionRuntime: '2.36' } }), undefined, 'libc is a Linux question')
  t.equal(detectLibc('darwin', undefined), undefined)
})

t.test('which prebuilds fit which host', async (t) => {
  const root = layout('all', {
    'prebuilds/linux-x64/ostls.glibc.node': null,
    'prebuilds/linux-x64/ostls.musl.node': null,
    'prebuilds/linux-arm64/ostls.glibc.node': null,
    'prebuilds/win32-x64/ostls.node': null,
    'prebuilds/darwin-x64+arm64/ostls.node': null,
    'prebuilds/not-a-tuple-dir/ostls.node': null,
    'build/Release/ostls.node': null
  })
  const pick = (host: HostFacts) => rel(root, candidates({}, root, host))
  t.same(pick({ platform: 'linux', arch: 'x64', libc: 'glibc' }), ['prebuilds/linux-x64/ostls.glibc.node', 'build/Release/ostls.node'])
  t.same(pick({ platform: 'linux', arch: 'x64', libc: 'musl' }), ['prebuilds/linux-x64/ostls.musl.node', 'build/Release/ostls.node'])
  t.same(pick({ platform: 'linux', arch: 'x64' }), ['prebuilds/linux-x64/ostls.glibc.node', 'prebuilds/linux-x64/ostls.musl.node', 'build/Release/ostls.node'], 'libc unknown: glibc, then musl')
  t.same(pick({ platform: 'linux', arch: 'arm64', libc: 'glibc' }), ['prebuilds/linux-arm64/ostls.glibc.node', 'build/Release/ostls.node'])
  t.same(pick({ platform: 'linux', arch: 'arm64', libc: 'musl' })[1], 'build/Release/ostls.node')
  t.match(candidates({}, root, { platform: 'linux', arch: 'arm64', libc: 'musl' })[0], { source: 'prebuild', note: /no prebuild for linux-arm64 \(musl\).*only linux-arm64\/ostls\.glibc\.node \(for glibc\)/ }, 'a glibc-only prebuild is not offered to musl')
  t.same(pick({ platform: 'win32', arch: 'x64' }), ['prebuilds/win32-x64/ostls.node', 'build/Release/ostls.node'])
  t.same(pick({ platform: 'darwin', arch: 'arm64' }), ['prebuilds/darwin-x64+arm64/ostls.node', 'build/Release/ostls.node'], 'a universal directory')
  t.match(candidates({}, root, { platform: 'freebsd', arch: 'x64' }), [{ source: 'prebuild', path: /freebsd-x64/, note: /no prebuild for freebsd-x64/ }, { source: 'build' }])
  t.same(candidates({ OSTLS_LIBRARY: '/x/y.node' }, root, { platform: 'linux', arch: 'x64', libc: 'glibc' }), [{ source: 'OSTLS_LIBRARY', path: '/x/y.node' }], 'an explicit choice is the only candidate')
})

// Loads each candidate list in this process with a binding that declares one
// function, as the real binding would, and reports what loaded.
function tryLoad(list: ReturnType<typeof candidates>) {
  const r = loadFirst((lib) => lib.func('tls_init', 'int', [koffi.out(koffi.pointer('const char *')), koffi.out(koffi.pointer('const char *'))]), list)
  r.loaded?.lib.unload()
  return r
}

const host: HostFacts = { platform: process.platform, arch: process.arch, libc: detectLibc(process.platform, process.report?.getReport() as never) }
const tuple = `${process.platform}-${process.arch}`
const prebuildName = `ostls${host.libc ? `.${host.libc}` : ''}.node`

t.test('a local build for this OS beside the prebuild for this OS: the prebuild loads', async (t) => {
  const root = layout('both', { [`prebuilds/${tuple}/${prebuildName}`]: ourLibrary(), 'build/Release/ostls.node': ourLibrary() })
  const r = tryLoad(candidates({}, root, host))
  t.equal(r.loaded?.path, path.join(root, 'prebuilds', tuple, prebuildName))
  t.equal(r.attempts.length, 1)
})

t.test('another OS\'s library is passed over for the right one, whichever comes first', async (t) => {
  // An Electron app cross-packaged on another OS: its build/Release is for the build machine.
  const other = otherOsLibrary(path.join(tmp, 'fixtures'))
  const root = layout('cross', { 'build/Release/ostls.node': other, [`prebuilds/${tuple}/${prebuildName}`]: ourLibrary() })
  const buildFirst = [
    { source: 'build', path: path.join(root, 'build', 'Release', 'ostls.node') },
    { source: 'prebuild', path: path.join(root, 'prebuilds', tuple, prebuildName) }
  ]
  const r = tryLoad(buildFirst)
  t.match(r.attempts, [{ source: 'build', ok: false, reason: 'wrong architecture', detail: /this process is/ }, { source: 'prebuild', ok: true }])
  t.equal(r.loaded?.path, buildFirst[1].path)

  // And the other way round: a prebuild directory for this platform that holds another OS's file.
  const root2 = layout('cross2', { [`prebuilds/${tuple}/${prebuildName}`]: other, 'build/Release/ostls.node': ourLibrary() })
  const r2 = tryLoad(candidates({}, root2, host))
  t.match(r2.attempts, [{ source: 'prebuild', ok: false, reason: 'wrong architecture' }, { source: 'build', ok: true }])
})

t.test('a missing, foreign-CPU or damaged prebuild is passed over for the local build', async (t) => {
  const damaged = damagedCopies(path.join(tmp, 'damaged'))
  const cases: Array<[string, string | undefined, string]> = [
    ['missing', undefined, 'file missing'],
    ['foreign CPU', foreignLibrary(path.join(tmp, 'fixtures')), 'wrong architecture'],
    ['truncated', damaged.truncated, 'not a complete library'],
    ['corrupt', damaged.corrupt, process.platform === 'win32' ? 'not a library' : 'not a complete library'],
    ['random bytes', damaged.random, 'not a library'],
    ['empty', damaged.empty, 'not a complete library']
  ]
  for (const [name, file, reason] of cases) {
    const root = layout(`pass-${name.replace(/ /g, '-')}`, { 'build/Release/ostls.node': ourLibrary(), ...(file ? { [`prebuilds/${tuple}/${prebuildName}`]: file } : {}) })
    const r = tryLoad(candidates({}, root, host))
    t.match(r.attempts, [{ source: 'prebuild', ok: false, reason }, { source: 'build', ok: true }], name)
  }
})

t.test('inside app.asar the candidates are in app.asar.unpacked, found by listing the unpacked directory', async (t) => {
  const resources = path.join(tmp, 'electron', 'resources')
  layout(path.join('electron', 'resources', 'app.asar.unpacked', 'node_modules', 'ostls'), { [`prebuilds/${tuple}/${prebuildName}`]: ourLibrary() })
  fs.writeFileSync(path.join(resources, 'app.asar'), 'an archive, which plain Node cannot list')
  const root = path.join(resources, 'app.asar', 'node_modules', 'ostls')
  const list = candidates({}, root, host)
  t.same(list.map((c) => c.path), [
    path.join(resources, 'app.asar.unpacked', 'node_modules', 'ostls', 'prebuilds', tuple, prebuildName),
    path.join(resources, 'app.asar.unpacked', 'node_modules', 'ostls', 'build', 'Release', 'ostls.node')
  ])
  t.ok(tryLoad(list).loaded, 'and it loads')
})
