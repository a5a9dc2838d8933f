/*
 * sha256.h — SHA-256 (FIPS 180-4) for c/common, which links no crypto
 * library of its own: it digests the session cache keys (session_cache.c).
 */
#ifndef OSTLS_SHA256_H
#define OSTLS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

typedef struct {
    uint32_t h[8];
    uint64_t total;          /* bytes hashed so far */
    unsigned char block[64];
    size_t used;             /* bytes waiting in block */
} sha256_ctx;

void sha256_init(sha256_ctx *ctx);
void sha256_update(sha256_ctx *ctx, const void *data, size_t len);
void sha256_final(sha256_ctx *ctx, unsigned char out[SHA256_LEN]);

#endif
