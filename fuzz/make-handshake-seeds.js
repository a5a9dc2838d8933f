#!/usr/bin/env node
// Regenerates fuzz/corpus/handshake/: real server flights recorded from
// `openssl s_server` (with assets/selftest's certificate) answering ostls's
// own client through a recording proxy, plus a few non-TLS answers. Each
// seed is fuzz/targets/handshake.c's input: flags byte, chunk byte, then the
// server's bytes. Needs dist/ (npm run build) and the openssl command.
'use strict'
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const path = require('node:path')
const { connect } = require('../dist/cjs/index')

const root = path.resolve(__dirname, '..')
const out = path.join(__dirname, 'corpus', 'handshake')
const assets = path.join(root, 'assets', 'selftest')

const scenarios = {
  'tls13': [],
  'tls13-hrr': ['-groups', 'P-384'],
  'tls12-ecdhe-gcm': ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256'],
  'tls12-ecdhe-cbc': ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA'],
  'tls10-only': ['-tls1', '-cipher', 'ALL:@SECLEVEL=0']
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

async function record(args) {
  const port = await freePort()
  const server = spawn('openssl', ['s_server', '-accept', String(port), '-naccept', '1',
    '-cert', path.join(assets, 'server.pem'), '-key', path.join(assets, 'server.key'), ...args],
  { stdio: ['pipe', 'pipe', 'ignore'] })
  let said = ''
  await new Promise((resolve, reject) => {
    server.stdout.on('data', (d) => {
      said += d
      if (said.includes('ACCEPT')) resolve()
    })
    server.on('exit', () => reject(new Error(`openssl s_server ${args.join(' ')} exited: ${said}`)))
  })
  server.stdout.resume()
  const chunks = []
  const proxy = net.createServer((client) => {
    const up = net.connect(port, '127.0.0.1')
    up.on('data', (d) => chunks.push(d))
    client.pipe(up).pipe(client)
    up.on('error', () => client.destroy())
    client.on('error', () => up.destroy())
  })
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r))
  await new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port: proxy.address().port, servername: 'localhost', rejectUnauthorized: false })
    s.on('secureConnect', () => setTimeout(() => s.end(), 200))
    s.on('error', () => resolve())
    s.on('close', () => resolve())
    s.resume()
  })
  proxy.close()
  server.kill()
  return Buffer.concat(chunks)
}

async function main() {
  fs.mkdirSync(out, { recursive: true })
  const seed = (name, flags, chunk, bytes) => fs.writeFileSync(path.join(out, name), Buffer.concat([Buffer.from([flags, chunk]), bytes]))
  for (const [name, args] of Object.entries(scenarios)) {
    const bytes = await record(args)
    console.log(`${name}: ${bytes.length} bytes from the server`)
    seed(name, 0, 0, bytes)
    if (name === 'tls13') {
      seed('tls13-verify-none-1byte-reset', 1 | 16 | 32, 0, bytes)
      seed('tls13-alpn-close', 8 | 64, 0, bytes)
    }
    if (name === 'tls12-ecdhe-gcm') seed('tls12-max12-chunks7', 2 | 16, 6, bytes)
  }
  seed('http-reply', 0, 0, Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'))
  seed('fatal-alert', 0, 0, Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]))
  seed('oversize-record', 0, 0, Buffer.from([0x16, 0x03, 0x03, 0xff, 0xff, 0x02]))
  seed('empty', 0, 0, Buffer.alloc(0))
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
