/**
 * `ostls/doctor`: the report `ostls doctor --json` prints, as an object an
 * application can log (e.g. from Electron's main process):
 *
 *   const { doctor } = require('ostls/doctor')
 *   doctor().then((report) => log.info(report))
 */
export { doctor, selfTest, SCHEMA_VERSION } from './doctor'
export type { DoctorReport, DoctorOptions, SelfTest } from './doctor'
export type { LoadAttempt } from './loader'
export type { ProbeReport, ProbeOptions } from './probe'
