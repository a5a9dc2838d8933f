/* session_cache.c — see session_cache.h. */
#define _POSIX_C_SOURCE 200809L
#include "sock.h"   /* before conn.h: the socket headers it assumes */
#include "session_cache.h"

#include "lock.h"
#include "sha256.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static ostls_lock cache_lock = OSTLS_LOCK_INIT;

struct entry {
    unsigned char key[SHA256_LEN];
    const struct session_blob_ops *ops;   /* NULL: the slot is free */
    void *blob;
    time_t expires;
    unsigned long last_used;
    long verify_code;
    char *verify_message;
};

static struct entry entries[SESSION_CACHE_MAX];
static unsigned long use_clock;

/* ------------------------------------------------------------------ key */

/* Each field goes in as name, length, bytes: no two different option sets
 * can run together into the same input. A NULL value (option not set) is
 * hashed apart from an empty one. */
static void key_bytes(sha256_ctx *h, const char *name, const void *data, size_t len)
{
    unsigned char head[9];
    sha256_update(h, name, strlen(name) + 1);
    head[0] = data != NULL;
    for (int i = 0; i < 8; i++)
        head[1 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    sha256_update(h, head, sizeof head);
    if (data)
        sha256_update(h, data, len);
}

static void key_text(sha256_ctx *h, const char *name, const char *text)
{
    key_bytes(h, name, text, text ? strlen(text) : 0);
}

static void key_int(sha256_ctx *h, const char *name, long value)
{
    unsigned char be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (unsigned char)((uint64_t)value >> (56 - 8 * i));
    key_bytes(h, name, be, sizeof be);
}

/* Every option that can change what a connection accepts or presents goes
 * here, one line each: an option left out would let a session made under it
 * be resumed without it. (Socket options — nodelay, keepalive — cannot.) */
int session_key_prepare(tls_conn *c)
{
    const struct tls_options *o = &c->opts;
    sha256_ctx h;
    sha256_init(&h);
    key_text(&h, "key-version", "ostls session key 1");
    key_text(&h, "host", c->host);
    key_int(&h, "port", c->port);
    key_text(&h, "peer_name", c->peer_name);            /* servername, else host */
    key_int(&h, "peer_name_is_ip", c->peer_name_is_ip);
    key_text(&h, "ca", o->ca);                           /* the PEM bytes as given */
    key_int(&h, "verify_peer", o->verify_peer);
    key_bytes(&h, "alpn", o->alpn, o->alpn_len);
    key_int(&h, "min_version", o->min_version);
    key_int(&h, "max_version", o->max_version);
    /* The tunnel: a session made through one proxy is not offered direct or
     * through another. */
    key_text(&h, "proxy", o->proxy);
    /* Who the client is, and how revocation is judged: a session made with
     * one identity or policy is not offered under another. (The engines
     * call session_key_prepare before options_drop_identity.) */
    key_text(&h, "cert", o->cert);
    key_text(&h, "key", o->key);
    key_bytes(&h, "pfx", o->pfx, o->pfx_len);
    key_text(&h, "client_cert_store", o->store);
    key_text(&h, "client_cert_thumbprint", o->store_thumbprint);
    key_text(&h, "client_cert_subject", o->store_subject);
    key_text(&h, "client_cert_issuer", o->store_issuer);
    key_int(&h, "client_cert_auto", o->store_auto);
    key_text(&h, "client_cert_label", o->store_label);
    key_int(&h, "revocation", o->revocation);
    sha256_final(&h, c->session_key);
    c->session_key_ready = o->session_cache;
    return c->session_key_ready;
}

/* ---------------------------------------------------------------- table */

static void entry_take(struct entry *e, void **blob, const struct session_blob_ops **ops,
                       char **msg)
{
    *blob = e->blob;
    *ops = e->ops;
    *msg = e->verify_message;
    memset(e, 0, sizeof *e);
}

static void drop(void *blob, const struct session_blob_ops *ops, char *msg)
{
    if (blob && ops)
        ops->free(blob);
    free(msg);
}

static struct entry *find(const unsigned char key[SHA256_LEN])
{
    for (int i = 0; i < SESSION_CACHE_MAX; i++)
        if (entries[i].ops && memcmp(entries[i].key, key, SHA256_LEN) == 0)
            return &entries[i];
    return NULL;
}

int session_cache_get(const tls_conn *c, const struct session_blob_ops *ops, void **blob,
                      long *verify_code, char **verify_message)
{
    void *old = NULL;
    const struct session_blob_ops *old_ops = NULL;
    char *old_msg = NULL;
    int found = 0;
    *blob = NULL;
    if (!c->session_key_ready || !lock_try(&cache_lock))
        return 0;
    struct entry *e = find(c->session_key);
    if (e && (e->ops != ops || e->expires <= time(NULL))) {
        entry_take(e, &old, &old_ops, &old_msg);   /* expired: freed below, outside the lock */
    } else if (e && (*blob = ops->dup(e->blob)) != NULL) {
        e->last_used = ++use_clock;
        *verify_code = e->verify_code;
        if (verify_message)
            *verify_message = strdup(e->verify_message ? e->verify_message : "");
        found = 1;
    }
    lock_give(&cache_lock);
    drop(old, old_ops, old_msg);
    return found;
}

void session_cache_put(const tls_conn *c, const struct session_blob_ops *ops, void *blob,
                       long lifetime, long verify_code, const char *verify_message)
{
    void *old = NULL;
    const struct session_blob_ops *old_ops = NULL;
    char *old_msg = NULL;
    char *msg = verify_message ? strdup(verify_message) : NULL;
    if (!c->session_key_ready || lifetime <= 0 || !lock_try(&cache_lock)) {
        drop(blob, ops, msg);
        return;
    }
    struct entry *e = find(c->session_key);
    if (!e) {
        /* A free slot, else the least recently used one. */
        e = &entries[0];
        for (int i = 0; i < SESSION_CACHE_MAX && e->ops; i++)
            if (!entries[i].ops || entries[i].last_used < e->last_used)
                e = &entries[i];
    }
    if (e->ops)
        entry_take(e, &old, &old_ops, &old_msg);
    memcpy(e->key, c->session_key, SHA256_LEN);
    e->ops = ops;
    e->blob = blob;
    e->expires = time(NULL) + (lifetime < SESSION_MAX_AGE ? lifetime : SESSION_MAX_AGE);
    e->last_used = ++use_clock;
    e->verify_code = verify_code;
    e->verify_message = msg;
    lock_give(&cache_lock);
    drop(old, old_ops, old_msg);
}

void session_cache_forget(const tls_conn *c)
{
    void *old = NULL;
    const struct session_blob_ops *old_ops = NULL;
    char *old_msg = NULL;
    if (!c->session_key_ready || !lock_try(&cache_lock))
        return;
    struct entry *e = find(c->session_key);
    if (e)
        entry_take(e, &old, &old_ops, &old_msg);
    lock_give(&cache_lock);
    drop(old, old_ops, old_msg);
}
