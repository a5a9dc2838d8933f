/*
 * session_cache.h — the per-process TLS session cache every engine resumes
 * through (issue 16).
 *
 * An entry is an opaque engine blob (a session object, a credential handle:
 * whatever the engine resumes from) stored under a digest of every option that decides
 * whether a connection is trusted (session_key_prepare lists them). A blob
 * made under one key is never handed out under another, so a session made
 * with rejectUnauthorized:false, another `ca` or another servername can never
 * skip the checks of a later connection. The entry also keeps the
 * verification result of the connection that made it: a resumed connection
 * reports that, never an empty one.
 *
 * Bounded (SESSION_CACHE_MAX entries, least recently used dropped first),
 * entries expire (the engine's lifetime — ticket lifetime, certificate
 * notAfter — capped at SESSION_MAX_AGE). Thread-safe: engines run on
 * whichever thread drives the connection (the JS thread, koffi's workers
 * under OSTLS_POLL=wait, any thread of a C host). The lock is only ever tried:
 * on contention a lookup misses (a full handshake) and a store is skipped, so
 * no tls_* call waits for another thread.
 */
#ifndef OSTLS_SESSION_CACHE_H
#define OSTLS_SESSION_CACHE_H

#include "conn.h"

#define SESSION_CACHE_MAX 256
#define SESSION_MAX_AGE (24L * 3600)   /* seconds; TLS 1.3 allows tickets up to 7 days */

struct session_blob_ops {
    void *(*dup)(void *blob);   /* a new reference to blob, or NULL */
    void (*free)(void *blob);
};

/* Compute c's key (c->session_key) from its options; call it once options
 * are final and before the engine consumes any of them (session_new's first
 * step). Returns 1 when this connection may use the cache, 0 when it is off
 * for it (option session_cache "0"). */
int session_key_prepare(tls_conn *c);

/* The blob stored under c's key, as a new reference the caller frees with
 * ops->free: 1 with *blob and *verify_code set, and *verify_message (when not
 * NULL) a copy the caller frees (NULL when out of memory: read it as ""); 0
 * when there is none (or it expired, or was stored by another engine, or the
 * cache is off for c). */
int session_cache_get(const tls_conn *c, const struct session_blob_ops *ops, void **blob,
                      long *verify_code, char **verify_message);

/* Store blob (the cache takes this reference; it is freed at once when the
 * cache is off for c or busy) under c's key, replacing what was there, with
 * the verification result of c. lifetime: seconds the engine allows it
 * (<= 0: not stored). */
void session_cache_put(const tls_conn *c, const struct session_blob_ops *ops, void *blob,
                       long lifetime, long verify_code, const char *verify_message);

/* Drop c's entry (e.g. a blob the engine found unusable). */
void session_cache_forget(const tls_conn *c);

#endif
