/** The --ca option of the `ostls` commands. */
import fs from 'node:fs'
import { CliError } from './style'

/** --ca files, read up front: an unreadable or certificate-less file is bad usage. */
export function readCaFiles(files: string[] | undefined): Buffer[] {
  return (files ?? []).map((f) => {
    let b: Buffer
    try {
      b = fs.readFileSync(f)
    } catch (e) {
      throw new CliError((e as { code?: string }).code ?? 'ERR_INVALID_ARG_VALUE', `--ca ${f}: ${(e as Error).message}`, 2)
    }
    if (!b.includes('-----BEGIN CERTIFICATE-----')) throw new CliError('ERR_INVALID_ARG_VALUE', `--ca ${f}: no PEM certificate in the file`, 2)
    return b
  })
}
