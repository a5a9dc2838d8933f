/*
 * mbedtls_have.h — whether this build has the mbedtls engine.
 *
 * The engine compiles against Mbed TLS 2.28's own headers (struct layouts are
 * its ABI: mbedtls_api.h). A contributor's machine may lack them, or have
 * another version line; the library then builds without the engine, and
 * mbedtls_absent.c stands in for it, so that `npm install` in a clone still
 * works and OSTLS_BACKEND=mbedtls says why it cannot load. The prebuilds that
 * ship are built with OSTLS_REQUIRE_MBEDTLS (scripts/build-linux.sh): for
 * them a missing engine is a build error, never a quiet gap.
 */
#ifndef OSTLS_MBEDTLS_HAVE_H
#define OSTLS_MBEDTLS_HAVE_H

/* OSTLS_WITHOUT_MBEDTLS leaves the engine out even where the headers are
 * (a packager's choice; scripts/test-contributor-build.sh uses it to check
 * the build without them). */
#if defined(OSTLS_WITHOUT_MBEDTLS)
#  define OSTLS_MBEDTLS_ABSENT_REASON "it was built with OSTLS_WITHOUT_MBEDTLS"
#elif defined(__has_include)
#  if __has_include(<mbedtls/version.h>)
#    include <mbedtls/version.h>
#    if MBEDTLS_VERSION_MAJOR == 2 && MBEDTLS_VERSION_MINOR == 28
#      define OSTLS_HAVE_MBEDTLS 1
#    else
#      define OSTLS_MBEDTLS_ABSENT_REASON "it was compiled against Mbed TLS " MBEDTLS_VERSION_STRING \
                                          "'s headers, and the engine is written for 2.28 LTS"
#    endif
#  endif
#endif

#ifndef OSTLS_HAVE_MBEDTLS
#  define OSTLS_HAVE_MBEDTLS 0
#  ifndef OSTLS_MBEDTLS_ABSENT_REASON
#    define OSTLS_MBEDTLS_ABSENT_REASON "it was compiled without Mbed TLS 2.28's headers"
#  endif
#  ifdef OSTLS_REQUIRE_MBEDTLS
#    error "the mbedtls engine needs Mbed TLS 2.28 LTS's headers (Debian: libmbedtls-dev 2.28)"
#  endif
#endif

#endif
