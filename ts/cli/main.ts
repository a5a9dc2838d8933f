#!/usr/bin/env node
/**
 * The `ostls` command: dispatches to doctor and get. Exit codes: 0 healthy /
 * success, 1 a check or the transfer failed, 2 bad usage. Errors are one line
 * on stderr that starts with the error code.
 */
import { runDoctor, doctorHelp } from './doctor'
import { runGet, getHelp } from './get'
import { ostlsVersion } from '../doctor'
import { runIdentities, identitiesHelp } from './identities'
import { CliError, errorLine } from './style'

const usage = `usage: ostls <command> [options]

commands:
  doctor [--json] [--connect host:port]
                     check this install offline (native library, OS TLS stack,
                     loopback handshake); with --connect, a real server too
  get <https-url>    fetch a URL over HTTPS through the OS's TLS stack
  identities [--json]
                     list the client certificates the OS would offer
  help [command]     show help for a command

options:
  -h, --help         show this help (after a command: that command's help)
  -v, --version      print the ostls version

exit code: 0 success, 1 a check or transfer failed, 2 bad usage.
Colour only on a terminal, and never with NO_COLOR set.
`

const helps: Record<string, string> = { doctor: doctorHelp, get: getHelp, identities: identitiesHelp }

async function main(argv: string[]): Promise<number> {
  const { stdout: out, stderr: err } = process
  const [cmd, ...rest] = argv
  switch (cmd) {
    case 'doctor':
      return runDoctor(rest, out, err)
    case 'get':
      return runGet(rest, out, err)
    case 'identities':
      if (rest.some((a) => a !== '--json')) throw new CliError('ERR_PARSE_ARGS_UNKNOWN_OPTION', 'ostls identities takes only --json', 2)
      return runIdentities(rest, out)
    case '-v':
    case '--version':
      out.write(ostlsVersion() + '\n')
      return 0
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      if (rest.length === 0) {
        out.write(usage)
        return 0
      }
      if (rest.length === 1 && helps[rest[0]]) {
        out.write(helps[rest[0]])
        return 0
      }
      throw new CliError('ERR_UNKNOWN_COMMAND', `no help for ${JSON.stringify(rest.join(' '))}; commands: doctor, get, identities`, 2)
  }
  if (cmd.startsWith('-')) throw new CliError('ERR_PARSE_ARGS_UNKNOWN_OPTION', `unknown option ${cmd}; see \`ostls --help\``, 2)
  throw new CliError('ERR_UNKNOWN_COMMAND', `unknown command ${JSON.stringify(cmd)}; see \`ostls --help\``, 2)
}

// A closed pipe on stdout (`ostls get … | head`) ends the program quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw e
})

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (e) => {
    process.stderr.write(errorLine(e) + '\n')
    if (process.env.OSTLS_DEBUG) process.stderr.write(`${(e as Error).stack}\n`)
    process.exitCode = e instanceof CliError ? e.exitCode : 1
  }
)
