#!/usr/bin/env node
/*
 * bench/node-server.js — the bulk scenarios' server as a Node `tls` server,
 * so the receive/send rows are measured against a second kind of peer (issue
 * 15: a gain measured against one server may depend on that server).
 *
 *   node bench/node-server.js <source|sink> <cert.pem> <key.pem> [bytes]
 *     source  after the handshake send <bytes> bytes (256 KiB writes), then end
 *     sink    read and discard until the client ends, then end
 *
 * OSTLS_BENCH_TLS=1.2 caps the protocol at TLS 1.2. Prints "PORT <n>" on
 * stdout once listening on 127.0.0.1. Runs until killed.
 */
'use strict'
const fs = require('node:fs')
const tls = require('node:tls')

const [mode, certFile, keyFile, bytesArg] = process.argv.slice(2)
const total = Number(bytesArg || 0)
const CHUNK = 256 * 1024
const blob = Buffer.alloc(CHUNK)
for (let i = 0; i < CHUNK; i++) blob[i] = 97 + (i % 26)

const server = tls.createServer({
  cert: fs.readFileSync(certFile),
  key: fs.readFileSync(keyFile),
  maxVersion: process.env.OSTLS_BENCH_TLS === '1.2' ? 'TLSv1.2' : 'TLSv1.3',
  // No tickets: a client that hangs up right after its handshake leaves nothing unread.
  ticketKeys: undefined,
  sessionTimeout: 0
}, (sock) => {
  sock.setNoDelay(true)
  sock.on('error', () => {})
  if (mode === 'source') {
    let sent = 0
    const more = () => {
      while (sent < total) {
        const n = Math.min(CHUNK, total - sent)
        sent += n
        if (!sock.write(n === CHUNK ? blob : blob.subarray(0, n))) return sock.once('drain', more)
      }
      sock.end()
    }
    more()
    sock.resume()
  } else {
    sock.on('data', () => {})
    sock.on('end', () => sock.end())
  }
})
server.listen(0, '127.0.0.1', () => process.stdout.write(`PORT ${server.address().port}\n`))
