/*
 * s2n.c — the AWS s2n-tls engine (Linux), OSTLS_BACKEND=s2n.
 *
 * libs2n.so.1 is loaded at run time (the prebuild never links it), by
 * s2n_load.c; its configurations, which carry trust, are s2n_config.c's.
 * This file is the engine table and the per-connection steps.
 *
 * Bytes move through s2n's I/O callbacks over conn_send / conn_recv (a
 * callback returns -1 with errno EAGAIN to block), so s2n never sees the
 * socket. Received bytes are followed against TLS record boundaries with
 * c/common/records.h. Trust: the same system bundle paths OpenSSL uses
 * (trust_paths.h), plus option ca added to them.
 * Host names are checked by ostls's own callback against what s2n hands it
 * (DNS and IP subjectAltNames; never the subject CN).
 */
#define _GNU_SOURCE
#include "../common/engine.h"
#include "../common/pem.h"
#include "../common/records.h"
#include "../common/suites.h"
#include "../common/der.h"
#include "../common/session_cache.h"
#include "../common/verify.h"
#include "s2n_api.h"
#include "s2n_resume.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define PLAIN_MAX 16384   /* one TLS record's plaintext */

struct s2n_session {
    struct s2n_connection *sc;
    struct trust_ref *ca_config;     /* with option ca (a counted reference); else a shared one */
    tls_conn *c;
    int handshake_done;
    int name_matched;                /* the host callback accepted a name */
    unsigned char *peeked;           /* plaintext peek took out of s2n */
    size_t peek_off, peek_len;
    /* Where the server's bytes stand against record boundaries: bytes no
     * TLS peer sends fail at their header (s2n would wait for the body an
     * HTTP reply "announces"), and a FIN in the middle of a record is a
     * truncation, not a clean end. */
    record_track rx;
    struct s2n_resume resume;        /* session resumption (s2n_resume.h) */
};

/* ---------------------------------------------------------------- start */

static const char *global_init(char *msg, size_t cap)
{
    if (!s2n_load_library(msg, cap))
        return TLS_LIBRARY_NOT_FOUND;
    if (s2n.s2n_init() < 0) {
        snprintf(msg, cap, "%s: s2n_init failed: %s (%s)", s2n_library_path,
                 s2n.s2n_strerror(s2n_err(), "EN"), s2n.s2n_strerror_name(s2n_err()));
        return TLS_INTERNAL_ERROR;
    }
    if (!s2n_cfg_init()) {
        snprintf(msg, cap, "%s: could not create an s2n configuration: %s", s2n_library_path,
                 s2n.s2n_strerror(s2n_err(), "EN"));
        return TLS_INTERNAL_ERROR;
    }
    return NULL;
}

static int library_info(const char *key, char *buf, size_t cap, const char **value)
{
    if (strcmp(key, "backend_version") == 0) {
        buf[0] = '\0';
        if (s2n.s2n_init)
            text_append(buf, cap, "AWS s2n-tls (libs2n.so.1; libcrypto %s)",
                        s2n_crypto_text[0] ? s2n_crypto_text : "unknown");
        *value = buf;
    } else if (strcmp(key, "library_path") == 0) {
        *value = s2n_library_path;
    } else if (strcmp(key, "library_tried") == 0) {
        *value = s2n_library_tried;
    } else if (strcmp(key, "trust_store") == 0) {
        s2n_cfg_trust_text(buf, cap);
        *value = buf;
    } else if (strcmp(key, "install_hint") == 0) {
        /* The format of tls_info "install_hint": "ids\tadvice" lines, "*" for
         * any distribution, "+" for a note. No distribution's package is
         * named: which ones ship libs2n.so.1 was not checked. */
        const char *named = getenv("OSTLS_S2N_LIBRARY");
        snprintf(buf, cap, "*\tinstall AWS s2n-tls (libs2n.so.1, built against the system libcrypto), "
                 "or point OSTLS_S2N_LIBRARY at one (scripts/build-s2n.sh builds it from source)%s",
                 named && *named ? "\n+\tOSTLS_S2N_LIBRARY is set and replaces the default names: "
                                   "fix the path in it or unset it" : "");
        *value = buf;
    } else {
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------- transport */

static int io_recv(void *ctx, uint8_t *buf, uint32_t len)
{
    struct s2n_session *s = ctx;
    size_t got = 0;
    net_status st = conn_recv(s->c, buf, len, &got);
    if (st == NET_OK) {
        if (record_track_feed(&s->rx, buf, got) != RECORD_OK) {
            errno = EPROTO;
            return -1;
        }
        return (int)got;
    }
    if (st == NET_EOF)
        return 0;
    errno = st == NET_AGAIN ? EAGAIN : (s->c->sock_error ? s->c->sock_error : ECONNRESET);
    return -1;
}

static int io_send(void *ctx, const uint8_t *buf, uint32_t len)
{
    struct s2n_session *s = ctx;
    size_t sent = 0;
    net_status st = conn_send(s->c, buf, len, &sent);
    if (st == NET_OK)
        return (int)sent;
    errno = st == NET_AGAIN ? EAGAIN : (s->c->sock_error ? s->c->sock_error : EPIPE);
    return -1;
}

/* ----------------------------------------------------------- host names */

/* One DNS name against one presented name: case-insensitive, a trailing dot
 * ignored, "*." only as the whole leftmost label and never matching an IP. */
static int dns_match(const char *want, const char *got, size_t glen)
{
    size_t wlen = strlen(want);
    if (wlen && want[wlen - 1] == '.')
        wlen--;
    if (glen && got[glen - 1] == '.')
        glen--;
    if (glen == 0 || memchr(got, '\0', glen))
        return 0;
    if (glen > 2 && got[0] == '*' && got[1] == '.') {
        const char *dot = memchr(want, '.', wlen);
        size_t rest = glen - 1;   /* ".example.com" */
        if (!dot || dot == want || (size_t)(want + wlen - dot) != rest)
            return 0;
        if (!memchr(got + 2, '.', glen - 2))
            return 0;   /* "*.com": too broad */
        return strncasecmp(dot, got + 1, rest) == 0;
    }
    if (memchr(got, '*', glen))
        return 0;   /* partial wildcards are never accepted */
    return wlen == glen && strncasecmp(want, got, glen) == 0;
}

static int ip_match(const char *want, const char *got, size_t glen)
{
    char a[64], b[64];
    unsigned char wa[16], ga[16];
    snprintf(a, sizeof a, "%.*s", (int)strcspn(want, "%"), want);
    snprintf(b, sizeof b, "%.*s", (int)(glen < 63 ? glen : 63), got);
    int fa = strchr(a, ':') ? AF_INET6 : AF_INET, fb = strchr(b, ':') ? AF_INET6 : AF_INET;
    if (fa != fb || inet_pton(fa, a, wa) != 1 || inet_pton(fb, b, ga) != 1)
        return 0;
    return memcmp(wa, ga, fa == AF_INET ? 4 : 16) == 0;
}

static uint8_t host_cb(const char *name, size_t len, void *data)
{
    struct s2n_session *s = data;
    tls_conn *c = s->c;
    int ok = c->peer_name_is_ip ? ip_match(c->peer_name, name, len)
                                : dns_match(c->peer_name, name, len);
    if (ok)
        s->name_matched = 1;
    return ok ? 1 : 0;
}

/* s2n falls back to the subject CN when a certificate has no
 * subjectAltName; ostls never does (as browsers): a match that could only
 * have come from the CN is a mismatch. */
static int leaf_has_san(struct s2n_session *s)
{
    struct s2n_cert_chain_and_key *chain = s2n.s2n_cert_chain_and_key_new();
    struct s2n_cert *leaf = NULL;
    uint32_t len = 0;
    int has = 0;
    if (chain && s2n.s2n_connection_get_peer_cert_chain(s->sc, chain) == 0 &&
        s2n.s2n_cert_chain_get_cert(chain, &leaf, 0) == 0)
        has = s2n.s2n_cert_get_x509_extension_value_length(leaf, (const uint8_t *)"2.5.29.17", &len) == 0 &&
              len > 0;
    if (chain)
        s2n.s2n_cert_chain_and_key_free(chain);
    return has;
}

/* -------------------------------------------------------------- sessions */

static int session_new(tls_conn *c)
{
    const struct tls_options *o = &c->opts;
    struct s2n_session *s = calloc(1, sizeof *s);
    if (!s)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory creating the TLS session");
    c->session = s;
    s->c = c;
    session_key_prepare(c);   /* before opts.ca is freed below */
    const char *policy = POLICY_DEFAULT;
    if (o->min_version == TLS_VERSION_1_3 && o->max_version && o->max_version < TLS_VERSION_1_3)
        return conn_fail(c, TLS_INVALID_ARGUMENT, "min_version is above max_version");
    if (o->min_version == TLS_VERSION_1_3)
        policy = POLICY_TLS13;
    else if (o->max_version == TLS_VERSION_1_2)
        policy = POLICY_TLS12;
    /* Option ca is added to the system store, never replacing it. */
    char why[256];
    int invalid = 0;
    struct s2n_config *cfg = s2n_cfg_for(o, &s->ca_config, &invalid, why, sizeof why);
    if (!cfg)
        return conn_fail(c, invalid ? TLS_INVALID_ARGUMENT : TLS_OUT_OF_MEMORY, "%s", why);
    free(c->opts.ca);
    c->opts.ca = NULL;
    s->sc = s2n.s2n_connection_new(S2N_MODE_CLIENT);
    if (!s->sc)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory creating the s2n connection");
    if (s2n.s2n_connection_set_config(s->sc, cfg) < 0 ||
        s2n.s2n_connection_set_cipher_preferences(s->sc, policy) < 0 ||
        s2n.s2n_connection_set_blinding(s->sc, S2N_BLINDING_SELF_SERVICE) < 0 ||
        s2n.s2n_connection_set_recv_cb(s->sc, io_recv) < 0 ||
        s2n.s2n_connection_set_send_cb(s->sc, io_send) < 0 ||
        s2n.s2n_connection_set_recv_ctx(s->sc, s) < 0 ||
        s2n.s2n_connection_set_send_ctx(s->sc, s) < 0 ||
        s2n.s2n_connection_set_verify_host_callback(s->sc, host_cb, s) < 0)
        return conn_fail(c, TLS_INTERNAL_ERROR, "s2n connection set-up failed: %s",
                         s2n.s2n_strerror(s2n_err(), "EN"));
    /* IP literals get no SNI (RFC 6066). */
    if (!c->peer_name_is_ip && s2n.s2n_set_server_name(s->sc, c->peer_name) < 0)
        return conn_fail(c, TLS_INVALID_ARGUMENT, "%s cannot be sent as the server name: %s",
                         c->peer_name, s2n.s2n_strerror(s2n_err(), "EN"));
    for (size_t i = 0; o->alpn && i < o->alpn_len; i += 1 + (size_t)o->alpn[i])
        if (s2n.s2n_connection_append_protocol_preference(s->sc, o->alpn + i + 1, o->alpn[i]) < 0)
            return conn_fail(c, TLS_INVALID_ARGUMENT, "option alpn could not be applied: %s",
                             s2n.s2n_strerror(s2n_err(), "EN"));
    s2n_resume_offer(&s2n, c, s->sc, &s->resume);
    return 1;
}

static void session_free(tls_conn *c)
{
    struct s2n_session *s = c->session;
    if (!s)
        return;
    if (s->sc)
        s2n.s2n_connection_free(s->sc);
    s2n_resume_free(&s->resume);
    s2n_cfg_release(s->ca_config);   /* after the connection that used it */
    free(s->peeked);
    free(s);
    c->session = NULL;
}

static step_result no_session(tls_conn *c, const char *call)
{
    conn_fail(c, TLS_INTERNAL_ERROR, "%s: the TLS session was never set up", call);
    return STEP_FAILED;
}

/* --------------------------------------------------------------- errors */

/* The verify.h code for an s2n certificate error, or -1 for other errors. */
static long verify_code_of(const char *name)
{
    static const struct { const char *name; long code; } map[] = {
        { "S2N_ERR_CERT_EXPIRED", VERIFY_CERT_HAS_EXPIRED },
        { "S2N_ERR_CERT_NOT_YET_VALID", VERIFY_CERT_NOT_YET_VALID },
        { "S2N_ERR_CERT_REVOKED", VERIFY_CERT_REVOKED },
        { "S2N_ERR_CERT_UNTRUSTED", VERIFY_UNABLE_TO_GET_ISSUER_CERT_LOCALLY },
        { "S2N_ERR_CERT_MAX_CHAIN_DEPTH_EXCEEDED", VERIFY_CERT_CHAIN_TOO_LONG },
        { "S2N_ERR_CERT_INTENT_INVALID", VERIFY_INVALID_PURPOSE },
        { "S2N_ERR_CERT_REJECTED", VERIFY_CERT_REJECTED },
        { "S2N_ERR_CERT_INVALID", VERIFY_CERT_SIGNATURE_FAILURE },
        { "S2N_ERR_CERT_UNHANDLED_CRITICAL_EXTENSION", VERIFY_CERT_REJECTED },
        { "S2N_ERR_OCSP_VERIFY_FAILED", VERIFY_OCSP_VERIFY_FAILED },
    };
    if (strcmp(name, "S2N_ERR_CERT_INVALID_HOSTNAME") == 0)
        return -2;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(name, map[i].name) == 0)
            return map[i].code;
    return -1;
}

/* Map a failed s2n call (not BLOCKED) to a sticky failure. */
static step_result fail_call(tls_conn *c, const char *during)
{
    struct s2n_session *s = c->session;
    int err = s2n_err();
    int type = s2n.s2n_error_get_type(err);
    const char *name = s2n.s2n_strerror_name(err);
    const char *text = s2n.s2n_strerror(err, "EN");
    long vcode = verify_code_of(name);
    if (vcode == -2)
        vcode = c->peer_name_is_ip ? VERIFY_IP_ADDRESS_MISMATCH : VERIFY_HOSTNAME_MISMATCH;
    if (s->rx.verdict != RECORD_OK) {
        record_track_fail(c, &s->rx);
        return STEP_FAILED;
    }
    if (vcode >= 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s (%s)", text, name);
        conn_set_verify_result(c, vcode, msg);
        conn_fail_verify(c);
        return STEP_FAILED;
    }
    if (type == S2N_ETYPE_IO || type == S2N_ETYPE_CLOSED) {
        if (type == S2N_ETYPE_CLOSED && c->sock_eof && !record_track_mid(&s->rx) && s->handshake_done)
            return STEP_EOF;   /* a FIN between records: a clean end, as in Node */
        if (type == S2N_ETYPE_CLOSED && record_track_mid(&s->rx) && s->handshake_done) {
            record_fail_truncated(c);
            return STEP_FAILED;
        }
        conn_fail_socket(c, during);
        return STEP_FAILED;
    }
    if (strstr(name, "PROTOCOL_VERSION") || strcmp(name, "S2N_ERR_ACTUAL_PROTOCOL_VERSION") == 0 ||
        (type == S2N_ETYPE_ALERT && s2n.s2n_connection_get_alert(s->sc) == 70))
        conn_fail(c, TLS_PROTOCOL_VERSION,
                  "no TLS version in common with %s (ostls requires TLS 1.2 or newer): %s (%s)",
                  c->peer_name, text, name);
    else if (type == S2N_ETYPE_ALERT || strcmp(name, "S2N_ERR_CIPHER_NOT_SUPPORTED") == 0)
        conn_fail(c, s->handshake_done ? TLS_PROTOCOL_ERROR : TLS_HANDSHAKE_FAILED,
                  "TLS %s with %s failed: %s (%s, alert %d)", s->handshake_done ? "session" : "handshake",
                  c->peer_name, text, name, s2n.s2n_connection_get_alert(s->sc));
    else if (type == S2N_ETYPE_PROTO || strncmp(name, "S2N_ERR_STUFFER", 15) == 0 ||
             strcmp(name, "S2N_ERR_BAD_MESSAGE") == 0)
        conn_fail(c, TLS_PROTOCOL_ERROR, "%s broke the TLS protocol %s: %s (%s)", c->peer_name,
                  during, text, name);
    else
        conn_fail(c, TLS_INTERNAL_ERROR, "s2n-tls failed %s with %s: %s (%s)", during,
                  c->peer_name, text, name);
    return STEP_FAILED;
}

static step_result blocked_or_fail(tls_conn *c, int blocked, const char *during)
{
    if (s2n.s2n_error_get_type(s2n_err()) == S2N_ETYPE_BLOCKED)
        return blocked == S2N_STATUS_ON_WRITE ? STEP_WANT_WRITE : STEP_WANT_READ;
    return fail_call(c, during);
}

/* ---------------------------------------------------------------- steps */

static void clear_for_call(tls_conn *c)
{
    *s2n.s2n_errno_location() = 0;
    c->sock_error = 0;
}

static step_result handshake(tls_conn *c)
{
    struct s2n_session *s = c->session;
    if (!s || !s->sc)
        return no_session(c, "tls_handshake");
    clear_for_call(c);
    int blocked = 0;
    if (s2n.s2n_negotiate(s->sc, &blocked) < 0)
        return blocked_or_fail(c, blocked, "during the TLS handshake");
    s->handshake_done = 1;
    if (s2n_resume_reused(s->sc, &s->resume))
        return STEP_DONE;   /* the session's verify result */
    if (!c->opts.verify_peer) {
        /* s2n skips every check when verification is off: nothing is known. */
        conn_set_verify_result(c, VERIFY_CERT_UNTRUSTED,
                               "not verified (s2n-tls checks nothing when verification is off)");
        s2n_resume_verified(s->sc, &s->resume);
        return STEP_DONE;
    }
    if (!leaf_has_san(s)) {
        conn_set_verify_result(c, c->peer_name_is_ip ? VERIFY_IP_ADDRESS_MISMATCH : VERIFY_HOSTNAME_MISMATCH,
                               "the certificate has no subjectAltName (the subject CN is not used)");
        conn_fail_verify(c);
        return STEP_FAILED;
    }
    conn_set_verify_result(c, VERIFY_OK, "ok");
    s2n_resume_verified(s->sc, &s->resume);
    return STEP_DONE;
}

static step_result read_step(tls_conn *c, void *buf, size_t len, size_t *n)
{
    struct s2n_session *s = c->session;
    if (!s || !s->sc)
        return no_session(c, "tls_read");
    if (s->peek_len > s->peek_off) {
        size_t k = s->peek_len - s->peek_off;
        if (k > len)
            k = len;
        memcpy(buf, s->peeked + s->peek_off, k);
        s->peek_off += k;
        if (s->peek_off == s->peek_len)
            s->peek_off = s->peek_len = 0;
        *n = k;
        return STEP_DONE;
    }
    clear_for_call(c);
    int blocked = 0;
    ssize_t rc = s2n.s2n_recv(s->sc, buf, len > SSIZE_MAX ? SSIZE_MAX : (ssize_t)len, &blocked);
    if (rc > 0) {
        *n = (size_t)rc;
        return STEP_DONE;
    }
    if (rc == 0)
        return STEP_EOF;   /* close_notify */
    return blocked_or_fail(c, blocked, "while receiving");
}

static step_result write_step(tls_conn *c, const void *buf, size_t len, size_t *n)
{
    struct s2n_session *s = c->session;
    if (!s || !s->sc)
        return no_session(c, "tls_write");
    clear_for_call(c);
    int blocked = 0;
    /* s2n remembers how much of buf it has encrypted but not sent: the next
     * call passes the same bytes again (the caller's retry contract), and a
     * count below len means those bytes are on the wire and the rest is due. */
    ssize_t rc = s2n.s2n_send(s->sc, buf, len > SSIZE_MAX ? SSIZE_MAX : (ssize_t)len, &blocked);
    if (rc > 0) {
        *n = (size_t)rc;
        return STEP_DONE;
    }
    if (rc == 0)
        return STEP_WANT_WRITE;
    return blocked_or_fail(c, blocked, "while sending");
}

static step_result peek_step(tls_conn *c)
{
    struct s2n_session *s = c->session;
    if (!s || !s->sc)
        return no_session(c, "tls_bytesavailable");
    if (s->peek_len > s->peek_off || s2n.s2n_peek(s->sc) > 0)
        return STEP_DONE;
    if (!s->peeked && !(s->peeked = malloc(PLAIN_MAX))) {
        conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory reading from %s", c->peer_name);
        return STEP_FAILED;
    }
    size_t got = 0;
    step_result r = read_step(c, s->peeked, PLAIN_MAX, &got);
    if (r == STEP_DONE) {
        s->peek_off = 0;
        s->peek_len = got;
    }
    return r;
}

static size_t pending(tls_conn *c)
{
    struct s2n_session *s = c->session;
    if (!s || !s->sc)
        return 0;
    return (s->peek_len - s->peek_off) + s2n.s2n_peek(s->sc);
}

static int has_buffered_input(tls_conn *c)
{
    return pending(c) > 0;
}

static step_result shutdown_step(tls_conn *c)
{
    struct s2n_session *s = c->session;
    if (!s || !s->sc)
        return no_session(c, "tls_shutdown");
    /* Before TLS 1.3, s2n closes both directions once close_notify is sent
     * (no half-close): the reply a server sends after the client's end()
     * could no longer be read. There end() sends the TCP FIN alone, as
     * Schannel under Wine does; TLS 1.3 sends close_notify and keeps reading. */
    if (s2n.s2n_connection_get_actual_protocol_version(s->sc) < S2N_PROTO_TLS13)
        return STEP_DONE;
    clear_for_call(c);
    int blocked = 0;
    if (s2n.s2n_shutdown_send(s->sc, &blocked) == 0)
        return STEP_DONE;
    return blocked_or_fail(c, blocked, "while closing");
}

static void close_notify(tls_conn *c)
{
    struct s2n_session *s = c->session;
    if (!s || !s->sc || !s->handshake_done)
        return;
    clear_for_call(c);
    int blocked = 0;
    s2n.s2n_shutdown_send(s->sc, &blocked);
}

/* ------------------------------------------------------------------ info */

/* A resumed connection reports the chain of the session it resumed (s2n
 * has none then). */
static void append_chain(struct s2n_session *s, strbuf *out, int leaf_only)
{
    strbuf fresh = { 0 };
    const unsigned char *der;
    size_t len;
    if (!s2n_resume_chain(&s->resume, &der, &len)) {
        s2n_peer_chain_der(&s2n, s->sc, &fresh);
        der = (const unsigned char *)fresh.data;
        len = fresh.failed ? 0 : fresh.len;
        out->failed |= fresh.failed;
    }
    for (size_t at = 0, n; at < len && (n = der_element_size(der + at, len - at)) > 0; at += n) {
        pem_append_cert(out, der + at, n);
        if (leaf_only)
            break;
    }
    strbuf_free(&fresh);
}

static int conn_info(tls_conn *c, const char *key, strbuf *out)
{
    struct s2n_session *s = c->session;
    if (!s || !s->sc)
        return conn_info_is_backend_key(key);
    if (strcmp(key, "protocol") == 0) {
        int v = s->handshake_done ? s2n.s2n_connection_get_actual_protocol_version(s->sc) : 0;
        if (v == S2N_PROTO_TLS12 || v == S2N_PROTO_TLS13)
            strbuf_puts(out, v == S2N_PROTO_TLS13 ? "TLSv1.3" : "TLSv1.2");
    } else if (strcmp(key, "cipher") == 0) {
        uint8_t hi = 0, lo = 0;
        const char *name = NULL;
        if (s->handshake_done && s2n.s2n_connection_get_cipher_iana_value(s->sc, &hi, &lo) == 0)
            name = suite_name(((unsigned)hi << 8) | lo);
        if (name)
            strbuf_puts(out, name);
    } else if (strcmp(key, "alpn") == 0) {
        const char *proto = s->handshake_done ? s2n.s2n_get_application_protocol(s->sc) : NULL;
        if (proto)
            strbuf_puts(out, proto);
    } else if (strcmp(key, "peer_cert") == 0 || strcmp(key, "peer_chain") == 0) {
        if (s->handshake_done)
            append_chain(s, out, strcmp(key, "peer_cert") == 0);
    } else if (strcmp(key, "session_reused") == 0) {
        if (s->handshake_done)
            strbuf_puts(out, s->resume.resumed ? "1" : "0");
    } else {
        return conn_info_is_backend_key(key);
    }
    return 1;
}

const struct tls_engine s2n_engine = {
    .name = "s2n",
    .by_name_only = 1,   /* an alternative to choose knowingly, never a silent fallback */
    .lacks_client_identity = 1,
    .lacks_revocation_policy = 1,
    /* Without s2n_connection_set_recv_buffering (never set here) s2n asks
     * io_recv for exactly the rest of the current record: all it can hold
     * unprocessed is that partial record; pending counts the decrypted rest. */
    .counts_read_ahead = 1,
    .global_init = global_init,
    .library_info = library_info,
    .session_new = session_new,
    .session_free = session_free,
    .handshake = handshake,
    .read = read_step,
    .write = write_step,
    .peek = peek_step,
    .pending = pending,
    .has_buffered_input = has_buffered_input,
    .shutdown = shutdown_step,
    .close_notify = close_notify,
    .conn_info = conn_info,
    .trust_ready = s2n_cfg_trust_ready,
    .trust_prepare = s2n_cfg_trust_prepare,
};
