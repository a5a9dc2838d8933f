/* s2n_resume.c — see s2n_resume.h. */
#define _GNU_SOURCE
#include "s2n_resume.h"

#include "../common/der.h"
#include "../common/session_cache.h"
#include "../common/verify.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* What the cache holds: read-only once stored, shared (counted) between
 * connections and threads. */
struct s2n_cached {
    atomic_int refs;
    unsigned char *state;   /* s2n's serialized session */
    size_t state_len;
    unsigned char *chain;   /* DER, leaf first */
    size_t chain_len;
};

static void *cached_dup(void *blob)
{
    atomic_fetch_add(&((struct s2n_cached *)blob)->refs, 1);
    return blob;
}

static void cached_free(void *blob)
{
    struct s2n_cached *m = blob;
    if (m && atomic_fetch_sub(&m->refs, 1) == 1) {
        if (m->state)
            memset(m->state, 0, m->state_len);   /* it holds the resumption secret */
        free(m->state);
        free(m->chain);
        free(m);
    }
}

static const struct session_blob_ops cached_ops = { cached_dup, cached_free };

/* Seconds before the chain's leaf expires (<= 0: expired or unreadable). */
static long cert_seconds_left(const unsigned char *chain, size_t len)
{
    size_t leaf = der_element_size(chain, len);
    time_t after = leaf ? der_cert_not_after(chain, leaf) : 0;
    return after ? (long)(after - time(NULL)) : 0;
}

/* Caches state under r's connection's key with the chain r keeps, when that
 * connection was verified (or, under its own key, did not ask to be: with
 * verification off s2n keeps no chain at all, nor does the session then). */
static void store(struct s2n_resume *r, const unsigned char *state, size_t len, long life)
{
    tls_conn *c = r->c;
    if (!c->session_key_ready || c->verify_code < 0 ||
        (c->opts.verify_peer && (c->verify_code != VERIFY_OK || !r->chain)))
        return;
    if (c->opts.verify_peer) {
        long left = cert_seconds_left(r->chain, r->chain_len);
        if (left < life)
            life = left;
    }
    struct s2n_cached *m = calloc(1, sizeof *m);
    if (!m)
        return;
    atomic_init(&m->refs, 1);
    m->state = malloc(len);
    m->chain = r->chain_len ? malloc(r->chain_len) : NULL;
    if (!m->state || (r->chain_len && !m->chain)) {
        cached_free(m);
        return;
    }
    memcpy(m->state, state, len);
    m->state_len = len;
    if (m->chain)
        memcpy(m->chain, r->chain, r->chain_len);
    m->chain_len = r->chain_len;
    session_cache_put(c, &cached_ops, m, life, c->verify_code, conn_verify_message(c));   /* life <= 0: freed */
}

/* s2n calls this for each ticket: a TLS 1.2 one inside the handshake (kept
 * until the verify result is known), TLS 1.3 ones after it (while reading). */
static int ticket_cb(struct s2n_connection *sc, void *ctx, struct s2n_session_ticket *ticket)
{
    const struct s2n_api *api = ctx;
    struct s2n_resume *r = api->s2n_connection_get_ctx(sc);
    size_t len = 0;
    uint32_t life = 0;
    if (!r || !r->c || api->s2n_session_ticket_get_data_len(ticket, &len) < 0 || len == 0 ||
        api->s2n_session_ticket_get_lifetime(ticket, &life) < 0)
        return 0;   /* never fail the connection over a ticket */
    unsigned char *data = malloc(len);
    if (!data || api->s2n_session_ticket_get_data(ticket, len, data) < 0) {
        free(data);
        return 0;
    }
    if (r->handshake_done) {
        store(r, data, len, (long)life);
        memset(data, 0, len);
        free(data);
    } else {
        if (r->pending)
            memset(r->pending, 0, r->pending_len);
        free(r->pending);
        r->pending = data;
        r->pending_len = len;
        r->pending_life = (long)life;
    }
    return 0;
}

void s2n_resume_config(const struct s2n_api *api, struct s2n_config *cfg)
{
    /* Failing either leaves the config without resumption, nothing worse. */
    if (api->s2n_config_set_session_tickets_onoff(cfg, 1) == 0)
        api->s2n_config_set_session_ticket_cb(cfg, ticket_cb, (void *)api);
}

void s2n_resume_offer(const struct s2n_api *api, tls_conn *c, struct s2n_connection *sc,
                      struct s2n_resume *r)
{
    void *blob;
    r->api = api;
    r->c = c;
    if (api->s2n_connection_set_ctx(sc, r) < 0 || !c->session_key_ready ||
        !session_cache_get(c, &cached_ops, &blob, &r->offered_verify_code, &r->offered_verify_message))
        return;
    struct s2n_cached *m = blob;
    if (c->opts.verify_peer && cert_seconds_left(m->chain, m->chain_len) <= 0) {
        session_cache_forget(c);   /* its certificate expired since: verify again */
        cached_free(m);
    } else if (api->s2n_connection_set_session(sc, m->state, m->state_len) < 0) {
        cached_free(m);            /* s2n would not take it: a full handshake */
    } else {
        r->offered = m;
    }
}

static int keep_chain(struct s2n_resume *r, const unsigned char *der, size_t len)
{
    free(r->chain);
    r->chain = len ? malloc(len) : NULL;
    r->chain_len = r->chain ? len : 0;
    if (r->chain)
        memcpy(r->chain, der, len);
    return r->chain != NULL;
}

int s2n_resume_reused(struct s2n_connection *sc, struct s2n_resume *r)
{
    r->handshake_done = 1;
    if (!r->offered || r->api->s2n_connection_is_session_resumed(sc) != 1)
        return 0;
    r->resumed = 1;
    conn_set_verify_result(r->c, r->offered_verify_code, r->offered_verify_message);
    /* New tickets on this connection are stored with the session's chain. */
    keep_chain(r, r->offered->chain, r->offered->chain_len);
    return 1;
}

void s2n_resume_verified(struct s2n_connection *sc, struct s2n_resume *r)
{
    if (!r->c || !r->c->session_key_ready)
        return;
    if (!r->resumed) {
        strbuf der = { 0 };
        s2n_peer_chain_der(r->api, sc, &der);
        if (!der.failed)
            keep_chain(r, (const unsigned char *)der.data, der.len);
        strbuf_free(&der);
    }
    if (r->pending) {
        store(r, r->pending, r->pending_len, r->pending_life);
        memset(r->pending, 0, r->pending_len);
        free(r->pending);
        r->pending = NULL;
    }
}

int s2n_resume_chain(const struct s2n_resume *r, const unsigned char **der, size_t *len)
{
    if (!r->resumed)
        return 0;
    *der = r->chain;
    *len = r->chain_len;
    return 1;
}

void s2n_peer_chain_der(const struct s2n_api *api, struct s2n_connection *sc, strbuf *out)
{
    struct s2n_cert_chain_and_key *chain = api->s2n_cert_chain_and_key_new();
    uint32_t count = 0;
    if (!chain) {
        out->failed = 1;
        return;
    }
    if (api->s2n_connection_get_peer_cert_chain(sc, chain) == 0 &&
        api->s2n_cert_chain_get_length(chain, &count) == 0) {
        for (uint32_t i = 0; i < count; i++) {
            struct s2n_cert *cert = NULL;
            const uint8_t *der = NULL;
            uint32_t len = 0;
            if (api->s2n_cert_chain_get_cert(chain, &cert, i) == 0 &&
                api->s2n_cert_get_der(cert, &der, &len) == 0 && len > 0)
                strbuf_append(out, (const char *)der, len);
        }
    }
    api->s2n_cert_chain_and_key_free(chain);
}

void s2n_resume_free(struct s2n_resume *r)
{
    cached_free(r->offered);
    if (r->pending)
        memset(r->pending, 0, r->pending_len);
    free(r->pending);
    free(r->chain);
    free(r->offered_verify_message);
    memset(r, 0, sizeof *r);
}
