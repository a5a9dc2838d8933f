/**
 * `ostls get <url>`: an HTTPS GET (or HEAD with -I) through ostls, using
 * Node's own HTTP client over connect() (createConnection), following redirects.
 */
import fs from 'node:fs'
import https from 'node:https'
import { IncomingMessage } from 'node:http'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parseArgs } from 'node:util'
import { normalizeProxyUrl, proxyFor, ProxySetting } from '../proxy-env'
import { connect } from '../stream'
import { readCaFiles } from './ca'
import { identityArgs, identityFromArgs, identityHelp } from './identity'
import type { IdentityOptions } from '../identity'
import { progressBar } from './progress'
import { CliError, usageError } from './style'

export const getHelp = `usage: ostls get [options] <https-url>

Fetches the URL over HTTPS through the OS's TLS stack and writes the body to
stdout. Only https:// URLs: a plain http:// URL is refused (exit 2), and so is
a redirect to one (exit 1).

options:
  -o, --output file       write the body to file; a progress bar (size, rate,
                          ETA) is drawn on stderr when stderr is a terminal
  -I, --head              send HEAD and print the status line and headers of
                          every response, redirects included
  -H, --header "K: V"     add a request header; repeatable (Authorization and
                          Cookie are dropped on a redirect to another origin)
  --ca file               PEM file of CAs to trust in addition to the OS trust
                          store; repeatable
  --insecure              do not verify the server's certificate (warns; for
                          diagnosis only)
${identityHelp}  --max-redirects n       follow at most n redirects (default 10; 0: none)
  --timeout seconds       for connecting and between reads (default 30)
  --proxy url             tunnel through this http:// or https:// proxy
                          (CONNECT), ignoring the environment; user:password@
                          in it is sent as Basic
  --no-proxy              connect directly, ignoring the environment
                          (default: https_proxy, HTTPS_PROXY, all_proxy,
                          ALL_PROXY and NO_PROXY, as curl reads them; without
                          them, the Windows or macOS proxy settings)
  -h, --help              show this help

A final status outside 2xx still writes the body (or headers), then exits 1
with "ostls: HTTP_<status>: ...", so scripts can tell it from success.
Progress and status lines go to stderr; stdout carries only the body or headers.

exit code: 0 a 2xx response, 1 a failure (network, TLS, HTTP status, too many
redirects), 2 bad usage.
`

interface GetOptions {
  url: URL
  output?: string
  head: boolean
  headers: Record<string, string>
  ca: Buffer[]
  identity: IdentityOptions
  insecure: boolean
  maxRedirects: number
  timeoutMs: number
  proxy: ProxySetting
}

function parse(argv: string[]): GetOptions | 'help' {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o' },
        head: { type: 'boolean', short: 'I' },
        header: { type: 'string', short: 'H', multiple: true },
        ca: { type: 'string', multiple: true },
        insecure: { type: 'boolean' },
        ...identityArgs,
        'max-redirects': { type: 'string' },
        timeout: { type: 'string' },
        proxy: { type: 'string' },
        'no-proxy': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' }
      }
    })
  } catch (e) {
    throw usageError(e, 'get')
  }
  const { values: v, positionals } = parsed
  if (v.help) return 'help'
  const bad = (msg: string) => new CliError('ERR_INVALID_ARG_VALUE', `${msg}; see \`ostls get --help\``, 2)
  if (positionals.length !== 1) throw bad(positionals.length ? `one URL at a time, got ${positionals.length}` : 'no URL given')
  let url: URL
  try {
    url = new URL(positionals[0])
  } catch {
    throw bad(`not a URL: ${JSON.stringify(positionals[0])}`)
  }
  if (url.protocol === 'http:') throw new CliError('ERR_UNSUPPORTED_PROTOCOL', `ostls get fetches https:// URLs only (ostls is a TLS library): use https://${url.host}${url.pathname}${url.search}, or another client for plain HTTP`, 2)
  if (url.protocol !== 'https:') throw bad(`unsupported URL scheme ${url.protocol} (only https:)`)
  const maxRedirects = v['max-redirects'] === undefined ? 10 : Number(v['max-redirects'])
  if (!Number.isInteger(maxRedirects) || maxRedirects < 0) throw bad(`--max-redirects wants a whole number, got ${JSON.stringify(v['max-redirects'])}`)
  const timeout = v.timeout === undefined ? 30 : Number(v.timeout)
  if (!(timeout > 0)) throw bad(`--timeout wants a number of seconds, got ${JSON.stringify(v.timeout)}`)
  const headers: Record<string, string> = {}
  for (const h of v.header ?? []) {
    const i = h.indexOf(':')
    if (i <= 0) throw bad(`--header wants "Name: value", got ${JSON.stringify(h)}`)
    headers[h.slice(0, i).trim()] = h.slice(i + 1).trim()
  }
  if (v.proxy !== undefined && v['no-proxy']) throw bad('--proxy and --no-proxy contradict each other')
  let proxy: ProxySetting = 'system'
  if (v['no-proxy']) proxy = false
  else if (v.proxy !== undefined) {
    try {
      proxy = normalizeProxyUrl(v.proxy, '--proxy')
    } catch (e) {
      throw bad((e as Error).message)
    }
  }
  return { url, output: v.output, head: Boolean(v.head), headers, ca: readCaFiles(v.ca), insecure: Boolean(v.insecure), maxRedirects, timeoutMs: timeout * 1000, proxy, identity: identityFromArgs(v) }
}

function request(o: GetOptions, url: URL, headers: Record<string, string>): Promise<IncomingMessage> {
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const port = Number(url.port || 443)
  return new Promise((resolve, reject) => {
    const proxy = proxyFor(host, port, o.proxy).url
    const req = https.request(
      {
        host,
        port,
        method: o.head ? 'HEAD' : 'GET',
        path: url.pathname + url.search,
        headers: { 'user-agent': 'ostls-get', ...headers },
        timeout: o.timeoutMs,
        createConnection: () =>
          connect({
            host,
            port,
            ca: o.ca.length ? o.ca : undefined,
            rejectUnauthorized: !o.insecure,
            ...o.identity,
            ALPNProtocols: ['http/1.1'],
            handshakeTimeout: o.timeoutMs,
            proxy
          }) as never
      },
      resolve
    )
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no data from ${url.host} for ${o.timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })))
    req.on('error', (e: Error & { code?: string; tlsCode?: string }) => {
      if (e.tlsCode?.startsWith('TLS_CERT_')) e.message += `; \`ostls doctor --connect ${url.host}\` shows the chain and what ${e.code} usually means`
      reject(e)
    })
    req.end()
  })
}

function headerBlock(res: IncomingMessage): string {
  const lines = [`HTTP/${res.httpVersion} ${res.statusCode} ${res.statusMessage ?? ''}`.trimEnd()]
  for (let i = 0; i < res.rawHeaders.length; i += 2) lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`)
  return lines.join('\r\n') + '\r\n\r\n'
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])

/** Follows redirects; returns the final response (its body not yet read). */
async function fetchFinal(o: GetOptions, out: NodeJS.WritableStream): Promise<{ res: IncomingMessage; url: URL }> {
  let url = o.url
  let headers = { ...o.headers }
  for (let hops = 0; ; hops++) {
    const res = await request(o, url, headers)
    const location = res.headers.location
    if (!REDIRECTS.has(res.statusCode ?? 0) || !location) return { res, url }
    if (o.head) out.write(headerBlock(res))
    res.resume()
    const next = new URL(location, url)
    if (next.protocol !== 'https:') throw new CliError('ERR_INSECURE_REDIRECT', `${url.href} redirects to ${next.href}: ostls get follows https:// redirects only`)
    if (hops >= o.maxRedirects) throw new CliError('ERR_TOO_MANY_REDIRECTS', `more than ${o.maxRedirects} redirect${o.maxRedirects === 1 ? '' : 's'}; the last one pointed to ${next.href}`)
    if (next.origin !== url.origin) {
      headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !/^(authorization|cookie)$/i.test(k)))
    }
    url = next
  }
}

export async function runGet(argv: string[], out: NodeJS.WriteStream, err: NodeJS.WriteStream): Promise<number> {
  const o = parse(argv)
  if (o === 'help') {
    out.write(getHelp)
    return 0
  }
  if (o.insecure) err.write('ostls: warning: --insecure: the server\'s certificate is NOT verified; anyone on the path can read and change this transfer\n')
  const { res, url } = await fetchFinal(o, out)
  if (o.head) {
    out.write(headerBlock(res))
    res.resume()
  } else {
    const sink = o.output ? fs.createWriteStream(o.output) : out
    // Progress only when the body is not itself going to the terminal.
    const toTerminal = !o.output && out.isTTY
    const length = Number(res.headers['content-length'])
    const bar = err.isTTY && !toTerminal ? progressBar(err, Number.isFinite(length) && length >= 0 ? length : undefined) : undefined
    const count = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bar?.add(chunk.length)
        cb(null, chunk)
      }
    })
    try {
      await pipeline(res, count, sink, { end: sink !== out })
    } finally {
      bar?.stop()
    }
  }
  const status = res.statusCode ?? 0
  if (status < 200 || status > 299) {
    throw new CliError(`HTTP_${status}`, `the server answered ${status} ${res.statusMessage ?? ''}`.trimEnd() + ` for ${url.href}`)
  }
  return 0
}
