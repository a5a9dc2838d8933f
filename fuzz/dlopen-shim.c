/*
 * dlopen-shim.c — linked into sanitizer builds only (-Wl,--wrap=dlopen).
 *
 * c/impl-linux/ossl_load.c opens the system libssl with RTLD_DEEPBIND (so it
 * binds to the system libcrypto, not to the OpenSSL that Node's executable
 * exports). The sanitizer runtimes refuse RTLD_DEEPBIND in their dlopen
 * interceptor and kill the process (google/sanitizers#611). This shim keeps
 * ossl_load.c unchanged and chooses one of two ways round it:
 *
 *   SHIM_KEEP_DEEPBIND (the library loaded into node): call libc's own dlopen,
 *     bypassing the interceptor, so DEEPBIND still keeps the two OpenSSLs
 *     apart exactly as in production. The system libssl then allocates with
 *     libc's malloc, which the sanitizer does not watch (it is not
 *     instrumented anyway), and ostls never frees OpenSSL's memory itself.
 *   otherwise (a stand-alone fuzz or thread driver, no second OpenSSL in the
 *     process): drop RTLD_DEEPBIND, so libssl uses the sanitizer's malloc and
 *     its memcpy/strlen calls are checked too.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

void *__real_dlopen(const char *file, int mode);
void *__wrap_dlopen(const char *file, int mode);

void *__wrap_dlopen(const char *file, int mode)
{
#ifdef SHIM_KEEP_DEEPBIND
    static void *(*libc_dlopen)(const char *, int);
    if (!libc_dlopen) {
        void *libc = __real_dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
        libc_dlopen = libc ? (void *(*)(const char *, int))dlsym(libc, "dlopen") : NULL;
        if (!libc_dlopen)
            return __real_dlopen(file, mode & ~RTLD_DEEPBIND);
    }
    return libc_dlopen(file, mode);
#else
    return __real_dlopen(file, mode & ~RTLD_DEEPBIND);
#endif
}
