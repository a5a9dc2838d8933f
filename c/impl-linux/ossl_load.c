/*
 * ossl_load.c — find and bind the system libssl at run time.
 *
 * RTLD_DEEPBIND matters: Node's own executable exports a complete (and
 * possibly different) OpenSSL. Without it, the system libssl we load would
 * bind its libcrypto calls to Node's copy and the two would share nothing but
 * symbol names.
 */
#define _GNU_SOURCE
#include "ossl_api.h"

#include "../common/strbuf.h"

#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ossl_api ossl;

#define DEFAULT_LIBSSL_NAMES "libssl.so.3:libssl.so.1.1"
#define MINIMUM_VERSION 0x10101000UL   /* 1.1.1: TLS 1.3, SSL_CIPHER_standard_name */

#ifndef RTLD_DEEPBIND
#  define RTLD_DEEPBIND 0
#endif

struct symbol_slot {
    const char *name;
    void **slot;
};

#define OSSL_SLOT(ret, name, params) { #name, (void **)&ossl.name },
static const struct symbol_slot required_symbols[] = { OSSL_REQUIRED_FUNCTIONS(OSSL_SLOT) };
static const struct symbol_slot optional_symbols[] = { OSSL_OPTIONAL_FUNCTIONS(OSSL_SLOT) };
static const struct symbol_slot resume_symbols[] = { OSSL_RESUME_FUNCTIONS(OSSL_SLOT) };

/* Resolve all functions from one opened library; names the first missing. */
static const char *bind_symbols(void *handle)
{
    for (size_t i = 0; i < sizeof required_symbols / sizeof required_symbols[0]; i++) {
        *required_symbols[i].slot = dlsym(handle, required_symbols[i].name);
        if (!*required_symbols[i].slot)
            return required_symbols[i].name;
    }
    for (size_t i = 0; i < sizeof optional_symbols / sizeof optional_symbols[0]; i++)
        *optional_symbols[i].slot = dlsym(handle, optional_symbols[i].name);
    ossl.can_resume = 1;
    for (size_t i = 0; i < sizeof resume_symbols / sizeof resume_symbols[0]; i++)
        if (!(*resume_symbols[i].slot = dlsym(handle, resume_symbols[i].name)))
            ossl.can_resume = 0;
    if (!ossl.SSL_get1_peer_certificate && !ossl.SSL_get_peer_certificate)
        return "SSL_get1_peer_certificate";
    return NULL;
}

static void remember_path(void *handle)
{
    struct link_map *map = NULL;
    ossl.library_path[0] = '\0';
    if (dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || !map || !map->l_name)
        return;
    char resolved[PATH_MAX];
    snprintf(ossl.library_path, sizeof ossl.library_path, "%s",
             realpath(map->l_name, resolved) ? resolved : map->l_name);
}

int ossl_load(char *msg, size_t msgcap)
{
    const char *override = getenv("OSTLS_LIBSSL");
    const char *list = (override && *override) ? override : DEFAULT_LIBSSL_NAMES;
    char *names = strdup(list);
    if (!names) {
        snprintf(msg, msgcap, "out of memory while loading libssl");
        return 0;
    }
    snprintf(msg, msgcap, "could not load the system OpenSSL (libssl 1.1.1 or 3.x)%s:",
             list == override ? " from OSTLS_LIBSSL" : "");
    ossl.library_tried[0] = '\0';
    int loaded = 0;
    char *save = NULL;
    for (char *name = strtok_r(names, ":", &save); name && !loaded;
         name = strtok_r(NULL, ":", &save)) {
        text_append(ossl.library_tried, sizeof ossl.library_tried, "%s%s",
                    ossl.library_tried[0] ? ";" : "", name);
        void *handle = dlopen(name, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
        if (!handle) {
            const char *why = dlerror();
            if (!why)
                why = "not found";
            /* dlerror usually starts with the name again; say it once. */
            size_t namelen = strlen(name);
            if (strncmp(why, name, namelen) == 0 && strncmp(why + namelen, ": ", 2) == 0)
                why += namelen + 2;
            text_append(msg, msgcap, " %s: %s;", name, why);
            continue;
        }
        const char *missing = bind_symbols(handle);
        if (!missing && ossl.OpenSSL_version_num() < MINIMUM_VERSION) {
            text_append(msg, msgcap, " %s: version %s is older than 1.1.1;", name,
                        ossl.OpenSSL_version(OSSL_OPENSSL_VERSION));
            dlclose(handle);
            continue;
        }
        if (missing) {
            text_append(msg, msgcap, " %s: no symbol %s;", name, missing);
            dlclose(handle);
            continue;
        }
        /* Never dlclose'd: connections and OpenSSL's atexit handlers use it. */
        remember_path(handle);
        ossl.is_3x = ossl.OpenSSL_version_num() >= 0x30000000UL;
        loaded = 1;
    }
    free(names);
    size_t used = strlen(msg);
    if (used && msg[used - 1] == ';')
        msg[used - 1] = '\0';
    if (!loaded)
        memset(&ossl, 0, offsetof(struct ossl_api, library_path));
    return loaded;
}

int ossl_error_lib(unsigned long e)
{
    if (ossl.is_3x) {
        if (e & 0x80000000UL)   /* ERR_SYSTEM_FLAG: errno packed in */
            return 2;           /* ERR_LIB_SYS */
        return (int)((e >> 23) & 0xFF);
    }
    return (int)((e >> 24) & 0xFF);
}

int ossl_error_reason(unsigned long e)
{
    if (ossl.is_3x)
        return (int)(e & ((e & 0x80000000UL) ? 0x7FFFFFFFUL : 0x7FFFFFUL));
    return (int)(e & 0xFFF);
}

void ossl_error_text(unsigned long e, char *buf, size_t cap)
{
    if (e)
        ossl.ERR_error_string_n(e, buf, cap);
    else
        snprintf(buf, cap, "no OpenSSL error recorded");
}
