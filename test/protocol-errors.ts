// What a peer that is not (or not only) a TLS 1.2+ server gets reported as:
// not TLS at all or malformed TLS is TLS_PROTOCOL_ERROR; only a real older
// version (a TLS 1.0 / SSLv3 ServerHello, a protocol_version alert) is
// TLS_PROTOCOL_VERSION. Messages name the peer once.
import t from 'tap'
import { scriptedServer } from './helpers/servers'
import { failure } from './helpers/client'
import { record, serverHello } from './helpers/tls-bytes'
import { wineGap } from './helpers/platform'

// Where Wine's Schannel does not say the right code (todo there, named).
const malformed = wineGap('malformed records come back as SEC_E_INTERNAL_ERROR')

const cases: Array<[string, Buffer, string, string?]> = [
  ['an HTTP reply', Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'), 'TLS_PROTOCOL_ERROR'],
  ['an SSH banner', Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'), 'TLS_PROTOCOL_ERROR'],
  ['binary garbage', Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]), 'TLS_PROTOCOL_ERROR'],
  ['an oversize record header (64 KiB handshake record)', Buffer.concat([Buffer.from([22, 3, 3, 0xff, 0xff]), Buffer.alloc(64)]), 'TLS_PROTOCOL_ERROR'],
  ['a one-byte alert record (too small)', Buffer.concat([record(21, 3, Buffer.from([2])), record(22, 3, Buffer.alloc(10))]), 'TLS_PROTOCOL_ERROR', malformed],
  ['40 empty handshake records', Buffer.concat(Array.from({ length: 40 }, () => record(22, 3, Buffer.alloc(0)))), 'TLS_PROTOCOL_ERROR', malformed],
  ['a ServerHello shorter than its header says', record(22, 3, Buffer.from([2, 0, 0, 3, 3, 3, 0])), 'TLS_PROTOCOL_ERROR', malformed],
  ['an application-data record instead of ServerHello', record(23, 3, Buffer.alloc(32, 1)), 'TLS_PROTOCOL_ERROR'],
  ['a TLS 1.0 ServerHello', serverHello(1), 'TLS_PROTOCOL_VERSION'],
  ['an SSLv3 ServerHello', serverHello(0), 'TLS_PROTOCOL_VERSION'],
  ['a protocol_version alert', record(21, 1, Buffer.from([2, 70])), 'TLS_PROTOCOL_VERSION']
]

for (const [what, bytes, code, todo] of cases) {
  t.test(`${what} -> ${code}`, { todo }, async (t) => {
    const srv = await scriptedServer(bytes)
    t.teardown(() => srv.close())
    const err = await failure({ host: '127.0.0.1', port: srv.port, servername: 'localhost', rejectUnauthorized: false })
    t.equal(err.tlsCode, code, err.message)
    t.equal(err.code, code)
    const count = (s: string) => err.message.split(s).length - 1
    t.ok(count('127.0.0.1') <= 1 && count(String(srv.port)) <= 1, `names the peer once: ${err.message}`)
  })
}
