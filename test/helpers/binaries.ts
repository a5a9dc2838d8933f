/** Files that look like shared libraries to a loader but must fail to load. */
import fs from 'node:fs'
import path from 'node:path'

/** Only an ELF/PE/Mach-O header for the other architecture: every OS loader refuses it. */
export function foreignLibrary(dir: string): string {
  const f = path.join(dir, 'foreign.node')
  const b = Buffer.alloc(512)
  if (process.platform === 'win32') {
    b.write('MZ', 0, 'latin1')
    b.writeUInt32LE(0x80, 0x3c)
    b.writeUInt32LE(0x4550, 0x80)
    b.writeUInt16LE(process.arch === 'arm64' ? 0x8664 : 0xaa64, 0x84)
  } else if (process.platform === 'darwin') {
    b.writeUInt32LE(0xfeedfacf, 0)
    b.writeUInt32LE(process.arch === 'arm64' ? 0x01000007 : 0x0100000c, 4)
  } else {
    b.writeUInt32BE(0x7f454c46, 0)
    b[4] = 2
    b[5] = 1
    b[6] = 1
    b.writeUInt16LE(3, 16)
    b.writeUInt16LE(process.arch === 'arm64' ? 0x3e : 0xb7, 18)
  }
  fs.writeFileSync(f, b)
  return f
}

/** A library every OS has that does not export ostls's tls_* functions. */
export const aLibraryWithoutOurSymbols =
  process.platform === 'win32' ? 'kernel32.dll' : process.platform === 'darwin' ? '/usr/lib/libSystem.B.dylib' : 'libc.so.6'

/** Only the header of a library for another OS (PE on Linux and macOS, ELF on Windows): the shape of a cross-packaged app's stray build. */
export function otherOsLibrary(dir: string, name = 'other-os.node'): string {
  const f = path.join(dir, name)
  const b = Buffer.alloc(512)
  if (process.platform === 'win32') {
    b.writeUInt32BE(0x7f454c46, 0)
    b[4] = 2
    b[5] = 1
    b[6] = 1
    b.writeUInt16LE(3, 16)
    b.writeUInt16LE(0x3e, 18)
  } else {
    b.write('MZ', 0, 'latin1')
    b.writeUInt32LE(0x80, 0x3c)
    b.writeUInt32LE(0x4550, 0x80)
    b.writeUInt16LE(0x8664, 0x84)
  }
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(f, b)
  return f
}

/** The ostls library this test process loads (a prebuild or the local build). */
export function ourLibrary(): string {
  const { loadBinding } = require('../../dist/cjs/native') as typeof import('../../dist/cjs/native')
  const s = loadBinding()
  if (!s.path) throw new Error(`the suite needs a loadable ostls library: ${s.error?.message}`)
  return s.path
}

const noise = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => ((i + 1) * 2654435761) >>> 24))

/**
 * Ways a library file gets damaged: cut short after a valid header (an
 * interrupted download), the real header over garbage (corrupt), random
 * bytes, and empty.
 */
export function damagedCopies(dir: string): Record<'truncated' | 'corrupt' | 'random' | 'empty', string> {
  fs.mkdirSync(dir, { recursive: true })
  const real = fs.readFileSync(ourLibrary())
  const out = {
    truncated: path.join(dir, 'truncated.node'),
    corrupt: path.join(dir, 'corrupt.node'),
    random: path.join(dir, 'random.node'),
    empty: path.join(dir, 'empty.node')
  }
  fs.writeFileSync(out.truncated, real.subarray(0, Math.min(real.length >> 1, 8192)))
  fs.writeFileSync(out.corrupt, Buffer.concat([real.subarray(0, 64), noise(real.length - 64)]))
  fs.writeFileSync(out.random, noise(65536))
  fs.writeFileSync(out.empty, Buffer.alloc(0))
  return out
}
