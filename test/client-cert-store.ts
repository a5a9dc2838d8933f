// Client identities from the OS certificate store (clientCertificate: { store,
// thumbprint | subject | issuer }): Windows (Schannel) finds the certificate
// with its key in CurrentUser\My and uses the key in place. Under Wine the
// identity is put into the prefix's store by scripts/win-identity.js.
// Elsewhere the option is refused: Linux takes files only.
import t from 'tap'
import path from 'node:path'
import tls from 'node:tls'
import { execFileSync } from 'node:child_process'
import { connect, ConnectOptions } from '../dist/cjs/index'
import { tlsServer } from './helpers/servers'
import { pki, pkiDir, clientIdentity } from './helpers/pki'
import { collect, failure } from './helpers/client'
import { run } from './helpers/cli'
import { engineGap } from './helpers/platform'

const p = pki()
const id = clientIdentity()
const windows = process.platform === 'win32'
const helper = path.join(__dirname, '..', 'scripts', 'win-identity.js')

async function requiringServer() {
  return tlsServer(p.leaf, (s) => s.end(`CN=${(s.getPeerCertificate() as tls.PeerCertificate).subject?.CN}\n`), { requestCert: true, rejectUnauthorized: true, ca: id.ca })
}
const base = (port: number): ConnectOptions => ({ host: '127.0.0.1', port, servername: 'localhost', ca: p.ca })

t.test('Windows: the identity from CurrentUser\\My, by thumbprint, subject and issuer', { skip: windows ? undefined : 'Windows store identities: Schannel engine only' }, async (t) => {
  const thumbprint = execFileSync(process.execPath, [helper, 'add', path.join(pkiDir, 'x-client.pfx'), id.passphrase]).toString().trim()
  t.teardown(() => void execFileSync(process.execPath, [helper, 'remove', thumbprint]))
  t.equal(thumbprint, id.thumbprint, 'the helper imported the test identity')
  const srv = await requiringServer()
  t.teardown(() => srv.close())
  for (const find of [{ thumbprint: id.thumbprint }, { thumbprint: id.thumbprint.toLowerCase().match(/../g)!.join(':') }, { subject: id.cn }, { issuer: 'ostls test client CA' }]) {
    const s = connect({ ...base(srv.port), clientCertificate: { store: 'CurrentUser\\My', ...find } })
    t.equal((await collect(s)).toString(), `CN=${id.cn}\n`, JSON.stringify(find))
  }
  const err = await failure({ ...base(srv.port), clientCertificate: { store: 'CurrentUser\\My', subject: 'nobody by this name' } })
  t.equal(err.tlsCode, 'TLS_INVALID_ARGUMENT', err.message)
  t.match(err.message, /no certificate with its private key/)
  const listed = await run(['identities', '--json'])
  t.equal(listed.code, 0, listed.stderr)
  const report = JSON.parse(listed.stdout) as { supported: boolean; identities: Array<{ store: string; thumbprint: string; subject: string }> }
  t.equal(report.supported, true)
  t.match(report.identities.find((i) => i.thumbprint === id.thumbprint), { store: 'CurrentUser\\My', subject: new RegExp(id.cn), sha256: /^[0-9A-F]{64}$/, label: String }, 'ostls identities lists it')
  const viaCli = await run(['get', '--ca', path.join(pkiDir, 'ca.pem'), '--client-cert-store', 'CurrentUser\\My', '--thumbprint', id.thumbprint, `https://localhost:${srv.port}/`])
  t.equal(viaCli.code !== 2, true, `ostls get accepts --client-cert-store/--thumbprint (${viaCli.stderr.trim()})`)
})

t.test('elsewhere a store identity is refused before any connection', { skip: windows ? 'Windows takes store identities' : undefined }, async (t) => {
  const srv = await requiringServer()
  t.teardown(() => srv.close())
  const err = await failure({ ...base(srv.port), clientCertificate: { store: 'CurrentUser\\My', thumbprint: id.thumbprint } })
  t.equal(err.tlsCode, 'TLS_INVALID_ARGUMENT', err.message)
  t.match(err.message, /files only|Windows store|does not send client certificates/)
  t.equal(srv.handshakes, 0)
})

t.test('ostls identities says what this OS offers', { skip: windows ? 'checked with an imported identity above' : process.platform === 'darwin' ? 'macOS lists the keychain (the listing: test/identities-listing.ts)' : undefined }, async (t) => {
  const r = await run(['identities', '--json'])
  t.equal(r.code, 0, r.stderr)
  t.match(JSON.parse(r.stdout), { schemaVersion: 1, supported: false, identities: [], note: /files only|keychain/ })
  const text = await run(['identities'])
  t.match(text.stdout, /files only|keychain/)
})

t.test('bad store options are refused', { skip: engineGap(['mbedtls', 's2n'], 'client identities are refused whole, before their options are looked at') }, async (t) => {
  t.throws(() => connect({ host: '127.0.0.1', port: 1, clientCertificate: { store: 'My', thumbprint: id.thumbprint } }), { code: 'ERR_INVALID_ARG_VALUE' })
  t.throws(() => connect({ host: '127.0.0.1', port: 1, clientCertificate: { store: 'CurrentUser\\My', thumbprint: 'abc' } }), { code: 'ERR_INVALID_ARG_VALUE' })
  const err = await failure({ host: '127.0.0.1', port: 1, clientCertificate: { store: 'CurrentUser\\My' } })
  t.equal(err.tlsCode, 'TLS_INVALID_ARGUMENT', err.message)
  t.match(err.message, /needs client_cert_thumbprint/)
})
