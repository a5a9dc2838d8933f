/*
 * mbedtls_resume.c — the Mbed TLS engine's session resumption through
 * c/common's cache (session_cache.h), keyed as every engine's: Mbed TLS 2.28
 * resumes TLS 1.2 sessions by ID or ticket (tickets are on by default for a
 * client). The cache holds a copy of the session taken after a verified (or,
 * under its own key, unverified) handshake; mbedtls_ssl_set_session copies it
 * again into the connection, so the cached one is never changed and is
 * shared, counted, between threads.
 *
 * Mbed TLS says nothing after the handshake about whether it resumed, but a
 * full handshake always runs the verify callback (VERIFY_OPTIONAL) and an
 * abbreviated one never does: offered + no verification = resumed. Mbed
 * TLS's copy of a session keeps only the peer's leaf certificate: the cache
 * keeps the whole chain the server sent beside it, which a resumed connection
 * reports.
 */
#define _GNU_SOURCE
#include "mbedtls_have.h"
#if OSTLS_HAVE_MBEDTLS   /* else mbedtls_absent.c stands in */
#include "../common/der.h"
#include "../common/session_cache.h"
#include "../common/verify.h"
#include "mbedtls_api.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct mbed_cached {
    atomic_int refs;
    mbedtls_ssl_session sess;   /* read-only once cached */
    unsigned char *chain;       /* the peer's chain, DER, leaf first */
    size_t chain_len;
};

static void *cached_dup(void *blob)
{
    atomic_fetch_add(&((struct mbed_cached *)blob)->refs, 1);
    return blob;
}

static void cached_free(void *blob)
{
    struct mbed_cached *m = blob;
    if (m && atomic_fetch_sub(&m->refs, 1) == 1) {
        mb.ssl_session_free(&m->sess);   /* wipes the master secret */
        free(m->chain);
        free(m);
    }
}

static const struct session_blob_ops cached_ops = { cached_dup, cached_free };

/* Seconds before the session's certificate expires (<= 0: expired or none). */
static long cert_seconds_left(const mbedtls_ssl_session *sess)
{
    const mbedtls_x509_crt *crt = sess->peer_cert;
    if (!crt || !crt->raw.p)
        return 0;
    struct tm tm = { .tm_year = crt->valid_to.year - 1900, .tm_mon = crt->valid_to.mon - 1,
                     .tm_mday = crt->valid_to.day, .tm_hour = crt->valid_to.hour,
                     .tm_min = crt->valid_to.min, .tm_sec = crt->valid_to.sec };
    return (long)(timegm(&tm) - time(NULL));
}

void mbed_resume_offer(tls_conn *c, struct mbed_session *s)
{
    void *blob;
    if (!c->session_key_ready ||
        !session_cache_get(c, &cached_ops, &blob, &s->resumed_verify_code, &s->resumed_verify_message))
        return;
    struct mbed_cached *m = blob;
    if (cert_seconds_left(&m->sess) > 0 && mb.ssl_set_session(&s->ssl, &m->sess) == 0) {
        s->offered = m;   /* kept for its chain */
        return;
    }
    if (cert_seconds_left(&m->sess) <= 0)
        session_cache_forget(c);   /* its certificate expired since: verify again */
    cached_free(m);
}

/* The chain m is stored with: the resumed session's, else the one the server just sent. */
static int copy_chain(struct mbed_session *s, struct mbed_cached *m)
{
    if (s->resumed) {
        const struct mbed_cached *from = s->offered;
        m->chain = from->chain_len ? malloc(from->chain_len) : NULL;
        if (from->chain_len && !m->chain)
            return 0;
        if (m->chain)
            memcpy(m->chain, from->chain, from->chain_len);
        m->chain_len = from->chain_len;
        return 1;
    }
    size_t len = 0;
    for (const mbedtls_x509_crt *crt = mb.ssl_get_peer_cert(&s->ssl); crt && crt->raw.p; crt = crt->next)
        len += crt->raw.len;
    m->chain = len ? malloc(len) : NULL;
    if (!m->chain)
        return 0;
    for (const mbedtls_x509_crt *crt = mb.ssl_get_peer_cert(&s->ssl); crt && crt->raw.p; crt = crt->next) {
        memcpy(m->chain + m->chain_len, crt->raw.p, crt->raw.len);
        m->chain_len += crt->raw.len;
    }
    return 1;
}

/* A copy of the session just made, stored under c's key when c was verified
 * (or did not ask to be, which its key says) and the server gave the means
 * to resume it (an ID or a ticket). */
static void resume_store(tls_conn *c, struct mbed_session *s)
{
    if (!c->session_key_ready || c->verify_code < 0 ||
        (c->opts.verify_peer && c->verify_code != VERIFY_OK))
        return;
    struct mbed_cached *m = calloc(1, sizeof *m);
    if (!m)
        return;
    atomic_init(&m->refs, 1);
    mb.ssl_session_init(&m->sess);
    long life = 0;
    if (mb.ssl_get_session(&s->ssl, &m->sess) == 0 && (m->sess.id_len > 0 || m->sess.ticket) &&
        copy_chain(s, m)) {
        life = cert_seconds_left(&m->sess);
        if (m->sess.ticket && m->sess.ticket_lifetime > 0 && (long)m->sess.ticket_lifetime < life)
            life = (long)m->sess.ticket_lifetime;
    }
    session_cache_put(c, &cached_ops, m, life, c->verify_code, conn_verify_message(c));   /* life 0: freed */
}

void mbed_resume_handshake_done(tls_conn *c, struct mbed_session *s)
{
    s->resumed = s->offered && !s->verified;
    if (s->resumed)
        conn_set_verify_result(c, s->resumed_verify_code, s->resumed_verify_message);
    else
        mbed_record_verify_result(c);
    resume_store(c, s);
}

int mbed_resume_chain(const struct mbed_session *s, const unsigned char **der, size_t *len)
{
    if (!s->resumed)
        return 0;
    const struct mbed_cached *m = s->offered;
    *der = m->chain;
    *len = m->chain_len;
    return 1;
}

void mbed_resume_free(struct mbed_session *s)
{
    cached_free(s->offered);
    s->offered = NULL;
    free(s->resumed_verify_message);
    s->resumed_verify_message = NULL;
}
#endif /* OSTLS_HAVE_MBEDTLS */
