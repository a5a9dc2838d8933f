// Servers from an older era: what ostls must still talk to exactly (TLS 1.2
// AES-CBC without encrypt-then-MAC, as IIS and many enterprise servers), and
// what it must never negotiate, whatever rejectUnauthorized says.
import t from 'tap'
import crypto, { constants } from 'node:crypto'
import path from 'node:path'
import { TLSError } from '../dist/cjs/index'
import { pki } from './helpers/pki'
import { hashServer, opensslSink, opensslServer } from './helpers/servers'
import { open, upload, failure, sha256 } from './helpers/client'

const p = pki()
const KiB = 1024
const MiB = 1024 * KiB
const opts = (port: number) => ({ host: '127.0.0.1', port, servername: 'localhost', ca: p.ca })
const leafFiles = { keyFile: path.join(p.dir, 'leaf.key'), certFile: path.join(p.dir, 'leaf.pem') }
const noOpenssl = process.platform === 'win32' ? 'needs the openssl binary, which Windows Node cannot run' : false
const limit = () => ({ timeout: 60_000 })   // fresh each time: tap writes into a test's options

// Sizes around OpenSSL's multi-block thresholds: one SSL_write of 4 (64 KiB)
// or 8 (128 KiB) records encrypts them all at once on an AES-NI CPU.
const sizes = [64 * KiB, 100 * KiB, 128 * KiB, MiB, 4 * MiB]

t.test('TLS 1.2 AES128-SHA without encrypt-then-MAC (Node server): uploads arrive intact', limit(), async (t) => {
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
