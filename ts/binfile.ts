/**
 * What a library file is, read from its headers without loading it: its format
 * and CPU, and whether every part the OS loader will map lies inside the file.
 * A truncated or corrupt library must be refused here: handed to dlopen, a
 * segment that runs past the end of the file is mapped anyway and the process
 * dies with SIGBUS (or SIGSEGV) on first touch, with nothing reported.
 */
import fs from 'node:fs'

export interface BinaryInfo {
  /** "ELF 64-bit", "PE", "Mach-O", "Mach-O universal", "MZ", "empty", "not a shared library" or "unreadable". */
  format: string
  arch?: string
  /** Set when the headers are recognised but describe a file larger than, or different from, this one. */
  incomplete?: string
}

const elfMachines: Record<number, string> = { 0x3e: 'x86-64', 0xb7: 'arm64', 0x03: 'x86', 0x28: 'arm', 0xf3: 'riscv64', 0x15: 'ppc64', 0x16: 's390x' }
const peMachines: Record<number, string> = { 0x8664: 'x86-64', 0xaa64: 'arm64', 0x14c: 'x86' }
const machoCpus: Record<number, string> = { 0x01000007: 'x86-64', 0x0100000c: 'arm64', 7: 'x86', 12: 'arm' }

/** Header tables are small; anything claiming more is corrupt, and is never read whole. */
const MAX_TABLE = 1 << 20

/** Reads up to `len` bytes at `pos`; short at the end of the file. */
function reader(fd: number, size: number) {
  return (pos: number, len: number): Buffer => {
    if (pos >= size || len <= 0) return Buffer.alloc(0)
    const b = Buffer.alloc(Math.min(len, size - pos, MAX_TABLE))
    return b.subarray(0, fs.readSync(fd, b, 0, b.length, pos))
  }
}

type Read = ReturnType<typeof reader>

/** A 64-bit field as a number (files beyond 2^53 bytes do not exist here). */
const u64 = (b: Buffer, off: number, le: boolean) => Number(le ? b.readBigUInt64LE(off) : b.readBigUInt64BE(off))

function elf(head: Buffer, size: number, read: Read): BinaryInfo {
  const is64 = head[4] === 2
  const le = head[5] === 1
  const format = `ELF ${is64 ? 64 : 32}-bit`
  if ((head[4] !== 1 && head[4] !== 2) || (head[5] !== 1 && head[5] !== 2) || head.length < (is64 ? 64 : 52)) {
    return { format, incomplete: 'the ELF header is cut short or malformed' }
  }
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o))
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o))
  const addr = (b: Buffer, o: number) => (is64 ? u64(b, o, le) : u32(b, o))
  const arch = elfMachines[u16(head, 18)] ?? `machine 0x${u16(head, 18).toString(16)}`
  const phoff = addr(head, is64 ? 32 : 28)
  const shoff = addr(head, is64 ? 40 : 32)
  const [phentsize, phnum, shentsize, shnum] = [u16(head, is64 ? 54 : 42), u16(head, is64 ? 56 : 44), u16(head, is64 ? 58 : 46), u16(head, is64 ? 60 : 48)]
  const bad = (why: string): BinaryInfo => ({ format, arch, incomplete: why })
  if (phnum === 0) return bad('it has no program headers, so there is nothing to load')
  if (phentsize < (is64 ? 56 : 32)) return bad(`its program header size (${phentsize}) is impossible`)
  if (phoff + phnum * phentsize > size) return bad(`its program headers end at byte ${phoff + phnum * phentsize}, past the end of the ${size}-byte file`)
  if (shoff && shnum && shoff + shnum * shentsize > size) return bad(`its section headers end at byte ${shoff + shnum * shentsize}, past the end of the ${size}-byte file`)
  const ph = read(phoff, phnum * phentsize)
  let loads = 0
  for (let i = 0; i < phnum; i++) {
    const o = i * phentsize
    const type = u32(ph, o)
    // PT_LOAD (what dlopen maps from the file) and PT_DYNAMIC (what it reads first).
    if (type !== 1 && type !== 2) continue
    loads += type === 1 ? 1 : 0
    const offset = is64 ? u64(ph, o + 8, le) : u32(ph, o + 4)
    const filesz = is64 ? u64(ph, o + 32, le) : u32(ph, o + 16)
    if (offset + filesz > size) return bad(`a ${type === 1 ? 'loadable' : 'dynamic'} segment ends at byte ${offset + filesz}, past the end of the ${size}-byte file`)
  }
  if (!loads) return bad('its program headers name no loadable segment')
  return { format, arch }
}

function pe(head: Buffer, size: number, read: Read): BinaryInfo {
  const peOff = head.readUInt32LE(0x3c)
  const sig = read(peOff, 24)
  if (sig.length < 24 || sig.readUInt32LE(0) !== 0x4550) {
    return peOff + 24 > size ? { format: 'PE', incomplete: 'the PE header lies past the end of the file' } : { format: 'MZ' }
  }
  const machine = sig.readUInt16LE(4)
  const arch = peMachines[machine] ?? `machine 0x${machine.toString(16)}`
  const nsect = sig.readUInt16LE(6)
  const table = peOff + 24 + sig.readUInt16LE(20)
  if (table + nsect * 40 > size) return { format: 'PE', arch, incomplete: `its section table ends at byte ${table + nsect * 40}, past the end of the ${size}-byte file` }
  const sections = read(table, nsect * 40)
  for (let i = 0; i < nsect; i++) {
    const rawSize = sections.readUInt32LE(i * 40 + 16)
    const rawPtr = sections.readUInt32LE(i * 40 + 20)
    if (rawSize && rawPtr + rawSize > size) return { format: 'PE', arch, incomplete: `a section ends at byte ${rawPtr + rawSize}, past the end of the ${size}-byte file` }
  }
  return { format: 'PE', arch }
}

function macho(head: Buffer, size: number, read: Read): BinaryInfo {
  const is64 = head.readUInt32LE(0) === 0xfeedfacf
  const cpu = head.readUInt32LE(4)
  const arch = machoCpus[cpu] ?? `cputype 0x${cpu.toString(16)}`
  const hdr = is64 ? 32 : 28
  if (head.length < hdr) return { format: 'Mach-O', arch, incomplete: 'the Mach-O header is cut short' }
  const ncmds = head.readUInt32LE(16)
  const sizeofcmds = head.readUInt32LE(20)
  const bad = (why: string): BinaryInfo => ({ format: 'Mach-O', arch, incomplete: why })
  if (hdr + sizeofcmds > size) return bad(`its load commands end at byte ${hdr + sizeofcmds}, past the end of the ${size}-byte file`)
  const cmds = read(hdr, sizeofcmds)
  for (let i = 0, o = 0; i < ncmds; i++) {
    if (o + 8 > cmds.length) return bad('its load commands are cut short')
    const cmd = cmds.readUInt32LE(o)
    const len = cmds.readUInt32LE(o + 4)
    if (len < 8) return bad('a load command has an impossible size')
    if ((cmd === 0x19 && o + 56 <= cmds.length) || (cmd === 0x1 && o + 40 <= cmds.length)) {
      // LC_SEGMENT_64 / LC_SEGMENT: fileoff and filesize say what is mapped from the file.
      const fileoff = cmd === 0x19 ? u64(cmds, o + 40, true) : cmds.readUInt32LE(o + 32)
      const filesize = cmd === 0x19 ? u64(cmds, o + 48, true) : cmds.readUInt32LE(o + 36)
      if (fileoff + filesize > size) return bad(`a segment ends at byte ${fileoff + filesize}, past the end of the ${size}-byte file`)
    }
    o += len
  }
  return { format: 'Mach-O', arch }
}

function universal(head: Buffer, size: number, read: Read): BinaryInfo {
  const n = head.readUInt32BE(4)
  if (n === 0 || n > 64) return { format: 'Mach-O universal', incomplete: `it claims ${n} architectures` }
  const table = read(8, n * 20)
  if (table.length < n * 20) return { format: 'Mach-O universal', incomplete: 'its architecture table is cut short' }
  for (let i = 0; i < n; i++) {
    const end = table.readUInt32BE(i * 20 + 8) + table.readUInt32BE(i * 20 + 12)
    if (end > size) return { format: 'Mach-O universal', incomplete: `an architecture's image ends at byte ${end}, past the end of the ${size}-byte file` }
  }
  return { format: 'Mach-O universal' }
}

/** Reads a file's headers: its format, CPU, and whether it is complete. Never throws. */
export function describeBinary(file: string): BinaryInfo {
  let fd: number
  try {
    fd = fs.openSync(file, 'r')
  } catch {
    return { format: 'unreadable' }
  }
  try {
    const size = fs.fstatSync(fd).size
    if (size === 0) return { format: 'empty', incomplete: 'the file is empty (0 bytes)' }
    const read = reader(fd, size)
    const head = read(0, 64)
    if (head.length >= 16 && head.readUInt32BE(0) === 0x7f454c46) return elf(head, size, read)
    if (head.length >= 64 && head.readUInt16LE(0) === 0x5a4d) return pe(head, size, read)
    if (head.length >= 8 && (head.readUInt32LE(0) === 0xfeedfacf || head.readUInt32LE(0) === 0xfeedface)) return macho(head, size, read)
    if (head.length >= 8 && head.readUInt32BE(0) === 0xcafebabe) return universal(head, size, read)
    return { format: 'not a shared library' }
  } catch (e) {
    return { format: 'unreadable', incomplete: `its headers could not be read (${e instanceof Error ? e.message : String(e)})` }
  } finally {
    fs.closeSync(fd)
  }
}
