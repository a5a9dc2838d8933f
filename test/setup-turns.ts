// Connection set-up and the wake-ups of open connections take turns
// (ts/turn.ts, issue 15): past a small budget of JS-thread time per
// event-loop turn, the next connections' steps wait for later turns, so
// timers run between them. What must hold, and is checked here without
// timing anything: the steps really wait (a timer set right after 200
// connect() calls runs before their sockets exist; a timer set at the first
// of 200 replies that arrive together runs before the last one ends), every
// connection still gets through in full, and a stream that ends while it
// waits leaves nothing behind.
import t from 'tap'
import fs from 'node:fs'
import events from 'node:events'
import type tls from 'node:tls'
import { connect, TLSStream } from '../dist/cjs/index'
import { pki } from './helpers/pki'
import { tlsServer } from './helpers/servers'
import { collect, open } from './helpers/client'
import { handles } from './helpers/handles'

const p = pki()
const COUNT = 200

/** Sockets this process has open (Linux: /proc/self/fd). */
function socketCount(): number {
  let n = 0
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) n++
    } catch {}
  }
  return n
}

async function settle(): Promise<void> {
  for (let i = 0; i < 50 && handles() > 0; i++) await new Promise((r) => setTimeout(r, 20))
}

t.test(`${COUNT} connections opened in one synchronous loop all get through, each reply whole`, async (t) => {
  const srv = await tlsServer(p.leaf, (s) => s.end(`reply ${s.remotePort}`))
  t.teardown(() => srv.close())
  const before = process.platform === 'linux' ? socketCount() : 0
  const streams: TLSStream[] = []
  for (let i = 0; i < COUNT; i++) streams.push(connect({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ca: p.ca }))
  // Without the budget every stream's first step (which opens its socket) has
  // run before any timer; with it, the later ones are still waiting here.
  const atFirstTimer = await new Promise<number>((r) => setTimeout(() => r(process.platform === 'linux' ? socketCount() - before : -1), 0))
  if (process.platform === 'linux') t.ok(atFirstTimer < COUNT, `a timer ran before every set-up had started (${atFirstTimer} of ${COUNT} sockets open)`)
  else t.skip('counts open sockets through /proc/self/fd (Linux only)')
  const replies = await Promise.all(streams.map((s) => collect(s).then((b) => ({ text: b.toString(), port: s.localPort }))))
  t.equal(replies.filter((r) => r.text === `reply ${r.port}`).length, COUNT, 'every connection got its own whole reply')
  t.equal(srv.handshakes, COUNT, 'the server saw every handshake')
  for (const s of streams) s.destroy()
  await settle()
  t.equal(handles(), 0, 'no connection left in the library')
})

t.test('streams destroyed or aborted while their set-up waits end cleanly', async (t) => {
  const srv = await tlsServer(p.leaf, (s) => s.end('ok'))
  t.teardown(() => srv.close())
  const streams: TLSStream[] = []
  const controller = new AbortController()
  events.setMaxListeners(COUNT, controller.signal)
  for (let i = 0; i < COUNT; i++) {
    const signal = i % 3 === 1 ? controller.signal : undefined
    streams.push(connect({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ca: p.ca, signal }))
  }
  const outcomes = streams.map((s) => new Promise<string>((resolve) => {
    s.on('error', (e: Error & { code?: string }) => resolve(e.code ?? e.message))
    s.on('close', () => resolve('closed'))
    s.on('data', () => {})
  }))
  // The last third is destroyed at once (still waiting for its first turn),
  // every third aborted in the same tick; the rest must connect as usual.
  for (let i = Math.floor((2 * COUNT) / 3); i < COUNT; i++) streams[i].destroy()
  controller.abort()
  const results = await Promise.all(outcomes)
  const destroyedAt = Math.floor((2 * COUNT) / 3)
  const aborted = results.filter((_, i) => i % 3 === 1 && i < destroyedAt)
  t.ok(aborted.length > 0 && aborted.every((r) => r === 'ABORT_ERR'), `every aborted stream reports ABORT_ERR (${aborted.length})`)
  t.ok(results.slice(destroyedAt).every((r) => r === 'closed'), 'every stream destroyed while waiting just closes')
  const untouched = streams.filter((_, i) => i % 3 !== 1 && i < destroyedAt)
  t.ok(untouched.every((s) => s.authorized), `the others connected and verified (${untouched.length})`)
  for (const s of streams) s.destroy()
  await settle()
  t.equal(handles(), 0, 'no connection left in the library')
})

/**
 * COUNT open connections to a server that answers nothing by itself: the
 * client streams, and the server's sockets (all of them accepted) to write
 * from.
 */
async function openConnections(t: Tap.Test): Promise<{ streams: TLSStream[]; held: tls.TLSSocket[] }> {
  const held: tls.TLSSocket[] = []
  let allHeld!: () => void
  const everyoneIn = new Promise<void>((resolve) => { allHeld = resolve })
  const srv = await tlsServer(p.leaf, (s) => {
    held.push(s)
    if (held.length === COUNT) allHeld()
  })
  t.teardown(() => srv.close())
  const streams: TLSStream[] = []
  for (let i = 0; i < COUNT; i++) streams.push(await open({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ca: p.ca }))
  await everyoneIn
  return { streams, held }
}

t.test(`${COUNT} open connections whose replies arrive together take turns too`, async (t) => {
  const { streams, held } = await openConnections(t)
  let ends = 0
  let endsAtTimer = -1
  const replies = streams.map((s) => {
    s.once('end', () => {
      // The first end sets a timer: it runs in the next turn, after every
      // end that the same turn handled.
      if (ends++ === 0) setTimeout(() => { endsAtTimer = ends }, 0)
    })
    return collect(s).then((b) => ({ text: b.toString(), port: s.localPort }))
  })
  // Every reply in one synchronous loop: on loopback all of them are in the
  // client's sockets before its next poll, which reports them together.
  for (const s of held) s.end(`bye ${s.remotePort}`)
  const got = await Promise.all(replies)
  t.ok(endsAtTimer > 0 && endsAtTimer < COUNT, `a timer ran before every reply had ended (${endsAtTimer} of ${COUNT} had)`)
  t.equal(got.filter((r) => r.text === `bye ${r.port}`).length, COUNT, 'every connection got its own whole reply')
  for (const s of streams) s.destroy()
  await settle()
  t.equal(handles(), 0, 'no connection left in the library')
})

t.test('a stream destroyed while its wake-up waits for a turn ends cleanly', async (t) => {
  const { streams, held } = await openConnections(t)
  const closed = streams.map((s) => new Promise<string>((resolve) => {
    s.on('error', (e) => resolve(e.message))
    s.on('close', () => resolve('closed'))
  }))
  // The first stream to get data destroys every other one: most of them
  // have a wake-up waiting in the queue by then.
  let survivor: TLSStream | null = null
  const firstData = new Promise<void>((resolve) => {
    for (const s of streams) {
      s.on('data', () => {
        if (survivor) return
        survivor = s
        for (const other of streams) if (other !== s) other.destroy()
        resolve()
      })
    }
  })
  for (const s of held) s.write('data for everyone')
  await firstData
  const outcomes = await Promise.all(closed.filter((_, i) => streams[i] !== survivor))
  t.equal(outcomes.filter((o) => o === 'closed').length, COUNT - 1, 'every destroyed stream just closed')
  const echo = await new Promise<string>((resolve) => {
    survivor!.once('data', (d: Buffer) => resolve(d.toString()))
    const peer = held.find((h) => h.remotePort === survivor!.localPort)
    peer?.write('still here')
  })
  t.equal(echo, 'still here', 'the stream that did the destroying still works')
  for (const s of streams) s.destroy()
  await settle()
  t.equal(handles(), 0, 'no connection left in the library')
})

t.test('the only open connection exchanges messages without opening a metered turn for each', async (t) => {
  // A turn costs a setImmediate (a trip into JS from the check phase): with
  // one stream waiting, no other stream's steps can share the turn, so its
  // wake-ups run unmetered (ts/turn.ts admitLoneStep). Counted, not timed.
  const srv = await tlsServer(p.leaf) // echoes
  t.teardown(() => srv.close())
  const s = await open({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ca: p.ca })
  const ROUNDS = 300
  const msg = Buffer.alloc(1024, 'm')
  const real = globalThis.setImmediate
  let immediates = 0
  globalThis.setImmediate = ((...args: Parameters<typeof setImmediate>) => {
    immediates++
    return real(...args)
  }) as typeof setImmediate
  t.teardown(() => { globalThis.setImmediate = real })
  let rounds = 0
  await new Promise<void>((resolve, reject) => {
    let got = 0
    s.on('error', reject)
    s.on('data', (d: Buffer) => {
      got += d.length
      if (got < msg.length) return
      got -= msg.length
      if (++rounds === ROUNDS) return resolve()
      s.write(msg)
    })
    s.write(msg)
  })
  globalThis.setImmediate = real
  t.equal(rounds, ROUNDS, 'every message came back')
  t.ok(immediates < ROUNDS / 10, `${immediates} setImmediate calls for ${ROUNDS} messages (fewer than one in ten)`)
  s.destroy()
  await settle()
  t.equal(handles(), 0, 'no connection left in the library')
})
