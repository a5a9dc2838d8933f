// The fix / means sentences of `ostls doctor`, for the cases a test machine cannot provoke.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { loadFailureHint, installHint, codeHint, hintedCodes } from '../dist/cjs/hints'
import { loadBinding, libraryInfo } from '../dist/cjs/native'
import { errorLine, CliError } from '../dist/cjs/cli/style'
import { notOpensslEngine } from './helpers/platform'

const env = { platform: 'linux', arch: 'arm64', insideAsar: false }
const reasons = ['file missing', 'not a file', 'not a library', 'not a complete library', 'wrong architecture', 'missing dependency', 'symbol missing', 'load failed']

t.test('every load-failure reason has a fix, for an installed candidate and for OSTLS_LIBRARY', async (t) => {
  for (const reason of reasons) {
    for (const source of ['prebuild', 'OSTLS_LIBRARY']) {
      const hint = loadFailureHint({ source, path: '/x/ostls.node', reason }, env)
      t.match(hint, /\S.*: /, `${reason} / ${source}`)
      if (source === 'prebuild' && reason !== 'missing dependency' && reason !== 'wrong architecture') t.match(hint, /reinstall ostls/, `${reason}: says to reinstall`)
      t.notMatch(hint, /npm rebuild/, `${reason} / ${source}: installing builds nothing, so rebuilding fixes nothing`)
      if (source === 'OSTLS_LIBRARY' && reason !== 'missing dependency') t.match(hint, /OSTLS_LIBRARY/, `${reason}: names the override`)
    }
  }
  t.match(loadFailureHint({ source: 'prebuild', path: '/x', reason: 'wrong architecture' }, env), /on linux arm64/)
  const inAsar = loadFailureHint({ source: 'prebuild', path: '/x', reason: 'file missing' }, { ...env, insideAsar: true })
  t.match(inAsar, /^the library was not unpacked from app\.asar.*: add "\*\*\/node_modules\/ostls\/prebuilds\/\*\*", .*"\*\*\/node_modules\/@koromix\/koffi-\*\/\*\*" to asarUnpack/, 'inside asar the fix is the unpack rule, first')
  t.notMatch(inAsar, /reinstall|build:native/)
  t.match(loadFailureHint({ source: 'prebuild', path: '/x', reason: 'not a complete library' }, env), /^not a complete library .*: reinstall ostls/)
  t.notMatch(loadFailureHint({ source: 'prebuild', path: '/x', reason: 'file missing' }, env), /asar/)
})

// The advice comes from the engine (tls_info "install_hint"): here the OpenSSL engine's.
t.test('the OS TLS library: the engine\'s install command for this distribution', { skip: (process.platform !== 'linux' && 'the OpenSSL engine (Linux) is the one whose hint names distributions') || notOpensslEngine('the install command per distribution') }, async (t) => {
  t.ok(loadBinding().api, 'the library loaded')
  const hintText = () => libraryInfo('install_hint')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ostls-hints-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const cases: Array<[string, RegExp]> = [
    ['ID=debian', /`apt-get install libssl3`/],
    ['ID=linuxmint\nID_LIKE="ubuntu debian"', /`apt-get install libssl3`/],
    ['ID="rocky"\nID_LIKE="rhel centos fedora"', /`dnf install openssl-libs`/],
    ['ID=alpine', /`apk add libssl3`/],
    ['ID="opensuse-tumbleweed"\nID_LIKE="opensuse suse"', /`zypper install libopenssl3`/],
    ['ID=arch', /`pacman -S openssl`/],
    ['ID=nixos', /OpenSSL 3\.x or 1\.1\.1 \(the libssl shared library\) from your distribution/]
  ]
  for (const [text, re] of cases) {
    const f = path.join(dir, 'os-release')
    fs.writeFileSync(f, text + '\n')
    const hint = installHint(hintText(), f)
    t.match(hint, /^install the system OpenSSL: /)
    t.match(hint, re, text)
    t.notMatch(hint, /OSTLS_LIBSSL/, 'no override note when OSTLS_LIBSSL is unset')
  }
  t.match(installHint(hintText(), path.join(dir, 'missing')), /from your distribution$/)
  // The engine reads OSTLS_LIBSSL when asked, so the note follows the environment.
  process.env.OSTLS_LIBSSL = 'x'
  t.teardown(() => delete process.env.OSTLS_LIBSSL)
  t.match(installHint(hintText(), path.join(dir, 'missing')), /; OSTLS_LIBSSL is set and replaces the default names: fix the names in it or unset it$/)
})

t.test('an engine without advice: the generic sentence', async (t) => {
  t.match(installHint(''), /^the OS TLS library did not load: check that this OS version is supported/)
  t.equal(installHint('*\tdo this\nx\tnot this'), 'do this')
})

t.test('every hinted code has a meaning; the library code is the fallback', async (t) => {
  t.ok(hintedCodes.length >= 20)
  for (const c of hintedCodes) t.ok((codeHint(c) ?? '').length > 20, c)
  t.equal(codeHint('SOMETHING_NEW', 'TLS_PROTOCOL_VERSION'), codeHint('TLS_PROTOCOL_VERSION'))
  t.equal(codeHint('SOMETHING_NEW', 'TLS_NEW'), undefined)
  t.equal(codeHint(), undefined)
  t.match(codeHint('UNABLE_TO_GET_ISSUER_CERT_LOCALLY'), /^a TLS-inspecting proxy or a private CA whose root is not in the OS trust store/)
})

t.test('error lines', async (t) => {
  t.equal(errorLine(Object.assign(new Error('refused\nby peer'), { code: 'ECONNREFUSED', tlsCode: 'TLS_CONNECT_FAILED' })), 'ostls: ECONNREFUSED (TLS_CONNECT_FAILED): refused by peer')
  t.equal(errorLine(Object.assign(new Error('x'), { code: 'TLS_CLOSED', tlsCode: 'TLS_CLOSED' })), 'ostls: TLS_CLOSED: x')
  t.equal(errorLine(new Error('plain')), 'ostls: ERR_UNEXPECTED: plain')
  t.equal(errorLine('a string'), 'ostls: ERR_UNEXPECTED: a string')
  t.equal(errorLine(new CliError('ERR_X', 'y', 2)), 'ostls: ERR_X: y')
  // Each code once: the OS and library messages often carry it already.
  t.equal(errorLine(Object.assign(new Error('could not connect to h port 2: Connection refused (ECONNREFUSED)'), { code: 'ECONNREFUSED', tlsCode: 'TLS_CONNECT_FAILED' })), 'ostls: ECONNREFUSED (TLS_CONNECT_FAILED): could not connect to h port 2: Connection refused')
  t.equal(errorLine(Object.assign(new Error("--ca x.pem: ENOENT: no such file or directory, open 'x.pem'"), { code: 'ENOENT' })), "ostls: ENOENT: --ca x.pem: no such file or directory, open 'x.pem'")
  t.equal(errorLine(Object.assign(new Error('TLS_CLOSED: closed'), { code: 'TLS_CLOSED', tlsCode: 'TLS_CLOSED' })), 'ostls: TLS_CLOSED: closed')
  t.equal(errorLine(Object.assign(new Error('the ENOENTITY table'), { code: 'ENOENT' })), 'ostls: ENOENT: the ENOENTITY table', 'only whole codes')
})
