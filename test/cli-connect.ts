// `ostls doctor --connect host:port` against local good and bad servers.
import t from 'tap'
import path from 'node:path'
import { osTrust } from './helpers/ostrust'
import { s2nLimit, loneLeafUntrustedCode } from './helpers/platform'
import { codeHint } from '../dist/cjs/hints'
import { run } from './helpers/cli'
import { pki, pkiDir } from './helpers/pki'
import { tlsServer, silentServer, closedPort, TestServer } from './helpers/servers'

const p = pki()
const caFile = path.join(pkiDir, 'ca.pem')
const alpn = { ALPNProtocols: ['http/1.1'] }

const servers: TestServer[] = []
async function serve(pair: { key: Buffer; cert: Buffer }): Promise<number> {
  const s = await tlsServer(pair, (sock) => sock.end(), alpn)
  servers.push(s)
  return s.port
}
t.teardown(() => Promise.all(servers.map((s) => s.close())))

/**
 * The lines of the connect section (from "connect …" to the verdict), without
 * Node's side-by-side lines (node, verdict, its means, root: test/doctor-verdict.ts)
 * and without the line naming the OS's proxy settings, which Windows and macOS
 * print for every target (test/proxy-system.ts, test/proxy-cli.ts).
 */
function section(stdout: string): string[] {
  const lines = stdout.trimEnd().split('\n').filter((l) => !/^  proxy        .*\(from the OS proxy settings/.test(l))
  const out = lines.slice(lines.findIndex((l) => l.startsWith('connect ')))
  const node = out.findIndex((l) => l.startsWith('  node '))
  if (node < 0) return out
  const end = out.findIndex((l, i) => i > node && !l.startsWith(' '))
  return [...out.slice(0, node), ...out.slice(end)]
}

const leafLines = (validity = 'valid') => [
  /^  \[0\] subject   CN=localhost$/,
  /^      issuer    O=ostls tests, CN=ostls test CA$/,
  new RegExp(`^      valid     \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z to \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\(${validity}\\)$`),
  /^      sha256    ([0-9A-F]{2}:){31}[0-9A-F]{2}$/,
  /^      names     DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1$/
]

function expectLines(t: Tap.Test, got: string[], want: Array<string | RegExp>) {
  t.equal(got.length, want.length, got.join('\n'))
  want.forEach((w, i) => (typeof w === 'string' ? t.equal(got[i], w, `line ${i}`) : t.match(got[i], w, `line ${i}`)))
}
declare namespace Tap {
  type Test = typeof t
}

t.test('a server whose CA is not trusted: exit 1, the code, what it means, the chain it sent', { skip: s2nLimit('with rejectUnauthorized: false s2n verifies nothing (s2n_config_disable_x509_verification), so there is no reason and no peer certificate to report') }, async (t) => {
  const port = await serve(p.leaf)
  const r = await run(['doctor', '--connect', `localhost:${port}`])
  t.equal(r.code, 1)
  expectLines(t, section(r.stdout), [
    `connect localhost:${port} (servername localhost)`,
    /^  FAILED       UNABLE_TO_VERIFY_LEAF_SIGNATURE \(TLS_CERT_UNTRUSTED\): .*unable to verify the first certificate/,
    `    means      ${codeHint('UNABLE_TO_VERIFY_LEAF_SIGNATURE')}`,
    '  chain        1 certificate, leaf first, from the second connection without verification, for display only',
    ...leafLines(),
    'NOT healthy: see the FAILED lines above and the fix under each'
  ])
})

t.test('the same server with --ca: exit 0 and the chain', { skip: s2nLimit('only the validated chain is exposed (leaf to the trust anchor; none without verification), not the certificates the server sent') }, async (t) => {
  const port = await serve(p.leaf)
  const r = await run(['doctor', '--connect', `localhost:${port}`, '--ca', caFile])
  t.equal(r.code, 0, r.stdout)
  expectLines(t, section(r.stdout), [
    `connect localhost:${port} (servername localhost)`,
    `  address      127.0.0.1:${port}`,
    /^  result       TLSv1\.[23], TLS_\w+, ALPN http\/1\.1$/,
    /^  time         \d+\.\d\d ms for DNS \+ TCP connect \+ handshake \(ostls does not time TCP connect separately\)$/,
    '  verified     ok (OS trust store and --ca)',
    '  chain        1 certificate, leaf first, from the verified connection',
    ...leafLines(),
    'healthy'
  ])
})

t.test('an IP address with --servername, and a server the OS trusts by itself', async (t) => {
  const trust = osTrust()
  if (trust.skip) return t.skip(trust.skip)
  const port = await serve(p.oslf)
  // oslf is signed by the osca root, which osTrust() puts into the OS store of the child process.
  const r = await run(['doctor', '--connect', `127.0.0.1:${port}`, '--servername', 'localhost'], trust.env)
  t.equal(r.code, 0, r.stdout)
  t.match(r.stdout, new RegExp(`^connect 127\\.0\\.0\\.1:${port} \\(servername localhost\\)$`, 'm'))
  t.match(r.stdout, /^  verified     ok \(OS trust store\)$/m)
  t.match(r.stdout, /^      issuer    O=ostls tests, CN=ostls test OS root$/m)
})

t.test('verification failures name their code and meaning', { skip: s2nLimit('every chain failure is S2N_ERR_CERT_UNTRUSTED: a self-signed leaf is not told apart from an unknown issuer') }, async (t) => {
  const cases: Array<[string, { key: Buffer; cert: Buffer }, RegExp, RegExp, string?]> = [
    ['expired', p.expired, /^  FAILED       CERT_HAS_EXPIRED \(TLS_CERT_EXPIRED\): /m, /^    means      a certificate in the chain has expired, or this machine's clock is wrong/m, 'EXPIRED'],
    ['wrong name', p.wrongname, /^  FAILED       ERR_TLS_CERT_ALTNAME_INVALID \(TLS_CERT_HOSTNAME_MISMATCH\): /m, /^    means      the certificate is for other names: check the host name \(or --servername\)/m],
    ['self-signed', p.self, /^  FAILED       DEPTH_ZERO_SELF_SIGNED_CERT \(TLS_CERT_UNTRUSTED\): /m, /^    means      the server's certificate is self-signed/m]
  ]
  for (const [name, pair, failed, means, validity] of cases) {
    const port = await serve(pair)
    const r = await run(['doctor', '--connect', `localhost:${port}`, '--ca', caFile])
    t.equal(r.code, 1, name)
    t.match(r.stdout, failed, name)
    t.match(r.stdout, means, name)
    if (validity) t.match(r.stdout, new RegExp(`^      valid     .* \\(${validity}\\)$`, 'm'), `${name}: the chain marks it`)
  }
})

t.test('--insecure reports verification without failing on it, and warns', { skip: s2nLimit('with rejectUnauthorized: false s2n verifies nothing (s2n_config_disable_x509_verification), so there is no reason and no peer certificate to report') }, async (t) => {
  const port = await serve(p.leaf)
  const r = await run(['doctor', '--connect', `localhost:${port}`, '--insecure'])
  t.equal(r.code, 0, r.stdout)
  t.equal(r.stderr, 'ostls: warning: --insecure: --connect reports verification failures without failing on them\n')
  expectLines(t, section(r.stdout).slice(0, 7), [
    `connect localhost:${port} (servername localhost)`,
    '  WARNING      --insecure: the connection is made whatever verification says',
    `  address      127.0.0.1:${port}`,
    /^  result       TLSv1\.[23], /,
    /^  time         /,
    `  unverified   ${loneLeafUntrustedCode()}`,
    `    means      ${codeHint(loneLeafUntrustedCode())}`
  ])
  t.match(r.stdout, /^  chain        1 certificate, leaf first, from the unverified connection \(--insecure\)$/m)
})

t.test('connection failures: refused, timed out', async (t) => {
  const closed = await closedPort()
  const refused = await run(['doctor', '--connect', `127.0.0.1:${closed}`])
  t.equal(refused.code, 1)
  expectLines(t, section(refused.stdout), [
    `connect 127.0.0.1:${closed}`,
    /^  FAILED       ECONNREFUSED \(TLS_CONNECT_FAILED\): /,
    '    means      nothing is listening at that address and port, or a firewall rejects the connection: check the port and that the server runs',
    'NOT healthy: see the FAILED lines above and the fix under each'
  ])
  const silent = await silentServer()
  t.teardown(() => silent.close())
  const slow = await run(['doctor', '--connect', `127.0.0.1:${silent.port}`, '--timeout', '0.5'])
  t.equal(slow.code, 1)
  t.match(slow.stdout, /^  FAILED       ETIMEDOUT \(TLS_TIMEOUT\): no TLS connection to 127\.0\.0\.1:\d+ within 500 ms/m)
  t.match(slow.stdout, /^    means      no answer in time: /m)
})

t.test('--json: one report per --connect, in order', async (t) => {
  const good = await serve(p.leaf)
  const closed = await closedPort()
  const r = await run(['doctor', '--json', '--connect', `localhost:${good}`, '--connect', `[::1]:${closed}`, '--ca', caFile])
  t.equal(r.code, 1)
  const j = JSON.parse(r.stdout)
  t.equal(j.ok, false)
  t.equal(j.connect.length, 2)
  // proxy: on Windows and macOS the OS's proxy settings are consulted and named (test/proxy-system.ts).
  t.same(Object.keys(j.connect[0]).filter((k) => k !== 'proxy').sort(), ['alpn', 'chain', 'chainSource', 'cipher', 'extraCa', 'host', 'insecure', 'node', 'ok', 'port', 'protocol', 'remoteAddress', 'root', 'servername', 'target', 'totalMs', 'verdict', 'verification'])
  t.match(j.connect[0], {
    target: `localhost:${good}`, host: 'localhost', port: good, servername: 'localhost', ok: true, insecure: false, extraCa: true,
    remoteAddress: `127.0.0.1:${good}`, totalMs: Number, protocol: /^TLSv1\.[23]$/, cipher: /^TLS_/, alpn: 'http/1.1',
    verification: { ok: true }, chainSource: 'verified connection',
    chain: [{ subject: 'CN=localhost', issuer: 'O=ostls tests, CN=ostls test CA', validFrom: String, validTo: String, validity: 'valid', fingerprint256: /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/, subjectAltName: /DNS:localhost/ }]
  })
  t.same(Object.keys(j.connect[0].chain[0]).sort(), ['fingerprint256', 'issuer', 'subject', 'subjectAltName', 'validFrom', 'validTo', 'validity'])
  t.match(j.connect[1], { target: `[::1]:${closed}`, host: '::1', port: closed, servername: '', ok: false, chain: [], error: { code: /^E[A-Z]+$/, tlsCode: 'TLS_CONNECT_FAILED', message: String } })
})
