// `ostls identities`: the macOS keychain listing (tls_info "identities", made by
// c/impl-mac/mac_identities.c; its C side runs against the stand-in keychain in
// scripts/test-mac-standins.sh) turned into the same JSON shape as Windows's
// store listing. Runs everywhere: the parser and the shape need no Mac.
import t from 'tap'
import crypto from 'node:crypto'
import { describe, parseKeychainListing, identitiesText } from '../dist/cjs/cli/identities'
import { clientIdentity, pki } from './helpers/pki'

const id = clientIdentity()
const p = pki()
const hex = (f: string) => f.replace(/:/g, '')

t.test('a keychain listing: each identity with label, key storage and the fields read from its certificate', async (t) => {
  const listing = `identity\tWork identity\tkeychain\n${id.cert}identity\tPIV card\ttoken com.apple.pivtoken:8F2A\n${p.leaf.cert}`
  const { identities, error } = parseKeychainListing(listing)
  t.equal(error, undefined)
  t.equal(identities.length, 2)
  const x = new crypto.X509Certificate(id.cert)
  t.same(identities[0], {
    store: 'keychain',
    label: 'Work identity',
    subject: x.subject.replace(/\n/g, ', '),
    issuer: x.issuer.replace(/\n/g, ', '),
    validTo: new Date(x.validTo).toISOString(),
    thumbprint: id.thumbprint,
    sha256: hex(x.fingerprint256),
    keyStorage: 'keychain'
  })
  t.match(identities[0].subject, new RegExp(`CN=${id.cn}`))
  t.match(identities[1], { label: 'PIV card', keyStorage: 'token com.apple.pivtoken:8F2A', thumbprint: hex(new crypto.X509Certificate(p.leaf.cert).fingerprint) })
})

t.test('the same keys, in the same order, as a Windows store identity', async (t) => {
  const mac = parseKeychainListing(`identity\t\tSecure Enclave\n${id.cert}`).identities[0]
  const win = describe(id.cert, 'CurrentUser\\My', '', 'CNG key')
  t.same(Object.keys(mac), Object.keys(win))
  t.same(Object.keys(win), ['store', 'label', 'subject', 'issuer', 'validTo', 'thumbprint', 'sha256', 'keyStorage'])
  t.same({ ...mac, store: '', keyStorage: '' }, { ...win, store: '', keyStorage: '' }, 'the same certificate gives the same fields')
})

t.test('an empty keychain, and a failed search', async (t) => {
  t.same(parseKeychainListing(''), { identities: [], error: undefined })
  const failed = parseKeychainListing('error\tthe keychain search failed: User interaction is not allowed. (OSStatus -25308)\n')
  t.same(failed.identities, [])
  t.match(failed.error, /keychain search failed.*-25308/)
  t.match(identitiesText({ platform: 'darwin', supported: true, identities: [] }), /no identity .* in the keychain/)
  const text = identitiesText({ platform: 'darwin', supported: true, identities: parseKeychainListing(`identity\tWork\tkeychain\n${id.cert}`).identities })
  t.match(text, new RegExp(`^keychain  ${id.thumbprint}\\n  label:   Work\\n  subject: .*CN=${id.cn}`))
  t.match(text, /\n {2}sha256: {2}[0-9A-F]{64}\n {2}key: {5}keychain\n$/)
})
