/*
 * ossl_resume.c — session resumption for the OpenSSL engine.
 *
 * Sessions live in c/common's cache (session_cache.h), keyed by every option
 * that decides trust; OpenSSL's own client cache is off (NO_INTERNAL), so
 * nothing is ever looked up but by that key. The new-session callback runs
 * on the thread driving the connection: at the end of a TLS 1.2 handshake
 * (inside SSL_do_handshake, before ostls has recorded the verify result: the
 * session waits in s->pending) and for each TLS 1.3 NewSessionTicket (read
 * after the handshake).
 */
#define _GNU_SOURCE
#include "../common/session_cache.h"
#include "../common/verify.h"
#include "ossl_api.h"

/* Each connection gets its own copy: OpenSSL changes the session of a live
 * connection (it marks it not resumable when the connection is freed without
 * close_notify), and a shared one would be changed by every connection using
 * it. Reusing a ticket, as Node's clients do with the
 * `session` of the previous connection, lets a passive observer link the
 * connections that use it (RFC 8446, appendix C.4); a new ticket the server
 * sends replaces it. */
static void *ossl_session_dup(void *blob)
{
    return ossl.SSL_SESSION_dup(blob);
}

static void ossl_session_free(void *blob)
{
    ossl.SSL_SESSION_free(blob);
}

static const struct session_blob_ops ossl_session_ops = { ossl_session_dup, ossl_session_free };

/* Seconds left before the session's certificate expires (<= 0: expired). */
static long cert_seconds_left(SSL_SESSION *sess)
{
    X509 *peer = ossl.SSL_SESSION_get0_peer(sess);
    int days = 0, secs = 0;
    if (!peer || !ossl.ASN1_TIME_diff(&days, &secs, NULL, ossl.X509_get0_notAfter(peer)))
        return 0;
    return (long)days * 86400 + secs;
}

/* Store sess (taking the reference) under c's key, if c was verified — or
 * did not ask to be, which its key says. Never without a peer certificate:
 * a resumed connection reports the one the session holds. */
static void resume_store(tls_conn *c, SSL_SESSION *sess)
{
    long life = ossl.SSL_SESSION_get_timeout(sess);
    long left = cert_seconds_left(sess);
    if (left < life)
        life = left;
    if (!ossl.SSL_SESSION_is_resumable(sess) || c->verify_code < 0 ||
        (c->opts.verify_peer && c->verify_code != VERIFY_OK))
        life = 0;   /* session_cache_put frees it */
    session_cache_put(c, &ossl_session_ops, sess, life, c->verify_code, conn_verify_message(c));
}

/* The cache keeps its own copy: OpenSSL marks the live connection's session
 * not resumable when that connection is freed without close_notify, which is
 * how HTTP clients often end (undici destroys the socket). */
static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    tls_conn *c = ossl.SSL_get_ex_data(ssl, 0);
    struct ossl_session *s = c ? c->session : NULL;
    SSL_SESSION *copy = s && c->session_key_ready ? ossl.SSL_SESSION_dup(sess) : NULL;
    if (!copy)
        return 0;
    if (!s->handshake_done) {
        if (s->pending)
            ossl.SSL_SESSION_free(s->pending);
        s->pending = copy;
    } else {
        resume_store(c, copy);
    }
    return 0;   /* OpenSSL keeps (and frees) its reference to sess */
}

void ossl_resume_setup_ctx(SSL_CTX *ctx)
{
    if (!ossl.can_resume)
        return;
    ossl.SSL_CTX_ctrl(ctx, OSSL_SSL_CTRL_SET_SESS_CACHE_MODE,
                      OSSL_SSL_SESS_CACHE_CLIENT | OSSL_SSL_SESS_CACHE_NO_INTERNAL, NULL);
    ossl.SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
}

/* Before the options are consumed: offer the session cached under c's key,
 * unless its certificate has expired since. */
void ossl_resume_offer(tls_conn *c, struct ossl_session *s)
{
    void *blob;
    if (!ossl.can_resume || !c->session_key_ready)
        return;
    ossl.SSL_set_ex_data(s->ssl, 0, c);
    if (!session_cache_get(c, &ossl_session_ops, &blob, &s->resumed_verify_code, &s->resumed_verify_message))
        return;
    if (cert_seconds_left(blob) <= 0 || !ossl.SSL_SESSION_is_resumable(blob))
        session_cache_forget(c);
    else if (ossl.SSL_set_session(s->ssl, blob))
        s->offered = 1;
    ossl.SSL_SESSION_free(blob);   /* the SSL holds its own reference */
    ossl.ERR_clear_error();
}

/* After a successful handshake: the verify result (the resumed session's
 * when resumed), then the session made during it, if any. */
void ossl_resume_handshake_done(tls_conn *c, struct ossl_session *s)
{
    if (s->offered && ossl.SSL_session_reused(s->ssl))
        conn_set_verify_result(c, s->resumed_verify_code, s->resumed_verify_message);
    else
        ossl_record_verify_result(c);
    if (s->pending) {
        SSL_SESSION *sess = s->pending;
        s->pending = NULL;
        resume_store(c, sess);
    }
}

int ossl_session_reused(tls_conn *c)
{
    struct ossl_session *s = c->session;
    return ossl.can_resume && s && s->ssl && ossl.SSL_session_reused(s->ssl) == 1;
}

