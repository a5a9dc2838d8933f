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
  return net.isIPv4(text) ? 4 : 0
}

/** The family of an address the library reported (always numeric: an IPv6 one has a colon). */
export function addressFamily(address: string): 'IPv4' | 'IPv6' {
  return address.includes(':') ? 'IPv6' : 'IPv4'
}
