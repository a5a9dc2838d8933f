/**
 * Output conventions shared by every `ostls` command: colour only on a terminal
 * without NO_COLOR, and errors as one line that starts with the error code.
 */

export interface Palette {
  ok(s: string): string
  bad(s: string): string
  warn(s: string): string
  dim(s: string): string
  bold(s: string): string
}

const plain = (s: string) => s

/** Colour for `stream` when it is a terminal and NO_COLOR is unset or empty (https://no-color.org). */
export function palette(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): Palette {
  const on = Boolean(stream.isTTY) && !env.NO_COLOR && env.TERM !== 'dumb'
  const sgr = (open: number, close: number) => (on ? (s: string) => `\x1b[${open}m${s}\x1b[${close}m` : plain)
  return { ok: sgr(32, 39), bad: sgr(31, 39), warn: sgr(33, 39), dim: sgr(2, 22), bold: sgr(1, 22) }
}

/** An error a command reports and exits on; `exitCode` 2 means bad usage. */
export class CliError extends Error {
  readonly code: string
  readonly exitCode: number
  constructor(code: string, message: string, exitCode = 1) {
    super(message)
    this.code = code
    this.exitCode = exitCode
  }
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * `ostls: CODE (TLS_CODE): message` on one line; the library code is shown when
 * it differs from Node's. The line names each code once: a message that repeats
 * one (Node's "ENOENT: no such file…", the library's "… (ECONNREFUSED)") loses
 * the repeat.
 */
export function errorLine(e: unknown, prefix = 'ostls'): string {
  const err = (e ?? {}) as { code?: unknown; tlsCode?: unknown; message?: unknown }
  const code = typeof err.code === 'string' && err.code ? err.code : 'ERR_UNEXPECTED'
  const tlsCode = typeof err.tlsCode === 'string' ? err.tlsCode : undefined
  const tls = tlsCode && tlsCode !== code ? ` (${tlsCode})` : ''
  let message = String(err.message ?? e).replace(/\s*\n\s*/g, ' ').trim()
  for (const c of [code, tlsCode]) {
    if (!c || c === 'ERR_UNEXPECTED') continue
    message = message
      .replace(new RegExp(`(^|: )${escape(c)}: `, 'g'), '$1')
      .replace(new RegExp(`\\s*\\(${escape(c)}\\)`, 'g'), '')
  }
  return `${prefix}: ${code}${tls}: ${message}`
}

/** parseArgs' own errors as bad usage that names the option, pointing at the command's help. */
export function usageError(e: unknown, command: string): CliError {
  const err = e as { code?: string; message?: string }
  let message = String(err.message ?? e)
  // parseArgs appends advice about '--' to an unknown option (with unbalanced quotes); the option is what matters.
  const unknown = /^Unknown option '([^']+)'/.exec(message)
  if (unknown) message = `unknown option ${unknown[1]}`
  message = message.replace(/\.$/, '')
  return new CliError(err.code ?? 'ERR_USAGE', `${message}; see \`ostls ${command} --help\``, 2)
}
