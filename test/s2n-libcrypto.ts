// The s2n engine's libs2n must use the system libcrypto it was built against,
// never the OpenSSL that Node's executable exports (c/impl-linux/s2n.c opens
// it with RTLD_DEEPBIND). glibc's loader reports every symbol binding
// (LD_DEBUG=bindings): none of libs2n's may go to the node executable.
// Runs where the s2n engine runs (OSTLS_BACKEND=s2n, scripts/test-engine.sh).
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { childEnv } from './helpers/child-env'

const index = path.resolve(__dirname, '..', 'dist', 'cjs', 'index.js')
const skip = process.env.OSTLS_BACKEND !== 's2n' ? 'runs with the s2n engine only (OSTLS_BACKEND=s2n)' : false

t.test("libs2n's libcrypto calls bind to the system libcrypto, not to Node's OpenSSL", { skip }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ostls-s2n-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const script = `const o = require(${JSON.stringify(index)}); console.log(o.backendInfo().backend)`
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['-e', script], { env: childEnv({ LD_DEBUG: 'bindings', LD_DEBUG_OUTPUT: path.join(dir, 'ld') }) },
      (err, stdout) => (err ? reject(err) : resolve(stdout)))
  )
  t.equal(out.trim(), 's2n', 'the s2n engine loaded')
  const log = fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('')
  const targets = new Map<string, number>()
  for (const m of log.matchAll(/binding file (\S*libs2n\.so[^ ]*) \[\d+\] to (\S+) \[\d+\]/g)) targets.set(m[2], (targets.get(m[2]) ?? 0) + 1)
  const crypto = [...targets].filter(([to]) => /libcrypto\.so/.test(to)).reduce((n, [, c]) => n + c, 0)
  t.ok(crypto > 50, `libs2n's libcrypto symbols bind to a libcrypto (${crypto}): ${JSON.stringify([...targets])}`)
  const toNode = [...targets].filter(([to]) => !/\.so(\.|$)/.test(path.basename(to)))
  t.same(toNode, [], 'no libs2n symbol binds to the node executable')
})
