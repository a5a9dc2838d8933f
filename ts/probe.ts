/**
 * `ostls doctor --connect host:port`: one handshake with a real server, and
 * everything needed to understand its outcome (chain, verification, hint).
 */
import net from 'node:net'
import { connect, ConnectOptions, TLSStream } from './stream'
import { desktopProxyHint, displayProxy, NO_PROXY_CONFIGURED, proxyFor, ProxyChoice, ProxySetting } from './proxy-env'
import { certFromPem, PeerCertificate } from './cert'
import { codeHint } from './hints'
import { nodeProbe, NodeVerdict } from './node-probe'
import { verdict, Verdict } from './verdict'

export interface ChainEntry {
  subject: string
  issuer: string
  validFrom: string
  validTo: string
  /** "valid", "expired" or "not yet valid", by this machine's clock. */
  validity: string
  fingerprint256: string
  subjectAltName?: string
}

export interface ProbeReport {
  target: string
  host: string
  port: number
  servername: string
  /** false only when the connection failed, or verification failed without --insecure. */
  ok: boolean
  insecure: boolean
  /** true when --ca added CAs to the OS trust store for this connection. */
  extraCa: boolean
  remoteAddress?: string
  /** ms from connect() to secureConnect: DNS + TCP + handshake (ostls does not time TCP connect on its own). */
  totalMs?: number
  protocol?: string
  cipher?: string
  alpn?: string
  verification: { ok: boolean; code?: string; tlsCode?: string; message?: string; hint?: string }
  /** The chain the server sent, leaf first. */
  chain: ChainEntry[]
  /** "verified connection", "unverified connection (--insecure)" or "second connection without verification, for display only". */
  chainSource?: string
  error?: { code: string; tlsCode?: string; message: string; hint?: string }
  /** The proxy the connection went through (password hidden) and why; absent when direct with no proxy configured. */
  proxy?: { url?: string; source: ProxyChoice['source']; reason: string; os?: string; /** why Node's side did not take ostls's proxy */ nodeDirect?: string; /** a desktop proxy setting ostls does not read (GNOME) */ hint?: string }
  /** The root the OS's verified chain ended at (its last certificate), as PEM for NODE_EXTRA_CA_CERTS. */
  root?: { subject: string; fingerprint256: string; pem: string }
  /** The same server through Node's own tls (its bundled roots and NODE_EXTRA_CA_CERTS). */
  node?: NodeVerdict
  /** What the two results mean together. */
  verdict?: Verdict
}

/** "host:port", "[v6]:port" or "host" (port 443). Bad input is a TypeError with code ERR_INVALID_ARG_VALUE (the CLI makes it a usage error). */
export function parseTarget(s: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:[\]]+)(?::(\d+))?$/.exec(s)
  const port = m ? Number(m[2] ?? 443) : NaN
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw Object.assign(new TypeError(`--connect wants host:port (or [ipv6]:port), got ${JSON.stringify(s)}`), { code: 'ERR_INVALID_ARG_VALUE' })
  }
  return { host: m[1], port }
}

function dn(d: Record<string, string | string[]>): string {
  return Object.entries(d).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`).join(', ')
}

/** Walks getPeerCertificate(true) from the leaf until the self-issued end. */
export function chainOf(leaf: PeerCertificate | Record<string, never>, now = Date.now()): ChainEntry[] {
  const out: ChainEntry[] = []
  let c = 'raw' in leaf ? (leaf as PeerCertificate) : undefined
  while (c && out.length < 16) {
    const from = Date.parse(c.valid_from)
    const to = Date.parse(c.valid_to)
    out.push({
      subject: dn(c.subject),
      issuer: dn(c.issuer),
      validFrom: new Date(from).toISOString(),
      validTo: new Date(to).toISOString(),
      validity: now > to ? 'expired' : now < from ? 'not yet valid' : 'valid',
      fingerprint256: c.fingerprint256,
      ...(c.subjectaltname ? { subjectAltName: c.subjectaltname } : {})
    })
    c = c.issuerCertificate && c.issuerCertificate !== c ? c.issuerCertificate : undefined
  }
  return out
}

interface Handshake {
  s?: TLSStream
  ms: number
  err?: Error & { code?: string; tlsCode?: string }
}

function handshake(o: ConnectOptions): Promise<Handshake> {
  const started = process.hrtime.bigint()
  const ms = () => Number(process.hrtime.bigint() - started) / 1e6
  return new Promise((resolve) => {
    let s: TLSStream
    try {
      s = connect(o)
    } catch (e) {
      return resolve({ ms: ms(), err: e as Error })
    }
    s.once('secureConnect', () => resolve({ s, ms: ms() }))
    s.once('error', (err) => resolve({ ms: ms(), err }))
  })
}

export interface ProbeOptions {
  ca?: Buffer[]
  servername?: string
  insecure?: boolean
  alpn?: string[]
  timeoutMs?: number
  proxy?: ProxySetting
  /** Also try Node's own tls and give the side-by-side verdict (default true). */
  compareNode?: boolean
}

export async function probe(target: string, o: ProbeOptions = {}): Promise<ProbeReport> {
  const { host, port } = parseTarget(target)
  const base: ConnectOptions = {
    host,
    port,
    servername: o.servername,
    ca: o.ca && o.ca.length ? o.ca : undefined,
    ALPNProtocols: o.alpn ?? ['h2', 'http/1.1'],
    handshakeTimeout: o.timeoutMs ?? 15_000
  }
  const insecure = Boolean(o.insecure)
  const r: ProbeReport = {
    target,
    host,
    port,
    servername: o.servername ?? (net.isIP(host) ? '' : host),
    ok: false,
    insecure,
    extraCa: Boolean(o.ca?.length),
    verification: { ok: false },
    chain: []
  }
  let choice: ProxyChoice | undefined
  try {
    choice = proxyFor(host, port, o.proxy ?? 'system')
  } catch (e) {
    const err = e as Error & { code?: string; tlsCode?: string }
    r.error = { code: err.code ?? 'ERR_INVALID_ARG_VALUE', message: err.message }
    return r
  }
  if (choice.url) base.proxy = choice.url
  if (choice.source === 'system') {
    r.proxy = { source: choice.source, reason: choice.reason }
  } else if (choice.url || choice.reason !== NO_PROXY_CONFIGURED) {
    r.proxy = { ...(choice.url ? { url: displayProxy(choice.url) } : {}), source: choice.source, reason: choice.reason }
  } else if (o.proxy === undefined || o.proxy === 'system') {
    const hint = desktopProxyHint()
    if (hint) r.proxy = { source: choice.source, reason: choice.reason, hint }
  }
  const first = await handshake({ ...base, rejectUnauthorized: !insecure })
  let shown = first.s
  // proxy 'system': the URL the OS chose is known only to the C library; a
  // connection that got that far says it (getProxyChoice().url).
  let osProxy: string | undefined
  const seeChoice = (s: TLSStream) => {
    const os = s.getProxyChoice()
    if (!r.proxy || choice?.source !== 'system' || !os) return
    osProxy = os.url
    r.proxy = { ...r.proxy, ...(os.url ? { url: displayProxy(os.url) } : {}), os: os.source, reason: os.reason }
  }
  if (first.s) {
    const s = first.s
    r.totalMs = first.ms
    r.remoteAddress = s.remoteAddress ? `${s.remoteFamily === 'IPv6' ? `[${s.remoteAddress}]` : s.remoteAddress}:${s.remotePort}` : undefined
    r.protocol = s.getProtocol() ?? undefined
    r.cipher = s.getCipher()?.standardName
    r.alpn = s.alpnProtocol || undefined
    r.verification = s.authorized
      ? { ok: true }
      : { ok: false, code: s.authorizationError ?? undefined, hint: codeHint(s.authorizationError ?? undefined) }
    r.chainSource = insecure ? 'unverified connection (--insecure)' : 'verified connection'
    // The OS's answer (static proxy, PAC, bypass list, ...) is known once connected.
    seeChoice(s)
    r.ok = true
  } else {
    const e = first.err!
    const code = e.code ?? 'ERR_UNEXPECTED'
    const hint = codeHint(code, e.tlsCode)
    if (e.tlsCode?.startsWith('TLS_CERT_')) {
      r.verification = { ok: false, code, tlsCode: e.tlsCode, message: e.message, hint }
      // The chain is what a person needs to see here (whose root is it?): fetch it once more, unverified, to show it.
      const again = await handshake({ ...base, rejectUnauthorized: false })
      shown = again.s
      if (again.s) {
        r.chainSource = 'second connection without verification, for display only'
        seeChoice(again.s)
      }
    } else {
      r.error = { code, ...(e.tlsCode && e.tlsCode !== code ? { tlsCode: e.tlsCode } : {}), message: e.message, ...(hint ? { hint } : {}) }
    }
  }
  if (shown) {
    const leaf = shown.getPeerCertificate(true)
    r.chain = chainOf(leaf)
    if (r.verification.ok) r.root = rootOf(shown, leaf)
    shown.destroy()
  }
  if (o.compareNode !== false) {
    // Node takes the proxy ostls took: the URL or the environment's as given,
    // for 'system' the one the OS chose (none when it said direct). When
    // ostls never connected, the OS's choice is unknown and Node goes direct.
    if (choice.source === 'system' && !shown && r.proxy) r.proxy.nodeDirect = "ostls did not connect, so the OS's proxy choice is unknown: Node's side went direct"
    r.node = await nodeProbe({ host, port, servername: o.servername, timeoutMs: base.handshakeTimeout!, proxy: choice.source === 'system' ? osProxy : choice.url })
    const connected = !r.error
    r.verdict = verdict({ connected, trusted: connected && r.verification.ok, code: r.verification.code, root: r.root, extraCa: r.extraCa }, r.node)
  }
  return r
}

/**
 * The trust anchor the OS's verified chain ended at (tls_info trust_anchor).
 * An engine that does not say: the end of the chain shown, if it is a root.
 */
function rootOf(s: TLSStream, leaf: PeerCertificate | Record<string, never>): ProbeReport['root'] {
  let anchor: PeerCertificate | undefined
  const pem = s.nativeInfo('trust_anchor')
  if (pem) anchor = certFromPem(pem)
  else if ('raw' in leaf) {
    let c = leaf as PeerCertificate
    for (let i = 0; i < 16 && c.issuerCertificate && c.issuerCertificate !== c; i++) c = c.issuerCertificate
    if (c.issuerCertificate === c) anchor = c
  }
  return anchor && { subject: dn(anchor.subject), fingerprint256: anchor.fingerprint256, pem: anchor.pemEncoded }
}
