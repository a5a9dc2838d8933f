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
