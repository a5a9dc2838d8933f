/*
 * s2n_load.c — finds libs2n.so.1 (the system's, or the file
 * OSTLS_S2N_LIBRARY names) and binds the s2n engine's calls to it at run
 * time. It is opened with RTLD_DEEPBIND because Node's executable exports its
 * own OpenSSL: without it, libs2n's libcrypto calls could bind to Node's copy
 * instead of the system libcrypto libs2n was built against
 * (test/s2n-libcrypto.ts checks the loader's bindings).
 */
#define _GNU_SOURCE
#include "s2n_api.h"
#include "../common/strbuf.h"

#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef RTLD_DEEPBIND
#  define RTLD_DEEPBIND 0
#endif

#define DEFAULT_S2N_NAMES "libs2n.so.1:libs2n.so"

struct s2n_api s2n;
char s2n_library_path[PATH_MAX];
char s2n_library_tried[512];
char s2n_crypto_text[PATH_MAX + 64];

int s2n_err(void)
{
    return *s2n.s2n_errno_location();
}

static void remember_path(void *handle)
{
    struct link_map *map = NULL;
    char real[PATH_MAX];
    s2n_library_path[0] = '\0';
    if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name)
        snprintf(s2n_library_path, sizeof s2n_library_path, "%s",
                 realpath(map->l_name, real) ? real : map->l_name);
}

/* Names the libcrypto in libs2n's own dependency scope, for doctor: its
 * version through the handle, its file from the loaded objects that follow
 * libs2n (dladdr would need a glibc newer than the 2.28 floor). */
static void describe_crypto(void *handle)
{
    const char *(*version)(int) = (const char *(*)(int))dlsym(handle, "OpenSSL_version");
    struct link_map *map = NULL;
    const char *file = "?";
    if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0)
        for (; map; map = map->l_next)
            if (map->l_name && strstr(map->l_name, "libcrypto.so")) {
                file = map->l_name;
                break;
            }
    s2n_crypto_text[0] = '\0';
    if (version)
        snprintf(s2n_crypto_text, sizeof s2n_crypto_text, "%s from %s", version(0), file);
}

/* No clean-up at exit, in s2n or in its libcrypto: a worker may still be
 * loading a trust store into them when the host exits, and freeing their
 * tables under it crashed the exit. Both must be asked before s2n_init
 * (which initialises libcrypto); the process's end frees everything. */
static void no_exit_cleanup(void *handle)
{
    int (*init_crypto)(uint64_t, const void *) =
        (int (*)(uint64_t, const void *))dlsym(handle, "OPENSSL_init_crypto");
    if (init_crypto)
        init_crypto(0x00080000L /* OPENSSL_INIT_NO_ATEXIT, 1.1.1b+ */, NULL);
    int (*disable_atexit)(void) = (int (*)(void))dlsym(handle, "s2n_disable_atexit");
    if (disable_atexit)
        disable_atexit();
}

static const char *bind_symbols(void *handle)
{
#define S2N_BIND(ret, name, params) \
    if (!(s2n.name = (ret(*) params)dlsym(handle, #name))) return #name;
    S2N_FUNCTIONS(S2N_BIND)
#undef S2N_BIND
    return NULL;
}

int s2n_load_library(char *msg, size_t cap)
{
    const char *override = getenv("OSTLS_S2N_LIBRARY");
    const char *list = override && *override ? override : DEFAULT_S2N_NAMES;
    char names[512];
    snprintf(names, sizeof names, "%s", list);
    snprintf(msg, cap, "could not load AWS s2n-tls (libs2n.so.1)%s:",
             list == override ? " from OSTLS_S2N_LIBRARY" : "");
    char *save = NULL;
    for (char *name = strtok_r(names, ":", &save); name; name = strtok_r(NULL, ":", &save)) {
        text_append(s2n_library_tried, sizeof s2n_library_tried, "%s%s", s2n_library_tried[0] ? ";" : "", name);
        void *handle = dlopen(name, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
        if (!handle) {
            const char *why = dlerror();
            text_append(msg, cap, " %s;", why ? why : name);
            continue;
        }
        const char *missing = bind_symbols(handle);
        if (missing) {
            text_append(msg, cap, " %s: no symbol %s;", name, missing);
            memset(&s2n, 0, sizeof s2n);
            dlclose(handle);
            continue;
        }
        remember_path(handle);   /* never dlclose'd */
        describe_crypto(handle);
        no_exit_cleanup(handle);
        return 1;
    }
    size_t used = strlen(msg);
    if (used && msg[used - 1] == ';')
        msg[used - 1] = '\0';
    return 0;
}
