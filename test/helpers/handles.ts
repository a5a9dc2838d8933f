/** Native connections not yet freed (tls_info(NULL, "handles")): tests check it returns to its start. */
import { libraryInfo } from '../../dist/cjs/native'

export const handles = (): number => Number(libraryInfo('handles'))
