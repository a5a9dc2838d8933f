/*
 * live_load.c — the test library promotes itself to the global scope when
 * loaded: network.c's nw_global_init looks Network.framework up with
 * dlsym(RTLD_DEFAULT, ...) (weak-linked on macOS), which does not see a
 * library Node loaded with RTLD_LOCAL.
 */
#define _GNU_SOURCE
#include <Network/Network.h>
#include <dlfcn.h>

__attribute__((constructor)) static void live_promote(void)
{
    Dl_info info;
    if (dladdr((const void *)nw_connection_create, &info) && info.dli_fname)
        dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL);
}
