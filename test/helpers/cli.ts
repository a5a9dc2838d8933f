/** Runs the built `ostls` CLI (dist/cjs/cli/main.js) as a child process, as a user would. */
import path from 'node:path'
import { execFile, execFileSync } from 'node:child_process'
import { childEnv } from './child-env'

export const cli = path.join(__dirname, '..', '..', 'dist', 'cjs', 'cli', 'main.js')

export interface Run {
  code: number
  stdout: string
  stderr: string
  /** stdout as bytes (binary bodies). */
  raw: Buffer
}

export function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: childEnv({ NO_COLOR: '', ...env }), encoding: 'buffer', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0
      resolve({ code, stdout: stdout.toString('utf8'), stderr: stderr.toString('utf8'), raw: stdout })
    })
  })
}

/** util-linux `script`, which runs a command on a pseudo-terminal; undefined when missing. */
export function scriptTool(): string | undefined {
  if (process.platform !== 'linux') return undefined
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' })
    return 'script'
  } catch {
    return undefined
  }
}

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/** Runs the CLI with stdin, stdout and stderr on one pseudo-terminal; returns what the terminal showed. */
export function runInPty(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; screen: string }> {
  const command = [process.execPath, cli, ...args].map(sh).join(' ')
  return new Promise((resolve) => {
    execFile('script', ['-qfec', command, '/dev/null'], { env: childEnv({ TERM: 'xterm', ...env }) }, (err, stdout) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, screen: stdout })
    })
  })
}
