/**
 * An HTTPS server for the drop-in tests. It counts handshakes, and counts the
 * requests whose client offered ALPN "http/1.1": ostls always does, Node's own
 * https client does not, so `viaOstls` proves which TLS stack a request used.
 */
import https from 'node:https'
import http from 'node:http'
import net from 'node:net'
import tls from 'node:tls'
import { pki } from './pki'
import { closer } from './servers'

export interface HttpsServer {
  port: number
  origin: string
  handshakes: number
  requests: number
  viaOstls: number
  server: https.Server
  close(): Promise<void>
}

export async function httpsServer(handler: http.RequestListener, extra: https.ServerOptions = {}): Promise<HttpsServer> {
  const p = pki()
  const server = https.createServer({ key: p.leaf.key, cert: p.leaf.cert, ALPNProtocols: ['http/1.1'], ...extra }, (req, res) => {
    s.requests++
    if ((req.socket as tls.TLSSocket).alpnProtocol === 'http/1.1') s.viaOstls++
    handler(req, res)
  })
  server.on('secureConnection', () => s.handshakes++)
  server.on('tlsClientError', () => {})
  const close = closer(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  const s: HttpsServer = {
    port,
    origin: `https://localhost:${port}`,
    handshakes: 0,
    requests: 0,
    viaOstls: 0,
    server,
    close
  }
  return s
}
