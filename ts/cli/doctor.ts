/** The `ostls doctor` command: options, help, exit code. */
import { parseArgs } from 'node:util'
import { doctor, DoctorProgress } from '../doctor'
import { headerLines, attemptLines, libraryLines, selfTestLines, probeLines, closingLines } from './doctor-text'
import { parseTarget } from '../probe'
import { CliError, palette, usageError } from './style'
import { readCaFiles } from './ca'
import { exportRoots, exportRootLines } from './export-root'

export const doctorHelp = `usage: ostls doctor [--json] [--connect host:port ...] [options]

Checks this install offline: platform, arch, libc, Node or Electron version;
every native library candidate tried, in order, with why each failed and what
to do about it; the OS TLS library loaded, its version and trust store; and a
handshake with an in-process loopback server (throwaway CA, passed with the
ca option; nothing is installed).

options:
  --json                  the report as JSON (schemaVersion 1) on stdout
  --connect host:port     also report a handshake with that server: protocol,
                          cipher, ALPN, the chain it sent (subject, issuer,
                          validity, SHA-256), verification and, on failure, the
                          error code and what it usually means; repeatable
  --ca file               PEM file of CAs to trust for --connect, in addition
                          to the OS trust store; repeatable
  --servername name       SNI and the name to verify for --connect
  --insecure              do not fail --connect on verification (the result is
                          still reported); the handshake still has to complete
  --timeout seconds       per --connect handshake (default 15)
  --export-root file      write the root certificate(s) the OS's verified
                          chain ended at, as PEM, to that file: for
                          NODE_EXTRA_CA_CERTS (needs --connect)

Each --connect also tries the server with Node's own tls (its bundled roots
and NODE_EXTRA_CA_CERTS) and says what the two results mean together, e.g.
that the OS trusts a private root or a TLS-inspecting proxy that Node does not.
  -h, --help              show this help

exit code: 0 healthy, 1 a check failed, 2 bad usage.
`

export async function runDoctor(argv: string[], out: NodeJS.WriteStream, err: NodeJS.WriteStream): Promise<number> {
  let values
  try {
    ;({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        json: { type: 'boolean' },
        connect: { type: 'string', multiple: true },
        ca: { type: 'string', multiple: true },
        servername: { type: 'string' },
        insecure: { type: 'boolean' },
        timeout: { type: 'string' },
        'export-root': { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      }
    }))
  } catch (e) {
    throw usageError(e, 'doctor')
  }
  if (values.help) {
    out.write(doctorHelp)
    return 0
  }
  const targets = values.connect ?? []
  try {
    targets.forEach(parseTarget)
  } catch (e) {
    throw new CliError('ERR_INVALID_ARG_VALUE', (e as Error).message, 2)
  }
  if (!targets.length && (values.ca || values.servername || values.insecure || values.timeout || values['export-root'] !== undefined)) {
    throw new CliError('ERR_INVALID_ARG_VALUE', '--ca, --servername, --insecure, --timeout and --export-root apply to --connect; see `ostls doctor --help`', 2)
  }
  const timeout = values.timeout === undefined ? 15 : Number(values.timeout)
  if (!(timeout > 0)) throw new CliError('ERR_INVALID_ARG_VALUE', `--timeout wants a number of seconds, got ${JSON.stringify(values.timeout)}`, 2)
  const ca = readCaFiles(values.ca)
  if (values.insecure) err.write(`ostls: warning: --insecure: --connect reports verification failures without failing on them\n`)
  // The text report is written part by part as doctor learns it: if anything
  // were ever to kill the process, the lines before it would still be there.
  const c = palette(out)
  const put = (lines: string[]) => void out.write(lines.map((l) => l + '\n').join(''))
  const progress: DoctorProgress = values.json ? {} : {
    platform: (r) => put(headerLines(r, c)),
    attempt: (a) => put(attemptLines(a, c)),
    library: (r) => put(libraryLines(r, c)),
    selfTest: (t) => put(selfTestLines(t, c)),
    connect: (p) => put(probeLines(p, c))
  }
  const report = await doctor({
    connect: targets,
    probe: { ca, servername: values.servername, insecure: values.insecure, timeoutMs: timeout * 1000 },
    progress
  })
  const exportFile = values['export-root']
  if (exportFile !== undefined) {
    report.exportRoot = exportRoots(report, exportFile)
    report.ok &&= report.exportRoot.written
    if (!values.json) put(exportRootLines(report.exportRoot, c))
  }
  if (values.json) out.write(JSON.stringify(report, null, 2) + '\n')
  else put(closingLines(report, c))
  return report.ok ? 0 : 1
}

