/*
 * engines.c — the macOS library's engines, in order of preference: without
 * OSTLS_BACKEND, tls_init takes the first whose global_init succeeds, so
 * Network.framework where it exists (macOS 10.15+), else SecureTransport.
 */
#include "../common/engine.h"

extern const struct tls_engine network_engine;
extern const struct tls_engine securetransport_engine;

const struct tls_engine *const tls_engines[] = {
    &network_engine,
    &securetransport_engine,
    NULL
};

/* The variable that chose between these two before OSTLS_BACKEND existed. */
const char *const tls_engine_env_alias = "OSTLS_MAC_BACKEND";
