// `ostls get <url>` against a local HTTPS server, through the CLI as a user runs it.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { run } from './helpers/cli'
import { pkiDir } from './helpers/pki'
import { httpsFixture, Fixture } from './helpers/https-fixture'
import { silentServer, closedPort } from './helpers/servers'
import { loneLeafUntrustedCode } from './helpers/platform'

const ca = ['--ca', path.join(pkiDir, 'ca.pem')]
let f: Fixture
t.before(async () => {
  f = await httpsFixture()
})
t.teardown(() => f.close())
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ostls-cli-get-'))
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }))

t.test('the body, byte for byte (binary), to stdout', async (t) => {
  const r = await run(['get', ...ca, `${f.origin}/bin`])
  t.equal(r.code, 0, r.stderr)
  t.equal(r.stderr, '')
  t.ok(r.raw.equals(f.binary), `${r.raw.length} bytes, identical`)
})

t.test('-o writes the file; no progress when stderr is not a terminal', async (t) => {
  const out = path.join(tmp, 'bin.out')
  const r = await run(['get', ...ca, '-o', out, `${f.origin}/bin`])
  t.same([r.code, r.stdout, r.stderr], [0, '', ''])
  t.ok(fs.readFileSync(out).equals(f.binary))
})

t.test('-I: HEAD, the status line and headers only', async (t) => {
  const before = f.requests.length
  const r = await run(['get', ...ca, '-I', `${f.origin}/text`])
  t.equal(r.code, 0)
  t.match(r.stdout, /^HTTP\/1\.1 200 OK\r\ncontent-type: text\/plain\r\n(.+\r\n)*\r\n$/)
  t.notMatch(r.stdout, /hello/)
  t.equal(f.requests[before].method, 'HEAD')
})

t.test('redirects: relative Location resolved, every hop shown with -I', async (t) => {
  const r = await run(['get', ...ca, `${f.origin}/hops/3`])
  t.same([r.code, r.stdout, r.stderr], [0, 'arrived\n', ''])
  const h = await run(['get', ...ca, '-I', `${f.origin}/hops/2`])
  t.equal(h.code, 0)
  t.same(h.stdout.split('\r\n\r\n').map((b) => b.split('\r\n')[0]), ['HTTP/1.1 307 Temporary Redirect', 'HTTP/1.1 302 Found', 'HTTP/1.1 200 OK', ''])
  t.match(h.stdout, /^location: 1\r$/m)
})

t.test('the redirect limit', async (t) => {
  const ok = await run(['get', ...ca, '--max-redirects', '3', `${f.origin}/hops/3`])
  t.equal(ok.code, 0, 'exactly the limit is fine')
  const over = await run(['get', ...ca, '--max-redirects', '2', `${f.origin}/hops/3`])
  t.equal(over.code, 1)
  t.equal(over.stdout, '')
  t.equal(over.stderr, `ostls: ERR_TOO_MANY_REDIRECTS: more than 2 redirects; the last one pointed to ${f.origin}/hops/0\n`)
  const none = await run(['get', ...ca, '--max-redirects', '0', `${f.origin}/hops/1`])
  t.equal(none.code, 1)
  t.equal(none.stderr, `ostls: ERR_TOO_MANY_REDIRECTS: more than 0 redirects; the last one pointed to ${f.origin}/hops/0\n`)
  const deflt = await run(['get', ...ca, `${f.origin}/hops/11`])
  t.equal(deflt.code, 1, 'the default limit is 10')
  t.match(deflt.stderr, /^ostls: ERR_TOO_MANY_REDIRECTS: more than 10 redirects;/)
})

t.test('a redirect to http:// is not followed', async (t) => {
  const r = await run(['get', ...ca, `${f.origin}/to-http`])
  t.equal(r.code, 1)
  t.equal(r.stderr, `ostls: ERR_INSECURE_REDIRECT: ${f.origin}/to-http redirects to http://localhost:${f.port}/text: ostls get follows https:// redirects only\n`)
})

t.test('headers: -H is sent; Authorization is dropped on a redirect to another origin', async (t) => {
  const same = await run(['get', ...ca, '-H', 'Authorization: Bearer x', '-H', 'X-Test: 1', `${f.origin}/headers`])
  t.match(JSON.parse(same.stdout), { authorization: 'Bearer x', 'x-test': '1', 'user-agent': 'ostls-get' })
  const moved = await run(['get', ...ca, '-H', 'Authorization: Bearer x', '-H', 'X-Test: 1', `${f.origin}/elsewhere`])
  t.equal(moved.code, 0, moved.stderr)
  const seen = JSON.parse(moved.stdout)
  t.equal(seen.authorization, undefined)
  t.equal(seen['x-test'], '1')
})

t.test('a status outside 2xx: the body is written, then exit 1 with HTTP_<status>', async (t) => {
  const r = await run(['get', ...ca, `${f.origin}/missing`])
  t.equal(r.code, 1)
  t.equal(r.stdout, 'no such thing\n')
  t.equal(r.stderr, `ostls: HTTP_404: the server answered 404 Not Found for ${f.origin}/missing\n`)
  const head = await run(['get', ...ca, '-I', `${f.origin}/missing`])
  t.equal(head.code, 1)
  t.match(head.stdout, /^HTTP\/1\.1 404 Not Found\r\n/)
})

t.test('the test CA is needed: without --ca the OS store refuses it; --insecure warns', async (t) => {
  const r = await run(['get', `${f.origin}/text`])
  t.equal(r.code, 1)
  t.equal(r.stdout, '')
  const code = loneLeafUntrustedCode()
  t.match(r.stderr, new RegExp(`^ostls: ${code} \\(TLS_CERT_UNTRUSTED\\): .*; \`ostls doctor --connect localhost:${f.port}\` shows the chain and what ${code} usually means\\n$`))
  const k = await run(['get', '--insecure', `${f.origin}/text`])
  t.same([k.code, k.stdout], [0, 'hello\n'])
  t.equal(k.stderr, 'ostls: warning: --insecure: the server\'s certificate is NOT verified; anyone on the path can read and change this transfer\n')
})

t.test('network failures: one line with the code', async (t) => {
  const port = await closedPort()
  const r = await run(['get', `https://127.0.0.1:${port}/`])
  t.equal(r.code, 1)
  t.match(r.stderr, /^ostls: ECONNREFUSED \(TLS_CONNECT_FAILED\): [^\n]+\n$/)
  const silent = await silentServer()
  t.teardown(() => silent.close())
  const slow = await run(['get', '--timeout', '0.5', `https://127.0.0.1:${silent.port}/`])
  t.equal(slow.code, 1)
  t.match(slow.stderr, /^ostls: ETIMEDOUT \(TLS_TIMEOUT\): no TLS connection to 127\.0\.0\.1:\d+ within 500 ms[^\n]*\n$/)
})

t.test('bad usage exits 2', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['get'], /^ostls: ERR_INVALID_ARG_VALUE: no URL given; see `ostls get --help`$/],
    [['get', 'https://a/', 'https://b/'], /^ostls: ERR_INVALID_ARG_VALUE: one URL at a time, got 2/],
    [['get', 'not a url'], /^ostls: ERR_INVALID_ARG_VALUE: not a URL: "not a url"/],
    [['get', 'http://example.com/x?y'], /^ostls: ERR_UNSUPPORTED_PROTOCOL: ostls get fetches https:\/\/ URLs only \(ostls is a TLS library\): use https:\/\/example\.com\/x\?y, or another client for plain HTTP$/],
    [['get', 'ftp://example.com/'], /^ostls: ERR_INVALID_ARG_VALUE: unsupported URL scheme ftp: \(only https:\)/],
    [['get', '--max-redirects=-1', 'https://a/'], /^ostls: ERR_INVALID_ARG_VALUE: --max-redirects wants a whole number, got "-1"/],
    [['get', '--timeout', '0', 'https://a/'], /^ostls: ERR_INVALID_ARG_VALUE: --timeout wants a number of seconds, got "0"/],
    [['get', '-H', 'no colon', 'https://a/'], /^ostls: ERR_INVALID_ARG_VALUE: --header wants "Name: value", got "no colon"/],
    [['get', '--ca', '/nonexistent.pem', 'https://a/'], /^ostls: ENOENT: --ca \/nonexistent\.pem: no such file or directory, open '.*nonexistent\.pem'$/],
    [['get', '--frob', 'https://a/'], /^ostls: ERR_PARSE_ARGS_UNKNOWN_OPTION: unknown option --frob; see `ostls get --help`$/],
    [['get', '-Z', 'https://a/'], /^ostls: ERR_PARSE_ARGS_UNKNOWN_OPTION: unknown option -Z; see `ostls get --help`$/]
  ]
  for (const [args, re] of cases) {
    const r = await run(args)
    t.equal(r.code, 2, args.join(' '))
    t.equal(r.stdout, '')
    t.match(r.stderr.trimEnd(), re, args.join(' '))
    t.equal(r.stderr.split('\n').length, 2, 'one line')
  }
})
