/*
 * engines.c — the Linux library's engines, in order of preference: without
 * OSTLS_BACKEND, tls_init takes the first whose global_init succeeds.
 */
#define _POSIX_C_SOURCE 200809L   /* conn.h wants struct addrinfo (netdb.h) */
#include "../common/engine.h"

extern const struct tls_engine openssl_engine;
extern const struct tls_engine mbedtls_engine;
extern const struct tls_engine s2n_engine;

/* OpenSSL is the default; Mbed TLS and s2n are there for OSTLS_BACKEND to
 * name (by_name_only), never a silent fallback. */
const struct tls_engine *const tls_engines[] = {
    &openssl_engine,
    &mbedtls_engine,
    &s2n_engine,
    NULL
};

const char *const tls_engine_env_alias = NULL;
