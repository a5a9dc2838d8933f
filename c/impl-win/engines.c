/*
 * engines.c — the Windows library's engines, in order of preference: without
 * OSTLS_BACKEND, tls_init takes the first whose global_init succeeds.
 */
#include "../common/engine.h"

extern const struct tls_engine schannel_engine;

const struct tls_engine *const tls_engines[] = {
    &schannel_engine,
    NULL
};

const char *const tls_engine_env_alias = NULL;
