/**
 * `ostls doctor --connect … --export-root file`: writes the roots the OS's
 * verified chains ended at, as one PEM bundle, for NODE_EXTRA_CA_CERTS.
 */
import fs from 'node:fs'
import type { DoctorReport, ExportRoot } from '../doctor'
import { Palette } from './style'

export function exportRoots(report: DoctorReport, file: string): ExportRoot {
  const seen = new Map<string, NonNullable<NonNullable<DoctorReport['connect']>[number]['root']>>()
  for (const p of report.connect ?? []) if (p.root && !seen.has(p.root.fingerprint256)) seen.set(p.root.fingerprint256, p.root)
  const roots = [...seen.values()]
  const listed = roots.map((r) => ({ subject: r.subject, fingerprint256: r.fingerprint256 }))
  if (!roots.length) {
    const trusted = (report.connect ?? []).some((p) => p.verification.ok)
    const why = !report.connect
      ? 'no --connect handshake was made'
      : trusted
        ? 'the OS trusted the server, but this TLS engine does not name the root its chain ended at (tls_info trust_anchor)'
        : 'the OS trusted none of the --connect servers, so there is no OS root to export'
    return { file, written: false, roots: [], reason: `nothing written: ${why}` }
  }
  try {
    fs.writeFileSync(file, roots.map((r) => `# ${r.subject}\n# sha256 ${r.fingerprint256}\n${r.pem}`).join(''))
  } catch (e) {
    return { file, written: false, roots: listed, reason: `could not write it: ${(e as Error).message}` }
  }
  return { file, written: true, roots: listed }
}

const row = (label: string, value: string) => `  ${label.padEnd(12)} ${value}`

export function exportRootLines(x: ExportRoot, c: Palette): string[] {
  if (!x.written) return ['export root', row(c.bad('FAILED'), `${x.file}: ${x.reason}`)]
  return [
    'export root',
    row('wrote', `${x.file}: ${x.roots.length} root${x.roots.length > 1 ? 's' : ''} (PEM) the OS chain ended at`),
    ...x.roots.map((r) => row('root', r.subject)),
    row('use', `NODE_EXTRA_CA_CERTS=${x.file} makes Node's own tls trust ${x.roots.length > 1 ? 'them' : 'it'} too`)
  ]
}
