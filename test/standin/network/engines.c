/* The stand-in build's engine list: network.c alone (test/standin/network). */
#include "../../../c/common/engine.h"

extern const struct tls_engine network_engine;

const struct tls_engine *const tls_engines[] = {
    &network_engine,
    NULL
};

const char *const tls_engine_env_alias = NULL;
