// `ostls doctor` on a broken install: each way the native library or the OS TLS
// library fails to load shows, in the TEXT output, the candidate, the reason and
// a fix line, and exits 1. (test/loader.ts checks the same cases' JSON records.)
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFile, execFileSync } from 'node:child_process'
import { run, cli } from './helpers/cli'
import { underWine, notOpensslEngine } from './helpers/platform'
import { foreignLibrary as foreignLib, aLibraryWithoutOurSymbols, damagedCopies } from './helpers/binaries'
import { childEnv } from './helpers/child-env'

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ostls-cli-load-'))
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }))

const foreignLibrary = () => foreignLib(tmp)

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** The lines every failed load shows, whatever the reason. */
async function failedLoad(t: Tap.Test, file: string, reason: string, detail: RegExp, fix: RegExp) {
  const r = await run(['doctor'], { OSTLS_LIBRARY: file })
  t.equal(r.code, 1, 'exit code 1')
  const lines = r.stdout.trimEnd().split('\n')
  t.same(lines.slice(3), [
    'native library (candidates in the order tried)',
    `  FAILED       ${file}  [OSTLS_LIBRARY]`,
    lines[5],
    lines[6],
    lines[7],
    '    fix        every candidate above failed: follow the fix under each',
    'NOT healthy: see the FAILED lines above and the fix under each'
  ], 'no OS TLS stack or self-test sections without a library')
  t.match(lines[5], new RegExp(`^    reason     ${esc(reason)}: `), 'reason line')
  t.match(lines[5], detail, 'reason detail')
  t.match(lines[6], new RegExp(`^    fix        `), 'fix line')
  t.match(lines[6], fix, 'fix says what to do')
  t.match(lines[7], /^  FAILED       TLS_LIBRARY_NOT_FOUND: the ostls native library could not be loaded; tried /)
  const j = await run(['doctor', '--json'], { OSTLS_LIBRARY: file })
  t.equal(j.code, 1)
  const report = JSON.parse(j.stdout)
  t.match(report.library.attempts, [{ reason, hint: fix }], 'the JSON carries the same fix')
  t.match(report.library.error, { code: 'TLS_LIBRARY_NOT_FOUND', hint: /every candidate above failed/ })
}
declare namespace Tap {
  type Test = typeof t
}

const unset = /unset OSTLS_LIBRARY/

t.test('file missing', (t) => failedLoad(t, path.join(tmp, 'nope', 'ostls.node'), 'file missing', /no such file/, /OSTLS_LIBRARY names a file that does not exist: correct the path, or unset OSTLS_LIBRARY/))

t.test('--connect with no library says it skipped the handshake', async (t) => {
  const missing = path.join(tmp, 'nope', 'ostls.node')
  const r = await run(['doctor', '--connect', 'example.invalid:443'], { OSTLS_LIBRARY: missing })
  t.equal(r.code, 1)
  t.match(r.stdout, /^connect example\.invalid:443\n  skipped      no handshake is possible until the native library loads \(see above\)$/m)
  const j = await run(['doctor', '--json', '--connect', 'example.invalid:443'], { OSTLS_LIBRARY: missing })
  t.same(JSON.parse(j.stdout).connectSkipped, ['example.invalid:443'])
})

t.test('not a file (a directory)', (t) => failedLoad(t, tmp, 'not a file', /is not a regular file/, /must name the library file itself, not a directory/))

t.test('wrong architecture', (t) =>
  failedLoad(t, foreignLibrary(), 'wrong architecture', /this process is/, new RegExp(`built for another platform or CPU: install ostls on this machine .*${process.platform} ${process.arch}.*npm_config_arch`)))

t.test('not a library', (t) => {
  const f = path.join(tmp, 'text.node')
  fs.writeFileSync(f, 'just some text, not machine code\n'.repeat(10))
  return failedLoad(t, f, 'not a library', /is not (an ELF|a PE|a Mach-O) shared library/, /not a shared library: unset OSTLS_LIBRARY/)
})

t.test('symbol missing', (t) => failedLoad(t, aLibraryWithoutOurSymbols, 'symbol missing', /tls_\w+ is not exported/, /this is not ostls's library: unset OSTLS_LIBRARY/))

/** `cc` when it builds for this process's CPU (under qemu-user, the host's cc does not). */
function compiler(): string | undefined {
  const gnuArch: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', riscv64: 'riscv64', s390x: 's390x', ppc64: 'powerpc64' }
  try {
    const target = execFileSync('cc', ['-dumpmachine'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    return target.startsWith(gnuArch[process.arch] ?? process.arch) ? 'cc' : undefined
  } catch {
    return undefined
  }
}

t.test('missing dependency', { skip: (process.platform !== 'linux' || !compiler()) && 'needs Linux and a C compiler (cc) for this CPU to build a library whose dependency is then removed' }, (t) => {
  // libneeds.so links against libgone.so, which is deleted before the load.
  fs.writeFileSync(path.join(tmp, 'gone.c'), 'int gone(void) { return 1; }\n')
  fs.writeFileSync(path.join(tmp, 'needs.c'), 'int gone(void);\nint needs(void) { return gone(); }\n')
  execFileSync('cc', ['-shared', '-fPIC', '-o', 'libgone.so', 'gone.c'], { cwd: tmp })
  execFileSync('cc', ['-shared', '-fPIC', '-o', 'libneeds.so', 'needs.c', '-L.', '-lgone'], { cwd: tmp })
  fs.rmSync(path.join(tmp, 'libgone.so'))
  const f = path.join(tmp, 'libneeds.so')
  return failedLoad(t, f, 'missing dependency', /libgone\.so is needed by .*libneeds\.so and was not found/, new RegExp(`a library it needs is not installed: \`ldd ${esc(f)}\``))
})

t.test('an install without its native library (no build, no prebuild)', { skip: underWine && 'Wine cannot create symbolic links or junctions (ENOTSUP), which this copy of the package needs' }, async (t) => {
  // A copy of the package with dist/ but neither build/ nor prebuilds/.
  const pkg = path.join(tmp, 'pkg')
  fs.mkdirSync(pkg)
  fs.cpSync(path.join(__dirname, '..', 'dist'), path.join(pkg, 'dist'), { recursive: true })
  fs.copyFileSync(path.join(__dirname, '..', 'package.json'), path.join(pkg, 'package.json'))
  fs.symlinkSync(path.join(__dirname, '..', 'node_modules'), path.join(pkg, 'node_modules'), 'junction')
  const r = await new Promise<{ code: number; stdout: string }>((resolve) =>
    require('node:child_process').execFile(process.execPath, [path.join(pkg, 'dist', 'cjs', 'cli', 'main.js'), 'doctor'], { env: childEnv({ OSTLS_LIBRARY: '' }) }, (err: { code?: number } | null, stdout: string) =>
      resolve({ code: err ? err.code ?? 1 : 0, stdout })
    )
  )
  t.equal(r.code, 1)
  const tuple = `${process.platform}-${process.arch}`
  const lines = r.stdout.split('\n').slice(4, 10)
  t.match(lines[0], new RegExp(`^  missing      ${esc(path.join(pkg, 'prebuilds', tuple))}\\S*\\.node  \\[prebuild\\]$`), 'the prebuild this platform wants')
  t.match(lines[1], new RegExp(`^    reason     file missing: no prebuild for ${tuple}.* in ${esc(path.join(pkg, 'prebuilds'))}$`))
  t.equal(lines[2], `  missing      ${path.join(pkg, 'build', 'Release', 'ostls.node')}  [build]`, 'then the local build')
  t.match(lines[3], /^    reason     file missing: no such file: /)
  t.match(lines[4], /^  FAILED       TLS_LIBRARY_NOT_FOUND: /)
  t.match(lines[5], new RegExp(`^    fix        ostls has no prebuilt library for ${tuple}: reinstall ostls .*\`npm run build:native\``), 'one fix: the first candidate\'s')
  t.notMatch(r.stdout, /npm rebuild/, 'no advice to rebuild: installing compiles nothing')
})

t.test('the OS TLS library (libssl) missing', { skip: (process.platform !== 'linux' && 'only the Linux backend loads its OS TLS library by a name that can be overridden') || notOpensslEngine('OSTLS_LIBSSL') }, async (t) => {
  const r = await run(['doctor'], { OSTLS_LIBSSL: '/nonexistent/libssl.so.3:libssl-not-here.so' })
  t.equal(r.code, 1)
  // A clone without prebuilds lists the missing prebuild before the local build that loads;
  // OSTLS_LIBRARY: the sanitizer runs (scripts/test-sanitizers.sh) point it at their build.
  const all = r.stdout.trimEnd().split('\n')
  const lines = all.slice(all.findIndex((l) => l.startsWith('  loaded ')) - 4)
  t.match(lines[4], /^  loaded       \S+ {2}\[(build|prebuild|OSTLS_LIBRARY)\]$/, 'the ostls library itself loaded')
  t.match(lines[5], /^  FAILED       TLS_LIBRARY_NOT_FOUND: could not load the system OpenSSL \(libssl 1\.1\.1 or 3\.x\) from OSTLS_LIBSSL: \/nonexistent\/libssl\.so\.3: .*libssl-not-here\.so: /)
  t.match(lines[6], /^    fix        install the system OpenSSL: (`apt-get install libssl3`|`dnf install openssl-libs`|`apk add libssl3`|`zypper install libopenssl3`|`pacman -S openssl`|OpenSSL 3\.x or 1\.1\.1).*; OSTLS_LIBSSL is set and replaces the default names: fix the names in it or unset it$/)
  // One line per engine of the build: the OpenSSL engine failed, with why.
  t.match(lines.find((l) => l.startsWith('  engine       openssl:')), /^  engine       openssl: failed \(TLS_LIBRARY_NOT_FOUND: could not load the system OpenSSL .*libssl-not-here\.so: .*\)$/)
  t.same(lines.slice(7).filter((l) => !l.startsWith('  engine ')), [
    'OS TLS stack',
    '  backend      openssl',
    '  version      (none: the OS TLS library did not load)',
    '  library      (none: the OS TLS library did not load)',
    '  tried        /nonexistent/libssl.so.3, libssl-not-here.so',
    '  trust store  (none: the OS TLS library did not load)',
    'NOT healthy: see the FAILED lines above and the fix under each'
  ])
})

/** Runs doctor as a user would and says how it ended: an exit code, or the signal that killed it. */
function doctorIn(cliPath: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; signal: string | null; stdout: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [cliPath, 'doctor'], { env: childEnv(env) }, (err, stdout) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, signal: err?.signal ?? null, stdout })
    )
  )
}

t.test('a damaged library is reported, never loaded: doctor exits 1 with the reason, not a signal', async (t) => {
  // Handed to dlopen, the truncated copy kills the process with SIGBUS before
  // anything is printed; the headers are checked against the file size first.
  const damaged = damagedCopies(path.join(tmp, 'damaged'))
  const expect: Record<string, RegExp> = {
    truncated: /^    reason     not a complete library: .*truncated\.node is not a complete library: .*past the end of the \d+-byte file$/m,
    corrupt: underWine ? /^    reason     not a library: /m : /^    reason     not a complete library: /m,
    random: /^    reason     not a library: /m,
    empty: /^    reason     not a complete library: .*the file is empty \(0 bytes\)$/m
  }
  for (const [kind, file] of Object.entries(damaged)) {
    const r = await doctorIn(cli, { OSTLS_LIBRARY: file })
    t.equal(r.signal, null, `${kind}: no signal`)
    t.equal(r.code, 1, `${kind}: exit code 1`)
    t.match(r.stdout, expect[kind], `${kind}: the reason`)
    t.match(r.stdout, /^NOT healthy/m, `${kind}: the report is complete`)
  }
})

t.test('an installed prebuild cut short: "not a complete library", reinstall', { skip: underWine && 'Wine cannot create symbolic links or junctions (ENOTSUP), which this copy of the package needs' }, async (t) => {
  const pkg = path.join(tmp, 'pkg-damaged')
  fs.mkdirSync(pkg)
  fs.cpSync(path.join(__dirname, '..', 'dist'), path.join(pkg, 'dist'), { recursive: true })
  fs.copyFileSync(path.join(__dirname, '..', 'package.json'), path.join(pkg, 'package.json'))
  fs.symlinkSync(path.join(__dirname, '..', 'node_modules'), path.join(pkg, 'node_modules'), 'junction')
  const dir = path.join(pkg, 'prebuilds', `${process.platform}-${process.arch}`)
  fs.mkdirSync(dir, { recursive: true })
  const libc = process.platform === 'linux' ? (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime ? '.glibc' : '.musl' : ''
  const file = path.join(dir, `ostls${libc}.node`)
  fs.copyFileSync(damagedCopies(path.join(tmp, 'damaged2')).truncated, file)
  const r = await doctorIn(path.join(pkg, 'dist', 'cjs', 'cli', 'main.js'), { OSTLS_LIBRARY: '' })
  t.equal(r.signal, null, 'no signal')
  t.equal(r.code, 1)
  t.match(r.stdout, new RegExp(`^  FAILED       ${esc(file)}  \\[prebuild\\]\\n    reason     not a complete library: .*\\n    fix        not a complete library \\(an interrupted download or copy\\), so it was not loaded: reinstall ostls`, 'm'))
})
