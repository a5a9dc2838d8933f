// What the https.Agent drop-in hands connect(): Node's Agent options mapped to ostls's.
import t from 'tap'
import { connectOptionsFrom } from '../dist/cjs/agent'

t.test("a keep-alive Agent's keepAliveMsecs is the keep-alive delay at connect time", async (t) => {
  // Node's Agent later calls setKeepAlive(true, keepAliveMsecs) on every pooled socket. An engine that
  // fixes TCP options when it creates the connection (Network.framework) refuses a different value
  // then, so the connection must be made with that value already.
  const o = connectOptionsFrom({ host: 'example.test', port: 443, keepAlive: true, keepAliveMsecs: 1000 })
  t.equal(o.keepAlive, true)
  t.equal(o.keepAliveInitialDelay, 1000)
  t.equal(connectOptionsFrom({ host: 'example.test', keepAlive: true, keepAliveMsecs: 1000, keepAliveInitialDelay: 5000 } as never).keepAliveInitialDelay, 5000, 'an explicit keepAliveInitialDelay wins')
  t.equal(connectOptionsFrom({ host: 'example.test', keepAliveMsecs: 1000 }).keepAliveInitialDelay, undefined, 'no keep-alive: no delay')
})
