// What only shows on a terminal: the progress bar of `get -o`, and colour
// (never with NO_COLOR). Driven through a pseudo-terminal made by util-linux `script`.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { runInPty, scriptTool } from './helpers/cli'
import { pkiDir } from './helpers/pki'
import { httpsFixture, Fixture } from './helpers/https-fixture'

const skip = !scriptTool() && 'no pseudo-terminal tool: needs `script` from util-linux (Linux)'
const ca = ['--ca', path.join(pkiDir, 'ca.pem')]
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ostls-cli-tty-'))
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }))
let f: Fixture
t.before(async () => {
  if (!skip) f = await httpsFixture()
})
t.teardown(() => f?.close())

/** The terminal's last state of each redrawn line: text after the final carriage return / cursor-to-column-1. */
const frames = (screen: string) => screen.split(/\r|\x1b\[1G/).map((s) => s.replace(/\x1b\[[\d;?]*[A-Za-z]|\x1b[78]/g, '').trim()).filter(Boolean)

t.test('get -o on a terminal: a progress bar with size, rate and ETA', { skip }, async (t) => {
  const out = path.join(tmp, 'slow.bin')
  const r = await runInPty(['get', ...ca, '-o', out, `${f.origin}/slow`])
  t.equal(r.code, 0, r.screen)
  t.equal(fs.statSync(out).size, 2 * 1024 * 1024)
  const shown = frames(r.screen)
  const bar = /^ *(\d+)% [=-]{24} ([\d.]+ (B|KiB|MiB)) \/ 2\.0 MiB {2}[\d.]+ (B|KiB|MiB)\/s {2}ETA (\d+:\d\d|--:--)$/
  const bars = shown.filter((l) => bar.test(l))
  t.ok(bars.length >= 2, `several frames drawn: ${JSON.stringify(shown)}`)
  t.match(bars[bars.length - 1], /^100% ={24} 2\.0 MiB \/ 2\.0 MiB .* ETA 0:00$/, 'ends complete')
})

t.test('get -o with no Content-Length: size and rate, no bar or ETA', { skip }, async (t) => {
  const out = path.join(tmp, 'chunked.bin')
  const r = await runInPty(['get', ...ca, '-o', out, `${f.origin}/slow?chunked`])
  t.equal(r.code, 0, r.screen)
  const shown = frames(r.screen)
  t.ok(shown.length >= 1)
  for (const l of shown) t.match(l, /^[\d.]+ (B|KiB|MiB) {2}[\d.]+ (B|KiB|MiB)\/s$/)
  t.equal(shown[shown.length - 1].split(' ').slice(0, 2).join(' '), '2.0 MiB')
})

t.test('get to a terminal stdout: the body, and no progress mixed into it', { skip }, async (t) => {
  const r = await runInPty(['get', ...ca, `${f.origin}/text`])
  t.equal(r.code, 0)
  t.equal(r.screen, 'hello\r\n')
})

t.test('doctor colours its verdicts on a terminal, and not with NO_COLOR', { skip }, async (t) => {
  const colour = await runInPty(['doctor'], { NO_COLOR: '' })
  t.equal(colour.code, 0)
  t.match(colour.screen, /\x1b\[1mostls doctor\x1b\[22m/)
  t.match(colour.screen, /\x1b\[32mloaded\x1b\[39m/)
  t.match(colour.screen, /\x1b\[32mhealthy\x1b\[39m/)
  const none = await runInPty(['doctor'], { NO_COLOR: '1' })
  t.equal(none.code, 0)
  t.notMatch(none.screen, /\x1b\[/)
  t.match(none.screen, /^healthy\r$/m)
})
