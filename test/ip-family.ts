// ipFamily answers exactly as net.isIP (it only skips Node's IPv6 pattern for
// text without a colon, issue 15), and addressFamily names the library's
// numeric addresses as Node does.
import t from 'tap'
import net from 'node:net'
import { ipFamily, addressFamily } from '../dist/cjs/ip'

const inputs = [
  '', 'localhost', 'example.com', 'a.b.c.d', '127.0.0.1', '0.0.0.0', '255.255.255.255', '256.1.1.1',
  '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.4 ', ' 1.2.3.4', '::', '::1', '::ffff:1.2.3.4', 'fe80::1%eth0',
  'fe80::1%', '2001:db8::8a2e:370:7334', '2001:0db8:0000:0000:0000:ff00:0042:8329', '1:2:3:4:5:6:7:8',
  '1:2:3:4:5:6:7:8:9', ':::', 'foo:bar', '[::1]', '::1]', 'gggg::1', '1::2::3', 'xn--bcher-kva.example',
  '127.0.0.1:443', 'ff02::1%1', '::ffff:256.1.1.1', '1.2.3.4%eth0'
]

t.test('ipFamily is net.isIP', async (t) => {
  for (const s of inputs) t.equal(ipFamily(s), net.isIP(s), JSON.stringify(s))
})

t.test('addressFamily of numeric addresses', async (t) => {
  for (const s of ['127.0.0.1', '10.1.2.3', '::1', 'fe80::1%2', '::ffff:127.0.0.1', '2001:db8::1'])
    t.equal(addressFamily(s), net.isIPv6(s) ? 'IPv6' : 'IPv4', s)
})
