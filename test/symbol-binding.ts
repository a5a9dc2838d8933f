// The library's own calls reach its own code whatever the host process exports.
// The https:// proxy's inner connection calls ostls's public tls_* functions
// from inside the library; on ELF the host's symbols come first unless the
// library is linked -Bsymbolic, and Node 22+ exports its OpenSSL's internal
// tls_free: proxy_free then called that one (SIGSEGV). Here a preloaded
// object exports the same names, each aborting with a message, and a
// connection through an https:// proxy must still work.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { pkiDir } from './helpers/pki'
import { nwHttpsProxyGap } from './helpers/platform'

const names = ['tls_free', 'tls_close', 'tls_read', 'tls_write', 'tls_connect', 'tls_handshake', 'tls_info', 'tls_set_option']
const cc = process.env.CC || 'cc'
const haveCc = process.platform === 'linux' && spawnSync(cc, ['--version']).status === 0
const skip = process.platform !== 'linux'
  ? 'ELF symbol interposition: Windows DLLs and macOS two-level namespaces bind a library to itself'
  : !haveCc ? `no C compiler (${cc}) to build the interposing object`
  : nwHttpsProxyGap

t.test('an https:// proxy connection works while the host exports tls_free & co. (-Bsymbolic)', { skip }, (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ostls-interpose-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const src = path.join(dir, 'trap.c')
  fs.writeFileSync(src, '#include <stdio.h>\n#include <stdlib.h>\n' + names.map((n) =>
    `void ${n}(void) { fputs("interposed: the library called the host's ${n}\\n", stderr); abort(); }\n`).join(''))
  const so = path.join(dir, 'trap.so')
  const built = spawnSync(cc, ['-shared', '-fPIC', '-o', so, src], { encoding: 'utf8' })
  t.equal(built.status, 0, built.stderr)

  const child = path.join(dir, 'child.js')
  fs.writeFileSync(child, `
const fs = require('fs'), tls = require('tls'), http = require('http'), net = require('net')
const ostls = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'cjs', 'index.js'))})
const read = (f) => fs.readFileSync(${JSON.stringify(pkiDir)} + '/' + f)
const tlsOpts = { key: read('leaf.key'), cert: read('leaf.pem') }
const origin = tls.createServer(tlsOpts, (s) => s.end('through'))
const proxy = http.createServer()
proxy.on('connect', (req, sock, head) => {
  const up = net.connect(Number(req.url.split(':')[1]), '127.0.0.1', () => { sock.write('HTTP/1.1 200 OK\\r\\n\\r\\n'); up.write(head); up.pipe(sock); sock.pipe(up) })
  up.on('error', () => sock.destroy()); sock.on('error', () => up.destroy())
})
const front = tls.createServer(tlsOpts, (s) => proxy.emit('connection', s))
origin.listen(0, '127.0.0.1', () => front.listen(0, '127.0.0.1', () => {
  const s = ostls.connect({ host: 'localhost', port: origin.address().port, ca: read('ca.pem'),
    proxy: 'https://127.0.0.1:' + front.address().port })
  let got = ''
  s.on('data', (d) => { got += d })
  s.on('end', () => { s.destroy(); console.log('got ' + got); origin.close(); front.close(); process.exit(0) })
  s.on('error', (e) => { console.log('error ' + e.code + ' ' + e.message); process.exit(1) })
}))
`)
  const env = { ...process.env, LD_PRELOAD: [process.env.LD_PRELOAD, so].filter(Boolean).join(':') }
  const r = spawnSync(process.execPath, [child], { env, encoding: 'utf8', timeout: 60_000 })
  t.equal(r.signal, null, `no signal; stderr: ${r.stderr}`)
  t.notMatch(r.stderr, /interposed/)
  t.equal(r.stdout.trim(), 'got through', r.stderr)
  t.end()
})
