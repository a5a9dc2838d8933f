/**
 * Finds and loads the ostls native library, recording every candidate tried and
 * why it failed. `ostls doctor` prints these same records, so what it reports is
 * exactly what an application hits.
 */
import fs from 'node:fs'
import path from 'node:path'
import koffi, { LibraryHandle } from 'koffi'
import { describeBinary } from './binfile'

export { describeBinary } from './binfile'

export interface LoadAttempt {
  /** Where the candidate came from: "OSTLS_LIBRARY", "prebuild", "build". */
  source: string
  path: string
  ok: boolean
  /** One of: file missing, not a file, not a library, not a complete library, wrong architecture, missing dependency, symbol missing, load failed. */
  reason?: string
  /** The loader's own words (dlerror, LoadLibrary) and what we read from the file. */
  detail?: string
}

export interface Candidate {
  source: string
  path: string
  /** Why this candidate is already known to be unusable. */
  note?: string
}

/** The package's root directory, found from this file whether it runs from ts/ or dist/cjs/. */
export function packageRoot(): string {
  let dir = __dirname
  for (;;) {
    const pkg = path.join(dir, 'package.json')
    // existsSync first: a failed read throws an Error with a stack, which is
    // most of this walk's cost on the first connection's JS thread (issue 15).
    try {
      if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'ostls') return dir
    } catch {
      // unreadable or not JSON: keep walking up
    }
    const up = path.dirname(dir)
    if (up === dir) return path.resolve(__dirname, '..')
    dir = up
  }
}

/**
 * Electron packs apps into app.asar; native libraries must sit in the sibling
 * app.asar.unpacked directory (asarUnpack), because the OS loader cannot read
 * inside an archive. Rewrites a path inside any *.asar to its unpacked twin.
 */
export function unpackedPath(p: string): string {
  return p.replace(/\.asar(?=[\\/])(?!\.unpacked)/g, '.asar.unpacked')
}

export function insideAsar(p: string): boolean {
  return /\.asar[\\/]/.test(p)
}

export type Libc = 'glibc' | 'musl'

/** The facts the choice of prebuild depends on; tests inject them (no musl Node runs here). */
export interface HostFacts {
  platform: string
  arch: string
  /** Linux only; undefined when it cannot be told (then either libc's prebuild may be tried). */
  libc?: Libc
}

/** The subset of process.report.getReport() that says which libc this process runs on. */
export interface LibcEvidence {
  header?: { glibcVersionRuntime?: string }
  sharedObjects?: string[]
}

/**
 * glibc or musl, from what the running process shows: glibc builds of Node report
 * the glibc version they run on; a musl process has musl's loader among its
 * shared objects (not merely an /etc/alpine-release file, which other musl
 * distributions and containers lack).
 */
export function detectLibc(platform: string, evidence: LibcEvidence | undefined): Libc | undefined {
  if (platform !== 'linux') return undefined
  if (evidence?.header?.glibcVersionRuntime) return 'glibc'
  if (evidence?.sharedObjects?.some((o) => /(^|\/)(ld-musl-[^/]*\.so|libc\.musl-[^/]*\.so)/.test(o))) return 'musl'
  if (evidence?.sharedObjects?.some((o) => /(^|\/)libc\.so\.6$/.test(o))) return 'glibc'
  return undefined
}

let facts: HostFacts | undefined

/**
 * The shared objects mapped into this process (/proc/self/maps): the same
 * evidence a diagnostic report lists, read in well under a millisecond. The
 * report itself (13-28 ms of work on the JS thread) was the largest stall of
 * a process's first connection (issue 15); it stays the fallback.
 */
function mappedObjects(): LibcEvidence | undefined {
  try {
    const maps = fs.readFileSync('/proc/self/maps', 'latin1')
    const objects = new Set<string>()
    for (const line of maps.split('\n')) {
      const at = line.indexOf('/')
      if (at >= 0) objects.add(line.slice(at))
    }
    return objects.size ? { sharedObjects: [...objects] } : undefined
  } catch {
    return undefined
  }
}

export function hostFacts(): HostFacts {
  if (facts) return facts
  let libc: Libc | undefined
  if (process.platform === 'linux') {
    libc = detectLibc(process.platform, mappedObjects())
    if (!libc) {
      try {
        libc = detectLibc(process.platform, process.report?.getReport() as LibcEvidence | undefined)
      } catch {
        // no report: libc stays unknown and both flavours are tried
      }
    }
  }
  return (facts = { platform: process.platform, arch: process.arch, libc })
}

function list(dir: string): string[] {
  // Inside Electron an unpacked directory holds only what asarUnpack let out;
  // the archive's own listing (Electron's fs reads it) still says what ships.
  const unpacked = unpackedPath(dir)
  for (const d of unpacked === dir ? [dir] : [unpacked, dir]) {
    try {
      // existsSync first: a missing directory (no prebuilds/ in a local build)
      // would otherwise cost a thrown Error on the first connection.
      if (fs.existsSync(d)) return fs.readdirSync(d).sort()
    } catch {
      // not readable: try the archive's view
    }
  }
  return []
}

interface GypBuild {
  parseTuple(name: string): { name: string; platform: string; architectures: string[] } | undefined
  matchTuple(platform: string, arch: string): (t: unknown) => boolean
  compareTuples(a: unknown, b: unknown): number
  parseTags(file: string): { file: string; libc?: string; armv?: string; specificity: number } | undefined
}

/**
 * prebuilds/<platform>-<arch>/ostls[.<tags>].node, laid out as node-gyp-build
 * lays them out; its directory and tag parsing is reused, not its runtime/ABI
 * matching (this library has no Node ABI) nor its libc guess.
 */
function prebuildCandidates(root: string, given: HostFacts | undefined): Candidate[] {
  const dir = path.join(root, 'prebuilds')
  const entries = list(dir)
  // No prebuilds/ (a local build): the libc and node-gyp-build's parsers decide
  // nothing, and they cost 3-4 ms of the first connection's JS thread (issue 15:
  // /proc/self/maps is read, a module compiled).
  const host = given ?? (entries.length ? hostFacts() : { platform: process.platform, arch: process.arch })
  const gyp: GypBuild | undefined = entries.length ? require('node-gyp-build') : undefined
  const tuples = gyp ? (entries.map(gyp.parseTuple).filter(gyp.matchTuple(host.platform, host.arch)) as Array<{ name: string; architectures: string[] }>) : []
  if (gyp) tuples.sort(gyp.compareTuples)
  const found: Candidate[] = []
  const skipped: string[] = []
  for (const tuple of tuples) {
    const tagged = list(path.join(dir, tuple.name)).map((gyp as GypBuild).parseTags).filter((x): x is NonNullable<typeof x> => Boolean(x))
    const fits = tagged.filter((x) => {
      const ok = !x.libc || (host.platform === 'linux' && (!host.libc || x.libc === host.libc))
      if (!ok) skipped.push(`${tuple.name}/${x.file} (for ${x.libc})`)
      return ok
    })
    // An exact libc tag first, then the more specific names, then glibc before musl when libc is unknown.
    fits.sort((a, b) => Number(Boolean(b.libc && b.libc === host.libc)) - Number(Boolean(a.libc && a.libc === host.libc)) || b.specificity - a.specificity || a.file.localeCompare(b.file))
    for (const x of fits) found.push({ source: 'prebuild', path: unpackedPath(path.join(dir, tuple.name, x.file)) })
  }
  if (!found.length) {
    const want = `${host.platform}-${host.arch}`
    const name = `ostls${host.libc ? `.${host.libc}` : ''}.node`
    found.push({
      source: 'prebuild',
      path: unpackedPath(path.join(dir, want, name)),
      note: `no prebuild for ${want}${host.libc ? ` (${host.libc})` : ''} in ${unpackedPath(dir)}` + (skipped.length ? `; only ${skipped.join(', ')}` : '')
    })
  }
  return found
}

/**
 * Candidates in the order they are tried: the prebuilds that fit this platform,
 * CPU and libc, then a local build (build/Release, made by `npm run build:native`).
 * OSTLS_LIBRARY, when set, is the only candidate: an explicit choice is never
 * silently replaced by another library.
 */
export function candidates(env: NodeJS.ProcessEnv = process.env, root: string = packageRoot(), host?: HostFacts): Candidate[] {
  if (env.OSTLS_LIBRARY) return [{ source: 'OSTLS_LIBRARY', path: env.OSTLS_LIBRARY }]
  return [...prebuildCandidates(root, host), { source: 'build', path: unpackedPath(path.join(root, 'build', 'Release', 'ostls.node')) }]
}

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0]
}

const archNames: Record<string, string> = {
  x64: 'x86-64', arm64: 'arm64', ia32: 'x86', arm: 'arm', riscv64: 'riscv64', ppc64: 'ppc64', s390x: 's390x'
}

const nativeFormat = (platform: string) => (platform === 'win32' ? 'PE' : platform === 'darwin' ? 'Mach-O' : 'ELF')

/**
 * Checks a file before the OS loader sees it. Returns why it must not be loaded
 * (a file for another OS or CPU, not a library, or one whose headers point past
 * its end), or undefined when it may be handed to the loader.
 */
export function precheck(file: string, host: { platform: string; arch: string } = process): { reason: string; detail: string } | undefined {
  let st: fs.Stats
  try {
    st = fs.statSync(file)
  } catch {
    // Not a file we can see: the loader may still find it (its search path,
    // macOS's shared cache), and explains its own failure.
    return undefined
  }
  if (!st.isFile()) return { reason: 'not a file', detail: `${file} is not a regular file` }
  const bin = describeBinary(file)
  const want = archNames[host.arch] ?? host.arch
  const native = nativeFormat(host.platform)
  const incomplete = { reason: 'not a complete library', detail: `${file} is not a complete library: ${bin.incomplete}` }
  if (bin.format === 'empty' || (bin.format === 'unreadable' && bin.incomplete)) return incomplete
  if (bin.format === 'unreadable') return { reason: 'not a library', detail: `${file} cannot be read` }
  if (bin.format === 'not a shared library' || bin.format === 'MZ') {
    return { reason: 'not a library', detail: `${file} is not ${native === 'ELF' ? 'an' : 'a'} ${native} shared library (${bin.format === 'MZ' ? 'a DOS program' : 'no known header'})` }
  }
  if (!bin.format.startsWith(native) || (bin.arch && bin.arch !== want)) {
    return { reason: 'wrong architecture', detail: `${file} is ${bin.arch ? `${bin.format} ${bin.arch}` : bin.format}; this process is ${host.platform} ${want}` }
  }
  if (bin.incomplete) return incomplete
  return undefined
}

/** Explains a failed load of `file` from the loader's message and the file itself. */
export function explainLoadFailure(file: string, message: string): { reason: string; detail: string } {
  if (!fs.existsSync(file)) return { reason: 'file missing', detail: `no such file: ${file}` }
  const pre = precheck(file)
  if (pre) return { reason: pre.reason, detail: `${pre.detail} (${message})` }
  const dep = /([^\s:/\\]+\.(?:so[.\d]*|dylib|dll))\s*:\s*cannot open shared object file/i.exec(message)
  if (dep && path.basename(file) !== dep[1]) {
    return { reason: 'missing dependency', detail: `${dep[1]} is needed by ${file} and was not found (${message})` }
  }
  if (/not found|could not be found|image not found|Library not loaded/i.test(message)) {
    return { reason: 'missing dependency', detail: message }
  }
  return { reason: 'load failed', detail: message }
}

export interface Loaded<T> {
  lib: LibraryHandle
  path: string
  api: T
  attempts: LoadAttempt[]
}

const listeners = new Set<(a: LoadAttempt) => void>()

/** Calls `fn` with each attempt as soon as it is decided (doctor prints them as they come). */
export function onLoadAttempt(fn: (a: LoadAttempt) => void): () => void {
  listeners.add(fn)
  return () => listeners.delete(fn)
}

/**
 * Tries each candidate: check the file's headers, load it, then bind (declare
 * every function; a missing symbol throws). Returns the first that fully binds,
 * plus the record of all attempts. Throws nothing: `loaded` is undefined when
 * every candidate failed.
 */
export function loadFirst<T>(bind: (lib: LibraryHandle) => T, list: Candidate[] = candidates()): { loaded?: Loaded<T>; attempts: LoadAttempt[] } {
  const attempts: LoadAttempt[] = []
  const record = (a: LoadAttempt) => {
    attempts.push(a)
    for (const fn of listeners) fn(a)
  }
  for (const c of list) {
    const { note, ...where } = c
    if (note) {
      record({ ...where, ok: false, reason: 'file missing', detail: note })
      continue
    }
    const refused = precheck(c.path)
    if (refused) {
      record({ ...where, ok: false, ...refused })
      continue
    }
    let lib: LibraryHandle
    try {
      lib = koffi.load(c.path)
    } catch (e) {
      record({ ...where, ok: false, ...explainLoadFailure(c.path, firstLine(e)) })
      continue
    }
    try {
      const api = bind(lib)
      record({ ...where, ok: true })
      return { loaded: { lib, path: c.path, api, attempts }, attempts }
    } catch (e) {
      const msg = firstLine(e)
      const sym = /function '?(\w+)'?/.exec(msg)
      record({
        ...where,
        ok: false,
        reason: 'symbol missing',
        detail: `${sym ? sym[1] : 'a tls_* function'} is not exported: not an ostls library, or one from an incompatible version (${msg})`
      })
      try {
        lib.unload()
      } catch {
        // nothing more to release
      }
    }
  }
  return { attempts }
}
