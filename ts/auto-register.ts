/**
 * `require('ostls/register')` / `import 'ostls/register'`: route the whole
 * process's HTTPS through the OS's TLS stack on import. OSTLS_DISABLE=1 turns
 * it off for troubleshooting.
 */
import { register } from './register'

export { register, unregister, isRegistered } from './register'
register()
