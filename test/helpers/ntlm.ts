/**
 * The server side of NTLM (MS-NLMP) for the test proxy: a CHALLENGE message
 * for a NEGOTIATE, the AUTHENTICATE message parsed and checked for form, and
 * its NTLMv2 response verified against a known password (HMAC-MD5 over
 * NTOWFv2). MD4 is implemented here: Node's OpenSSL 3 may not offer it.
 */
import crypto from 'node:crypto'

/** MD4 (RFC 1320). */
export function md4(input: Buffer): Buffer {
  const len = Math.ceil((input.length + 9) / 64) * 64
  const m = Buffer.alloc(len)
  input.copy(m)
  m[input.length] = 0x80
  m.writeUInt32LE((input.length * 8) >>> 0, len - 8)
  m.writeUInt32LE(Math.floor(input.length / 0x20000000), len - 4)
  const rotl = (x: number, n: number) => (x << n) | (x >>> (32 - n))
  const F = (x: number, y: number, z: number) => (x & y) | (~x & z)
  const G = (x: number, y: number, z: number) => (x & y) | (x & z) | (y & z)
  const H = (x: number, y: number, z: number) => x ^ y ^ z
  let [a, b, c, d] = [0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476]
  for (let off = 0; off < len; off += 64) {
    const X = Array.from({ length: 16 }, (_, i) => m.readInt32LE(off + 4 * i))
    const [aa, bb, cc, dd] = [a, b, c, d]
    for (const i of [0, 4, 8, 12]) {
      a = rotl((a + F(b, c, d) + X[i]) | 0, 3)
      d = rotl((d + F(a, b, c) + X[i + 1]) | 0, 7)
      c = rotl((c + F(d, a, b) + X[i + 2]) | 0, 11)
      b = rotl((b + F(c, d, a) + X[i + 3]) | 0, 19)
    }
    for (const i of [0, 1, 2, 3]) {
      a = rotl((a + G(b, c, d) + X[i] + 0x5a827999) | 0, 3)
      d = rotl((d + G(a, b, c) + X[i + 4] + 0x5a827999) | 0, 5)
      c = rotl((c + G(d, a, b) + X[i + 8] + 0x5a827999) | 0, 9)
      b = rotl((b + G(c, d, a) + X[i + 12] + 0x5a827999) | 0, 13)
    }
    for (const i of [0, 2, 1, 3]) {
      a = rotl((a + H(b, c, d) + X[i] + 0x6ed9eba1) | 0, 3)
      d = rotl((d + H(a, b, c) + X[i + 8] + 0x6ed9eba1) | 0, 9)
      c = rotl((c + H(d, a, b) + X[i + 4] + 0x6ed9eba1) | 0, 11)
      b = rotl((b + H(c, d, a) + X[i + 12] + 0x6ed9eba1) | 0, 15)
    }
    ;[a, b, c, d] = [(a + aa) | 0, (b + bb) | 0, (c + cc) | 0, (d + dd) | 0]
  }
  const out = Buffer.alloc(16)
  ;[a, b, c, d].forEach((v, i) => out.writeInt32LE(v, 4 * i))
  return out
}

const SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1')
const UNICODE = 0x1
const flagsOffered =
  UNICODE | 0x4 /* REQUEST_TARGET */ | 0x200 /* NTLM */ | 0x8000 /* ALWAYS_SIGN */ | 0x10000 /* TARGET_TYPE_DOMAIN */ |
  0x80000 /* EXTENDED_SESSIONSECURITY */ | 0x800000 /* TARGET_INFO */ | 0x20000000 /* 128 */ | 0x80000000 /* 56 */

export const TEST_DOMAIN = 'TESTDOM'

/** The type of an NTLMSSP message (1 NEGOTIATE, 2 CHALLENGE, 3 AUTHENTICATE), or 0 if it is not one. */
export function ntlmType(msg: Buffer): number {
  if (msg.length < 12 || !msg.subarray(0, 8).equals(SIGNATURE)) return 0
  return msg.readUInt32LE(8)
}

/** A CHALLENGE (type 2) with a fresh server challenge and target info naming TESTDOM. */
export function ntlmChallenge(): { message: Buffer; serverChallenge: Buffer } {
  const serverChallenge = crypto.randomBytes(8)
  const utf16 = (s: string) => Buffer.from(s, 'utf16le')
  const av = (id: number, value: Buffer) => {
    const h = Buffer.alloc(4)
    h.writeUInt16LE(id, 0)
    h.writeUInt16LE(value.length, 2)
    return Buffer.concat([h, value])
  }
  const stamp = Buffer.alloc(8)
  stamp.writeBigUInt64LE((BigInt(Date.now()) + 11644473600000n) * 10000n)
  const target = utf16(TEST_DOMAIN)
  const info = Buffer.concat([
    av(2, target), // MsvAvNbDomainName
    av(1, utf16('PROXY')), // MsvAvNbComputerName
    av(4, utf16('testdom.test')), // MsvAvDnsDomainName
    av(3, utf16('proxy.testdom.test')), // MsvAvDnsComputerName
    av(7, stamp), // MsvAvTimestamp
    av(0, Buffer.alloc(0)) // MsvAvEOL
  ])
  const head = Buffer.alloc(48)
  SIGNATURE.copy(head)
  head.writeUInt32LE(2, 8)
  head.writeUInt16LE(target.length, 12)
  head.writeUInt16LE(target.length, 14)
  head.writeUInt32LE(48, 16)
  head.writeUInt32LE(flagsOffered >>> 0, 20)
  serverChallenge.copy(head, 24)
  head.writeUInt16LE(info.length, 40)
  head.writeUInt16LE(info.length, 42)
  head.writeUInt32LE(48 + target.length, 44)
  return { message: Buffer.concat([head, target, info]), serverChallenge }
}

export interface NtlmAuthenticate {
  user: string
  domain: string
  workstation: string
  flags: number
  lmResponse: Buffer
  ntResponse: Buffer
  /** 'v2' (NT response longer than 24 bytes), 'v1' (24), 'anonymous' (empty). */
  version: 'v2' | 'v1' | 'anonymous'
}

/** Parse an AUTHENTICATE (type 3) message; throws naming what is malformed. */
export function parseAuthenticate(msg: Buffer): NtlmAuthenticate {
  if (ntlmType(msg) !== 3) throw new Error('not an NTLMSSP AUTHENTICATE message')
  if (msg.length < 64) throw new Error(`AUTHENTICATE message too short (${msg.length} bytes)`)
  const flags = msg.readUInt32LE(60)
  const field = (at: number, what: string) => {
    const len = msg.readUInt16LE(at)
    const off = msg.readUInt32LE(at + 4)
    if (off + len > msg.length) throw new Error(`AUTHENTICATE ${what} field points past the message`)
    return msg.subarray(off, off + len)
  }
  const text = (b: Buffer) => (flags & UNICODE ? b.toString('utf16le') : b.toString('latin1'))
  const lmResponse = field(12, 'LmChallengeResponse')
  const ntResponse = field(20, 'NtChallengeResponse')
  const domain = text(field(28, 'DomainName'))
  const user = text(field(36, 'UserName'))
  const workstation = text(field(44, 'Workstation'))
  field(52, 'EncryptedRandomSessionKey')
  if (ntResponse.length !== 0 && ntResponse.length !== 24 && ntResponse.length < 48)
    throw new Error(`NtChallengeResponse of ${ntResponse.length} bytes is neither NTLMv1 (24) nor NTLMv2 (48+)`)
  const version = ntResponse.length === 0 ? 'anonymous' : ntResponse.length === 24 ? 'v1' : 'v2'
  return { user, domain, workstation, flags, lmResponse, ntResponse, version }
}

/** Does the NTLMv2 response prove knowledge of password (MS-NLMP 3.3.2)? */
export function verifyNtlmV2(auth: NtlmAuthenticate, serverChallenge: Buffer, password: string): boolean {
  if (auth.version !== 'v2') return false
  const hmac = (key: Buffer, ...data: Buffer[]) => crypto.createHmac('md5', key).update(Buffer.concat(data)).digest()
  const ntowfv2 = hmac(md4(Buffer.from(password, 'utf16le')), Buffer.from(auth.user.toUpperCase() + auth.domain, 'utf16le'))
  const proof = auth.ntResponse.subarray(0, 16)
  const temp = auth.ntResponse.subarray(16)
  return crypto.timingSafeEqual(hmac(ntowfv2, serverChallenge, temp), proof)
}
