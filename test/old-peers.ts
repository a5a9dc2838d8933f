// Servers from an older era: what ostls must still talk to exactly (TLS 1.2
// AES-CBC without encrypt-then-MAC, as IIS and many enterprise servers), and
// what it must never negotiate, whatever rejectUnauthorized says.
import t from 'tap'
import crypto, { constants } from 'node:crypto'
import path from 'node:path'
import { TLSError } from '../dist/cjs/index'
import { pki } from './helpers/pki'
import { hashServer, opensslSink, opensslServer, scriptedServer } from './helpers/servers'
import { serverHello } from './helpers/tls-bytes'
import { open, upload, failure, sha256 } from './helpers/client'
import { wineGap } from './helpers/platform'

const p = pki()
const KiB = 1024
const MiB = 1024 * KiB
const opts = (port: number) => ({ host: '127.0.0.1', port, servername: 'localhost', ca: p.ca })
const leafFiles = { keyFile: path.join(p.dir, 'leaf.key'), certFile: path.join(p.dir, 'leaf.pem') }
const noOpenssl = process.platform === 'win32' ? 'needs the openssl binary, which Windows Node cannot run' : false
const limit = () => ({ timeout: 60_000 })   // fresh each time: tap writes into a test's options
// The Schannel engine disables CNG's "DH" key exchange in its credentials; Wine's Schannel ignores that.
const dheIgnored = wineGap('the key-exchange restriction of the credentials (no "DH") is ignored: finite-field DHE is still offered and accepted')

// Sizes around OpenSSL's multi-block thresholds: one SSL_write of 4 (64 KiB)
// or 8 (128 KiB) records encrypts them all at once on an AES-NI CPU.
const sizes = [64 * KiB, 100 * KiB, 128 * KiB, MiB, 4 * MiB]

t.test('TLS 1.2 AES128-SHA without encrypt-then-MAC (Node server): uploads arrive intact', { ...limit(), todo: wineGap('the AES128-SHA handshake fails with SEC_E_INTERNAL_ERROR') }, async (t) => {
  const srv = await hashServer(p.leaf, {
    maxVersion: 'TLSv1.2',
    ciphers: 'AES128-SHA',
    secureOptions: constants.SSL_OP_NO_ENCRYPT_THEN_MAC
  })
  t.teardown(() => srv.close())
  const s = await open(opts(srv.port))
  t.equal(s.getCipher()?.standardName, 'TLS_RSA_WITH_AES_128_CBC_SHA', 'the CBC suite was negotiated')
  s.destroy()
  for (const size of sizes) {
    const data = crypto.randomBytes(size)
    t.equal(await upload(opts(srv.port), data), `${size} ${sha256(data)}`, `${size / KiB} KiB`)
  }
})

t.test('openssl s_server -cipher AES128-SHA -no_etm: uploads arrive intact', { ...limit(), skip: noOpenssl }, async (t) => {
  for (const size of sizes) {
    const sink = await opensslSink(leafFiles, ['-tls1_2', '-cipher', 'AES128-SHA', '-no_etm'])
    const s = await open(opts(sink.port))
    const data = crypto.randomBytes(size)
    await new Promise<void>((resolve, reject) => s.write(data, (err) => (err ? reject(err) : resolve())))
    await sink.reached(size)
    t.same(sink.received(), { bytes: size, sha256: sha256(data) }, `${size / KiB} KiB`)
    s.destroy()
    await sink.close()
  }
})

// TLS 1.2 suites the client may offer: ECDHE (AES-GCM, AES-CBC, ChaCha20)
// and RSA key exchange with AES, plus TLS 1.3's and the renegotiation SCSV.
// Everything else (DHE, 3DES, RC4, NULL, export, anonymous, PSK, CAMELLIA,
// ...) must never even be offered.
const allowedSuites = new Set([
  0x1301, 0x1302, 0x1303, 0x1304, 0x1305, 0x00ff,
  0xc009, 0xc00a, 0xc013, 0xc014, 0xc023, 0xc024, 0xc027, 0xc028, 0xc02b, 0xc02c, 0xc02f, 0xc030,
  0xc0ac, 0xc0ad, 0xc0ae, 0xc0af, 0xcca8, 0xcca9,
  0x002f, 0x0035, 0x003c, 0x003d, 0x009c, 0x009d, 0xc09c, 0xc09d, 0xc0a0, 0xc0a1
])

/** The cipher suites listed in a ClientHello record. */
function offeredSuites(hello: Buffer): number[] {
  let at = 5 + 4 + 2 + 32 // record header, handshake header, version, random
  at += 1 + hello[at] // session id
  const len = hello.readUInt16BE(at)
  const out: number[] = []
  for (let i = 0; i < len; i += 2) out.push(hello.readUInt16BE(at + 2 + i))
  return out
}

t.test('the ClientHello offers no DHE, 3DES, RC4, NULL or export suite', { todo: dheIgnored }, async (t) => {
  const net = await import('node:net')
  let resolveHello: (b: Buffer) => void = () => {}
  const hello = new Promise<Buffer>((r) => (resolveHello = r))
  const server = net.createServer((s) => {
    let got = Buffer.alloc(0)
    s.on('error', () => {})
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d])
      if (got.length >= 5 && got.length >= 5 + got.readUInt16BE(3)) {
        resolveHello(got)
        s.destroy()
      }
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => server.close())
  const port = (server.address() as import('node:net').AddressInfo).port
  const err = failure({ ...opts(port), rejectUnauthorized: false })
  const suites = offeredSuites(await hello)
  await err
  t.ok(suites.length > 3, `offers ${suites.length} suites`)
  const refused = suites.filter((s) => !allowedSuites.has(s)).map((s) => '0x' + s.toString(16).padStart(4, '0'))
  t.same(refused, [], 'nothing outside the allowed set')
  t.ok(suites.includes(0x002f), 'TLS_RSA_WITH_AES_128_CBC_SHA is still offered (IIS-era servers)')
})

t.test('a server with only finite-field DHE suites fails the handshake', { todo: dheIgnored }, async (t) => {
  const srv = await hashServer(p.leaf, { maxVersion: 'TLSv1.2', ciphers: 'DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-SHA', dhparam: 'auto' })
  t.teardown(() => srv.close())
  const err = await failure({ ...opts(srv.port), rejectUnauthorized: false })
  t.equal((err as TLSError).tlsCode, 'TLS_HANDSHAKE_FAILED', err.message)
  t.equal(srv.handshakes, 0)
})

// This system's OpenSSL (and Node's) cannot even serve 3DES, RC4 or export
// suites any more: a scripted ServerHello picks them instead. The client
// never offered them, so it must refuse.
const forcedSuites: Array<[string, number]> = [
  ['3DES (TLS_RSA_WITH_3DES_EDE_CBC_SHA)', 0x000a],
  ['RC4 (TLS_RSA_WITH_RC4_128_SHA)', 0x0005],
  ['export (TLS_RSA_EXPORT_WITH_RC4_40_MD5)', 0x0003],
  ['NULL (TLS_RSA_WITH_NULL_SHA)', 0x0002],
  ['DHE (TLS_DHE_RSA_WITH_AES_128_CBC_SHA)', 0x0033]
]

for (const [what, suite] of forcedSuites) {
  const todo = suite === 0x0033 ? dheIgnored : undefined
  t.test(`a ServerHello choosing ${what} is refused`, { todo }, async (t) => {
    const srv = await scriptedServer(serverHello(3, suite))
    t.teardown(() => srv.close())
    const err = await failure({ ...opts(srv.port), rejectUnauthorized: false })
    t.match((err as TLSError).tlsCode, /^TLS_(HANDSHAKE_FAILED|PROTOCOL_ERROR)$/, err.message)
  })
}

const weakServers: Array<[string, string[], string]> = [
  ['only NULL encryption', ['-tls1_2', '-cipher', 'NULL-SHA256:@SECLEVEL=0'], 'TLS_HANDSHAKE_FAILED'],
  ['only TLS 1.0', ['-tls1', '-cipher', 'DEFAULT:@SECLEVEL=0'], 'TLS_PROTOCOL_VERSION'],
  ['only TLS 1.1', ['-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0'], 'TLS_PROTOCOL_VERSION']
]
for (const [what, args, code] of weakServers) {
  t.test(`a server offering ${what} is refused, even with rejectUnauthorized: false`, async (t) => {
    const srv = await opensslServer(leafFiles, args)
    t.teardown(() => srv.close())
    const err = await failure({ ...opts(srv.port), rejectUnauthorized: false })
    t.equal((err as TLSError).tlsCode, code, err.message)
  })
}
