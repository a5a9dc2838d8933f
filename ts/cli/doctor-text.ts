/**
 * The human form of a DoctorReport: one fact per line, every failure marked
 * FAILED and followed by a `fix` or `means` line that says what to do.
 */
import { DoctorReport, SelfTest } from '../doctor'
import { ProbeReport } from '../probe'
import { Palette, palette } from './style'

const plain: Palette = palette({ isTTY: false } as NodeJS.WriteStream)

/** "  label        value", labels padded to one column. */
const row = (label: string, value: string) => `  ${label.padEnd(12)} ${value}`
const sub = (label: string, value: string) => `    ${label.padEnd(10)} ${value}`

function selfTestLines(t: SelfTest, c: Palette): string[] {
  const lines = ['self-test handshake (in-process loopback server, throwaway CA via the ca option)']
  if (t.ok) {
    lines.push(row('result', `${c.ok('ok')}: ${t.protocol}, ${t.cipher}${t.alpn ? `, ALPN ${t.alpn}` : ''}`))
    const m = t.timings
    if (m) {
      lines.push(row('set-up', `${m.setupMs.toFixed(2)} ms, once per process (library load, OS TLS start-up, a first connection with its context and trust store)`))
      lines.push(row('timings', `then a connection: TCP accepted by the server after ${m.connectMs.toFixed(2)} ms, handshake ${m.handshakeMs.toFixed(2)} ms, total ${m.totalMs.toFixed(2)} ms`))
    }
  } else {
    const e = t.error!
    lines.push(row(c.bad('FAILED'), `${e.code}${e.tlsCode !== e.code ? ` (${e.tlsCode})` : ''}: ${e.message}`))
    lines.push(sub('fix', e.hint ? `${e.hint}; the self-test server is local, so this is a problem with ostls on this machine` : 'the self-test server is local, so this is a problem with ostls on this machine: report it with the output of `ostls doctor --json`'))
  }
  return lines
}

function probeLines(p: ProbeReport, c: Palette): string[] {
  const lines = [`connect ${p.target}${p.servername ? ` (servername ${p.servername})` : ''}`]
  if (p.insecure) lines.push(row(c.warn('WARNING'), '--insecure: the connection is made whatever verification says'))
  if (p.proxy?.source === 'system') lines.push(row('proxy', `${p.proxy.reason} (from the OS proxy settings${p.proxy.os ? `: ${p.proxy.os}` : ''})`))
  else if (p.proxy) lines.push(row('proxy', p.proxy.url ? `via proxy ${p.proxy.url} (from ${p.proxy.source === 'env' ? `the environment, ${p.proxy.reason}` : p.proxy.reason})` : `direct (${p.proxy.reason})`))
  if (p.proxy?.hint) lines.push(sub('hint', p.proxy.hint))
  if (p.error) {
    lines.push(row(c.bad('FAILED'), `${p.error.code}${p.error.tlsCode ? ` (${p.error.tlsCode})` : ''}: ${p.error.message}`))
    if (p.error.hint) lines.push(sub('means', p.error.hint))
    // Node's result matters only when it got further than ostls did.
    return p.node && !p.node.error ? [...lines, ...verdictLines(p, c)] : lines
  }
  if (p.remoteAddress) lines.push(row('address', p.remoteAddress))
  if (p.protocol) lines.push(row('result', `${p.protocol}, ${p.cipher}, ALPN ${p.alpn ?? '(none)'}`))
  if (p.totalMs !== undefined) lines.push(row('time', `${p.totalMs.toFixed(2)} ms for DNS + TCP connect + handshake (ostls does not time TCP connect separately)`))
  const v = p.verification
  if (v.ok) lines.push(row('verified', `${c.ok('ok')} (OS trust store${p.extraCa ? ' and --ca' : ''})`))
  else {
    const label = p.insecure ? c.warn('unverified') : c.bad('FAILED')
    lines.push(row(label, `${v.code}${v.tlsCode && v.tlsCode !== v.code ? ` (${v.tlsCode})` : ''}${v.message ? `: ${v.message}` : ''}`))
    if (v.hint) lines.push(sub('means', v.hint))
  }
  if (p.chain.length) {
    lines.push(row('chain', `${p.chain.length} certificate${p.chain.length > 1 ? 's' : ''}, leaf first, from the ${p.chainSource}`))
    p.chain.forEach((e, i) => {
      lines.push(`  [${i}] subject   ${e.subject}`)
      lines.push(`      issuer    ${e.issuer}`)
      const state = e.validity === 'valid' ? e.validity : c.bad(e.validity.toUpperCase())
      lines.push(`      valid     ${e.validFrom} to ${e.validTo} (${state})`)
      lines.push(`      sha256    ${e.fingerprint256}`)
      if (e.subjectAltName) lines.push(`      names     ${e.subjectAltName}`)
    })
  }
  return [...lines, ...verdictLines(p, c)]
}

/** Node's own tls against the same server, and what the two results mean together. */
function verdictLines(p: ProbeReport, c: Palette): string[] {
  if (!p.node || !p.verdict) return []
  const n = p.node
  const result = n.error ? `no handshake: ${n.error.code}: ${n.error.message}` : n.trusted ? c.ok('trusted') : n.code ?? 'not trusted'
  const lines = [row('node', `${result} (Node's own tls: ${n.trust})`)]
  if (p.proxy?.nodeDirect) lines.push(sub('proxy', p.proxy.nodeDirect))
  lines.push(row('verdict', p.verdict.summary), sub('means', p.verdict.means))
  if (p.root) lines.push(row('root', `${p.root.subject} (sha256 ${p.root.fingerprint256}): the root the OS chain ended at`))
  return lines
}

type Attempt = DoctorReport['library']['attempts'][number]

/** The title, the platform, and the heading the candidates follow. */
export function headerLines(r: Pick<DoctorReport, 'ostlsVersion' | 'platform'>, c: Palette = plain): string[] {
  const p = r.platform
  return [
    c.bold(`ostls doctor`) + ` (ostls ${r.ostlsVersion})`,
    row('platform', `${p.os} ${p.arch}, ${p.libc}, ${p.runtime} ${p.runtimeVersion}`),
    row('asar', p.insideAsar ? 'running from inside an asar archive: native files load from app.asar.unpacked' : 'not inside an asar archive'),
    'native library (candidates in the order tried)'
  ]
}

/**
 * One candidate. An installed candidate that is simply absent is `missing`, not
 * FAILED: a later one may load (a clone has a local build and no prebuilds); when
 * none does, the library's fix line says what to do.
 */
export function attemptLines(a: Attempt, c: Palette = plain): string[] {
  if (a.ok) return [row(c.ok('loaded'), `${a.path}  [${a.source}]`)]
  const absent = a.reason === 'file missing' && a.source !== 'OSTLS_LIBRARY'
  const lines = [row(absent ? 'missing' : c.bad('FAILED'), `${a.path}  [${a.source}]`), sub('reason', `${a.reason}: ${a.detail ?? ''}`)]
  if (a.hint && !absent) lines.push(sub('fix', a.hint))
  return lines
}

/** Why the library is unusable, if it is, and the OS TLS stack it loaded. */
export function libraryLines(r: DoctorReport, c: Palette = plain): string[] {
  const lines: string[] = []
  if (r.library.error) {
    lines.push(row(c.bad('FAILED'), `${r.library.error.code}: ${r.library.error.message}`))
    lines.push(sub('fix', r.library.error.hint))
  }
  if (r.backend) {
    const b = r.backend
    const none = '(none: the OS TLS library did not load)'
    lines.push('OS TLS stack')
    lines.push(row('backend', b.name || '(unknown)'))
    lines.push(row('version', b.version || none))
    lines.push(row('library', b.libraryPath || none))
    lines.push(row('tried', b.libraryTried ? b.libraryTried.split(';').join(', ') : '(nothing)'))
    lines.push(row('trust store', b.trustStore || none))
    // Every engine of this build: the one in use, and why each other is not.
    for (const e of b.engines ?? []) lines.push(row('engine', `${e.name}: ${e.status}${e.reason ? ` (${e.reason})` : ''}`))
  }
  return lines
}

/** Skipped --connect targets and the verdict. */
export function closingLines(r: DoctorReport, c: Palette = plain): string[] {
  const lines: string[] = []
  for (const target of r.connectSkipped ?? []) lines.push(`connect ${target}`, row('skipped', 'no handshake is possible until the native library loads (see above)'))
  lines.push(r.ok ? c.ok('healthy') : c.bad('NOT healthy') + ': see the FAILED lines above and the fix under each')
  return lines
}

export { selfTestLines, probeLines }

export function renderText(r: DoctorReport, c: Palette = plain): string {
  const lines = [
    ...headerLines(r, c),
    ...r.library.attempts.flatMap((a) => attemptLines(a, c)),
    ...libraryLines(r, c),
    ...(r.selfTest ? selfTestLines(r.selfTest, c) : []),
    ...(r.connect ?? []).flatMap((p) => probeLines(p, c)),
    ...closingLines(r, c)
  ]
  return lines.join('\n') + '\n'
}
