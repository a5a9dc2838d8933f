// The package's entry point loads the ostls library in a task of its own once
// the module has loaded (issue 15: finding, checking, loading and binding it
// cost 4-5 ms, which the first connect() otherwise pays while holding the
// event loop). Seen in the process's own mappings: loaded by the time a timer
// runs, with no connect() made; and never loaded by a process that exits
// before its loop turns (the immediate is unref'd).
import t from 'tap'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { childEnv } from './helpers/child-env'

const index = path.join(__dirname, '..', 'dist', 'cjs', 'index.js')
const skip = process.platform !== 'linux' ? 'the test reads /proc/self/maps to see which libraries are mapped' : undefined
// The file a test run's OSTLS_LIBRARY names (a stand-in build), else the package's ostls*.node.
const library = process.env.OSTLS_LIBRARY ? path.basename(process.env.OSTLS_LIBRARY) : ''
const maps = `require('fs').readFileSync('/proc/self/maps', 'utf8').split('\\n')`
const mapped = library
  ? `${maps}.some((l) => l.endsWith(${JSON.stringify('/' + library)}))`
  : `${maps}.some((l) => /ostls[^/]*\\.node$/.test(l))`

t.test('the library is loaded after require, before any connect()', { skip }, async (t) => {
  const out = execFileSync(process.execPath, ['-e', `
    require(${JSON.stringify(index)})
    const atRequire = ${mapped}
    setTimeout(() => console.log(JSON.stringify({ atRequire, later: ${mapped} })), 20)
  `], { env: childEnv({}), encoding: 'utf8' })
  t.same(JSON.parse(out), { atRequire: false, later: true }, 'not during require itself; in a task of its own right after')
})
