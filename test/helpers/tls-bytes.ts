/** Hand-made TLS bytes for scripted (misbehaving) servers. */

/** A TLS record: type, version 3.minor, body. */
export function record(type: number, minor: number, body: Buffer): Buffer {
  const head = Buffer.from([type, 3, minor, body.length >> 8, body.length & 255])
  return Buffer.concat([head, body])
}

/** A minimal ServerHello record: legacy version 3.minor, the given suite, no extensions. */
export function serverHello(minor: number, suite = 0x002f): Buffer {
  const body = Buffer.concat([Buffer.from([3, minor]), Buffer.alloc(32, 7), Buffer.from([0, suite >> 8, suite & 255, 0])])
  const msg = Buffer.concat([Buffer.from([2, 0, 0, body.length]), body])
  return record(22, minor, msg)
}
