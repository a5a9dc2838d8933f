#!/usr/bin/env node
/*
 * First light on a real OS: the few things only a real Windows or Mac can
 * show, run by the GitHub workflow's macos and windows jobs after the suite,
 * with the output kept as an artifact (the engines are otherwise proven here
 * under Wine, against stand-ins, or compile-only).
 *
 *   1. the same TLS 1.3 host twice with verification, once without, then
 *      with again: protocol, trust, resumption (a session made without
 *      verification must never be the one a verifying connection resumes);
 *   2. 8 MiB written straight after connect() to a local TLS 1.3 server,
 *      which answers the SHA-256 of what it received (post-handshake
 *      messages such as NewSessionTicket arrive while the upload runs);
 *   3. a server that leaves out its intermediate (what the OS does: Windows
 *      may fetch it by AIA, macOS may too, OpenSSL never does);
 *   4. IP literals and SNI against a local server that records the SNI it
 *      got: an IP never goes into SNI (RFC 6066 section 3), and the name
 *      checked is the servername when one is given, the host otherwise
 *      (whether Network.framework puts an IP into SNI is not documented).
 *
 * Needs `npm run build` and the test PKI (test/setup.ts). Public hosts are
 * overridable: FIRST_LIGHT_HOST (default github.com), FIRST_LIGHT_INCOMPLETE
 * (default incomplete-chain.badssl.com). A host that cannot be reached is
 * reported as such and does not fail the run; a wrong hash, a crash, or a
 * resumption across verification settings does (exit 1).
 */
'use strict'
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const tls = require('node:tls')
const ostls = require('../dist/cjs/index.js')

const root = path.join(__dirname, '..')
const pkiDir = process.env.OSTLS_TEST_PKI || path.join(root, 'test', '.pki')
const problems = []

function hostPort(s, port = 443) {
  const m = /^(.*?)(?::(\d+))?$/.exec(s)
  return { host: m[1], port: Number(m[2] || port) }
}

function line(label, value) {
  console.log(`${label.padEnd(28)} ${typeof value === 'string' ? value : JSON.stringify(value)}`)
}

/** One connection: its handshake facts, the first line of the reply to a HEAD request, and its error if any. */
function visit(target, options) {
  return new Promise((resolve) => {
    const s = ostls.connect({ host: target.host, port: target.port, handshakeTimeout: 15000, ...options })
    let reply = ''
    const facts = {}
    s.on('secureConnect', () => {
      Object.assign(facts, {
        protocol: s.getProtocol(),
        authorized: s.authorized,
        authorizationError: s.authorizationError,
        reused: s.isSessionReused()
      })
      s.end(`HEAD / HTTP/1.1\r\nHost: ${target.host}\r\nConnection: close\r\n\r\n`)
    })
    s.on('data', (d) => { reply += d.toString('latin1') })
    s.on('end', () => resolve({ ...facts, reply: reply.split('\r\n')[0] }))
    s.on('error', (e) => resolve({ ...facts, error: `${e.code} (${e.tlsCode || '-'}): ${e.message}` }))
  })
}

async function sameHostTwice() {
  const target = hostPort(process.env.FIRST_LIGHT_HOST || 'github.com')
  console.log(`\n1. ${target.host}:${target.port}: with verification, without, with again`)
  const first = await visit(target, {})
  line('  verified', first)
  if (first.error && !first.protocol) return line('  result', 'not reachable from here: skipped')
  const insecure = await visit(target, { rejectUnauthorized: false })
  line('  rejectUnauthorized false', insecure)
  const again = await visit(target, {})
  line('  verified again', again)
  if (insecure.reused) problems.push('a connection without verification resumed a verified one\'s session')
  if (again.authorized !== true && first.authorized === true) problems.push('the second verified connection was not authorized')
  line('  resumed (verified again)', again.reused ? 'yes' : 'no (the OS may not resume here; not a failure)')
}

async function uploadAfterHandshake() {
  console.log('\n2. 8 MiB written at once after connect(), TLS 1.3, local server')
  const read = (f) => fs.readFileSync(path.join(pkiDir, f))
  let server
  try {
    server = tls.createServer({ key: read('leaf.key'), cert: read('leaf.pem'), minVersion: 'TLSv1.3' }, (sock) => {
      const hash = crypto.createHash('sha256')
      sock.on('data', (d) => hash.update(d))
      sock.on('end', () => sock.end(hash.digest('hex')))
      sock.on('error', () => {})
    })
  } catch (e) {
    return line('  result', `no test PKI in ${pkiDir} (run test/setup.ts): skipped`)
  }
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const payload = crypto.randomBytes(8 << 20)
  const want = crypto.createHash('sha256').update(payload).digest('hex')
  const got = await new Promise((resolve) => {
    const s = ostls.connect({ host: '127.0.0.1', port: server.address().port, servername: 'localhost', ca: read('ca.pem') })
    let answer = ''
    s.write(payload)
    s.end()
    s.on('data', (d) => { answer += d })
    s.on('end', () => resolve({ answer, protocol: s.getProtocol() }))
    s.on('error', (e) => resolve({ error: `${e.code}: ${e.message}` }))
  })
  server.close()
  line('  protocol', got.protocol || '-')
  line('  sent sha256', want)
  line('  server got', got.answer || got.error)
  if (got.answer !== want) problems.push(`the 8 MiB upload arrived changed or not at all (${got.error || got.answer})`)
}

async function missingIntermediate() {
  const target = hostPort(process.env.FIRST_LIGHT_INCOMPLETE || 'incomplete-chain.badssl.com')
  console.log(`\n3. ${target.host}:${target.port}: a server that leaves out its intermediate`)
  const r = await visit(target, {})
  line('  result', r)
  if (r.error && !r.protocol && !/TLS_CERT|CERT|VERIFY|ISSUER/.test(r.error)) {
    line('  means', 'not reachable from here (or not a certificate failure): no verdict')
  } else {
    line('  means', r.authorized ? 'the OS completed the chain itself (AIA fetch)' : 'the OS refused the incomplete chain')
  }
}

/** Connect to the local server; what SNI it saw and whether the OS verified. */
function sniVisit(port, ca, options) {
  return new Promise((resolve) => {
    const s = ostls.connect({ port, ca, handshakeTimeout: 10000, ...options })
    s.on('secureConnect', () => s.end())
    s.on('data', (d) => { s.sni = d.toString().replace(/^sni:/, '') })
    s.on('end', () => resolve({ authorized: s.authorized, sni: s.sni === undefined ? '(no reply)' : s.sni || '(none)' }))
    s.on('error', (e) => resolve({ error: `${e.code} (${e.tlsCode || '-'})`, sni: s.sni || '(none)' }))
  })
}

async function ipLiteralSni() {
  console.log('\n4. IP literals and SNI, local server (certificate for localhost, 127.0.0.1, ::1)')
  const read = (f) => fs.readFileSync(path.join(pkiDir, f))
  let server
  try {
    server = tls.createServer({ key: read('leaf.key'), cert: read('leaf.pem') }, (sock) => {
      sock.on('error', () => {})
      sock.end(`sni:${sock.servername || ''}`)
    })
  } catch (e) {
    return line('  result', `no test PKI in ${pkiDir} (run test/setup.ts): skipped`)
  }
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  const port = server.address().port
  const ca = read('ca.pem')
  const cases = [
    ['host 127.0.0.1', { host: '127.0.0.1' }, '(none)'],
    ['host 127.0.0.1, servername localhost', { host: '127.0.0.1', servername: 'localhost' }, 'localhost'],
    ['host localhost, servername 127.0.0.1', { host: 'localhost', servername: '127.0.0.1' }, '(none)']
  ]
  for (const [label, options, sni] of cases) {
    const r = await sniVisit(port, ca, options)
    line(`  ${label}`, r)
    if (r.error || r.authorized !== true) problems.push(`${label}: not verified (${r.error || 'unauthorized'})`)
    else if (r.sni !== sni) problems.push(`${label}: the server saw SNI ${r.sni}, expected ${sni}`)
  }
  server.close()
}

async function main() {
  const info = ostls.backendInfo()
  console.log(`ostls first light: ${process.platform} ${process.arch}, node ${process.version}`)
  line('backend', `${info.backend} ${info.version || ''}`.trim())
  await sameHostTwice()
  await uploadAfterHandshake()
  await missingIntermediate()
  await ipLiteralSni()
  console.log(problems.length ? `\nFAILED:\n- ${problems.join('\n- ')}` : '\nfirst light: nothing wrong seen')
  process.exitCode = problems.length ? 1 : 0
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
