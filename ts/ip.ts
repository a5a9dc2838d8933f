/**
 * net.isIP without its cost on the JS thread. Node's IPv6 pattern is a large
 * regular expression that V8 compiles on its first uses (about 5 ms of CPU,
 * then 2 ms, measured for issue 15: the largest single stall of a process's
 * first connection), and net.isIP gives it every string that is not an IPv4
 * literal, host names included. An IPv6 literal always has a colon; an IPv4
 * literal or a host name never has one, so only text with a colon is tested
 * against it. The answer is net.isIP's for every input.
 */
import net from 'node:net'

export function ipFamily(text: string): 0 | 4 | 6 {
  if (text.includes(':')) return net.isIPv6(text) ? 6 : 0
  return isIPv4(text) ? 4 : 0
}

/**
 * net.isIPv4's pattern read by hand (its first use compiles a regular
 * expression: 0.5 ms of a process's first connect()): four decimal parts of
 * 0-255 joined by dots, no leading zero, nothing else.
 */
function isIPv4(text: string): boolean {
  let parts = 0
  let i = 0
  while (i <= text.length) {
    let end = i
    while (end < text.length && end - i < 4 && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57) end++
    const digits = end - i
    if (digits === 0 || digits > 3 || (digits > 1 && text.charCodeAt(i) === 48)) return false
    if (Number(text.slice(i, end)) > 255) return false
    parts++
    if (end === text.length) return parts === 4
    if (text.charCodeAt(end) !== 46 || parts === 4) return false
    i = end + 1
  }
  return false
}

/** The family of an address the library reported (always numeric: an IPv6 one has a colon). */
export function addressFamily(address: string): 'IPv4' | 'IPv6' {
  return address.includes(':') ? 'IPv6' : 'IPv4'
}
