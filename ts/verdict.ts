/**
 * doctor's "Node vs the OS" verdict: what it means that Node's own trust and
 * the OS's (through ostls) agree or disagree about one server, and what to do.
 */
import type { NodeVerdict } from './node-probe'

/** Codes that say "the chain does not end at a root this trust store knows", as opposed to a bad certificate. */
const unknownRoot = new Set([
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_UNTRUSTED'
])

export interface OsSide {
  /** ostls completed a handshake (verification aside). */
  connected: boolean
  trusted: boolean
  code?: string
  /** The root the OS chain ended at, when trusted. */
  root?: { subject: string }
  /** --ca added CAs to the OS store for this connection. */
  extraCa: boolean
}

export type VerdictKind = 'both' | 'os-only' | 'node-only' | 'neither' | 'unknown'

export interface Verdict {
  kind: VerdictKind
  /** "Node: CODE · OS: trusted (root '…' from the OS store)". */
  summary: string
  /** What follows from it, and what to do. */
  means: string
}

const cn = (subject: string) => /(?:^|, )CN=([^,]+)/.exec(subject)?.[1] ?? subject

export function verdict(os: OsSide, node: NodeVerdict): Verdict {
  const where = os.extraCa ? 'the OS store or --ca' : 'the OS store'
  const nodeText = node.error ? `no handshake (${node.error.code})` : node.trusted ? 'trusted' : node.code ?? 'not trusted'
  const osText = !os.connected ? 'no handshake' : os.trusted ? `trusted${os.root ? ` (root '${cn(os.root.subject)}' from ${where})` : ''}` : os.code ?? 'not trusted'
  const summary = `Node: ${nodeText} · OS: ${osText}`
  const extra = Boolean(process.env.NODE_EXTRA_CA_CERTS)
  if (os.connected && node.error?.proxyTls) {
    return { kind: 'unknown', summary, means: `no comparison: Node's own trust refused the https:// proxy's certificate (${node.error.code}), so Node never reached this server; ostls verified the proxy with the OS's trust` }
  }
  if (!os.connected || node.error) {
    return { kind: 'unknown', summary, means: `no comparison: ${!os.connected ? 'ostls' : 'Node'} could not complete a handshake with this server (see above)` }
  }
  if (os.trusted && node.trusted) {
    return { kind: 'both', summary, means: `Node and the OS both trust this server: Node's own tls works here${extra ? ' (with NODE_EXTRA_CA_CERTS)' : ''}, and so does ostls` }
  }
  if (os.trusted) {
    const rootCause = unknownRoot.has(node.code ?? '')
      ? 'a TLS-inspecting proxy or private root: the OS trusts it, Node does not'
      : `the OS trusts it, Node does not (${node.code})`
    return { kind: 'os-only', summary, means: `${rootCause} → use ostls (require('ostls/register'), or connect()/Agent/fetch), or give Node the root with NODE_EXTRA_CA_CERTS=<file> (--export-root <file> writes it as PEM)` }
  }
  if (node.trusted) {
    const cause = unknownRoot.has(os.code ?? '')
      ? `the root is in ${extra ? "Node's bundled list or NODE_EXTRA_CA_CERTS" : "Node's bundled list"} but not in the OS trust store`
      : `the OS rejects what Node accepts (${os.code}: the OS applies its own policy, e.g. revocation)`
    return { kind: 'node-only', summary, means: `Node trusts it, the OS does not: ${cause} → add the root to the OS trust store, or pass it to ostls with the ca option (--ca here)` }
  }
  const bothRoot = unknownRoot.has(node.code ?? '') && unknownRoot.has(os.code ?? '')
  return {
    kind: 'neither',
    summary,
    means: bothRoot
      ? "neither Node nor the OS knows this server's root: add it to the OS trust store (then ostls trusts it) or to NODE_EXTRA_CA_CERTS (Node), or the server's chain is incomplete"
      : 'neither Node nor the OS trusts it: the certificate itself is at fault (see the code above), which no trust store fixes'
  }
}
