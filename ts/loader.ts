/**
 * Finds and loads the ostls native library, recording every candidate tried and
 * why it failed. `ostls doctor` prints these same records, so what it reports is
 * exactly what an application hits.
 */
import fs from 'node:fs'
import path from 'node:path'
import koffi, { LibraryHandle } from 'koffi'

export interface LoadAttempt {
  /** Where the candidate came from: "OSTLS_LIBRARY", "build", "prebuild". */
  source: string
  path: string
  ok: boolean
  /** One of: file missing, not a file, not a library, wrong architecture, missing dependency, symbol missing, load failed. */
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
    try {
      if (JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'ostls') return dir
    } catch {
      // not here: keep walking up
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

/** Candidates in the order they are tried. An explicit override is the only candidate. */
export function candidates(env: NodeJS.ProcessEnv = process.env): Candidate[] {
  if (env.OSTLS_LIBRARY) return [{ source: 'OSTLS_LIBRARY', path: env.OSTLS_LIBRARY }]
  const root = packageRoot()
  const found: Candidate[] = []
  // node-gyp-build's own resolver decides which build or prebuild fits this
  // platform, arch, libc and runtime; asking it is how the choice stays the
  // same as every other prebuildify package's.
  const gypBuild: { path(dir: string): string } = require('node-gyp-build')
  try {
    const p = gypBuild.path(root)
    found.push({ source: /[\\/]prebuilds[\\/]/.test(p) ? 'prebuild' : 'build', path: unpackedPath(p) })
  } catch (e) {
    found.push({
      source: 'prebuild',
      path: path.join(unpackedPath(root), 'prebuilds', `${process.platform}-${process.arch}`),
      note: `node-gyp-build found no build or prebuild for this platform: ${firstLine(e)}`
    })
  }
  return found
}

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0]
}

const archNames: Record<string, string> = {
  x64: 'x86-64', arm64: 'arm64', ia32: 'x86', arm: 'arm', riscv64: 'riscv64', ppc64: 'ppc64', s390x: 's390x'
}

/** Reads a file's header and names its format and architecture, e.g. "ELF 64-bit x86-64". */
export function describeBinary(file: string): { format: string; arch?: string } {
  let head: Buffer
  try {
    const fd = fs.openSync(file, 'r')
    try {
      head = Buffer.alloc(4096)
      head = head.subarray(0, fs.readSync(fd, head, 0, head.length, 0))
    } finally {
      fs.closeSync(fd)
    }
  } catch {
    return { format: 'unreadable' }
  }
  if (head.length >= 20 && head.readUInt32BE(0) === 0x7f454c46) {
    const bits = head[4] === 2 ? 64 : 32
    const le = head[5] === 1
    const machine = le ? head.readUInt16LE(18) : head.readUInt16BE(18)
    const m: Record<number, string> = { 0x3e: 'x86-64', 0xb7: 'arm64', 0x03: 'x86', 0x28: 'arm', 0xf3: 'riscv64', 0x15: 'ppc64', 0x16: 's390x' }
    return { format: `ELF ${bits}-bit`, arch: m[machine] ?? `machine 0x${machine.toString(16)}` }
  }
  if (head.length >= 64 && head.readUInt16LE(0) === 0x5a4d) {
    const pe = head.readUInt32LE(0x3c)
    if (pe + 6 <= head.length && head.readUInt32LE(pe) === 0x4550) {
      const machine = head.readUInt16LE(pe + 4)
      const m: Record<number, string> = { 0x8664: 'x86-64', 0xaa64: 'arm64', 0x14c: 'x86' }
      return { format: 'PE', arch: m[machine] ?? `machine 0x${machine.toString(16)}` }
    }
    return { format: 'MZ' }
  }
  if (head.length >= 8) {
    const magic = head.readUInt32LE(0)
    if (magic === 0xfeedfacf || magic === 0xfeedface) {
      const cpu = head.readUInt32LE(4)
      const m: Record<number, string> = { 0x01000007: 'x86-64', 0x0100000c: 'arm64' }
      return { format: 'Mach-O', arch: m[cpu] ?? `cputype 0x${cpu.toString(16)}` }
    }
    if (head.readUInt32BE(0) === 0xcafebabe) return { format: 'Mach-O universal' }
  }
  return { format: 'not a shared library' }
}

/** Explains a failed load of `file` from the loader's message and the file itself. */
export function explainLoadFailure(file: string, message: string): { reason: string; detail: string } {
  let st: fs.Stats | undefined
  try {
    st = fs.statSync(file)
  } catch {
    return { reason: 'file missing', detail: `no such file: ${file}` }
  }
  if (!st.isFile()) return { reason: 'not a file', detail: `${file} is not a regular file` }
  const bin = describeBinary(file)
  const want = archNames[process.arch] ?? process.arch
  const nativeFormat = process.platform === 'win32' ? 'PE' : process.platform === 'darwin' ? 'Mach-O' : 'ELF'
  const what = bin.arch ? `${bin.format} ${bin.arch}` : bin.format
  if (!bin.arch && !bin.format.startsWith('Mach-O universal')) {
    return { reason: 'not a library', detail: `${file} is ${what}, not a ${nativeFormat} shared library (${message})` }
  }
  if (!bin.format.startsWith(nativeFormat) || (bin.arch && bin.arch !== want)) {
    return { reason: 'wrong architecture', detail: `${file} is ${what}; this process is ${process.platform} ${want} (${message})` }
  }
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

/**
 * Tries each candidate: load it, then bind (declare every function; a missing
 * symbol throws). Returns the first that fully binds, plus the record of all
 * attempts. Throws nothing: `api` is undefined when every candidate failed.
 */
export function loadFirst<T>(bind: (lib: LibraryHandle) => T, list: Candidate[] = candidates()): { loaded?: Loaded<T>; attempts: LoadAttempt[] } {
  const attempts: LoadAttempt[] = []
  for (const c of list) {
    if (c.note) {
      attempts.push({ source: c.source, path: c.path, ok: false, reason: 'file missing', detail: c.note })
      continue
    }
    let lib: LibraryHandle
    try {
      lib = koffi.load(c.path)
    } catch (e) {
      attempts.push({ ...c, ok: false, ...explainLoadFailure(c.path, firstLine(e)) })
      continue
    }
    try {
      const api = bind(lib)
      attempts.push({ ...c, ok: true })
      return { loaded: { lib, path: c.path, api, attempts }, attempts }
    } catch (e) {
      const msg = firstLine(e)
      const sym = /function '?(\w+)'?/.exec(msg)
      attempts.push({
        ...c,
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
