// fetch through ostls (ours, and Node's global fetch after register()), and
// register()/unregister() swapping the process-wide agents exactly.
import t from 'tap'
import https from 'node:https'
import path from 'node:path'
import { execFile } from 'node:child_process'
import { fetch, createDispatcher, register, unregister, isRegistered, Agent } from '../dist/cjs/index'
import { pki } from './helpers/pki'
import { underWine, loneLeafUntrustedCode } from './helpers/platform'
import { httpsServer, HttpsServer } from './helpers/http-server'
import { childEnv } from './helpers/child-env'

const p = pki()
const dispatcherSlot = Symbol.for('undici.globalDispatcher.1')

let srv: HttpsServer
t.before(async () => {
  srv = await httpsServer((req, res) => {
    const u = new URL(req.url ?? '/', 'https://x')
    if (u.pathname === '/json') {
      res.setHeader('content-type', 'application/json')
      return res.end(JSON.stringify({ via: 'ostls', n: 42 }))
    }
    if (u.pathname === '/stream') {
      // 20 pieces, 30 ms apart: long enough to cancel in the middle.
      let i = 0
      const timer = setInterval(() => {
        res.write(`piece ${i}\n`)
        if (++i === 20) {
          clearInterval(timer)
          res.end()
        }
      }, 30)
      return res.on('close', () => clearInterval(timer))
    }
    if (u.pathname === '/hang') return // never answers
    if (u.pathname === '/redirect') {
      res.writeHead(302, { location: '/json' })
      return res.end()
    }
    res.end(`text at ${u.pathname}`)
  })
})
t.teardown(() => srv.close())

const dispatcher = createDispatcher({ ca: p.ca })
t.teardown(() => dispatcher.close())

t.test('fetch from ostls takes a Request made by Node\'s own fetch (typed as Node\'s fetch, it must)', async (t) => {
  const before = srv.viaOstls
  const get = await fetch(new Request(`${srv.origin}/json`, { headers: { accept: 'application/json' } }), { dispatcher })
  t.same(await get.json(), { via: 'ostls', n: 42 })
  const post = await fetch(new Request(`${srv.origin}/posted`, { method: 'POST', body: 'x' }), { dispatcher })
  t.equal(await post.text(), 'text at /posted')
  t.equal(srv.viaOstls - before, 2, 'both through ostls')
})

t.test('fetch from ostls: text, JSON, redirects', async (t) => {
  const before = srv.viaOstls
  const r = await fetch(`${srv.origin}/hello`, { dispatcher })
  t.equal(r.status, 200)
  t.equal(await r.text(), 'text at /hello')
  t.same(await (await fetch(`${srv.origin}/json`, { dispatcher })).json(), { via: 'ostls', n: 42 })
  const redirected = await fetch(`${srv.origin}/redirect`, { dispatcher })
  t.equal(redirected.redirected, true)
  t.same(await redirected.json(), { via: 'ostls', n: 42 })
  t.equal(srv.viaOstls - before, 4, 'every request came from ostls')
})

t.test('fetch streams the body as it arrives', async (t) => {
  const r = await fetch(`${srv.origin}/stream`, { dispatcher })
  const reader = r.body!.getReader()
  const seen: string[] = []
  const decoder = new TextDecoder()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    seen.push(decoder.decode(value))
  }
  t.ok(seen.length > 1, `arrived in ${seen.length} pieces`)
  t.equal(seen.join(''), Array.from({ length: 20 }, (_, i) => `piece ${i}\n`).join(''))
})

t.test('AbortSignal cancels mid-body', async (t) => {
  const ac = new AbortController()
  const r = await fetch(`${srv.origin}/stream`, { dispatcher, signal: ac.signal })
  const reader = r.body!.getReader()
  await reader.read()
  ac.abort()
  const err = await (async () => {
    for (;;) {
      const { done } = await reader.read()
      if (done) return null
    }
  })().catch((e: Error) => e)
  t.equal(err?.name, 'AbortError')
})

t.test('a timeout (AbortSignal.timeout) on a server that never answers', async (t) => {
  const started = Date.now()
  const err = await fetch(`${srv.origin}/hang`, { dispatcher, signal: AbortSignal.timeout(200) }).catch((e: Error) => e)
  t.equal((err as Error).name, 'TimeoutError')
  t.ok(Date.now() - started < 5000)
})

t.test('the default dispatcher verifies against the OS store', async (t) => {
  const err = await fetch(`${srv.origin}/x`).catch((e: Error & { cause?: { code?: string } }) => e)
  t.match(err, { cause: { code: loneLeafUntrustedCode(), tlsCode: 'TLS_CERT_UNTRUSTED' } })
})

t.test('register(): Node global fetch and https.get go through ostls; unregister() restores exactly', async (t) => {
  const agentBefore = https.globalAgent
  const dispatcherBefore = (globalThis as Record<symbol, unknown>)[dispatcherSlot]
  t.equal(register({ ca: p.ca }), true)
  t.equal(isRegistered(), true)
  t.ok(https.globalAgent instanceof Agent)

  const before = srv.viaOstls
  const r = await globalThis.fetch(`${srv.origin}/json`)
  t.same(await r.json(), { via: 'ostls', n: 42 }, 'Node global fetch')
  const body = await new Promise<string>((resolve, reject) =>
    https.get(`${srv.origin}/plain`, (res) => {
      let b = ''
      res.on('data', (c) => (b += c))
      res.on('end', () => resolve(b))
    }).on('error', reject)
  )
  t.equal(body, 'text at /plain', 'https.get with no agent')
  t.equal(srv.viaOstls - before, 2, 'both came from ostls (and the test CA is known only to ostls)')

  unregister()
  t.equal(isRegistered(), false)
  t.equal(https.globalAgent, agentBefore, 'the previous https.globalAgent is back')
  t.equal((globalThis as Record<symbol, unknown>)[dispatcherSlot], dispatcherBefore, 'the previous dispatcher is back')
  if (underWine) {
    t.skip("Node's own fetch cannot connect under Wine (connect UNKNOWN from setKeepAlive before connect), with or without ostls")
  } else {
    const err = await globalThis.fetch(`${srv.origin}/json`).catch((e: Error & { cause?: { code?: string } }) => e)
    t.match(err, { cause: { code: /UNABLE_TO|SELF_SIGNED/ } }, "Node's own TLS again: it does not know the test CA")
  }
  unregister()
  t.pass('unregister twice is harmless')
})

t.test('ostls/register on import, and OSTLS_DISABLE=1 turns it off', async (t) => {
  const reg = path.join(__dirname, '..', 'dist', 'cjs', 'auto-register.js')
  const script = `
    require(${JSON.stringify(reg)})
    const https = require('node:https')
    console.log(JSON.stringify({ ostls: https.globalAgent.constructor.name === 'Agent' && https.globalAgent.createConnection !== https.Agent.prototype.createConnection }))
  `
  const run = (env: NodeJS.ProcessEnv) =>
    new Promise<{ ostls: boolean }>((resolve, reject) =>
      execFile(process.execPath, ['-e', script], { env: childEnv(env) }, (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout))))
    )
  t.same(await run({}), { ostls: true })
  t.same(await run({ OSTLS_DISABLE: '1' }), { ostls: false })
})

t.test('importing ostls changes nothing process-wide', async (t) => {
  const index = path.join(__dirname, '..', 'dist', 'cjs', 'index.js')
  const script = `
    const before = globalThis[Symbol.for('undici.globalDispatcher.1')]
    const https = require('node:https'); const a = https.globalAgent
    require(${JSON.stringify(index)})
    console.log(JSON.stringify({ same: before === globalThis[Symbol.for('undici.globalDispatcher.1')] && a === https.globalAgent }))
  `
  const out = await new Promise<string>((resolve, reject) => execFile(process.execPath, ['-e', script], { env: childEnv() }, (err, stdout) => (err ? reject(err) : resolve(stdout))))
  t.same(JSON.parse(out), { same: true })
})
