/*
 * mbedtls.c — the Mbed TLS engine (Linux): Debian's libmbedtls 2.28 LTS,
 * loaded at run time, TLS 1.2 only (2.28 has no TLS 1.3 client).
 *
 * Mbed TLS has no trust store of its own, so the engine reads the one OpenSSL
 * would (SSL_CERT_FILE, SSL_CERT_DIR, the distribution's bundle) once, at
 * global_init, and shares it read-only between connections (mbedtls_load.c).
 * What 2.28's verification lacks is added in the verify callback
 * (mbedtls_verify.c): IP-literal peers are matched against iPAddress SANs,
 * and a certificate without subjectAltName never matches a name by its CN.
 *
 * Bytes move through mbedtls_ssl_set_bio callbacks over conn_send/conn_recv.
 * Mbed TLS reads exactly one record header, then exactly its body, from the
 * transport: it never holds a second record the socket has already given, so
 * "buffered input" is just its decrypted bytes.
 */
#define _GNU_SOURCE
#include "mbedtls_have.h"
#if OSTLS_HAVE_MBEDTLS   /* else mbedtls_absent.c stands in */
#include "../common/der.h"
#include "../common/engine.h"
#include "../common/pem.h"
#include "../common/session_cache.h"
#include "../common/suites.h"
#include "../common/verify.h"
#include "mbedtls_api.h"

#include <arpa/inet.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;   /* locked internally (MBEDTLS_THREADING_C) */

/* TLS 1.2 suites offered, as the OpenSSL engine: ECDHE (AES-GCM, ChaCha20,
 * AES-CBC) first, RSA key exchange with AES for IIS-era servers; never
 * finite-field DHE, 3DES, RC4, NULL, PSK or the less tested block ciphers. */
static const int suites[] = {
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384, MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
    MBEDTLS_TLS_RSA_WITH_AES_128_GCM_SHA256, MBEDTLS_TLS_RSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_RSA_WITH_AES_128_CBC_SHA256, MBEDTLS_TLS_RSA_WITH_AES_256_CBC_SHA256,
    MBEDTLS_TLS_RSA_WITH_AES_128_CBC_SHA, MBEDTLS_TLS_RSA_WITH_AES_256_CBC_SHA,
    0
};
/* 2.28 would otherwise offer every compiled curve (secp192r1, brainpool...). */
static const mbedtls_ecp_group_id curves[] = {
    MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1,
    MBEDTLS_ECP_DP_SECP521R1, MBEDTLS_ECP_DP_NONE
};
static const int sig_hashes[] = { MBEDTLS_MD_SHA512, MBEDTLS_MD_SHA384, MBEDTLS_MD_SHA256,
                                  MBEDTLS_MD_NONE };

#define RECORD_MAX 16384   /* plaintext of one record (MBEDTLS_SSL_OUT_CONTENT_LEN) */


/* ---------------------------------------------------------- global init */

static const char *mbed_global_init(char *msg, size_t msgcap)
{
    if (!mbed_load(msg, msgcap))
        return TLS_LIBRARY_NOT_FOUND;
    mb.entropy_init(&entropy);
    mb.ctr_drbg_init(&drbg);
    static const unsigned char personal[] = "ostls";
    int rc = mb.ctr_drbg_seed(&drbg, mb.entropy_func, &entropy, personal, sizeof personal - 1);
    if (rc != 0) {
        char text[128];
        mb.strerror(rc, text, sizeof text);
        snprintf(msg, msgcap, "%s loaded but its random generator could not be seeded: %s",
                 mbed_version, text);
        return TLS_INTERNAL_ERROR;
    }
    return NULL;
}

/* The system anchors are read once per process, by the first connection's
 * trust_prepare on c/common's worker (a bundle is 20-60 ms of reading and
 * parsing), never in tls_init; session_new loads them itself only when no
 * worker could be started. mbed_system_ca is read-only afterwards. */
static pthread_once_t trust_once = PTHREAD_ONCE_INIT;
static atomic_int trust_loaded;

static void load_trust_once(void)
{
    mbed_load_trust();
    atomic_store_explicit(&trust_loaded, 1, memory_order_release);
}

static void system_trust(void)
{
    pthread_once(&trust_once, load_trust_once);
}

/* Only the system anchors are prepared off-thread. A `ca` is parsed in
 * session_new, on the host's thread (a few certificates: well under a
 * millisecond; a whole bundle passed as ca costs its parse there, as this
 * engine caches nothing per ca), and linked in front of the shared anchors. */
static int mbed_trust_ready(const struct tls_options *o)
{
    (void)o;
    return atomic_load_explicit(&trust_loaded, memory_order_acquire);
}

static void mbed_trust_prepare(const char *ca)
{
    (void)ca;
    system_trust();
}

static int mbed_library_info(const char *key, char *buf, size_t cap, const char **value)
{
    if (strcmp(key, "backend_version") == 0) {
        *value = mbed_version;
    } else if (strcmp(key, "library_path") == 0) {
        *value = mbed_library_path;
    } else if (strcmp(key, "library_tried") == 0) {
        *value = mbed_library_tried;
    } else if (strcmp(key, "trust_store") == 0) {
        /* Describing the store means reading it (doctor asks; connections
         * have loaded it on their worker by then). */
        system_trust();
        *value = mbed_trust_text;
    } else if (strcmp(key, "install_hint") == 0) {
        /* One line per distribution family, as tls_info "install_hint" asks. */
        const char *override = getenv("OSTLS_LIBMBEDTLS");
        snprintf(buf, cap, "debian ubuntu\tinstall Mbed TLS 2.28: `apt-get install libmbedtls14` "
                 "(or unset OSTLS_BACKEND for the OpenSSL engine)\n"
                 "*\tinstall Mbed TLS 2.28 LTS (" MBED_SONAME_TLS ", " MBED_SONAME_X509 ", "
                 MBED_SONAME_CRYPTO ") from your distribution, or unset OSTLS_BACKEND for the "
                 "OpenSSL engine%s", override && *override
                 ? "\n+\tOSTLS_LIBMBEDTLS is set and replaces " MBED_SONAME_TLS ": fix it or unset it" : "");
        *value = buf;
    } else {
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------ transport */

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    tls_conn *c = ctx;
    struct mbed_session *s = c->session;
    size_t sent = 0;
    net_status st = conn_send(c, buf, len > INT_MAX ? INT_MAX : len, &sent);
    if (st == NET_OK) {
        /* Mbed TLS sends its buffer in order: a held record's bytes go first. */
        s->held_left -= sent < s->held_left ? sent : s->held_left;
        return (int)sent;
    }
    return st == NET_AGAIN ? MBEDTLS_ERR_SSL_WANT_WRITE : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    tls_conn *c = ctx;
    size_t got = 0;
    net_status st = conn_recv(c, buf, len > INT_MAX ? INT_MAX : len, &got);
    if (st == NET_OK) {
        struct mbed_session *s = c->session;
        /* Bytes no TLS peer sends fail at their header, as on every engine
         * that uses records.h (fail_handshake / io_failure say why). */
        if (record_track_feed(&s->rx, buf, got) != RECORD_OK)
            return MBEDTLS_ERR_SSL_INVALID_RECORD;
        return (int)got;
    }
    if (st == NET_EOF)
        return 0;
    return st == NET_AGAIN ? MBEDTLS_ERR_SSL_WANT_READ : MBEDTLS_ERR_NET_RECV_FAILED;
}

/* ------------------------------------------------------------- sessions */

static int apply_alpn(tls_conn *c, struct mbed_session *s)
{
    const unsigned char *w = c->opts.alpn;
    size_t len = c->opts.alpn_len, count = 0;
    for (size_t i = 0; i < len; i += 1 + w[i])
        count++;
    s->alpn_buf = malloc(len + 1);
    s->alpn_list = calloc(count + 1, sizeof *s->alpn_list);
    if (!s->alpn_buf || !s->alpn_list)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory setting ALPN");
    size_t k = 0;
    for (size_t i = 0; i < len && k < count; i += 1 + w[i]) {
        size_t n = w[i];
        if (i + 1 + n > len)
            break;
        memcpy(s->alpn_buf + i, w + i + 1, n);
        s->alpn_buf[i + n] = '\0';
        s->alpn_list[k++] = s->alpn_buf + i;
    }
    if (mb.ssl_conf_alpn_protocols(&s->conf, s->alpn_list) != 0)
        return conn_fail(c, TLS_INVALID_ARGUMENT, "option alpn could not be applied");
    return 1;
}

/* Trust = the system's anchors plus option ca (added, never replacing): the
 * connection's own certificates are parsed, and the shared list is linked
 * after them (unlinked again before they are freed). */
static int apply_ca(tls_conn *c, struct mbed_session *s)
{
    s->extra_ca = malloc(sizeof *s->extra_ca);
    if (!s->extra_ca)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory reading option ca");
    mb.x509_crt_init(s->extra_ca);
    const char *pem = c->opts.ca;
    int rc = mb.x509_crt_parse(s->extra_ca, (const unsigned char *)pem, strlen(pem) + 1);
    if (rc != 0 || !s->extra_ca->raw.p) {
        char text[160] = "no certificate found";
        if (rc < 0)
            mb.strerror(rc, text, sizeof text);
        else if (rc > 0)
            snprintf(text, sizeof text, "%d certificate(s) could not be parsed", rc);
        return conn_fail(c, TLS_INVALID_ARGUMENT, "option ca: %s", text);
    }
    s->extra_tail = s->extra_ca;
    while (s->extra_tail->next && s->extra_tail->next->raw.p)
        s->extra_tail = s->extra_tail->next;
    if (s->extra_tail->next) {   /* an empty trailing node of its own */
        mb.x509_crt_free(s->extra_tail->next);
        free(s->extra_tail->next);
    }
    s->extra_tail->next = mbed_system_ca.raw.p ? &mbed_system_ca : NULL;
    return 1;
}

static int mbed_session_new(tls_conn *c)
{
    system_trust();   /* normally loaded already by trust_prepare */
    struct mbed_session *s = calloc(1, sizeof *s);
    if (!s)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory creating the TLS session");
    c->session = s;
    session_key_prepare(c);   /* before opts.ca is freed below */
    const struct tls_options *o = &c->opts;
    if (o->min_version == TLS_VERSION_1_3)
        return conn_fail(c, TLS_PROTOCOL_VERSION,
                         "minVersion TLS 1.3 asked for, but %s does not offer TLS 1.3 (2.28 has no TLS 1.3 client)",
                         mbed_version);
    mb.ssl_init(&s->ssl);
    mb.ssl_config_init(&s->conf);
    s->ready = 1;
    if (mb.ssl_config_defaults(&s->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                               MBEDTLS_SSL_PRESET_DEFAULT) != 0)
        return conn_fail(c, TLS_INTERNAL_ERROR, "Mbed TLS refused its default configuration");
    /* Verification runs either way; verify_cb fails the handshake when it must. */
    mb.ssl_conf_authmode(&s->conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
    mb.ssl_conf_rng(&s->conf, mb.ctr_drbg_random, &drbg);
    mb.ssl_conf_ciphersuites(&s->conf, suites);
    mb.ssl_conf_curves(&s->conf, curves);
    mb.ssl_conf_sig_hashes(&s->conf, sig_hashes);
    mb.ssl_conf_min_version(&s->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mb.ssl_conf_max_version(&s->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    /* A server may renegotiate (OpenSSL's client accepts that too). */
    mb.ssl_conf_renegotiation(&s->conf, MBEDTLS_SSL_RENEGOTIATION_ENABLED);
    mb.ssl_conf_verify(&s->conf, mbed_verify_cb, c);
    if (o->ca) {
        if (!apply_ca(c, s))
            return 0;
        mb.ssl_conf_ca_chain(&s->conf, s->extra_ca, NULL);
        free(c->opts.ca);   /* parsed; options are final */
        c->opts.ca = NULL;
    } else {
        /* An empty list still verifies (and fails as "unable to get local issuer"). */
        mb.ssl_conf_ca_chain(&s->conf, &mbed_system_ca, NULL);
    }
    if (o->alpn && !apply_alpn(c, s))
        return 0;
    int rc = mb.ssl_setup(&s->ssl, &s->conf);
    if (rc == 0 && !c->peer_name_is_ip)   /* SNI and the verification name; IPs get neither */
        rc = mb.ssl_set_hostname(&s->ssl, c->peer_name);
    if (rc != 0) {
        char text[128];
        mb.strerror(rc, text, sizeof text);
        return conn_fail(c, rc == MBEDTLS_ERR_SSL_ALLOC_FAILED ? TLS_OUT_OF_MEMORY : TLS_INVALID_ARGUMENT,
                         "could not set up the TLS session for %s: %s", c->peer_name, text);
    }
    mb.ssl_set_bio(&s->ssl, c, bio_send, bio_recv, NULL);
    mbed_resume_offer(c, s);
    return 1;
}

static void mbed_session_free(tls_conn *c)
{
    struct mbed_session *s = c->session;
    if (!s)
        return;
    if (s->ready) {
        mb.ssl_free(&s->ssl);
        mb.ssl_config_free(&s->conf);
    }
    if (s->extra_ca) {
        if (s->extra_tail)
            s->extra_tail->next = NULL;   /* mbed_system_ca is shared */
        mb.x509_crt_free(s->extra_ca);
        free(s->extra_ca);
    }
    mbed_resume_free(s);
    free(s->alpn_buf);
    free(s->anchor);
    free(s->alpn_list);
    free(s);
    c->session = NULL;
}

static struct mbed_session *ready_session(tls_conn *c, const char *call)
{
    struct mbed_session *s = c->session;
    if (s && s->ready)
        return s;
    conn_fail(c, TLS_INTERNAL_ERROR, "%s: the TLS session was never set up", call);
    return NULL;
}

/* ------------------------------------------------------------- failures */

static int is_protocol_error(int rc)
{
    switch (rc) {
    case MBEDTLS_ERR_SSL_INVALID_RECORD:
    case MBEDTLS_ERR_SSL_INVALID_MAC:
    case MBEDTLS_ERR_SSL_BAD_INPUT_DATA:   /* a record longer than the input buffer */
    case MBEDTLS_ERR_SSL_UNEXPECTED_MESSAGE:
    case MBEDTLS_ERR_SSL_UNEXPECTED_RECORD:
    case MBEDTLS_ERR_SSL_BAD_HS_SERVER_HELLO:
    case MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE:
    case MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE_REQUEST:
    case MBEDTLS_ERR_SSL_BAD_HS_SERVER_KEY_EXCHANGE:
    case MBEDTLS_ERR_SSL_BAD_HS_SERVER_HELLO_DONE:
    case MBEDTLS_ERR_SSL_BAD_HS_CHANGE_CIPHER_SPEC:
    case MBEDTLS_ERR_SSL_BAD_HS_FINISHED:
    case MBEDTLS_ERR_SSL_BAD_HS_NEW_SESSION_TICKET:
        return 1;
    default:
        return 0;
    }
}

static int fail_handshake(tls_conn *c, struct mbed_session *s, int rc)
{
    char text[160];
    mb.strerror(rc, text, sizeof text);
    if (s->rx.verdict != RECORD_OK)
        return record_track_fail(c, &s->rx);
    if (s->verify_rejected || rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        mbed_record_verify_result(c);
        if (c->verify_code != VERIFY_OK)
            return conn_fail_verify(c);
    }
    if (rc == MBEDTLS_ERR_NET_SEND_FAILED || rc == MBEDTLS_ERR_NET_RECV_FAILED ||
        rc == MBEDTLS_ERR_SSL_CONN_EOF)
        return conn_fail_socket(c, "during the TLS handshake");
    if (rc == MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION ||
        (rc == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE &&
         s->ssl.in_msg[1] == MBEDTLS_SSL_ALERT_MSG_PROTOCOL_VERSION))
        return conn_fail(c, TLS_PROTOCOL_VERSION,
                         "no TLS version in common with %s (ostls requires TLS 1.2; %s has no TLS 1.3): %s",
                         c->peer_name, mbed_version, text);
    if (rc == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE)
        return conn_fail(c, TLS_HANDSHAKE_FAILED, "TLS handshake with %s failed: the server sent alert %u",
                         c->peer_name, s->ssl.in_msg[1]);
    if (rc == MBEDTLS_ERR_SSL_ALLOC_FAILED)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory during the TLS handshake");
    if (rc == MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE)
        return conn_fail(c, TLS_PROTOCOL_ERROR,
                         "%s sent a handshake message larger than one TLS record (16 KB: a large "
                         "certificate chain?), which %s cannot reassemble: %s",
                         c->peer_name, mbed_version, text);
    if (rc == MBEDTLS_ERR_SSL_INVALID_RECORD && s->rx.records <= 1)   /* the first record itself */
        return conn_fail(c, TLS_PROTOCOL_ERROR, "%s did not answer with TLS (is port %d a TLS port?): %s",
                         c->peer_name, c->remote_port, text);
    if (is_protocol_error(rc))
        return conn_fail(c, TLS_PROTOCOL_ERROR, "%s broke the TLS protocol during the handshake: %s",
                         c->peer_name, text);
    return conn_fail(c, TLS_HANDSHAKE_FAILED, "TLS handshake with %s failed: %s", c->peer_name, text);
}

/* A failed ssl_read / ssl_write / close_notify (rc < 0 or read's 0). */
static step_result io_failure(tls_conn *c, struct mbed_session *s, int rc, int writing)
{
    if (rc == MBEDTLS_ERR_SSL_WANT_READ)
        return STEP_WANT_READ;
    if (rc == MBEDTLS_ERR_SSL_WANT_WRITE)
        return STEP_WANT_WRITE;
    const char *during = writing ? "while sending" : "while receiving";
    if (s->rx.verdict != RECORD_OK) {
        record_track_fail(c, &s->rx);
        return STEP_FAILED;
    }
    if (!writing && (rc == 0 || rc == MBEDTLS_ERR_SSL_CONN_EOF)) {
        if (record_track_mid(&s->rx)) {
            record_fail_truncated(c);
            return STEP_FAILED;
        }
        return STEP_EOF;   /* a FIN between records: a clean end, as in Node */
    }
    if (!writing && rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
        return STEP_EOF;
    if (rc == MBEDTLS_ERR_NET_SEND_FAILED || rc == MBEDTLS_ERR_NET_RECV_FAILED ||
        rc == MBEDTLS_ERR_SSL_CONN_EOF) {
        conn_fail_socket(c, during);
        return STEP_FAILED;
    }
    char text[160];
    mb.strerror(rc, text, sizeof text);
    if (rc == MBEDTLS_ERR_SSL_ALLOC_FAILED)
        conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory %s: %s", during, text);
    else
        conn_fail(c, TLS_PROTOCOL_ERROR, "TLS protocol error %s %s: %s", during, c->peer_name, text);
    return STEP_FAILED;
}

/* ---------------------------------------------------------------- steps */

static step_result mbed_handshake(tls_conn *c)
{
    struct mbed_session *s = ready_session(c, "tls_handshake");
    if (!s)
        return STEP_FAILED;
    c->sock_error = 0;
    int rc = mb.ssl_handshake(&s->ssl);
    if (rc == 0) {
        s->handshake_done = 1;
        mbed_resume_handshake_done(c, s);
        return STEP_DONE;
    }
    if (rc == MBEDTLS_ERR_SSL_WANT_READ)
        return STEP_WANT_READ;
    if (rc == MBEDTLS_ERR_SSL_WANT_WRITE)
        return STEP_WANT_WRITE;
    fail_handshake(c, s, rc);
    return STEP_FAILED;
}

static step_result mbed_read(tls_conn *c, void *buf, size_t len, size_t *n)
{
    struct mbed_session *s = ready_session(c, "tls_read");
    if (!s)
        return STEP_FAILED;
    c->sock_error = 0;
    int rc = mb.ssl_read(&s->ssl, buf, len > INT_MAX ? INT_MAX : len);
    if (rc > 0) {
        *n = (size_t)rc;
        return STEP_DONE;
    }
    return io_failure(c, s, rc, 0);
}

static step_result mbed_write(tls_conn *c, const void *buf, size_t len, size_t *n)
{
    struct mbed_session *s = ready_session(c, "tls_write");
    if (!s)
        return STEP_FAILED;
    c->sock_error = 0;
    /* After WANT_WRITE Mbed TLS holds the encrypted record, and a later
     * ssl_write only flushes it and returns the length it is given - or, when
     * a renegotiation (started by a read) flushed it meanwhile, encrypts the
     * bytes a second time. So the engine owns that record: bio_send counts
     * its bytes out (held_left), and it is reported written once they are. */
    if (s->write_held) {
        int rc = 0;
        if (s->held_left > 0)   /* flush, or drive the renegotiation, which flushes first */
            rc = mb.ssl_write(&s->ssl, buf, 0);
        if (s->held_left > 0 || (rc < 0 && rc != MBEDTLS_ERR_SSL_WANT_READ &&
                                 rc != MBEDTLS_ERR_SSL_WANT_WRITE))
            return io_failure(c, s, rc < 0 ? rc : MBEDTLS_ERR_SSL_WANT_WRITE, 1);
        *n = s->write_held;
        s->write_held = 0;
        return STEP_DONE;
    }
    int over = s->ssl.state == MBEDTLS_SSL_HANDSHAKE_OVER;
    if (over && s->ssl.out_left > 0) {
        /* Output of its own (an alert, the end of a flight) still queued:
         * given data now, 2.28 would only flush and report the data sent. */
        int rc = mb.ssl_write(&s->ssl, buf, 0);
        if (rc < 0)
            return io_failure(c, s, rc, 1);
    }
    int max = mb.ssl_get_max_out_record_payload(&s->ssl);
    size_t take = len < RECORD_MAX ? len : RECORD_MAX;
    if (max > 0 && take > (size_t)max)
        take = (size_t)max;
    int rc = mb.ssl_write(&s->ssl, buf, take);
    if (rc > 0) {
        *n = (size_t)rc;
        return STEP_DONE;
    }
    if (rc == MBEDTLS_ERR_SSL_WANT_WRITE && s->ssl.state == MBEDTLS_SSL_HANDSHAKE_OVER &&
        s->ssl.out_left > 0) {
        s->write_held = take;   /* nothing else was queued: out_left is this record's rest */
        s->held_left = s->ssl.out_left;
    }
    return io_failure(c, s, rc, 1);
}

static step_result mbed_peek(tls_conn *c)
{
    struct mbed_session *s = ready_session(c, "tls_bytesavailable");
    if (!s)
        return STEP_FAILED;
    c->sock_error = 0;
    unsigned char byte;
    /* A zero-length read processes records without consuming application data. */
    for (int i = 0; i < 4; i++) {
        int rc = mb.ssl_read(&s->ssl, &byte, 0);
        if (mb.ssl_get_bytes_avail(&s->ssl) > 0)
            return STEP_DONE;
        if (rc < 0 || c->sock_eof)
            return io_failure(c, s, rc, 0);
    }
    return STEP_WANT_READ;
}

static size_t mbed_pending(tls_conn *c)
{
    struct mbed_session *s = c->session;
    return s && s->ready ? mb.ssl_get_bytes_avail(&s->ssl) : 0;
}

static int mbed_has_buffered_input(tls_conn *c)
{
    return mbed_pending(c) > 0;
}

static step_result mbed_shutdown(tls_conn *c)
{
    struct mbed_session *s = ready_session(c, "tls_shutdown");
    if (!s)
        return STEP_FAILED;
    c->sock_error = 0;
    int rc = mb.ssl_close_notify(&s->ssl);
    if (rc == 0)
        return STEP_DONE;
    step_result step = io_failure(c, s, rc, 1);
    return step == STEP_EOF ? STEP_DONE : step;
}

static void mbed_close_notify(tls_conn *c)
{
    struct mbed_session *s = c->session;
    if (s && s->ready && s->handshake_done)
        mb.ssl_close_notify(&s->ssl);
}

/* ------------------------------------------------------------------ info */

static int mbed_conn_info(tls_conn *c, const char *key, strbuf *out)
{
    struct mbed_session *s = c->session;
    if (!s || !s->ready)
        return conn_info_is_backend_key(key);
    if (strcmp(key, "protocol") == 0) {
        if (s->handshake_done)
            strbuf_puts(out, mb.ssl_get_version(&s->ssl));
    } else if (strcmp(key, "cipher") == 0) {
        const char *name = s->handshake_done ? mb.ssl_get_ciphersuite(&s->ssl) : NULL;
        if (name) {
            /* IANA's name, as the other engines; Mbed TLS's own spelling uses '-'. */
            const char *iana = suite_name((unsigned)mb.ssl_get_ciphersuite_id(name));
            if (iana) {
                strbuf_puts(out, iana);
            } else {
                size_t start = out->len;
                strbuf_puts(out, name);
                for (size_t i = start; out->data && i < out->len; i++)
                    if (out->data[i] == '-')
                        out->data[i] = '_';
            }
        }
    } else if (strcmp(key, "alpn") == 0) {
        const char *proto = mb.ssl_get_alpn_protocol(&s->ssl);
        if (proto)
            strbuf_puts(out, proto);
    } else if (strcmp(key, "trust_anchor") == 0) {
        if (s->anchor && c->verify_code == VERIFY_OK)
            pem_append_cert(out, s->anchor, s->anchor_len);
    } else if (strcmp(key, "peer_cert") == 0 || strcmp(key, "peer_chain") == 0) {
        /* The chain as the server sent it, leaf first (resumed: as the
         * server sent it to the connection that made the session). */
        int all = strcmp(key, "peer_chain") == 0;
        const unsigned char *der;
        size_t len;
        if (mbed_resume_chain(s, &der, &len)) {
            for (size_t at = 0, n; at < len && (n = der_element_size(der + at, len - at)) > 0; at += n) {
                pem_append_cert(out, der + at, n);
                if (!all)
                    break;
            }
        } else {
            for (const mbedtls_x509_crt *crt = mb.ssl_get_peer_cert(&s->ssl); crt && crt->raw.p;
                 crt = all ? crt->next : NULL)
                pem_append_cert(out, crt->raw.p, crt->raw.len);
        }
    } else if (strcmp(key, "session_reused") == 0) {
        if (s->handshake_done)
            strbuf_puts(out, s->resumed ? "1" : "0");
    } else {
        return 0;
    }
    return 1;
}

const struct tls_engine mbedtls_engine = {
    .name = "mbedtls",
    .by_name_only = 1,   /* struct layouts are ABI, and 2.28 cannot be checked for them */
    .lacks_client_identity = 1,
    .lacks_revocation_policy = 1,
    /* Mbed TLS asks bio_recv for exactly the rest of the current record
     * (header, then body), never beyond it: all it can hold unprocessed is
     * that partial record, and mbed_pending counts the decrypted rest. */
    .counts_read_ahead = 1,
    .global_init = mbed_global_init,
    .library_info = mbed_library_info,
    .session_new = mbed_session_new,
    .session_free = mbed_session_free,
    .handshake = mbed_handshake,
    .read = mbed_read,
    .write = mbed_write,
    .peek = mbed_peek,
    .pending = mbed_pending,
    .has_buffered_input = mbed_has_buffered_input,
    .shutdown = mbed_shutdown,
    .close_notify = mbed_close_notify,
    .conn_info = mbed_conn_info,
    .trust_ready = mbed_trust_ready,
    .trust_prepare = mbed_trust_prepare,
};
#endif /* OSTLS_HAVE_MBEDTLS */
