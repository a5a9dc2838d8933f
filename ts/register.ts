/**
 * register(): one call that makes the whole process use the OS's TLS for
 * HTTPS — https.globalAgent (https.get, axios, got…) and the global undici
 * dispatcher (Node's built-in fetch reads it). unregister() puts back exactly
 * what was there. Plain HTTP is untouched. OSTLS_DISABLE=1 turns it off.
 */
import https from 'node:https'
import { Agent, AgentOptions } from './agent'
import { createDispatcher, DispatcherOptions } from './fetch'
import { loadBinding } from './native'
import type { ProxySetting } from './proxy-env'
import type { IdentityOptions } from './identity'

/** The global-dispatcher slots undici (and Node's bundled undici) read and write. */
const dispatcherSlots = [Symbol.for('undici.globalDispatcher.1'), Symbol.for('undici.globalDispatcher.2')]

type Slots = Record<symbol, unknown>

interface Saved {
  agent: https.Agent
  dispatchers: unknown[]
  installed: { agent: Agent; dispatcher: unknown }
}

let saved: Saved | null = null

/** The client identity (cert, key, pfx, passphrase) and revocation apply to every routed connection. */
export interface RegisterOptions extends IdentityOptions {
  /** Extra trusted CAs (added to the OS store) for every connection made through the registered agents. */
  ca?: AgentOptions['ca']
  rejectUnauthorized?: boolean
  handshakeTimeout?: number
  /** false, 'env', 'system' (default) or an http:// / https:// proxy URL: see README "Proxies". */
  proxy?: ProxySetting
}

export function isRegistered(): boolean {
  return saved !== null
}

/**
 * Routes https.globalAgent and the global fetch dispatcher through ostls.
 * Returns true when ostls is active. Returns false when it is not:
 * - OSTLS_DISABLE=1: nothing is changed;
 * - the native library cannot load: a process warning (OstlsWarning,
 *   TLS_LIBRARY_NOT_FOUND) says why at once, and the agents are installed all
 *   the same, so HTTPS requests fail with that error (an 'error' event, a
 *   rejected fetch) instead of silently bypassing the OS's trust store.
 * Never throws for a broken install.
 */
export function register(options: RegisterOptions = {}): boolean {
  if (process.env.OSTLS_DISABLE === '1') return false
  if (saved) unregister()
  const binding = loadBinding()
  if (!binding.ok) {
    process.emitWarning(`ostls is not active: HTTPS requests will fail until this is fixed (run \`npx ostls doctor\`): ${binding.error?.message}`, {
      type: 'OstlsWarning',
      code: binding.error?.tlsCode ?? 'TLS_LIBRARY_NOT_FOUND'
    })
  }
  const g = globalThis as unknown as Slots
  // Read the slots before undici is loaded: loading it fills empty ones.
  const dispatchers = dispatcherSlots.map((s) => g[s])
  // Node's own default: keep-alive with a 5 s free-socket timeout.
  const agent = new Agent({ keepAlive: true, timeout: 5000, ...options } as AgentOptions)
  const { ca, rejectUnauthorized, handshakeTimeout, proxy, cert, key, pfx, passphrase, revocation, clientCertificate } = options
  const dispatcher = createDispatcher({ ca: ca as DispatcherOptions['ca'], rejectUnauthorized, handshakeTimeout, proxy, cert, key, pfx, passphrase, revocation, clientCertificate })
  saved = { agent: https.globalAgent, dispatchers, installed: { agent, dispatcher } }
  https.globalAgent = agent
  setSlots(dispatcherSlots.map(() => dispatcher))
  return binding.ok
}

/** Restores the agent and dispatcher that were in place before register(). */
export function unregister(): void {
  if (!saved) return
  const { agent, dispatchers, installed } = saved
  saved = null
  if (https.globalAgent === installed.agent) https.globalAgent = agent
  setSlots(dispatchers)
  installed.agent.destroy()
  void (installed.dispatcher as { close(): Promise<void> }).close().catch(() => {})
}

function setSlots(values: unknown[]): void {
  dispatcherSlots.forEach((slot, i) => {
    // The attributes undici itself uses, so either side can set the slot again.
    Object.defineProperty(globalThis, slot, { value: values[i], writable: true, enumerable: false, configurable: false })
  })
}
