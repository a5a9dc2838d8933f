/**
 * Where the suite runs when it matters to a test: only for skipping what the
 * platform itself cannot do, with the reason named.
 */

/** Windows Node under Wine (scripts/test-windows.sh sets OSTLS_TEST_WINE=1). */
export const underWine = process.platform === 'win32' && process.env.OSTLS_TEST_WINE === '1'
