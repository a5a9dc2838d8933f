// TLSStream is a real socket substitute: Node's own HTTPS client runs over it.
import t from 'tap'
import https from 'node:https'
import { connect } from '../dist/cjs/index'
import { pki } from './helpers/pki'

const p = pki()

t.test('https.request over createConnection gets a real response', async (t) => {
  let handshakes = 0
  const server = https.createServer({ key: p.leaf.key, cert: p.leaf.cert }, (req, res) => {
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', () => {
      res.setHeader('content-type', 'text/plain')
      res.end(`${req.method} ${req.url} ${body}`)
    })
  })
  server.on('secureConnection', () => handshakes++)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => server.close())
  const port = (server.address() as import('node:net').AddressInfo).port

  const res = await new Promise<{ status?: number; type?: string; body: string }>((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/echo?x=1',
        createConnection: () => connect({ host: '127.0.0.1', port, servername: 'localhost', ca: p.ca }) as never
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d) => (body += d))
        res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body }))
      }
    )
    req.on('error', reject)
    req.end('payload')
  })
  t.same(res, { status: 200, type: 'text/plain', body: 'POST /echo?x=1 payload' })
  t.equal(handshakes, 1, 'the request went through one ostls handshake')
})
