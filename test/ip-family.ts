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
  '127.0.0.1:443', 'ff02::1%1', '::ffff:256.1.1.1', '1.2.3.4%eth0',
  // IPv4 text read without Node's pattern: each edge of its four parts
  '1.2.3.', '.1.2.3', '1..2.3', '1.2.3.4.', '0.0.0.00', '00.0.0.0', '1.2.3.255', '1.2.3.256', '1.2.3.1000',
  '1.2.3.0255', '199.249.249.249', '249.250.251.252', '10.0.0.1a', '1.2.3.٣', '1.2.3.+4', '1.2.3.-4',
  '1.2.3.4\n', '１.2.3.4', '0x1.2.3.4', '1e2.2.3.4', '1.2.3', '4294967295'
]

t.test('ipFamily is net.isIP', async (t) => {
  for (const s of inputs) t.equal(ipFamily(s), net.isIP(s), JSON.stringify(s))
})

t.test('ipFamily is net.isIP for every dotted quad of a few values, and random text', async (t) => {
  const values = ['0', '1', '9', '10', '25', '99', '100', '199', '200', '249', '250', '255', '256', '260', '300', '01', '001', '999', '']
  let mismatches = 0
  for (const a of values) for (const b of values) for (const c of ['1', '255', '256', '0', '00']) {
    const s = `${a}.${b}.3.${c}`
    if (ipFamily(s) !== net.isIP(s)) mismatches++
  }
  const alphabet = '0123456789.:a '
  for (let n = 0; n < 20000; n++) {
    let s = ''
    const len = 1 + Math.floor(Math.random() * 16)
    for (let k = 0; k < len; k++) s += alphabet[Math.floor(Math.random() * (n % 2 ? 11 : alphabet.length))]
    if (ipFamily(s) !== net.isIP(s)) {
      mismatches++
      t.fail(JSON.stringify(s))
    }
  }
  t.equal(mismatches, 0)
})

t.test('addressFamily of numeric addresses', async (t) => {
  for (const s of ['127.0.0.1', '10.1.2.3', '::1', 'fe80::1%2', '::ffff:127.0.0.1', '2001:db8::1'])
    t.equal(addressFamily(s), net.isIPv6(s) ? 'IPv6' : 'IPv4', s)
})
