/* trust_cache.c — see trust_cache.h. */
#include "trust_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void key_of(const char *pem, unsigned char key[SHA256_LEN])
{
    sha256_ctx h;
    sha256_init(&h);
    sha256_update(&h, pem, strlen(pem));
    sha256_final(&h, key);
}

static int find_locked(struct trust_cache *tc, const unsigned char key[SHA256_LEN])
{
    for (int i = 0; i < TRUST_CACHE_SLOTS; i++)
        if (tc->slots[i].ref && memcmp(tc->slots[i].key, key, SHA256_LEN) == 0)
            return i;
    return -1;
}

void trust_cache_put(struct trust_cache *tc, struct trust_ref *ref)
{
    if (ref && atomic_fetch_sub(&ref->refs, 1) == 1) {
        tc->ops->release(ref->object);
        free(ref);
    }
}

/* Takes a counted reference for the caller, or NULL when not cached. */
static struct trust_ref *lookup(struct trust_cache *tc, const unsigned char key[SHA256_LEN], int wait)
{
    if (wait)
        lock_take(&tc->lock);
    else if (!lock_try(&tc->lock))
        return NULL;
    struct trust_ref *found = NULL;
    int i = find_locked(tc, key);
    if (i >= 0) {
        found = tc->slots[i].ref;
        atomic_fetch_add(&found->refs, 1);
        tc->slots[i].used = ++tc->clock;
    }
    lock_give(&tc->lock);
    return found;
}

/* The cache takes its own reference to ref, unless another thread cached
 * the same anchors first; the least recently used entry makes room. */
static void add(struct trust_cache *tc, const unsigned char key[SHA256_LEN], struct trust_ref *ref, int wait)
{
    if (wait)
        lock_take(&tc->lock);
    else if (!lock_try(&tc->lock))
        return;
    struct trust_ref *evicted = NULL;
    if (find_locked(tc, key) < 0) {
        int slot = 0;
        for (int i = 0; i < TRUST_CACHE_SLOTS; i++) {
            if (!tc->slots[i].ref) {
                slot = i;
                break;
            }
            if (tc->slots[i].used < tc->slots[slot].used)
                slot = i;
        }
        evicted = tc->slots[slot].ref;
        atomic_fetch_add(&ref->refs, 1);
        memcpy(tc->slots[slot].key, key, SHA256_LEN);
        tc->slots[slot].ref = ref;
        tc->slots[slot].used = ++tc->clock;
    }
    lock_give(&tc->lock);
    trust_cache_put(tc, evicted);   /* live connections keep their own references */
}

static struct trust_ref *build(struct trust_cache *tc, const char *pem, int *invalid, char *why, size_t whycap)
{
    struct trust_ref *ref = malloc(sizeof *ref);
    void *object = ref ? tc->ops->build(pem, invalid, why, whycap) : NULL;
    if (!object) {
        if (!ref) {
            *invalid = 0;
            snprintf(why, whycap, "out of memory building the trust store for option ca");
        }
        free(ref);
        return NULL;
    }
    ref->object = object;
    atomic_init(&ref->refs, 1);
    return ref;
}

int trust_cache_contains(struct trust_cache *tc, const char *pem)
{
    unsigned char key[SHA256_LEN];
    key_of(pem, key);
    if (!lock_try(&tc->lock))
        return 0;
    int found = find_locked(tc, key) >= 0;
    lock_give(&tc->lock);
    return found;
}

void trust_cache_prepare(struct trust_cache *tc, const char *pem)
{
    unsigned char key[SHA256_LEN];
    key_of(pem, key);
    struct trust_ref *ref = lookup(tc, key, 1);
    if (!ref) {
        char why[256];
        int invalid = 0;
        ref = build(tc, pem, &invalid, why, sizeof why);
        if (ref)
            add(tc, key, ref, 1);
    }
    trust_cache_put(tc, ref);   /* the cache keeps its own */
}

struct trust_ref *trust_cache_get(struct trust_cache *tc, const char *pem, int *invalid, char *why,
                                  size_t whycap)
{
    unsigned char key[SHA256_LEN];
    key_of(pem, key);
    *invalid = 0;
    struct trust_ref *ref = lookup(tc, key, 0);
    if (ref)
        return ref;
    ref = build(tc, pem, invalid, why, whycap);
    if (ref)
        add(tc, key, ref, 0);
    return ref;
}
