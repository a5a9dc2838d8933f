// `ostls doctor --connect`: Node's own tls beside the OS's verdict, and --export-root.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import { X509Certificate } from 'node:crypto'
import { osTrust } from './helpers/ostrust'
import { loneLeafUntrustedCode, s2nLimit, nwHttpsProxyGap } from './helpers/platform'
import { run } from './helpers/cli'
import { pki, pkiDir } from './helpers/pki'
import { tlsServer, TestServer } from './helpers/servers'
import { connectProxy } from './helpers/proxy'


const p = pki()
const caFile = path.join(pkiDir, 'ca.pem')
const oscaFile = path.join(pkiDir, 'osca.pem')
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ostls-verdict-'))
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }))

const servers: TestServer[] = []
async function serve(pair: { key: Buffer; cert: Buffer }): Promise<number> {
  const s = await tlsServer(pair, (sock) => sock.end(), { ALPNProtocols: ['http/1.1'] })
  servers.push(s)
  return s.port
}
t.teardown(() => Promise.all(servers.map((s) => s.close())))

/** The CLI with Node's extra CAs under the test's control (this machine may set NODE_EXTRA_CA_CERTS for everything). */
const doctor = (args: string[], env: NodeJS.ProcessEnv = {}) => run(['doctor', ...args], { NODE_EXTRA_CA_CERTS: '', ...env })

const nodeLine = (result: string, extra?: string) =>
  `  node         ${result} (Node's own tls: Node's bundled roots${extra ? ` + NODE_EXTRA_CA_CERTS (${extra})` : ''})`

t.test('the OS trusts a private root that Node does not: the verdict says so and --export-root writes that root', async (t) => {
  const trust = osTrust()
  if (trust.skip) return t.skip(trust.skip)
  const port = await serve(p.oslf)
  const file = path.join(tmp, 'root.pem')
  const r = await doctor(['--connect', `localhost:${port}`, '--export-root', file], trust.env)
  t.equal(r.code, 0, r.stdout)
  t.match(r.stdout, /^  verified     ok \(OS trust store\)$/m)
  const nodeCode = /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/.exec(r.stdout)?.[0] ?? 'none'
  t.match(r.stdout, '\n' + nodeLine(nodeCode) + '\n', "Node's own words for an unknown issuer")
  t.match(r.stdout, `\n  verdict      Node: ${nodeCode} · OS: trusted (root 'ostls test OS root' from the OS store)\n`)
  t.match(r.stdout, /^    means      a TLS-inspecting proxy or private root: the OS trusts it, Node does not → use ostls \(require\('ostls\/register'\), or connect\(\)\/Agent\/fetch\), or give Node the root with NODE_EXTRA_CA_CERTS=<file> \(--export-root <file> writes it as PEM\)$/m)
  t.match(r.stdout, /^  root         O=ostls tests, CN=ostls test OS root \(sha256 ([0-9A-F]{2}:){31}[0-9A-F]{2}\): the root the OS chain ended at$/m)
  t.match(r.stdout, `\nexport root\n  wrote        ${file}: 1 root (PEM) the OS chain ended at\n  root         O=ostls tests, CN=ostls test OS root\n  use          NODE_EXTRA_CA_CERTS=${file} makes Node's own tls trust it too\n`)
  // The file is the OS root itself, and it is what makes Node succeed.
  const written = fs.readFileSync(file, 'utf8')
  t.equal(new X509Certificate(written).fingerprint256, new X509Certificate(p.osca).fingerprint256)
  const node = await new Promise<boolean>((resolve) => {
    const s = tls.connect({ host: 'localhost', port, ca: written }, () => {
      resolve(s.authorized)
      s.destroy()
    })
    s.on('error', () => resolve(false))
  })
  t.equal(node, true, "Node's tls trusts the server given the exported file")
  // And through the variable Node reads, doctor's verdict becomes "both".
  const again = await doctor(['--connect', `localhost:${port}`], { ...trust.env, NODE_EXTRA_CA_CERTS: file })
  t.equal(again.code, 0, again.stdout)
  t.match(again.stdout, '\n' + nodeLine('trusted', file) + '\n')
  t.match(again.stdout, /^    means      Node and the OS both trust this server: Node's own tls works here \(with NODE_EXTRA_CA_CERTS\), and so does ostls$/m)
})

t.test('Node trusts (NODE_EXTRA_CA_CERTS) what the OS does not: the verdict points at the OS store', async (t) => {
  const port = await serve(p.leaf)
  const file = path.join(tmp, 'none.pem')
  const r = await doctor(['--connect', `localhost:${port}`, '--export-root', file], { NODE_EXTRA_CA_CERTS: caFile })
  t.equal(r.code, 1, r.stdout)
  t.match(r.stdout, '\n' + nodeLine('trusted', caFile) + '\n')
  t.match(r.stdout, `\n  verdict      Node: trusted · OS: ${loneLeafUntrustedCode()}\n`)
  t.match(r.stdout, /^    means      Node trusts it, the OS does not: the root is in Node's bundled list or NODE_EXTRA_CA_CERTS but not in the OS trust store → add the root to the OS trust store, or pass it to ostls with the ca option \(--ca here\)$/m)
  t.notMatch(r.stdout, /^  root /m, 'no OS root to show')
  t.match(r.stdout, `\nexport root\n  FAILED       ${file}: nothing written: the OS trusted none of the --connect servers, so there is no OS root to export\n`)
  t.equal(fs.existsSync(file), false)
})

t.test('a server neither trusts, and one whose certificate is at fault', { skip: s2nLimit('every chain failure is S2N_ERR_CERT_UNTRUSTED: an expired certificate is not told apart from an unknown issuer') }, async (t) => {
  const unknown = await serve(p.leaf)
  const r = await doctor(['--connect', `localhost:${unknown}`])
  t.equal(r.code, 1)
  t.match(r.stdout, new RegExp(`^  verdict      Node: (UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY) · OS: ${loneLeafUntrustedCode()}$`, 'm'))
  t.match(r.stdout, /^    means      neither Node nor the OS knows this server's root: /m)
  const expired = await serve(p.expired)
  const e = await doctor(['--connect', `localhost:${expired}`, '--ca', caFile], { NODE_EXTRA_CA_CERTS: caFile })
  t.equal(e.code, 1)
  t.match(e.stdout, "\n  verdict      Node: CERT_HAS_EXPIRED · OS: CERT_HAS_EXPIRED\n")
  t.match(e.stdout, /^    means      neither Node nor the OS trusts it: the certificate itself is at fault \(see the code above\), which no trust store fixes$/m)
})

t.test('--json: both verdicts, the OS root as PEM, and exportRoot', async (t) => {
  const trust = osTrust()
  if (trust.skip) return t.skip(trust.skip)
  const port = await serve(p.oslf)
  const file = path.join(tmp, 'json-root.pem')
  const r = await doctor(['--json', '--connect', `localhost:${port}`, '--export-root', file], trust.env)
  t.equal(r.code, 0, r.stdout)
  const j = JSON.parse(r.stdout)
  const c = j.connect[0]
  t.match(c.verification, { ok: true })
  t.match(c.node, { trusted: false, code: /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/, trust: "Node's bundled roots" })
  t.same(Object.keys(c.node).sort(), ['code', 'trust', 'trusted'])
  t.match(c.verdict, { kind: 'os-only', summary: `Node: ${c.node.code} · OS: trusted (root 'ostls test OS root' from the OS store)`, means: /^a TLS-inspecting proxy or private root/ })
  t.match(c.root, { subject: 'O=ostls tests, CN=ostls test OS root', fingerprint256: /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/, pem: /^-----BEGIN CERTIFICATE-----\n/ })
  t.same(j.exportRoot, { file, written: true, roots: [{ subject: c.root.subject, fingerprint256: c.root.fingerprint256 }] })
  t.equal(fs.readFileSync(file, 'utf8').includes(c.root.pem), true)
})

t.test('Node takes the same proxy as ostls', async (t) => {
  const proxy = await connectProxy()
  t.teardown(() => proxy.close())
  const port = await serve(p.leaf)
  const r = await doctor(['--json', '--connect', `localhost:${port}`], { HTTPS_PROXY: proxy.url, NO_PROXY: '', NODE_EXTRA_CA_CERTS: caFile })
  const c = JSON.parse(r.stdout).connect[0]
  t.same(c.node, { trusted: true, trust: `Node's bundled roots + NODE_EXTRA_CA_CERTS (${caFile})` })
  t.equal(c.verdict.kind, 'node-only')
  t.equal(proxy.tunnels, 3, 'ostls (verified, then for display) and Node each tunnelled through the proxy')
})

t.test("Node takes the same https:// proxy, verifying the proxy with Node's own trust", { skip: nwHttpsProxyGap }, async (t) => {
  const proxy = await connectProxy({ tls: p.leaf })
  t.teardown(() => proxy.close())
  const port = await serve(p.leaf)
  const env = { HTTPS_PROXY: proxy.url, NO_PROXY: '' }
  const r = await doctor(['--json', '--ca', caFile, '--connect', `localhost:${port}`], { ...env, NODE_EXTRA_CA_CERTS: caFile })
  const c = JSON.parse(r.stdout).connect[0]
  t.match(c.verification, { ok: true }, 'ostls verified the proxy and the origin')
  t.same(c.node, { trusted: true, trust: `Node's bundled roots + NODE_EXTRA_CA_CERTS (${caFile})` })
  t.equal(c.verdict.kind, 'both')
  t.equal(proxy.tunnels, 2, 'ostls and Node each tunnelled through the https:// proxy')
  // Node does not trust the proxy's certificate: Node's side fails at the proxy, and says so.
  const untrusted = await doctor(['--json', '--ca', caFile, '--connect', `localhost:${port}`], env)
  const u = JSON.parse(untrusted.stdout).connect[0]
  t.match(u.verification, { ok: true }, 'ostls trusts the proxy through --ca')
  t.match(u.node, { trusted: false, error: { code: /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/, message: /^TLS to proxy 127\.0\.0\.1 failed \(Node's own trust\): /, proxyTls: true } })
  t.equal(u.verdict.kind, 'unknown')
  t.match(u.verdict.means, /^no comparison: Node's own trust refused the https:\/\/ proxy's certificate \(UNABLE_TO_[A-Z_]+\), so Node never reached this server; ostls verified the proxy with the OS's trust$/)
  t.equal(proxy.tunnels, 3, 'no CONNECT from Node through a proxy it does not trust')
  const text = await doctor(['--ca', caFile, '--connect', `localhost:${port}`], env)
  t.match(text.stdout, /^  node         no handshake: [A-Z_]+: TLS to proxy 127\.0\.0\.1 failed \(Node's own trust\): /m)
})

t.test('--export-root needs --connect', async (t) => {
  const r = await doctor(['--export-root', path.join(tmp, 'x.pem')])
  t.equal(r.code, 2)
  t.match(r.stderr, /--export-root apply to --connect/)
})
