/**
 * Writes the current user's Windows proxy settings, as Settings > Proxy (and
 * Internet Options) store them: the DefaultConnectionSettings blob under
 * HKCU\...\Internet Settings\Connections, which WinHTTP's
 * WinHttpGetIEProxyConfigForCurrentUser reads (Wine reads only that blob, not
 * the ProxyEnable / ProxyServer values). Only for a throwaway Wine prefix:
 * on a real machine this would change the user's settings.
 */
import { execFileSync } from 'node:child_process'

const KEY = 'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections'

export interface WinProxySettings {
  /** "host:port" or "http=h:p;https=h:p" */
  proxy?: string
  /** "<local>;*.corp" */
  bypass?: string
  /** a PAC script's URL */
  pacUrl?: string
  autoDetect?: boolean
}

function dword(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n)
  return b
}

function counted(text: string): Buffer {
  return Buffer.concat([dword(text.length), Buffer.from(text, 'latin1')])
}

/** The blob: version 0x46, a change counter, flags (1 direct, 2 proxy, 4 PAC URL, 8 auto-detect), then the strings. */
export function connectionSettingsBlob(s: WinProxySettings): Buffer {
  const flags = 1 | (s.proxy ? 2 : 0) | (s.pacUrl ? 4 : 0) | (s.autoDetect ? 8 : 0)
  return Buffer.concat([dword(0x46), dword(1), dword(flags), counted(s.proxy ?? ''), counted(s.bypass ?? ''), counted(s.pacUrl ?? ''), Buffer.alloc(32)])
}

export function setWinProxy(s: WinProxySettings): void {
  execFileSync('reg', ['add', KEY, '/v', 'DefaultConnectionSettings', '/t', 'REG_BINARY', '/d', connectionSettingsBlob(s).toString('hex'), '/f'], { stdio: 'ignore' })
}

/** Back to no stored settings (Wine then reports automatic detection on, as a fresh Windows does). */
export function clearWinProxy(): void {
  try {
    execFileSync('reg', ['delete', KEY, '/v', 'DefaultConnectionSettings', '/f'], { stdio: 'ignore' })
  } catch {
    // nothing was stored
  }
}
