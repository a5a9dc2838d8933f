/* st_resume.c — see st_resume.h. */
#include "st_resume.h"

#include "../common/verify.h"

/* SecureTransport is deprecated as a whole (see securetransport.c). */
#pragma clang diagnostic ignored "-Wdeprecated-declarations"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SecureTransport's own client session cache keeps sessions 10 minutes by
 * default; a cached ID is kept no longer, so a certificate that expires
 * meanwhile is checked again soon. */
#define ST_PEER_LIFETIME 600

struct st_peer {
    atomic_int refs;
    unsigned char id[sizeof ((tls_conn *)0)->session_key + 8];
    CFArrayRef chain;             /* as the server sent it, or NULL */
    long verify_code;
    char verify_message[256];
};

static atomic_ullong serial;

static void *peer_dup(void *blob)
{
    atomic_fetch_add(&((st_peer *)blob)->refs, 1);
    return blob;
}

void st_peer_release(st_peer *peer)
{
    if (peer && atomic_fetch_sub(&peer->refs, 1) == 1) {
        if (peer->chain)
            CFRelease(peer->chain);
        free(peer);
    }
}

static void peer_free(void *blob)
{
    st_peer_release(blob);
}

static const struct session_blob_ops peer_ops = { peer_dup, peer_free };

st_peer *st_peer_begin(tls_conn *c, SSLContextRef ctx, int *cached)
{
    void *blob = NULL;
    long code;
    *cached = 0;
    if (!c->session_key_ready)
        return NULL;
    st_peer *peer;
    if (session_cache_get(c, &peer_ops, &blob, &code, NULL)) {
        peer = blob;
        *cached = 1;
    } else {
        peer = calloc(1, sizeof *peer);
        if (!peer)
            return NULL;
        atomic_init(&peer->refs, 1);
        memcpy(peer->id, c->session_key, sizeof c->session_key);
        unsigned long long n = atomic_fetch_add(&serial, 1);
        memcpy(peer->id + sizeof c->session_key, &n, 8);
    }
    if (SSLSetPeerID(ctx, peer->id, sizeof peer->id) != noErr) {
        st_peer_release(peer);
        *cached = 0;
        return NULL;
    }
    return peer;
}

void st_peer_store(tls_conn *c, const st_peer *peer, CFArrayRef chain)
{
    if (!peer || !chain || CFArrayGetCount(chain) == 0 ||
        (c->opts.verify_peer && c->verify_code != VERIFY_OK))
        return;
    /* A new entry: the one this connection started from may be shared. */
    st_peer *made = calloc(1, sizeof *made);
    if (!made)
        return;
    atomic_init(&made->refs, 1);
    memcpy(made->id, peer->id, sizeof made->id);
    made->chain = CFArrayCreateCopy(NULL, chain);
    made->verify_code = c->verify_code;
    snprintf(made->verify_message, sizeof made->verify_message, "%s", conn_verify_message(c));
    if (!made->chain) {
        st_peer_release(made);
        return;
    }
    session_cache_put(c, &peer_ops, made, ST_PEER_LIFETIME, c->verify_code, conn_verify_message(c));
}

CFArrayRef st_peer_resumed(tls_conn *c, const st_peer *peer)
{
    conn_set_verify_result(c, peer->verify_code, peer->verify_message);
    return peer->chain ? CFRetain(peer->chain) : NULL;
}
