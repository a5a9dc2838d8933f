/**
 * Which proxy an https: connection uses: the `proxy` option of Agent, fetch,
 * createDispatcher, register() and `ostls get`, resolved to one proxy URL (or
 * none) per origin.
 *
 *   false        never a proxy
 *   'http://…'   that proxy for every origin (NO_PROXY does not apply)
 *   'env'        the environment as curl reads it for https: URLs —
 *                https_proxy, HTTPS_PROXY, then all_proxy, ALL_PROXY (lower
 *                case first, as curl), minus the hosts no_proxy / NO_PROXY names
 *   'system'     the environment when it names a proxy (or exempts the host
 *                by NO_PROXY); otherwise, on Windows and macOS, the OS's own
 *                settings, which the C library looks up off the JS thread for
 *                each origin (the URL 'system' is handed to connect()); on
 *                Linux, which has no single system setting, direct
 *
 * NO_PROXY follows curl's documented rules: a comma-separated list (spaces
 * around entries ignored), case-insensitive; `*` alone matches every host;
 * a name matches itself and every name below it ("example.com" and
 * ".example.com" both match example.com and www.example.com, not
 * notexample.com); IP literals match exactly (IPv6 with or without brackets)
 * or by CIDR ("10.0.0.0/8", "fd00::/8"). Beyond curl, as Node's NO_PROXY: an
 * entry may end in ":port" to match that port only, and "*.example.com"
 * means ".example.com". The origin's name is matched as given: nothing is
 * resolved to decide.
 */
import net from 'node:net'
import { TLSError } from './errors'

export type ProxySetting = false | 'env' | 'system' | string

export interface ProxyChoice {
  /** The proxy URL to tunnel through, or undefined: connect directly. */
  url?: string
  /** Why: the option itself, the environment variable that gave the URL, or what made it direct. */
  source: 'option' | 'env' | 'system' | 'none'
  /** e.g. "HTTPS_PROXY", or for a bypass "NO_PROXY entry .corp.example". */
  reason: string
}

/** The OSes whose own proxy settings the C library reads (proxy 'system'). */
export const SYSTEM_PROXY_OS = process.platform === 'win32' || process.platform === 'darwin'

/** ProxyChoice.reason when the environment names no proxy at all. */
export const NO_PROXY_CONFIGURED = 'no https_proxy, HTTPS_PROXY, all_proxy or ALL_PROXY in the environment'

/**
 * Linux on a GNOME desktop, no proxy variable set: GNOME's own proxy setting
 * (Settings > Network > Network Proxy) may name one that ostls does not read
 * (README, Proxies: no cheap non-blocking way to read dconf). undefined elsewhere.
 */
export function desktopProxyHint(env: NodeJS.ProcessEnv = process.env, platform: string = process.platform): string | undefined {
  if (platform !== 'linux' || !/\bGNOME\b/i.test(env.XDG_CURRENT_DESKTOP ?? '') || firstSet(env, HTTPS_VARS)) return undefined
  return "GNOME's proxy settings are not read on Linux; if `gsettings get org.gnome.system.proxy mode` is not 'none', export HTTPS_PROXY with that proxy (curl and Node read it too)"
}

const HTTPS_VARS = ['https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY']
const NO_PROXY_VARS = ['no_proxy', 'NO_PROXY']

/**
 * The first of names that is set and not empty, as [name, value]. The name is
 * reported as the environment spells it: on Windows, where variable names
 * are case-insensitive, process.env answers https_proxy for HTTPS_PROXY.
 */
function firstSet(env: NodeJS.ProcessEnv, names: string[]): [string, string] | undefined {
  for (const n of names) {
    const v = env[n]
    if (v === undefined || v.trim() === '') continue
    const keys = Object.keys(env)
    return [keys.includes(n) ? n : (keys.find((k) => k.toLowerCase() === n.toLowerCase()) ?? n), v.trim()]
  }
  return undefined
}

/** A proxy URL as the library takes it: curl's scheme-less "host:port" means http://. */
export function normalizeProxyUrl(value: string, from: string): string {
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`
  if (!/^https?:\/\//i.test(url)) {
    throw new TLSError('TLS_INVALID_ARGUMENT', `${from}: ostls tunnels through http:// and https:// proxies only, not ${JSON.stringify(url.replace(/\/\/[^@/]*@/, '//…@'))}`, { nodeCode: 'ERR_INVALID_ARG_VALUE' })
  }
  return url.replace(/^(https?):\/\//i, (_m, scheme: string) => `${scheme.toLowerCase()}://`)
}

/** Strip brackets and a final dot, lower-case. */
function bareHost(host: string): string {
  let h = host.trim().toLowerCase()
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1)
  if (h.endsWith('.')) h = h.slice(0, -1)
  return h
}

function cidrContains(net6: string, bits: number, ip: string): boolean {
  const fam = net.isIP(net6)
  if (fam === 0 || fam !== net.isIP(ip)) return false
  if (bits < 0 || bits > (fam === 4 ? 32 : 128)) return false
  const list = new net.BlockList()
  list.addSubnet(net6, bits, fam === 4 ? 'ipv4' : 'ipv6')
  return list.check(ip, fam === 4 ? 'ipv4' : 'ipv6')
}

/** Split "entry[:port]" (IPv6 only with brackets when it has a port). */
function splitPort(entry: string): [string, number | undefined] {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry)
  if (bracket) return [bracket[1], bracket[2] ? Number(bracket[2]) : undefined]
  if (net.isIP(entry.split('/')[0]) === 6) return [entry, undefined]
  const m = /^(.*):(\d+)$/.exec(entry)
  return m ? [m[1], Number(m[2])] : [entry, undefined]
}

/** The NO_PROXY entry that exempts host:port, or undefined. */
export function noProxyMatch(noProxy: string, host: string, port: number): string | undefined {
  const h = bareHost(host)
  const hostIsIp = net.isIP(h) !== 0
  for (const raw of noProxy.split(/[,\s]+/)) {
    const entry = raw.trim()
    if (!entry) continue
    if (entry === '*') return entry
    const [name, entryPort] = splitPort(entry.toLowerCase())
    if (entryPort !== undefined && entryPort !== port) continue
    const slash = name.indexOf('/')
    if (slash > 0) {
      if (hostIsIp && cidrContains(name.slice(0, slash), Number(name.slice(slash + 1)), h)) return entry
      continue
    }
    let pattern = bareHost(name)
    if (net.isIP(pattern)) {
      if (hostIsIp && net.isIP(h) === net.isIP(pattern) && cidrContains(pattern, net.isIP(pattern) === 4 ? 32 : 128, h)) return entry
      continue
    }
    if (hostIsIp) continue
    if (pattern.startsWith('*.')) pattern = pattern.slice(1)
    if (pattern.startsWith('.')) pattern = pattern.slice(1)
    if (!pattern) continue
    if (h === pattern || h.endsWith('.' + pattern)) return entry
  }
  return undefined
}

/** The proxy for an https: connection to host:port under this setting. */
export function proxyFor(host: string, port: number, setting: ProxySetting | undefined, env: NodeJS.ProcessEnv = process.env): ProxyChoice {
  if (setting === false) return { source: 'none', reason: 'proxy: false' }
  if (setting === undefined || setting === 'env' || setting === 'system') {
    const found = firstSet(env, HTTPS_VARS)
    const askOs = !found && setting !== 'env' && SYSTEM_PROXY_OS
    // NO_PROXY exempts hosts from the OS's proxy too, as from the environment's.
    const np = firstSet(env, NO_PROXY_VARS)
    if (np && (found || askOs)) {
      const hit = noProxyMatch(np[1], host, port)
      if (hit) return { source: 'none', reason: `${np[0]} entry ${hit}` }
    }
    if (askOs) return { url: 'system', source: 'system', reason: `the ${process.platform === 'win32' ? 'Windows' : 'macOS'} proxy settings` }
    if (!found) return { source: 'none', reason: NO_PROXY_CONFIGURED }
    const [variable, value] = found
    return { url: normalizeProxyUrl(value, variable), source: 'env', reason: variable }
  }
  if (typeof setting !== 'string' || setting === '') {
    throw new TLSError('TLS_INVALID_ARGUMENT', `proxy must be false, 'env', 'system' or an http:// or https:// URL, not ${JSON.stringify(setting)}`, { nodeCode: 'ERR_INVALID_ARG_VALUE' })
  }
  return { url: normalizeProxyUrl(setting, 'proxy'), source: 'option', reason: 'proxy option' }
}

/** The URL for messages: the password hidden. */
export function displayProxy(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')
}
