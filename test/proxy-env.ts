// The proxy environment as curl reads it for https: URLs, and NO_PROXY against curl's documented
// rules (CURLOPT_NOPROXY / --noproxy: "*" alone, a name matches itself and the names below it,
// IPv6 without brackets, CIDR since 7.86), plus Node's additions (":port", "*.").
import t from 'tap'
import { proxyFor, noProxyMatch } from '../dist/cjs/index'

t.test('NO_PROXY table', async (t) => {
  const rows: Array<[string, string, number, boolean]> = [
    // curl's own example: "ample.com" matches ample.com, ample.com:80 and www.ample.com, not www.example.com or ample.com.org
    ['ample.com', 'ample.com', 443, true],
    ['ample.com', 'ample.com', 80, true],
    ['ample.com', 'www.ample.com', 443, true],
    ['ample.com', 'www.example.com', 443, false],
    ['ample.com', 'ample.com.org', 443, false],
    // a leading dot: the same domain and the names below it
    ['.ample.com', 'www.ample.com', 443, true],
    ['.ample.com', 'ample.com', 443, true],
    ['.ample.com', 'example.com', 443, false],
    // "*" alone matches everything; "*" inside a list too; "*.x" as Node reads it
    ['*', 'anything.example', 443, true],
    ['foo.example, *', 'other.example', 443, true],
    ['*.ample.com', 'www.ample.com', 443, true],
    ['*.ample.com', 'www.example.com', 443, false],
    // case, spaces, trailing dots
    [' Ample.COM ,x.example', 'WWW.ample.com.', 443, true],
    // empty list: nothing is exempt
    ['', 'ample.com', 443, false],
    [' , ', 'ample.com', 443, false],
    // IP literals: exact, no suffix matching
    ['192.168.1.10', '192.168.1.10', 443, true],
    ['192.168.1.10', '192.168.1.100', 443, false],
    ['1.10', '192.168.1.10', 443, false],
    ['::1', '::1', 443, true],
    ['::1', '[::1]', 443, true],
    ['[::1]', '::1', 443, true],
    ['::1', '127.0.0.1', 443, false],
    // CIDR (curl 7.86+)
    ['192.168.0.0/16', '192.168.44.3', 443, true],
    ['192.168.0.0/16', '192.169.0.1', 443, false],
    ['10.0.0.0/8', '10.255.255.255', 443, true],
    ['fd00::/8', 'fd12::1', 443, true],
    ['fd00::/8', 'fe80::1', 443, false],
    ['192.168.0.0/16', 'host.example', 443, false],
    // a name never matches an address, nor the other way round (nothing is resolved)
    ['localhost', '127.0.0.1', 443, false],
    ['127.0.0.1', 'localhost', 443, false],
    // ports (Node's NO_PROXY format, not in curl's documentation)
    ['ample.com:8443', 'ample.com', 8443, true],
    ['ample.com:8443', 'ample.com', 443, false],
    ['[::1]:8443', '::1', 8443, true],
    ['[::1]:8443', '::1', 443, false],
    ['192.168.1.10:443', '192.168.1.10', 443, true]
  ]
  for (const [list, host, port, want] of rows) {
    t.equal(noProxyMatch(list, host, port) !== undefined, want, `NO_PROXY=${JSON.stringify(list)} ${host}:${port} → ${want ? 'direct' : 'proxy'}`)
  }
})

t.test('which variable wins, and what proxy: says', async (t) => {
  const env = { HTTPS_PROXY: 'http://upper:1', https_proxy: 'http://lower:2', ALL_PROXY: 'http://all:3' }
  t.match(proxyFor('a.example', 443, 'env', env), { url: 'http://lower:2', source: 'env', reason: 'https_proxy' }, 'lower case first, as curl')
  t.match(proxyFor('a.example', 443, 'env', { HTTPS_PROXY: 'http://upper:1', ALL_PROXY: 'http://all:3' }), { url: 'http://upper:1', reason: 'HTTPS_PROXY' })
  t.match(proxyFor('a.example', 443, 'env', { ALL_PROXY: 'http://all:3' }), { url: 'http://all:3', reason: 'ALL_PROXY' })
  t.match(proxyFor('a.example', 443, 'env', { all_proxy: 'proxy.corp:3128' }), { url: 'http://proxy.corp:3128' }, "curl's scheme-less form is http://")
  t.match(proxyFor('a.example', 443, 'env', { HTTP_PROXY: 'http://plain:1' }), { url: undefined, source: 'none' }, 'HTTP_PROXY is for http: URLs only')
  t.match(proxyFor('a.example', 443, 'env', { ...env, NO_PROXY: '.example' }), { url: undefined, source: 'none', reason: 'NO_PROXY entry .example' })
  t.match(proxyFor('a.example', 443, 'env', { ...env, no_proxy: 'other', NO_PROXY: '*' }), { url: 'http://lower:2' }, 'no_proxy before NO_PROXY')
  t.match(proxyFor('a.example', 443, 'system', env), { url: 'http://lower:2' }, "'system' is the environment here")
  t.match(proxyFor('a.example', 443, undefined, env), { url: 'http://lower:2' }, "the default is 'system'")
  t.match(proxyFor('a.example', 443, false, env), { url: undefined, reason: 'proxy: false' })
  t.match(proxyFor('a.example', 443, 'http://given:8', { ...env, NO_PROXY: '*' }), { url: 'http://given:8', source: 'option' }, 'an explicit URL ignores NO_PROXY')
  t.throws(() => proxyFor('a.example', 443, 'env', { ALL_PROXY: 'socks5://u:secret@s:1080' }), { code: 'ERR_INVALID_ARG_VALUE', message: /ALL_PROXY: ostls tunnels through http:\/\/ and https:\/\/ proxies only/ })
  t.throws(() => proxyFor('a.example', 443, 'env', { ALL_PROXY: 'socks5://u:secret@s:1080' }), { message: /^(?!.*secret)/ }, 'no password in the message')
})
