/*
 * CI's macOS job: run test/proxy-macos-system.ts with the Mac's own proxy
 * settings pointing at a local CONNECT proxy (test/helpers/proxy.ts), then put
 * the settings back, whatever happened.
 *
 *   npx ts-node --transpile-only scripts/mac-system-proxy.ts [--auth]
 *
 * Every enabled network service gets a Secure Web Proxy (HTTPS) of
 * 127.0.0.1:<port> with `sudo networksetup -setsecurewebproxy` (with --auth:
 * "authenticated on" with a user and password, which networksetup keeps in
 * the keychain, and the proxy then asks for them with 407 Basic); the
 * services' earlier settings (networksetup -getsecurewebproxy) are restored
 * afterwards, also on SIGINT/SIGTERM (and with --auth the keychain item is
 * shown, without its password, and deleted). The suite file runs under both engines;
 * the proxy's count of tunnels and CONNECT targets is printed at the end.
 * For throwaway CI machines (passwordless sudo).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { connectProxy } from '../test/helpers/proxy'

const auth = process.argv.includes('--auth')
const user = 'ostls-ci'
const password = `pw-${process.pid}-${Date.now()}`

function ns(...args: string[]): string {
  return execFileSync('sudo', ['networksetup', ...args], { encoding: 'utf8' })
}

interface Saved { service: string; enabled: boolean; server: string; port: string }

function services(): string[] {
  // The first line explains the asterisk; an asterisk marks a disabled service.
  return ns('-listallnetworkservices').split('\n').slice(1).map((l) => l.trim()).filter((l) => l && !l.startsWith('*'))
}

function current(service: string): Saved {
  const text = ns('-getsecurewebproxy', service)
  const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(text)?.[1]?.trim() ?? ''
  return { service, enabled: field('Enabled') === 'Yes', server: field('Server'), port: field('Port') }
}

function restore(saved: Saved[]): void {
  for (const s of saved) {
    try {
      if (s.server && s.port && s.port !== '0') ns('-setsecurewebproxy', s.service, s.server, s.port, 'off')
      ns('-setsecurewebproxystate', s.service, s.enabled ? 'on' : 'off')
      console.log(`restored ${s.service}: ${JSON.stringify(current(s.service))}`)
    } catch (e) {
      console.error(`could not restore ${s.service}: ${(e as Error).message}`)
    }
  }
}

/** security(1)'s description of the internet password item for 127.0.0.1:port, as root and as this user. */
function keychainItem(port: number): string {
  const args = ['find-internet-password', '-s', '127.0.0.1', '-P', String(port)]
  return [['sudo', 'security'], ['security']].map(([cmd, ...pre]) => {
    const r = spawnSync(cmd, [...pre, ...args], { encoding: 'utf8' })
    return `${[cmd, ...pre].join(' ')} ${args.join(' ')}: exit ${r.status}\n${r.stdout}${r.stderr}`
  }).join('\n')
}

/** Best effort: take the item networksetup stored out again. */
function forgetPassword(port: number): void {
  for (const cmd of [['sudo', 'security'], ['security']]) {
    spawnSync(cmd[0], [...cmd.slice(1), 'delete-internet-password', '-s', '127.0.0.1', '-P', String(port)], { stdio: 'ignore' })
  }
}

/** CFNetwork reads the settings through configd: wait until scutil shows ours. */
function waitForSettings(port: number): boolean {
  for (let i = 0; i < 50; i++) {
    const text = execFileSync('scutil', ['--proxy'], { encoding: 'utf8' })
    if (/HTTPSEnable : 1/.test(text) && new RegExp(`HTTPSPort : ${port}\\b`).test(text)) return true
    spawnSync('sleep', ['0.2'])
  }
  return false
}

async function main(): Promise<number> {
  const proxy = await connectProxy(auth ? { auth: `${user}:${password}` } : {})
  const saved = services().map(current)
  let restored = false
  const putBack = () => {
    if (!restored) restore(saved)
    restored = true
  }
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { putBack(); process.exit(1) })
  let status = 1
  try {
    for (const s of saved) {
      ns('-setsecurewebproxy', s.service, '127.0.0.1', String(proxy.port), ...(auth ? ['on', user, password] : ['off']))
      ns('-setsecurewebproxystate', s.service, 'on')
    }
    console.log(`Secure Web Proxy 127.0.0.1:${proxy.port}${auth ? ' (password in the keychain)' : ''} on: ${saved.map((s) => s.service).join(', ')}`)
    // Where networksetup put the password item (keychain, protocol, account; never the password).
    if (auth) console.log(keychainItem(proxy.port))
    if (!waitForSettings(proxy.port)) console.log('scutil --proxy does not show it yet (going on):\n' + execFileSync('scutil', ['--proxy'], { encoding: 'utf8' }))
    status = 0
    for (const backend of ['network', 'securetransport']) {
      const r = spawnSync('npx', ['tap', '--jobs', '1', '--reporter', 'tap', 'test/proxy-macos-system.ts'], {
        stdio: 'inherit',
        env: { ...process.env, OSTLS_BACKEND: backend, OSTLS_TEST_MAC_SYSTEM_PROXY: proxy.url, OSTLS_TEST_MAC_SYSTEM_PROXY_AUTH: auth ? '1' : '' }
      })
      console.log(`${backend} engine: tap exited ${r.status}`)
      if (r.status !== 0) status = 1
    }
  } finally {
    putBack()
    if (auth) forgetPassword(proxy.port)
    console.log(`proxy: ${proxy.tunnels} tunnel(s); CONNECTs: ${JSON.stringify(proxy.requests.map((r) => ({ target: r.target, auth: r.headers['proxy-authorization'] ? 'Basic (sent)' : 'none' })))}`)
    await proxy.close()
  }
  if (proxy.tunnels === 0) {
    console.log('no CONNECT reached the proxy: the system proxy was not used')
    status = 1
  }
  return status
}

main().then((code) => process.exit(code), (e) => {
  console.error(e)
  process.exit(1)
})
