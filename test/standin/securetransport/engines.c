/* The SecureTransport stand-in build's engine list (test/standin/securetransport). */
#include "../../../c/common/engine.h"

extern const struct tls_engine securetransport_engine;

const struct tls_engine *const tls_engines[] = {
    &securetransport_engine,
    NULL
};

const char *const tls_engine_env_alias = NULL;
