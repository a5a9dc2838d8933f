/*
 * Force-included (-include) by scripts/build-linux.sh into every source of a
 * glibc prebuild, so that the library loads on glibc 2.28 and newer, not only
 * on the glibc it was built with.
 *
 * glibc 2.34 moved libdl and libpthread into libc and gave the moved functions
 * new symbol versions (GLIBC_2.34; pthread_sigmask GLIBC_2.32). A library linked
 * on such a glibc asks for those versions by default and fails to load on older
 * ones ("version `GLIBC_2.34' not found"). Every newer glibc still exports the
 * old versions as aliases of the same functions, so binding each reference to
 * the old version gives one file that works on both. The build links libdl.so.2
 * and libpthread.so.0 by name so that on glibc < 2.34 the libraries that define
 * the old versions are loaded with ours.
 *
 * Only functions ostls calls are listed; scripts/build-linux.sh fails the build
 * when any import needs a version newer than 2.28, which is how a new call to a
 * moved function is caught. Not used for musl, which has no symbol versions.
 */
#ifndef OSTLS_GLIBC_FLOOR_H
#define OSTLS_GLIBC_FLOOR_H

/* No #include here: a header included before a source's own #define
   _GNU_SOURCE would fix the feature macros without it. The build script
   includes this file for glibc targets only. */
#if defined(__x86_64__)
/* x86-64's first glibc version node is GLIBC_2.2.5 (dlinfo came in 2.3.3). */
__asm__(".symver dlopen,dlopen@GLIBC_2.2.5");
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");
__asm__(".symver dlclose,dlclose@GLIBC_2.2.5");
__asm__(".symver dlerror,dlerror@GLIBC_2.2.5");
__asm__(".symver dlinfo,dlinfo@GLIBC_2.3.3");
__asm__(".symver dladdr,dladdr@GLIBC_2.2.5");
__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");
__asm__(".symver pthread_mutex_trylock,pthread_mutex_trylock@GLIBC_2.2.5");
__asm__(".symver pthread_once,pthread_once@GLIBC_2.2.5");
__asm__(".symver pthread_sigmask,pthread_sigmask@GLIBC_2.2.5");
#elif defined(__aarch64__)
/* aarch64's first glibc version node is GLIBC_2.17. */
__asm__(".symver dlopen,dlopen@GLIBC_2.17");
__asm__(".symver dlsym,dlsym@GLIBC_2.17");
__asm__(".symver dlclose,dlclose@GLIBC_2.17");
__asm__(".symver dlerror,dlerror@GLIBC_2.17");
__asm__(".symver dlinfo,dlinfo@GLIBC_2.17");
__asm__(".symver dladdr,dladdr@GLIBC_2.17");
__asm__(".symver pthread_create,pthread_create@GLIBC_2.17");
__asm__(".symver pthread_mutex_trylock,pthread_mutex_trylock@GLIBC_2.17");
__asm__(".symver pthread_once,pthread_once@GLIBC_2.17");
__asm__(".symver pthread_sigmask,pthread_sigmask@GLIBC_2.17");
#else
#error "glibc_floor.h: no symbol versions listed for this architecture"
#endif

#endif
