// Linux doubles a process's descriptor table when a new descriptor does not
// fit, and in a threaded process (every Node process) the socket() that does
// it sleeps through an RCU grace period: 12-20 ms of a stalled event loop
// under 1,000 concurrent connects (bench/loop-gap.js). The library grows the
// table ahead of need on a job thread (c/common/sock_posix.c). Checked here
// without timing anything: once a socket lands past a quarter of Linux's
// smallest table, the table grows to eight times that size, and the process
// keeps working while and after it does.
import t from 'tap'
import fs from 'node:fs'
import { pki } from './helpers/pki'
import { tlsServer } from './helpers/servers'
import { collect, open } from './helpers/client'
import { standinGap } from './helpers/platform'

const p = pki()

/** The size of this process's descriptor table (Linux's FDSize). */
function tableSize(): number {
  const m = fs.readFileSync('/proc/self/status', 'latin1').match(/^FDSize:\s*(\d+)/m)
  return m ? Number(m[1]) : -1
}

t.test('the descriptor table grows ahead of the sockets', { skip: (process.platform !== 'linux' && 'Linux only: the table and its size in /proc/self/status are Linux\'s') || standinGap('the engine is macOS\'s: Network.framework opens its own sockets, so sock_posix.c (which grows the table) is not on its path') }, async (t) => {
  const srv = await tlsServer(p.leaf)
  t.teardown(() => srv.close())
  const before = tableSize()
  if (before >= 512) {
    t.skip(`this process already has a table of ${before} descriptors, so growing to 512 would prove nothing`)
    return
  }
  // Push the next socket past 16 (a quarter of 64) whatever the process had open.
  const spare: number[] = []
  while (spare.length < 20) spare.push(fs.openSync('/dev/null', 'r'))
  t.teardown(() => spare.forEach((fd) => fs.closeSync(fd)))
  const s = await open({ host: '127.0.0.1', port: srv.port, servername: 'localhost', ca: p.ca })
  s.end('over the grown table')
  t.equal((await collect(s)).toString(), 'over the grown table', 'the connection works while the table grows')
  let size = tableSize()
  for (let i = 0; i < 250 && size < 512; i++) {
    await new Promise((r) => setTimeout(r, 20))
    size = tableSize()
  }
  t.ok(size >= 512, `the table grew from ${before} to ${size} descriptors (at least 512)`)
  // The job thread's probe (a descriptor near the top of the new table) is closed again.
  const high = fs.readdirSync('/proc/self/fd').map(Number).filter((fd) => fd >= 256)
  t.same(high, [], 'no descriptor is left open near the top of the table')
})
