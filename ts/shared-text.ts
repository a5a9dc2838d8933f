/**
 * One copy of the texts every connection to the same peer repeats: protocol,
 * cipher suite, addresses. A thousand idle connections then hold one string
 * each instead of a thousand, and no stream keeps the whole tls_info summary
 * alive through a name V8 sliced out of it.
 */

/** Entries past this are dropped all at once: the set stays small even when addresses vary. */
const MAX_ENTRIES = 256
const texts = new Map<string, string>()

export function sharedText(text: string): string {
  const known = texts.get(text)
  if (known !== undefined) return known
  if (texts.size >= MAX_ENTRIES) texts.clear()
  // A flat copy: `text` may be a slice that keeps its whole source string alive.
  const copy = Buffer.from(text, 'utf8').toString('utf8')
  texts.set(copy, copy)
  return copy
}
