// `npm test` in a terminal: tap then sets FORCE_COLOR, which every child Node
// inherits. The ostls CLI colours only a terminal (FORCE_COLOR or not), and the
// suite's children run without it (test/helpers/child-env.ts), so what they
// print is the same piped or in a terminal.
import t from 'tap'
import { execFile } from 'node:child_process'
import { run } from './helpers/cli'
import { childEnv } from './helpers/child-env'

const printTrue = (env: NodeJS.ProcessEnv) =>
  new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['-e', 'console.log(true)'], { env }, (err, stdout) => (err ? reject(err) : resolve(stdout)))
  )

t.test('the CLI with FORCE_COLOR set, writing to a pipe: plain text', async (t) => {
  // As in a terminal under tap: FORCE_COLOR set, NO_COLOR not (with both, Node
  // itself warns on stderr, under Wine even for an empty NO_COLOR).
  const env = { FORCE_COLOR: '1', NO_COLOR: undefined }
  const doctor = await run(['doctor'], env)
  t.equal(doctor.code, 0, doctor.stderr)
  t.notMatch(doctor.stdout, /\x1b\[/, 'doctor report')
  t.match(doctor.stdout, /^healthy$/m)
  const bad = await run(['--nope'], env)
  t.equal(bad.code, 2)
  t.equal(bad.stderr, 'ostls: ERR_PARSE_ARGS_UNKNOWN_OPTION: unknown option --nope; see `ostls --help`\n', 'error line')
})

t.test('children of a suite run in a terminal do not inherit FORCE_COLOR', async (t) => {
  const saved = process.env.FORCE_COLOR
  process.env.FORCE_COLOR = '1' // what tap sets on a terminal
  t.teardown(() => {
    if (saved === undefined) delete process.env.FORCE_COLOR
    else process.env.FORCE_COLOR = saved
  })
  t.match(await printTrue({ ...process.env }), /\x1b\[33mtrue/, 'inherited, it colours console.log (the failure this guards against)')
  t.equal(await printTrue(childEnv()), 'true\n', 'childEnv() drops it')
  t.match(await printTrue(childEnv({ FORCE_COLOR: '1' })), /\x1b\[/, 'unless a test asks for it')
})
