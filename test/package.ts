// The package as users load it: CommonJS and ESM entry points through the
// exports map (a package can import itself by name), sharing one binding.
import t from 'tap'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { childEnv } from './helpers/child-env'

const root = path.join(__dirname, '..')

function node(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, args, { cwd: root, env: childEnv() }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout.trim())))
  )
}

t.test('ESM: import { connect } from "ostls"', async (t) => {
  const out = await node([
    '--input-type=module',
    '-e',
    `import { connect, backendInfo, TLSError, Agent, fetch, register } from 'ostls'
     import cjs from 'ostls'
     console.log(JSON.stringify({ connect: typeof connect, agent: typeof Agent, fetch: typeof fetch, register: typeof register, err: typeof TLSError, backend: backendInfo().backend, same: cjs.connect === connect }))`
  ])
  t.match(JSON.parse(out), { connect: 'function', agent: 'function', fetch: 'function', register: 'function', err: 'function', backend: /^(openssl|mbedtls|s2n|schannel|securetransport|network)$/, same: true })
})

t.test('CommonJS: require("ostls") and require("ostls/register")', async (t) => {
  const out = await node([
    '-e',
    `const o = require('ostls'); const r = require('ostls/register'); const https = require('node:https')
     console.log(JSON.stringify({ connect: typeof o.connect, registered: r.isRegistered() && o.isRegistered(), agent: https.globalAgent instanceof o.Agent }))`
  ])
  t.same(JSON.parse(out), { connect: 'function', registered: true, agent: true })
})

t.test('ESM: import "ostls/register"', async (t) => {
  const out = await node(['--input-type=module', '-e', `import 'ostls/register'; import https from 'node:https'; import { Agent } from 'ostls'; console.log(https.globalAgent instanceof Agent)`])
  t.equal(out, 'true')
})

t.test('ostls/doctor: the report `ostls doctor --json` prints, from require and from import', async (t) => {
  // Timings differ run to run; everything else is the same object.
  const strip = `(r) => { for (const k of Object.keys(r.selfTest?.timings ?? {})) r.selfTest.timings[k] = 0; return JSON.stringify(r) }`
  const cjs = await node(['-e', `require('ostls/doctor').doctor().then(${strip}).then(console.log)`])
  const esm = await node(['--input-type=module', '-e', `import { doctor } from 'ostls/doctor'; console.log((${strip})(await doctor()))`])
  const cliJson = await node([path.join(root, 'dist', 'cjs', 'cli', 'main.js'), 'doctor', '--json'])
  const fromCli = JSON.parse(cliJson)
  for (const k of Object.keys(fromCli.selfTest?.timings ?? {})) fromCli.selfTest.timings[k] = 0
  t.same(JSON.parse(cjs), fromCli, 'require: the same report')
  t.same(JSON.parse(esm), fromCli, 'import: the same report')
  t.equal(fromCli.ok, true)
})
