/*
 * openssl.c — the Linux backend: the system's OpenSSL (1.1.1 or 3.x), loaded
 * at run time by ossl_load.c: one struct tls_engine (c/common/engine.h),
 * openssl_engine, at the end of this file.
 *
 * Bytes move through a custom BIO over conn_send / conn_recv instead of
 * SSL_set_fd: that gives send(MSG_NOSIGNAL) (no SIGPIPE in the host process)
 * and lets c/common see the errno behind every transport failure.
 */
#define _GNU_SOURCE
#include "../common/engine.h"
#include "../common/records.h"
#include "../common/session_cache.h"
#include "../common/trust_cache.h"
#include "../common/verify.h"
#include "ossl_api.h"
#include "ossl_identity.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* PEM_R_NO_START_LINE: "no more certificates" when reading a PEM bundle. */
#define OSSL_ERR_LIB_PEM 9
#define OSSL_PEM_R_NO_START_LINE 108

/* The largest certificate chain (Certificate message) accepted, against
 * OpenSSL's default of 100 KB: certificates with thousands of names exist
 * (one with 10,000 short names is about 160 KB). Bigger fails the handshake
 * cleanly with TLS_PROTOCOL_ERROR. */
#define MAX_CERT_LIST 300000

/* What one openssl_write encrypts goes to the socket in one send (Node, by
 * contrast with one send per 16 KiB record, makes one write per chunk). Its
 * plaintext is reported written only once the socket took every byte of its
 * records; until then the caller retries with the same bytes first (the
 * tls_write contract) and openssl_write reports them as the rest goes out.
 *
 * Bytes OpenSSL has produced are never dropped: while collecting, the buffer
 * grows to hold whatever the SSL_write calls make. That is bounded because
 * each openssl_write feeds at most OUT_PLAIN_MAX of plaintext: on TLS 1.2
 * AES-CBC without encrypt-then-MAC on an AES-NI CPU, one SSL_write of 64 KiB
 * or more encrypts 4 or 8 records at once ("multi-block"), and of 1 MiB it
 * would encrypt the whole MiB in one call. A renegotiation that SSL_write
 * drives adds its handshake flight (a few KiB) to the same buffer. */
#define OUT_PLAIN_MAX ((size_t)8 * 16384)   /* one multi-block batch of 8 records */
#define OUT_CALLS 8                          /* SSL_write calls per openssl_write */
#define READ_BUFFER_LEN ((size_t)4 * 16384 + 512)   /* read-ahead: four full records per recv() */

struct ossl_session {
    SSL *ssl;
    int handshake_done;
    int collect;                 /* socket_bio_write appends to out instead of sending */
    int collect_failed;          /* out could not grow: OpenSSL was told to retry */
    char *out;                   /* encrypted bytes not yet taken by the socket */
    size_t out_off, out_len;     /* sent so far, filled so far */
    size_t out_cap;
    int nrec;                    /* SSL_write outputs in out not yet fully sent, oldest first */
    int rec_first;
    size_t rec_end[OUT_CALLS];   /* offset in out where each output ends */
    size_t rec_plain[OUT_CALLS]; /* its plaintext length */
    size_t done;                 /* plaintext of outputs sent but not yet reported */
    int starved;                 /* the last SSL_read wanted more from the socket: what read-ahead
                                    holds is at most part of a record */
    SSL_SESSION *pending;        /* made during the handshake, stored once it is verified */
    int offered;                 /* a cached session was offered (resumed_verify_* are its result) */
    long resumed_verify_code;
    char *resumed_verify_message; /* session_cache_get's copy */
    long revocation_failure;     /* verify.h code from the stapled OCSP check (revoked, or unknown
                                    under revocation "require"), or VERIFY_OK */
    const char *revocation_why;
    /* Where the server's byte stream stands against TLS record boundaries
     * (c/common/records.h): a FIN that cuts a record is a truncation, never
     * a clean end of stream. */
    record_track rx;
};

/* Makes room for len more bytes in out; 0 when memory ran out. */
static int out_reserve(struct ossl_session *s, size_t len)
{
    if (s->out_cap - s->out_len >= len)
        return 1;
    size_t cap = s->out_cap ? s->out_cap : 16384;
    while (cap - s->out_len < len)
        cap *= 2;
    char *grown = realloc(s->out, cap);
    if (!grown)
        return 0;
    s->out = grown;
    s->out_cap = cap;
    return 1;
}

/* Appends to out, growing it; 0 when memory ran out. */
static int out_append(struct ossl_session *s, const char *data, size_t len)
{
    if (!out_reserve(s, len))
        return 0;
    memcpy(s->out + s->out_len, data, len);
    s->out_len += len;
    return 1;
}

static void out_release(struct ossl_session *s)
{
    free(s->out);   /* an idle connection keeps no buffer */
    s->out = NULL;
    s->out_off = s->out_len = s->out_cap = 0;
    s->nrec = s->rec_first = 0;
}

/* Hands out's bytes to the socket; the plaintext of outputs now fully sent is
 * added to done (openssl_write reports it). NET_OK once out is empty. */
static net_status flush_out(tls_conn *c, struct ossl_session *s)
{
    net_status st = NET_OK;
    while (s->out_off < s->out_len) {
        size_t sent = 0;
        st = conn_send(c, s->out + s->out_off, s->out_len - s->out_off, &sent);
        if (st != NET_OK)
            break;
        s->out_off += sent;
    }
    while (s->nrec > 0 && s->rec_end[s->rec_first] <= s->out_off) {
        s->done += s->rec_plain[s->rec_first];
        s->rec_first++;
        s->nrec--;
    }
    if (s->out_off == s->out_len) {
        out_release(s);
        return NET_OK;
    }
    return st == NET_OK ? NET_AGAIN : st;
}

static BIO_METHOD *socket_bio_method;

static SSL *ssl_of(tls_conn *c)
{
    struct ossl_session *s = c->session;
    return s ? s->ssl : NULL;
}

/* A session whose set-up failed (a bad `ca`, no memory) has no SSL: c/common
 * then only reports the stored failure, but every entry point checks anyway,
 * since OpenSSL's functions do not accept a NULL SSL. */
static step_result no_session(tls_conn *c, const char *call)
{
    conn_fail(c, TLS_INTERNAL_ERROR, "%s: the TLS session was never set up", call);
    return STEP_FAILED;
}

/* ------------------------------------------------------------ socket BIO */

static int socket_bio_write(BIO *bio, const char *data, int len)
{
    tls_conn *c = ossl.BIO_get_data(bio);
    struct ossl_session *s = c->session;
    ossl.BIO_clear_flags(bio, OSSL_BIO_FLAGS_RWS | OSSL_BIO_FLAGS_SHOULD_RETRY);
    if (len <= 0)
        return 0;
    size_t sent = 0;
    net_status st = NET_OK;
    if (s && s->collect) {
        if (out_append(s, data, (size_t)len))
            return len;
        /* No memory: OpenSSL keeps the record and the next SSL_write resends it. */
        s->collect_failed = 1;
        ossl.BIO_set_flags(bio, OSSL_BIO_FLAGS_WRITE | OSSL_BIO_FLAGS_SHOULD_RETRY);
        return -1;
    }
    /* Anything else (handshake, alerts, close_notify, a KeyUpdate while
     * reading) goes after what is already queued. */
    if (s && s->out)
        st = flush_out(c, s);
    if (st == NET_OK)
        st = conn_send(c, data, (size_t)len, &sent);
    if (st == NET_OK)
        return (int)sent;
    if (st == NET_AGAIN)
        ossl.BIO_set_flags(bio, OSSL_BIO_FLAGS_WRITE | OSSL_BIO_FLAGS_SHOULD_RETRY);
    return -1;
}

static int socket_bio_read(BIO *bio, char *buf, int len)
{
    tls_conn *c = ossl.BIO_get_data(bio);
    ossl.BIO_clear_flags(bio, OSSL_BIO_FLAGS_RWS | OSSL_BIO_FLAGS_SHOULD_RETRY);
    if (len <= 0)
        return 0;
    size_t got = 0;
    net_status st = conn_recv(c, buf, (size_t)len, &got);
    if (st == NET_OK) {
        if (c->session)
            record_track_feed(&((struct ossl_session *)c->session)->rx, (const unsigned char *)buf, got);
        return (int)got;
    }
    if (st == NET_EOF)
        return 0;
    if (st == NET_AGAIN)
        ossl.BIO_set_flags(bio, OSSL_BIO_FLAGS_READ | OSSL_BIO_FLAGS_SHOULD_RETRY);
    return -1;
}

static long socket_bio_ctrl(BIO *bio, int cmd, long larg, void *parg)
{
    (void)larg;
    (void)parg;
    switch (cmd) {
    case OSSL_BIO_CTRL_FLUSH:
        return 1;   /* writes go straight to the socket */
    case OSSL_BIO_CTRL_EOF: {
        /* OpenSSL 3 asks this to tell a clean FIN from an error. */
        tls_conn *c = ossl.BIO_get_data(bio);
        return c && c->sock_eof;
    }
    default:
        return 0;
    }
}

static int socket_bio_create(BIO *bio)
{
    ossl.BIO_set_init(bio, 1);
    return 1;
}

/* -------------------------------------------------------------- errors */

static void error_text(unsigned long e, char *buf, size_t cap)
{
    if (e)
        ossl.ERR_error_string_n(e, buf, cap);
    else
        snprintf(buf, cap, "no OpenSSL error recorded");
}

struct error_scan {
    unsigned long first;        /* earliest queued error: usually the cause */
    int version_mismatch;       /* a real older-version ServerHello or protocol_version alert */
    int not_tls;                /* bytes that are not a TLS record at all (HTTP, SSH, garbage) */
    int malformed;              /* TLS records or messages that break the protocol's rules */
    int too_big;                /* a handshake message over the size limit (a huge chain) */
    int verify_failed;
    int unexpected_eof;
};

/* Drain the OpenSSL error queue, noting the reasons ostls maps to codes. */
static void scan_errors(struct error_scan *scan)
{
    memset(scan, 0, sizeof *scan);
    unsigned long e;
    while ((e = ossl.ERR_get_error()) != 0) {
        if (!scan->first)
            scan->first = e;
        if (ossl_error_lib(e) != OSSL_ERR_LIB_SSL)
            continue;
        switch (ossl_error_reason(e)) {
        case OSSL_SSL_R_WRONG_VERSION_NUMBER:
            /* The record header's version bytes are not TLS's: whatever the
             * peer speaks, it is not an older TLS (which has 3.x there). */
            scan->not_tls = 1;
            break;
        case OSSL_SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
        case OSSL_SSL_R_UNSUPPORTED_PROTOCOL:
        case OSSL_SSL_R_UNSUPPORTED_SSL_VERSION:
        case OSSL_SSL_R_NO_PROTOCOLS_AVAILABLE:
        case OSSL_SSL_R_VERSION_TOO_LOW:
        case OSSL_SSL_R_VERSION_TOO_HIGH:
        case OSSL_SSL_R_UNKNOWN_PROTOCOL:
            scan->version_mismatch = 1;
            break;
        case OSSL_SSL_R_EXCESSIVE_MESSAGE_SIZE:
            scan->too_big = 1;
            /* fall through */
        case OSSL_SSL_R_BAD_CHANGE_CIPHER_SPEC:
        case OSSL_SSL_R_BAD_EXTENSION:
        case OSSL_SSL_R_BAD_HANDSHAKE_LENGTH:
        case OSSL_SSL_R_BAD_HELLO_REQUEST:
        case OSSL_SSL_R_BAD_LENGTH:
        case OSSL_SSL_R_BAD_PACKET:
        case OSSL_SSL_R_BAD_PACKET_LENGTH:
        case OSSL_SSL_R_BAD_RECORD_TYPE:
        case OSSL_SSL_R_CCS_RECEIVED_EARLY:
        case OSSL_SSL_R_CERT_LENGTH_MISMATCH:
        case OSSL_SSL_R_DATA_LENGTH_TOO_LONG:
        case OSSL_SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC:
        case OSSL_SSL_R_ENCRYPTED_LENGTH_TOO_LONG:
        case OSSL_SSL_R_INVALID_ALERT:
        case OSSL_SSL_R_LENGTH_MISMATCH:
        case OSSL_SSL_R_LENGTH_TOO_LONG:
        case OSSL_SSL_R_LENGTH_TOO_SHORT:
        case OSSL_SSL_R_PACKET_LENGTH_TOO_LONG:
        case OSSL_SSL_R_PARSE_TLSEXT:
        case OSSL_SSL_R_RECORD_LENGTH_MISMATCH:
        case OSSL_SSL_R_RECORD_TOO_SMALL:
        case OSSL_SSL_R_TOO_MANY_WARN_ALERTS:
        case OSSL_SSL_R_UNEXPECTED_MESSAGE:
        case OSSL_SSL_R_UNEXPECTED_RECORD:
        case OSSL_SSL_R_UNKNOWN_ALERT_TYPE:
            scan->malformed = 1;
            break;
        case OSSL_SSL_R_CERTIFICATE_VERIFY_FAILED:
            scan->verify_failed = 1;
            break;
        case OSSL_SSL_R_UNEXPECTED_EOF_WHILE_READING:
            scan->unexpected_eof = 1;
            break;
        }
    }
}

static void record_verify_result(tls_conn *c)
{
    struct ossl_session *s = c->session;
    long raw = ossl.SSL_get_verify_result(ssl_of(c));
    long code = raw;
    if (!ossl.is_3x && raw == OSSL_X509_V_ERR_INVALID_CA_1_1)
        code = VERIFY_INVALID_CA;
    if (code == VERIFY_OK && s->revocation_failure != VERIFY_OK) {
        conn_set_verify_result(c, s->revocation_failure, s->revocation_why);
        return;
    }
    if (code == VERIFY_UNABLE_TO_GET_ISSUER_CERT_LOCALLY) {
        /* Verification stopped at the first error; Node's goes on, and
         * names a lone leaf's unknown issuer differently (verify.h). */
        OPENSSL_STACK *sent = ossl.SSL_get_peer_cert_chain(ssl_of(c));
        int n = sent ? ossl.OPENSSL_sk_num(sent) : 0;
        if (n == 1) {
            conn_set_verify_result(c, verify_unknown_issuer(n), verify_unknown_issuer_text(n));
            return;
        }
    }
    conn_set_verify_result(c, code, ossl.X509_verify_cert_error_string(raw));
}

static int fail_handshake(tls_conn *c, int ssl_error)
{
    struct error_scan scan;
    scan_errors(&scan);
    char text[256];
    error_text(scan.first, text, sizeof text);

    /* Through an https:// proxy, this engine's calls for the proxy's own
     * connection run inside this one's socket callbacks and may have emptied
     * the thread's error queue: a verification that failed still says so
     * (X509_V_OK is 0). */
    int lost_verify = !scan.first && c->opts.verify_peer && ossl.SSL_get_verify_result(ssl_of(c)) != 0;
    if (scan.verify_failed || lost_verify || ((struct ossl_session *)c->session)->revocation_failure != VERIFY_OK) {
        record_verify_result(c);
        if (c->verify_code != VERIFY_OK)
            return conn_fail_verify(c);
    }
    if (scan.not_tls)
        return conn_fail(c, TLS_PROTOCOL_ERROR,
                         "%s did not answer with TLS (is port %d a TLS port?): %s",
                         c->peer_name, c->remote_port, text);
    if (scan.version_mismatch)
        return conn_fail(c, TLS_PROTOCOL_VERSION,
                         "no TLS version in common with %s (ostls requires TLS 1.2 or newer): %s",
                         c->peer_name, text);
    if (scan.too_big)
        return conn_fail(c, TLS_PROTOCOL_ERROR,
                         "%s sent a handshake message larger than ostls accepts (a certificate chain "
                         "over %d KB?): %s", c->peer_name, MAX_CERT_LIST / 1000, text);
    if (scan.malformed)
        return conn_fail(c, TLS_PROTOCOL_ERROR, "%s broke the TLS protocol during the handshake: %s",
                         c->peer_name, text);
    if (ssl_error == OSSL_SSL_ERROR_SYSCALL || scan.unexpected_eof || !scan.first) {
        if (c->sock_error || c->sock_eof || scan.unexpected_eof)
            return conn_fail_socket(c, "during the TLS handshake");
    }
    if (ossl_identity_refused(c, scan.first, text))
        return 0;
    return conn_fail(c, TLS_HANDSHAKE_FAILED, "TLS handshake with %s failed: %s", c->peer_name, text);
}

/* Map a failed SSL_read / SSL_peek / SSL_write / SSL_shutdown. */
static step_result io_failure(tls_conn *c, int rc, int writing)
{
    int ssl_error = ossl.SSL_get_error(ssl_of(c), rc);
    if (ssl_error == OSSL_SSL_ERROR_WANT_READ)
        return STEP_WANT_READ;
    if (ssl_error == OSSL_SSL_ERROR_WANT_WRITE)
        return STEP_WANT_WRITE;
    const char *during = writing ? "while sending" : "while receiving";
    struct error_scan scan;
    scan_errors(&scan);
    if (!writing && c->sock_eof && record_track_mid(&((struct ossl_session *)c->session)->rx)) {
        /* OpenSSL (with IGNORE_UNEXPECTED_EOF) would call this a clean end and
         * drop the partial record: the application would take a cut stream
         * for a complete one. A FIN between records stays a clean end, as in Node. */
        record_fail_truncated(c);
        return STEP_FAILED;
    }
    if (!writing && (ssl_error == OSSL_SSL_ERROR_ZERO_RETURN || scan.unexpected_eof))
        return STEP_EOF;
    if (ssl_error == OSSL_SSL_ERROR_SYSCALL) {
        /* A FIN without close_notify, on 1.1.1 (3.x reports it as ZERO_RETURN
         * thanks to SSL_OP_IGNORE_UNEXPECTED_EOF): a clean end, as in Node. */
        if (!writing && !c->sock_error && !scan.first)
            return STEP_EOF;
        if (c->sock_error || c->sock_eof || !scan.first) {
            conn_fail_socket(c, during);
            return STEP_FAILED;
        }
    }
    if (ssl_error == OSSL_SSL_ERROR_ZERO_RETURN) {
        conn_fail(c, TLS_CONNECTION_RESET, "%s closed the connection %s", c->peer_name, during);
        return STEP_FAILED;
    }
    char text[256];
    error_text(scan.first, text, sizeof text);
    /* TLS 1.3: the server refuses a missing client certificate after the client's Finished. */
    if (ossl_identity_refused(c, scan.first, text))
        return STEP_FAILED;
    conn_fail(c, TLS_PROTOCOL_ERROR, "TLS protocol error %s %s: %s", during, c->peer_name, text);
    return STEP_FAILED;
}

static void clear_for_call(tls_conn *c)
{
    /* Runs before every SSL_read/SSL_write (one per 16 KiB record): peeking is
     * cheap, while ERR_clear_error walks the whole queue even when it is empty. */
    if (ossl.ERR_peek_error())
        ossl.ERR_clear_error();
    c->sock_error = 0;
}

/* ------------------------------------------------------------ stapled OCSP */

/* The client asks for the server's stapled OCSP response (status_request).
 * A response that verifies (signed by the issuer or its delegated responder,
 * chaining to the trusted store) and says the leaf is revoked fails the
 * handshake with TLS_CERT_REVOKED; a "good", absent, unverifiable or
 * unrelated staple changes nothing (an attacker could strip it anyway).
 * No OCSP request of ostls's own ever goes out. */
static int ocsp_available(void)
{
    return ossl.SSL_CTX_callback_ctrl && ossl.SSL_get_SSL_CTX && ossl.SSL_get_rbio &&
           ossl.SSL_get0_verified_chain && ossl.X509_check_issued && ossl.d2i_OCSP_RESPONSE &&
           ossl.OCSP_response_status && ossl.OCSP_response_get1_basic && ossl.OCSP_basic_verify &&
           ossl.OCSP_cert_to_id && ossl.OCSP_resp_find_status && ossl.OCSP_CERTID_free &&
           ossl.OCSP_BASICRESP_free && ossl.OCSP_RESPONSE_free;
}

/* The certificate in chain that issued leaf, or NULL. */
static X509 *find_issuer(OPENSSL_STACK *chain, X509 *leaf)
{
    int count = chain ? ossl.OPENSSL_sk_num(chain) : 0;
    for (int i = 0; i < count; i++) {
        X509 *candidate = ossl.OPENSSL_sk_value(chain, i);
        if (candidate != leaf && ossl.X509_check_issued(candidate, leaf) == 0)
            return candidate;
    }
    return NULL;
}

enum { STAPLE_UNVERIFIED = -1, STAPLE_GOOD = 0, STAPLE_REVOKED = 1, STAPLE_UNKNOWN = 2 };

/* What a stapled response says about the server's certificate: its
 * V_OCSP_CERTSTATUS (good, revoked, unknown), or STAPLE_UNVERIFIED when it
 * does not verify or is about another certificate. */
static int staple_status(SSL *ssl, const unsigned char *der, long len)
{
    int result = STAPLE_UNVERIFIED, status = -1;
    OCSP_BASICRESP *basic = NULL;
    OCSP_CERTID *id = NULL;
    OPENSSL_STACK *sent = ossl.SSL_get_peer_cert_chain(ssl);
    OPENSSL_STACK *verified = ossl.SSL_get0_verified_chain(ssl);
    X509 *leaf = sent && ossl.OPENSSL_sk_num(sent) > 0 ? ossl.OPENSSL_sk_value(sent, 0) : NULL;
    /* The verified chain holds the issuer even when the server did not send
     * it; a delegated responder's certificate travels inside the response. */
    X509 *issuer = leaf ? find_issuer(verified, leaf) : NULL;
    if (leaf && !issuer)
        issuer = find_issuer(sent, leaf);
    X509_STORE *store = ossl.SSL_CTX_get_cert_store(ossl.SSL_get_SSL_CTX(ssl));
    OCSP_RESPONSE *resp = issuer ? ossl.d2i_OCSP_RESPONSE(NULL, &der, len) : NULL;
    if (resp && ossl.OCSP_response_status(resp) == OSSL_OCSP_RESPONSE_STATUS_SUCCESSFUL)
        basic = ossl.OCSP_response_get1_basic(resp);
    if (basic && ossl.OCSP_basic_verify(basic, verified ? verified : sent, store, 0) > 0)
        id = ossl.OCSP_cert_to_id(NULL, leaf, issuer);
    if (id && ossl.OCSP_resp_find_status(basic, id, &status, NULL, NULL, NULL, NULL) == 1 &&
        status >= STAPLE_GOOD && status <= STAPLE_UNKNOWN)
        result = status;   /* a revocation never expires; nor is thisUpdate/nextUpdate checked */
    if (id)
        ossl.OCSP_CERTID_free(id);
    if (basic)
        ossl.OCSP_BASICRESP_free(basic);
    if (resp)
        ossl.OCSP_RESPONSE_free(resp);
    ossl.ERR_clear_error();
    return result;
}

/* OpenSSL calls this during the handshake once the server's flight (with its
 * certificate and any staple) is in; returning 0 fails the handshake. */
static int ocsp_status_cb(SSL *ssl, void *arg)
{
    (void)arg;
    tls_conn *c = ossl.BIO_get_data(ossl.SSL_get_rbio(ssl));
    struct ossl_session *s = c ? c->session : NULL;
    const unsigned char *der = NULL;
    if (!s || c->opts.revocation == TLS_REVOCATION_OFF)
        return 1;
    long len = ossl.SSL_ctrl(ssl, OSSL_SSL_CTRL_GET_TLSEXT_STATUS_REQ_OCSP_RESP, 0, &der);
    int status = len > 0 && der ? staple_status(ssl, der, len) : STAPLE_UNVERIFIED;
    int absent = len <= 0 || !der;
    if (status == STAPLE_REVOKED) {
        s->revocation_failure = VERIFY_CERT_REVOKED;
        s->revocation_why = "certificate revoked (the server's stapled OCSP response says so)";
    } else if (status != STAPLE_GOOD && c->opts.revocation == TLS_REVOCATION_REQUIRE) {
        /* "require": only a verified "good" for the server's certificate will do. */
        s->revocation_failure = absent ? VERIFY_OCSP_NO_RESPONSE
                                : status == STAPLE_UNKNOWN ? VERIFY_OCSP_CERT_UNKNOWN
                                                           : VERIFY_OCSP_VERIFY_FAILED;
        s->revocation_why = absent ? "the certificate's revocation status is unknown: the server stapled no "
                                     "OCSP response, and revocation \"require\" needs one"
                            : status == STAPLE_UNKNOWN ? "the server's stapled OCSP response says its certificate's "
                                                         "status is unknown (revocation \"require\")"
                                                       : "the server's stapled OCSP response does not verify or is "
                                                         "about another certificate (revocation \"require\")";
    } else {
        return 1;
    }
    return c->opts.verify_peer ? 0 : 1;   /* unverified: only reported, as other results */
}

/* ---------------------------------------------------- session resumption
 * Sessions live in c/common's cache (session_cache.h), keyed by every option
 * that decides trust; OpenSSL's own client cache is off (NO_INTERNAL), so
 * nothing is ever looked up but by that key. The new-session callback runs
 * on the thread driving the connection: at the end of a TLS 1.2 handshake
 * (inside SSL_do_handshake, before ostls has recorded the verify result: the
 * session waits in s->pending) and for each TLS 1.3 NewSessionTicket (read
 * after the handshake). */

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

static void resume_setup_ctx(SSL_CTX *ctx)
{
    if (!ossl.can_resume)
        return;
    ossl.SSL_CTX_ctrl(ctx, OSSL_SSL_CTRL_SET_SESS_CACHE_MODE,
                      OSSL_SSL_SESS_CACHE_CLIENT | OSSL_SSL_SESS_CACHE_NO_INTERNAL, NULL);
    ossl.SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
}

/* Before the options are consumed: offer the session cached under c's key,
 * unless its certificate has expired since. */
static void resume_offer(tls_conn *c, struct ossl_session *s)
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
static void resume_handshake_done(tls_conn *c, struct ossl_session *s)
{
    if (s->offered && ossl.SSL_session_reused(s->ssl))
        conn_set_verify_result(c, s->resumed_verify_code, s->resumed_verify_message);
    else
        record_verify_result(c);
    if (s->pending) {
        SSL_SESSION *sess = s->pending;
        s->pending = NULL;
        resume_store(c, sess);
    }
}

static int session_reused(tls_conn *c)
{
    return ossl.can_resume && ossl.SSL_session_reused(ssl_of(c)) == 1;
}

/* ------------------------------------------------------------- contexts */

/* TLS 1.2 suites offered (TLS 1.3's are all sound and left to OpenSSL).
 * Forward-secret ECDHE first; no finite-field DHE at all, as in current
 * browsers (weak, composite or small-subgroup groups can never be used).
 * RSA key exchange with AES (GCM and CBC-SHA) stays: IIS-era and enterprise
 * servers still offer nothing else, and the CBC-SHA ones without
 * encrypt-then-MAC must keep working (test/old-peers.ts). Never 3DES, RC4,
 * NULL, export, anonymous, PSK/SRP, or the less tested block ciphers; the
 * system's security level (openssl.cnf) still applies on top. */
static const char cipher_list[] =
    "ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES:RSA+AESGCM:RSA+AES"
    ":!kDHE:!aNULL:!eNULL:!EXP:!LOW:!3DES:!RC4:!MD5:!PSK:!SRP:!DSS"
    ":!CAMELLIA:!ARIA:!SEED:!IDEA";

/* default_paths: load the OS store (file and directory) into the context. */
static SSL_CTX *new_client_ctx(int default_paths)
{
    SSL_CTX *ctx = ossl.SSL_CTX_new(ossl.TLS_client_method());
    if (!ctx)
        return NULL;
    if (!ossl.SSL_CTX_set_cipher_list(ctx, cipher_list)) {
        ossl.SSL_CTX_free(ctx);
        return NULL;
    }
    /* Never below TLS 1.2, whatever openssl.cnf allows (SSLv3, TLS 1.0/1.1). */
    ossl.SSL_CTX_ctrl(ctx, OSSL_SSL_CTRL_SET_MIN_PROTO_VERSION, OSSL_TLS1_2_VERSION, NULL);
    ossl.SSL_CTX_ctrl(ctx, OSSL_SSL_CTRL_SET_MAX_CERT_LIST, MAX_CERT_LIST, NULL);
    /* RELEASE_BUFFERS: an idle connection keeps no record buffers (about
     * 34 KiB for reading and writing together); Node sets it too. (One
     * SSL_write per tls_write instead of one per record, without
     * ENABLE_PARTIAL_WRITE, was measured for issue 15: the same instruction
     * count in callgrind for 64 MiB sent, within noise on CPU/GiB; not kept.) */
    ossl.SSL_CTX_ctrl(ctx, OSSL_SSL_CTRL_MODE,
                      OSSL_SSL_MODE_ENABLE_PARTIAL_WRITE | OSSL_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                          OSSL_SSL_MODE_RELEASE_BUFFERS,
                      NULL);
    /* Read-ahead: one recv() takes as much as the read buffer holds (several
     * records) instead of two per record (header, then body): half the
     * receive syscalls or fewer (issue 15). The buffer is still released
     * when empty. openssl_has_buffered_input accounts for what it holds. */
    ossl.SSL_CTX_ctrl(ctx, OSSL_SSL_CTRL_SET_READ_AHEAD, 1, NULL);
    if (ossl.SSL_CTX_set_default_read_buffer_len)
        ossl.SSL_CTX_set_default_read_buffer_len(ctx, READ_BUFFER_LEN);
    if (ossl.is_3x)
        ossl.SSL_CTX_set_options(ctx, OSSL_SSL_OP_IGNORE_UNEXPECTED_EOF);
    ossl.SSL_CTX_set_verify(ctx, OSSL_SSL_VERIFY_PEER, NULL);
    ossl_identity_ctx_setup(ctx);
    if (ocsp_available())
        ossl.SSL_CTX_callback_ctrl(ctx, OSSL_SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB,
                                   (void (*)(void))ocsp_status_cb);
    /* A missing default bundle is not fatal here: verification then fails
     * per connection with a clear UNABLE_TO_GET_ISSUER_CERT_LOCALLY. */
    if (default_paths)
        ossl.SSL_CTX_set_default_verify_paths(ctx);
    resume_setup_ctx(ctx);
    ossl.ERR_clear_error();
    return ctx;
}

/* 1 when every certificate in pem was added to ctx's store; else 0 with
 * why filled. Needs no connection: it also runs on trust_prepare's thread. */
static int add_anchors(SSL_CTX *ctx, const char *pem, char *why, size_t whycap)
{
    BIO *mem = ossl.BIO_new_mem_buf(pem, -1);
    if (!mem) {
        snprintf(why, whycap, "out of memory reading option ca");
        return 0;
    }
    X509_STORE *store = ossl.SSL_CTX_get_cert_store(ctx);
    int added = 0;
    X509 *cert;
    while ((cert = ossl.PEM_read_bio_X509(mem, NULL, NULL, NULL)) != NULL) {
        int ok = ossl.X509_STORE_add_cert(store, cert);
        ossl.X509_free(cert);
        if (!ok)
            break;
        added++;
    }
    ossl.BIO_free(mem);
    struct error_scan scan;
    scan_errors(&scan);
    int clean_end = !scan.first || (ossl_error_lib(scan.first) == OSSL_ERR_LIB_PEM &&
                                    ossl_error_reason(scan.first) == OSSL_PEM_R_NO_START_LINE);
    if (added > 0 && clean_end)
        return 1;
    char text[256];
    error_text(scan.first, text, sizeof text);
    snprintf(why, whycap, "option ca: certificate %d could not be used: %s", added + 1, text);
    return 0;
}

static SSL_CTX *shared_default_ctx(void);

/* A new context trusting what the default one does without reading the OS
 * bundle again: its certificates (shared by reference) and the same hashed
 * directory (SSL_CERT_DIR or OpenSSL's default), looked up on demand. */
static SSL_CTX *new_ctx_like_default(void)
{
    SSL_CTX *def = shared_default_ctx();
    SSL_CTX *ctx = def ? new_client_ctx(0) : NULL;
    if (!ctx)
        return NULL;
    X509_STORE *from = ossl.SSL_CTX_get_cert_store(def);
    X509_STORE *to = ossl.SSL_CTX_get_cert_store(ctx);
    int ok = 1;
    ossl.X509_STORE_lock(from);   /* lookups add to it while verifying */
    OPENSSL_STACK *objects = ossl.X509_STORE_get0_objects(from);
    int count = objects ? ossl.OPENSSL_sk_num(objects) : 0;
    for (int i = 0; i < count && ok; i++) {
        X509 *cert = ossl.X509_OBJECT_get0_X509(ossl.OPENSSL_sk_value(objects, i));
        if (cert)
            ok = ossl.X509_STORE_add_cert(to, cert);
    }
    ossl.X509_STORE_unlock(from);
    X509_LOOKUP *dir = ok ? ossl.X509_STORE_add_lookup(to, ossl.X509_LOOKUP_hash_dir()) : NULL;
    if (!dir) {
        ossl.SSL_CTX_free(ctx);
        return NULL;
    }
    ossl.X509_LOOKUP_ctrl(dir, OSSL_X509_L_ADD_DIR, NULL, OSSL_X509_FILETYPE_DEFAULT, NULL);
    ossl.ERR_clear_error();
    return ctx;
}

/* A context trusting the OS store + pem, or NULL with why filled (and
 * *invalid set when pem itself is at fault). */
static SSL_CTX *build_anchor_ctx(const char *pem, int *invalid, char *why, size_t whycap)
{
    *invalid = 0;
    SSL_CTX *ctx = new_ctx_like_default();
    if (!ctx) {
        snprintf(why, whycap, "could not create an OpenSSL context");
        return NULL;
    }
    if (!add_anchors(ctx, pem, why, whycap)) {
        *invalid = 1;
        ossl.SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* Contexts trusting "OS store + these PEM anchors", shared through c/common's
 * trust cache (built on its worker by trust_prepare). */
static void *build_anchor_object(const char *pem, int *invalid, char *why, size_t whycap)
{
    SSL_CTX *ctx = build_anchor_ctx(pem, invalid, why, whycap);
    ossl.ERR_clear_error();
    return ctx;
}

static void release_anchor_object(void *ctx)
{
    ossl.SSL_CTX_free(ctx);   /* live SSLs keep their own reference */
}

static const struct trust_cache_ops anchor_ops = { build_anchor_object, release_anchor_object };
static struct trust_cache ca_cache = TRUST_CACHE_INIT(&anchor_ops);

/* A counted reference to the context for c's `ca`, or NULL after conn_fail. */
static struct trust_ref *ctx_with_anchors(tls_conn *c)
{
    char why[TLS_MSG_MAX / 2];
    int invalid;
    struct trust_ref *ref = trust_cache_get(&ca_cache, c->opts.ca, &invalid, why, sizeof why);
    if (!ref)
        conn_fail(c, invalid ? TLS_INVALID_ARGUMENT : TLS_OUT_OF_MEMORY, "%s", why);
    return ref;
}

/* The OS trust store is read and parsed once per process: 20-60 ms of file
 * reading and CPU for a distribution bundle, so it is loaded by the first
 * trust_prepare (on c/common's worker thread), never by global_init. */
static SSL_CTX *default_ctx;
static atomic_int default_ctx_ready;
static pthread_once_t default_ctx_once = PTHREAD_ONCE_INIT;

static void load_default_ctx(void)
{
    default_ctx = new_client_ctx(1);
    atomic_store_explicit(&default_ctx_ready, 1, memory_order_release);
}

static SSL_CTX *shared_default_ctx(void)
{
    pthread_once(&default_ctx_once, load_default_ctx);
    return default_ctx;
}

/* engine.trust_ready: would session_new load trust material for these options?
 * Every `ca` not yet cached is built on the worker, however small: the
 * context for it (SSL_CTX_new fetches every algorithm from the providers)
 * and a store holding the OS store's certificates cost several ms even for
 * one certificate (issue 15: 5-10 ms on the JS thread when it was built
 * here for a `ca` up to 16 KiB). */
static int openssl_trust_ready(const struct tls_options *o)
{
    if (!atomic_load_explicit(&default_ctx_ready, memory_order_acquire))
        return 0;
    return !o->ca || trust_cache_contains(&ca_cache, o->ca);
}

/* engine.trust_prepare, on a worker thread: what session_new will need,
 * built and cached. A `ca` that does not parse is left for session_new to
 * report on its connection. */
static void openssl_trust_prepare(const char *ca)
{
    if (!ca) {
        shared_default_ctx();
        return;
    }
    trust_cache_prepare(&ca_cache, ca);
    ossl.ERR_clear_error();
}

/* ----------------------------------------------------------- global init */

static const char *openssl_global_init(char *msg, size_t msgcap)
{
    if (!ossl_load(msg, msgcap))
        return TLS_LIBRARY_NOT_FOUND;
    /* No atexit clean-up: a worker may still be loading a trust store when
     * the host exits, and OpenSSL freeing its tables under it would crash
     * the exit. The process's end frees everything anyway. */
    ossl.OPENSSL_init_ssl(OSSL_OPENSSL_INIT_NO_ATEXIT, NULL);
    socket_bio_method = ossl.BIO_meth_new(ossl.BIO_get_new_index() | OSSL_BIO_TYPE_SOURCE_SINK,
                                          "ostls socket");
    if (socket_bio_method) {
        ossl.BIO_meth_set_write(socket_bio_method, socket_bio_write);
        ossl.BIO_meth_set_read(socket_bio_method, socket_bio_read);
        ossl.BIO_meth_set_ctrl(socket_bio_method, socket_bio_ctrl);
        ossl.BIO_meth_set_create(socket_bio_method, socket_bio_create);
    }
    if (!socket_bio_method) {
        snprintf(msg, msgcap, "%s loaded but could not be initialised",
                 ossl.OpenSSL_version(OSSL_OPENSSL_VERSION));
        return TLS_INTERNAL_ERROR;
    }
    return NULL;
}

/* How to get libssl, one line per distribution family: the os-release IDs it
 * applies to, a tab, the advice ("*": any other; "+": said in every case).
 * The host picks the line for the distribution it runs on. */
static const char install_hint[] =
    "debian ubuntu\tinstall the system OpenSSL: `apt-get install libssl3` (libssl1.1 on releases before Debian 12 / Ubuntu 22.04)\n"
    "fedora rhel centos\tinstall the system OpenSSL: `dnf install openssl-libs`\n"
    "alpine\tinstall the system OpenSSL: `apk add libssl3`\n"
    "suse\tinstall the system OpenSSL: `zypper install libopenssl3`\n"
    "arch\tinstall the system OpenSSL: `pacman -S openssl`\n"
    "*\tinstall the system OpenSSL: OpenSSL 3.x or 1.1.1 (the libssl shared library) from your distribution";

static void describe_trust_source(char *buf, size_t cap, const char *kind, const char *env_name,
                                  const char *builtin)
{
    const char *env = getenv(env_name);
    const char *where = (env && *env) ? env : builtin;
    text_append(buf, cap, "%s%s %s (%s", buf[0] ? "; " : "", kind, where,
                (env && *env) ? "from " : "OpenSSL default");
    if (env && *env)
        text_append(buf, cap, "%s", env_name);
    char real[PATH_MAX];
    if (!strchr(where, ':') && realpath(where, real)) {
        if (strcmp(real, where) != 0)
            text_append(buf, cap, ", -> %s", real);
    } else if (!strchr(where, ':')) {
        text_append(buf, cap, ", missing");
    }
    text_append(buf, cap, ")");
}

static int openssl_library_info(const char *key, char *buf, size_t cap, const char **value)
{
    int loaded = ossl.OpenSSL_version != NULL;
    if (strcmp(key, "backend_version") == 0)
        *value = loaded ? ossl.OpenSSL_version(OSSL_OPENSSL_VERSION) : "";
    else if (strcmp(key, "library_path") == 0)
        *value = ossl.library_path;
    else if (strcmp(key, "library_tried") == 0)
        *value = ossl.library_tried;
    else if (strcmp(key, "trust_store") == 0) {
        buf[0] = '\0';
        if (loaded) {
            describe_trust_source(buf, cap, "file", ossl.X509_get_default_cert_file_env(),
                                  ossl.X509_get_default_cert_file());
            describe_trust_source(buf, cap, "dir", ossl.X509_get_default_cert_dir_env(),
                                  ossl.X509_get_default_cert_dir());
        }
        *value = buf;
    } else if (strcmp(key, "install_hint") == 0) {
        const char *names = getenv("OSTLS_LIBSSL");
        snprintf(buf, cap, "%s%s", install_hint, names && *names
                 ? "\n+\tOSTLS_LIBSSL is set and replaces the default names: fix the names in it or unset it" : "");
        *value = buf;
    } else
        return 0;
    return 1;
}

/* -------------------------------------------------------------- sessions */

static int configure_session(tls_conn *c, SSL *ssl)
{
    const struct tls_options *o = &c->opts;
    if (!c->peer_name_is_ip) {
        ossl.SSL_ctrl(ssl, OSSL_SSL_CTRL_SET_TLSEXT_HOSTNAME, OSSL_TLSEXT_NAMETYPE_host_name,
                      (void *)c->peer_name);
        /* NEVER_CHECK_SUBJECT: a certificate without subjectAltName does not
         * match by its subject CN, as in browsers (RFC 6125 and the CA/B
         * Forum rules require the name in the SAN). */
        ossl.SSL_set_hostflags(ssl, OSSL_X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
                                        OSSL_X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
        if (!ossl.SSL_set1_host(ssl, c->peer_name))
            return conn_fail(c, TLS_INVALID_ARGUMENT, "%s cannot be used as a verification name",
                             c->peer_name);
    } else {
        /* IP literals get no SNI (RFC 6066) and are checked against IP SANs. */
        char ip[64];
        snprintf(ip, sizeof ip, "%.*s", (int)strcspn(c->peer_name, "%"), c->peer_name);
        if (!ossl.X509_VERIFY_PARAM_set1_ip_asc(ossl.SSL_get0_param(ssl), ip))
            return conn_fail(c, TLS_INVALID_ARGUMENT, "%s cannot be used as a verification address",
                             c->peer_name);
    }
    ossl.SSL_set_verify(ssl, o->verify_peer ? OSSL_SSL_VERIFY_PEER : OSSL_SSL_VERIFY_NONE, NULL);
    if (ocsp_available() && o->revocation != TLS_REVOCATION_OFF)
        ossl.SSL_ctrl(ssl, OSSL_SSL_CTRL_SET_TLSEXT_STATUS_REQ_TYPE, OSSL_TLSEXT_STATUSTYPE_ocsp, NULL);
    else if (o->revocation == TLS_REVOCATION_REQUIRE)
        return conn_fail(c, TLS_INVALID_ARGUMENT,
                         "option revocation \"require\" cannot be honoured: %s has no OCSP support",
                         ossl.OpenSSL_version(OSSL_OPENSSL_VERSION));
    if (o->alpn && ossl.SSL_set_alpn_protos(ssl, o->alpn, (unsigned)o->alpn_len) != 0)
        return conn_fail(c, TLS_INVALID_ARGUMENT, "option alpn could not be applied");
    if (!ossl.SSL_ctrl(ssl, OSSL_SSL_CTRL_SET_MIN_PROTO_VERSION, o->min_version, NULL) ||
        (o->max_version &&
         !ossl.SSL_ctrl(ssl, OSSL_SSL_CTRL_SET_MAX_PROTO_VERSION, o->max_version, NULL)))
        return conn_fail(c, TLS_INVALID_ARGUMENT, "min_version/max_version not supported by %s",
                         ossl.OpenSSL_version(OSSL_OPENSSL_VERSION));
    ossl.SSL_set_connect_state(ssl);
    return 1;
}

static int openssl_session_new(tls_conn *c)
{
    ossl.ERR_clear_error();
    struct ossl_session *s = calloc(1, sizeof *s);
    if (!s)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory creating the TLS session");
    c->session = s;
    session_key_prepare(c);   /* before opts.ca is freed below */
    struct trust_ref *ref = NULL;   /* with option ca: the cache's counted context */
    if (c->opts.ca && !(ref = ctx_with_anchors(c)))
        return 0;
    SSL_CTX *ctx = ref ? ref->object : shared_default_ctx();
    if (!ctx)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "could not create an OpenSSL context");
    /* The PEM only chose the context, and options are final now: an open
     * connection need not carry its own copy (0.7+ KiB each, idle or not). */
    free(c->opts.ca);
    c->opts.ca = NULL;
    s->ssl = ossl.SSL_new(ctx);
    trust_cache_put(&ca_cache, ref);   /* the SSL holds its own reference */
    BIO *bio = s->ssl ? ossl.BIO_new(socket_bio_method) : NULL;
    if (!bio)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory creating the TLS session");
    ossl.BIO_set_data(bio, c);
    ossl.SSL_set_bio(s->ssl, bio, bio);
    resume_offer(c, s);
    int ok = configure_session(c, s->ssl) && ossl_identity_apply(c, s->ssl);
    ossl.ERR_clear_error();
    return ok;
}

static void openssl_session_free(tls_conn *c)
{
    struct ossl_session *s = c->session;
    if (!s)
        return;
    if (s->ssl)
        ossl.SSL_free(s->ssl);   /* also frees the BIO */
    if (s->pending)
        ossl.SSL_SESSION_free(s->pending);   /* from a handshake that never finished */
    free(s->out);
    free(s->resumed_verify_message);
    free(s);
    c->session = NULL;
}

/* ---------------------------------------------------------------- steps */

static step_result openssl_handshake(tls_conn *c)
{
    struct ossl_session *s = c->session;
    if (!s || !s->ssl)
        return no_session(c, "tls_handshake");
    clear_for_call(c);
    int rc = ossl.SSL_do_handshake(s->ssl);
    if (rc == 1) {
        s->handshake_done = 1;
        resume_handshake_done(c, s);
        return STEP_DONE;
    }
    int ssl_error = ossl.SSL_get_error(s->ssl, rc);
    if (ssl_error == OSSL_SSL_ERROR_WANT_READ)
        return STEP_WANT_READ;
    if (ssl_error == OSSL_SSL_ERROR_WANT_WRITE)
        return STEP_WANT_WRITE;
    fail_handshake(c, ssl_error);
    return STEP_FAILED;
}

static int clamp_int(size_t len)
{
    return len > INT_MAX ? INT_MAX : (int)len;
}

static step_result openssl_read(tls_conn *c, void *buf, size_t len, size_t *n)
{
    if (!ssl_of(c))
        return no_session(c, "tls_read");
    clear_for_call(c);
    struct ossl_session *s = c->session;
    int rc = ossl.SSL_read(s->ssl, buf, clamp_int(len));
    if (rc > 0) {
        s->starved = 0;
        *n = (size_t)rc;
        return STEP_DONE;
    }
    step_result step = io_failure(c, rc, 0);
    s->starved = step == STEP_WANT_READ;
    return step;
}

/* Reports the plaintext of outputs now fully sent, or what to wait for. */
static step_result write_progress(tls_conn *c, struct ossl_session *s, net_status st, size_t *n)
{
    if (s->done > 0) {
        *n = s->done;
        s->done = 0;
        return STEP_DONE;
    }
    if (st == NET_AGAIN)
        return STEP_WANT_WRITE;
    conn_fail_socket(c, "while sending");
    return STEP_FAILED;
}

static step_result openssl_write(tls_conn *c, const void *buf, size_t len, size_t *n)
{
    struct ossl_session *s = c->session;
    if (!s || !s->ssl)
        return no_session(c, "tls_write");
    clear_for_call(c);
    /* Output an earlier call made but had not all sent: records (their
     * plaintext is at the start of buf: the caller retries with it first) or
     * a handshake flight. It goes out before anything new is encrypted. */
    if (s->out || s->done) {
        net_status st = s->out ? flush_out(c, s) : NET_OK;
        if (s->done > 0 || st != NET_OK)
            return write_progress(c, s, st, n);
    }
    size_t cap = len < OUT_PLAIN_MAX ? len : OUT_PLAIN_MAX;
    /* Room for the records (each adds at most header, IV, MAC and padding:
     * under 256 bytes) in one allocation; growing later stays possible. */
    out_reserve(s, cap + (cap / 16384 + 1) * 256);
    int rc = 0;
    size_t taken = 0;
    s->collect = 1;
    s->collect_failed = 0;
    while (s->nrec < OUT_CALLS && taken < cap) {
        rc = ossl.SSL_write(s->ssl, (const char *)buf + taken, clamp_int(cap - taken));
        if (rc <= 0)
            break;
        s->rec_end[s->nrec] = s->out_len;
        s->rec_plain[s->nrec] = (size_t)rc;
        s->nrec++;
        taken += (size_t)rc;
    }
    s->collect = 0;
    if (taken == 0) {
        /* Nothing encrypted, but SSL_write may have driven a renegotiation
         * and left its handshake flight in out: that is sent, never dropped. */
        step_result step;
        if (s->collect_failed) {
            ossl.ERR_clear_error();
            conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory buffering TLS records for %s", c->peer_name);
            step = STEP_FAILED;
        } else {
            step = io_failure(c, rc, 1);
        }
        if (s->out) {
            net_status st = flush_out(c, s);
            if (step != STEP_FAILED && st != NET_OK)
                return write_progress(c, s, st, n);
        }
        return step;
    }
    if (rc <= 0)
        ossl.ERR_clear_error();   /* what stopped the batch is met again by the next call */
    return write_progress(c, s, flush_out(c, s), n);
}

static step_result openssl_peek(tls_conn *c)
{
    char byte;
    if (!ssl_of(c))
        return no_session(c, "tls_bytesavailable");
    clear_for_call(c);
    int rc = ossl.SSL_peek(ssl_of(c), &byte, 1);
    return rc > 0 ? STEP_DONE : io_failure(c, rc, 0);
}

static size_t openssl_pending(tls_conn *c)
{
    SSL *ssl = ssl_of(c);
    int n = ssl ? ossl.SSL_pending(ssl) : 0;
    return n > 0 ? (size_t)n : 0;
}

static int openssl_has_buffered_input(tls_conn *c)
{
    /* Decrypted bytes, or raw ones read ahead from the socket, which will
     * never signal them. SSL_has_pending is also true for a partial record,
     * which cannot progress until the socket delivers the rest: after an
     * SSL_read that wanted more (starved), that is all it can hold. */
    struct ossl_session *s = c->session;
    if (openssl_pending(c) > 0)
        return 1;
    return s && s->ssl && !s->starved && ossl.SSL_has_pending(s->ssl);
}

static step_result openssl_shutdown(tls_conn *c)
{
    if (!ssl_of(c))
        return no_session(c, "tls_shutdown");
    clear_for_call(c);
    int rc = ossl.SSL_shutdown(ssl_of(c));
    if (rc >= 0)
        return STEP_DONE;   /* 0: ours is sent, the peer's has not arrived */
    step_result step = io_failure(c, rc, 1);
    return step == STEP_EOF ? STEP_DONE : step;
}

static void openssl_close_notify(tls_conn *c)
{
    if (!ssl_of(c))
        return;
    clear_for_call(c);
    ossl.SSL_shutdown(ssl_of(c));
    ossl.ERR_clear_error();
}

/* ------------------------------------------------------------------ info */

static void append_pem(strbuf *out, X509 *cert)
{
    BIO *mem = ossl.BIO_new(ossl.BIO_s_mem());
    if (!mem) {
        out->failed = 1;
        return;
    }
    char *data = NULL;
    if (ossl.PEM_write_bio_X509(mem, cert)) {
        long len = ossl.BIO_ctrl(mem, OSSL_BIO_CTRL_INFO, 0, &data);
        if (len > 0)
            strbuf_append(out, data, (size_t)len);
    }
    ossl.BIO_free(mem);
}

static int openssl_conn_info(tls_conn *c, const char *key, strbuf *out)
{
    struct ossl_session *s = c->session;
    SSL *ssl = s ? s->ssl : NULL;
    if (!ssl)
        return conn_info_is_backend_key(key);   /* no session: every such key is "" */
    ossl.ERR_clear_error();
    if (strcmp(key, "protocol") == 0) {
        if (s->handshake_done)
            strbuf_puts(out, ossl.SSL_get_version(ssl));
    } else if (strcmp(key, "cipher") == 0) {
        const SSL_CIPHER *cipher = s->handshake_done ? ossl.SSL_get_current_cipher(ssl) : NULL;
        if (cipher) {
            const char *name = ossl.SSL_CIPHER_standard_name(cipher);
            strbuf_puts(out, name ? name : ossl.SSL_CIPHER_get_name(cipher));
        }
    } else if (strcmp(key, "alpn") == 0) {
        const unsigned char *proto = NULL;
        unsigned len = 0;
        ossl.SSL_get0_alpn_selected(ssl, &proto, &len);
        if (proto)
            strbuf_append(out, (const char *)proto, len);
    } else if (strcmp(key, "peer_cert") == 0) {
        X509 *cert = ossl.SSL_get1_peer_certificate ? ossl.SSL_get1_peer_certificate(ssl)
                                                    : ossl.SSL_get_peer_certificate(ssl);
        if (cert) {
            append_pem(out, cert);
            ossl.X509_free(cert);
        }
    } else if (strcmp(key, "trust_anchor") == 0) {
        /* The last certificate of the chain OpenSSL verified (none on a
         * resumed session, whose verified chain is not kept). */
        OPENSSL_STACK *verified = c->verify_code == VERIFY_OK ? ossl.SSL_get0_verified_chain(ssl) : NULL;
        int count = verified ? ossl.OPENSSL_sk_num(verified) : 0;
        if (count > 0)
            append_pem(out, ossl.OPENSSL_sk_value(verified, count - 1));
    } else if (strcmp(key, "peer_chain") == 0) {
        /* On the client side the stack includes the leaf, in sent order. */
        OPENSSL_STACK *chain = ossl.SSL_get_peer_cert_chain(ssl);
        int count = chain ? ossl.OPENSSL_sk_num(chain) : 0;
        for (int i = 0; i < count; i++)
            append_pem(out, ossl.OPENSSL_sk_value(chain, i));
    } else if (strcmp(key, "session_reused") == 0) {
        if (s->handshake_done)
            strbuf_puts(out, session_reused(c) ? "1" : "0");
    } else {
        return 0;
    }
    ossl.ERR_clear_error();
    return 1;
}

/* ----------------------------------------------------------------- table */

const struct tls_engine openssl_engine = {
    .name = "openssl",
    .counts_read_ahead = 1,   /* openssl_has_buffered_input asks SSL_has_pending */
    .global_init = openssl_global_init,
    .library_info = openssl_library_info,
    .session_new = openssl_session_new,
    .session_free = openssl_session_free,
    .handshake = openssl_handshake,
    .read = openssl_read,
    .write = openssl_write,
    .peek = openssl_peek,
    .pending = openssl_pending,
    .has_buffered_input = openssl_has_buffered_input,
    .shutdown = openssl_shutdown,
    .close_notify = openssl_close_notify,
    .conn_info = openssl_conn_info,
    .trust_ready = openssl_trust_ready,
    .trust_prepare = openssl_trust_prepare,
};
