/*
 * mbedtls_absent.c — the mbedtls engine's stand-in in a library built without
 * Mbed TLS 2.28's headers (mbedtls_have.h). It keeps the engine's name in the
 * list, so OSTLS_BACKEND=mbedtls fails with TLS_LIBRARY_NOT_FOUND and says
 * how to get a build that has it, rather than "names no engine".
 */
#define _GNU_SOURCE
#include "mbedtls_have.h"

#if !OSTLS_HAVE_MBEDTLS
#include "../common/engine.h"

#include <stdio.h>
#include <string.h>

#define ABSENT_WHY "this build of the library has no mbedtls engine: " OSTLS_MBEDTLS_ABSENT_REASON
#define ABSENT_FIX "install Mbed TLS 2.28's headers (Debian, Ubuntu: libmbedtls-dev) and rebuild with npm run build:native, " \
                   "use a released prebuild (it has the engine), or unset OSTLS_BACKEND for the OpenSSL engine"

static const char *absent_global_init(char *msg, size_t msgcap)
{
    snprintf(msg, msgcap, "%s; %s", ABSENT_WHY, ABSENT_FIX);
    return TLS_LIBRARY_NOT_FOUND;
}

static int absent_library_info(const char *key, char *buf, size_t cap, const char **value)
{
    (void)buf;
    (void)cap;
    if (strcmp(key, "install_hint") == 0)
        *value = "*\t" ABSENT_FIX;
    else if (strcmp(key, "library_tried") == 0)
        *value = ABSENT_WHY;
    else
        return 0;
    return 1;
}

/* global_init always fails, so no connection ever reaches the other entries. */
const struct tls_engine mbedtls_engine = {
    .name = "mbedtls",
    .by_name_only = 1,
    .global_init = absent_global_init,
    .library_info = absent_library_info,
};
#else
typedef int ostls_mbedtls_is_built;   /* ISO C wants a translation unit to declare something */
#endif
