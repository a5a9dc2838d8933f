/*
 * trust_cache.h — an engine's trust objects for option `ca` ("the OS store
 * plus these PEM anchors": an OpenSSL SSL_CTX, an s2n config, ...), built
 * once and shared by every connection naming the same anchors.
 *
 * Building one reads the OS store again and costs milliseconds, so the
 * engine's trust_prepare builds it on c/common's worker thread
 * (trust_cache_prepare) and trust_ready asks trust_cache_contains. Entries
 * are keyed by the SHA-256 of the PEM text, counted, and the least recently
 * used one makes room; an object is released when the cache and the last
 * connection using it have let go. On the host's thread the lock is only ever
 * tried: when another thread holds it, the caller builds its own object, so
 * no tls_* call waits for the worker. The engine supplies build / release;
 * nothing here knows what the object is.
 */
#ifndef OSTLS_TRUST_CACHE_H
#define OSTLS_TRUST_CACHE_H

#include <stdatomic.h>
#include <stddef.h>

#include "lock.h"
#include "sha256.h"

#define TRUST_CACHE_SLOTS 8

struct trust_cache_ops {
    /* A new object trusting the OS store + pem's anchors, or NULL with why
     * filled (*invalid set when pem itself is at fault). Any thread. */
    void *(*build)(const char *pem, int *invalid, char *why, size_t whycap);
    /* Frees an object no one uses any more. */
    void (*release)(void *object);
};

/* One counted object: ref->object is what the engine uses. */
struct trust_ref {
    void *object;
    atomic_int refs;
};

struct trust_cache {
    const struct trust_cache_ops *ops;
    ostls_lock lock;
    unsigned long clock;
    struct {
        unsigned char key[SHA256_LEN];
        struct trust_ref *ref;   /* NULL: free */
        unsigned long used;
    } slots[TRUST_CACHE_SLOTS];
};

/* A static cache for an engine: static struct trust_cache c = TRUST_CACHE_INIT(&ops); */
#define TRUST_CACHE_INIT(ops_) { (ops_), OSTLS_LOCK_INIT, 0, { { { 0 }, NULL, 0 } } }

/* 1 when an object for pem is cached; never waits (0 when the lock is busy:
 * the caller then runs trust_prepare first, which finds it). */
int trust_cache_contains(struct trust_cache *tc, const char *pem);

/* engine.trust_prepare, on the worker: build and cache pem's object unless
 * it is cached already (a pem that does not parse is left for the
 * connection to report). May wait for the lock, which is never held long. */
void trust_cache_prepare(struct trust_cache *tc, const char *pem);

/* A counted reference to pem's object, built here when it is not cached (and
 * then cached if the lock is free); NULL with why filled. Never waits. */
struct trust_ref *trust_cache_get(struct trust_cache *tc, const char *pem, int *invalid, char *why,
                                  size_t whycap);

/* Lets go of a reference from trust_cache_get (NULL is fine). */
void trust_cache_put(struct trust_cache *tc, struct trust_ref *ref);

#endif
