/**
 * ostls: TLS for Node.js and Electron from the operating system's own TLS stack.
 */
import { loadBinding, libraryInfo, parseEngines, preloadLibrary } from './native'
import type { EngineStatus } from './native'
import { warmStreamCode } from './stream'

export { connect, TLSStream } from './stream'
export type { ConnectOptions, OnReadOptions, TLSVersion, CipherInfo, ProxyChoiceInfo, TLSStreamError } from './stream'
export { TLSError, nodeCode } from './errors'
export type { TLSCode } from './errors'
export type { PeerCertificate } from './cert'
export type { IdentityOptions, Revocation, StoreIdentity } from './identity'
export { Agent } from './agent'
export type { AgentOptions } from './agent'
export { fetch, createDispatcher } from './fetch'
export type { DispatcherOptions } from './fetch'
export { register, unregister, isRegistered } from './register'
export { proxyFor, noProxyMatch } from './proxy-env'
export type { ProxySetting, ProxyChoice } from './proxy-env'
export type { RegisterOptions } from './register'

export type { EngineStatus } from './native'

export interface BackendInfo {
  /** The engine in use: "openssl", "schannel", "securetransport" or "network" (OSTLS_BACKEND chooses among a build's engines). */
  backend: string
  /** Version of the OS TLS library, e.g. "OpenSSL 3.0.19 27 Jan 2026". */
  version: string
  /** Path of the OS TLS library actually loaded. */
  libraryPath: string
  /** Path of the ostls native library (prebuild or local build). */
  prebuildPath: string
  /** c/tls_client.h API version the native library implements. */
  apiVersion: number
  /** Where the OS trust anchors come from. */
  trustStore: string
  /** Every engine this build of the library has, in order of preference: which loaded, why the others did not. */
  engines: EngineStatus[]
}

/** Which OS TLS stack ostls uses in this process. Throws a TLSError (TLS_LIBRARY_NOT_FOUND) if none loads. */
export function backendInfo(): BackendInfo {
  const s = loadBinding()
  if (!s.ok) throw s.error
  return {
    backend: libraryInfo('backend'),
    version: libraryInfo('backend_version'),
    libraryPath: libraryInfo('library_path'),
    prebuildPath: s.path ?? '',
    apiVersion: Number(libraryInfo('api_version')),
    trustStore: libraryInfo('trust_store'),
    engines: parseEngines(libraryInfo('engines'))
  }
}

// The first connect() should not also pay for one-time work (issue 15): finding
// and loading the library (native.ts), and Node compiling its stream code
// (stream.ts); each in an unref'd task of its own after the module loads.
preloadLibrary()
setImmediate(warmStreamCode).unref()
