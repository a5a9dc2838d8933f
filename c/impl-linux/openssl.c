/*
 * openssl.c — the Linux backend: the system's OpenSSL (1.1.1 or 3.x), loaded
 * at run time by ossl_load.c: one struct tls_engine (c/common/engine.h),
 * openssl_engine, at the end of this file. Its contexts and trust are in
 * ossl_context.c, the verify result and stapled OCSP in ossl_verify.c,
 * session resumption in ossl_resume.c, client identities in ossl_identity.c.
 *
 * Bytes move through a custom BIO over conn_send / conn_recv instead of
 * SSL_set_fd: that gives send(MSG_NOSIGNAL) (no SIGPIPE in the host process)
 * and lets c/common see the errno behind every transport failure.
 */
#define _GNU_SOURCE
#include "../common/engine.h"
#include "../common/records.h"
#include "../common/session_cache.h"
#include "../common/verify.h"
#include "ossl_api.h"
#include "ossl_identity.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static int fail_handshake(tls_conn *c, int ssl_error)
{
    struct error_scan scan;
    scan_errors(&scan);
    char text[256];
    ossl_error_text(scan.first, text, sizeof text);

    /* Through an https:// proxy, this engine's calls for the proxy's own
     * connection run inside this one's socket callbacks and may have emptied
     * the thread's error queue: a verification that failed still says so
     * (X509_V_OK is 0). */
    int lost_verify = !scan.first && c->opts.verify_peer && ossl.SSL_get_verify_result(ssl_of(c)) != 0;
    if (scan.verify_failed || lost_verify || ((struct ossl_session *)c->session)->revocation_failure != VERIFY_OK) {
        ossl_record_verify_result(c);
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
                         "over %d KB?): %s", c->peer_name, OSSL_MAX_CERT_LIST / 1000, text);
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
    ossl_error_text(scan.first, text, sizeof text);
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
    if (ossl_ocsp_available() && o->revocation != TLS_REVOCATION_OFF)
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
    if (c->opts.ca && !(ref = ossl_ca_context(c)))
        return 0;
    SSL_CTX *ctx = ref ? ref->object : ossl_default_context();
    if (!ctx)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "could not create an OpenSSL context");
    /* The PEM only chose the context, and options are final now: an open
     * connection need not carry its own copy (0.7+ KiB each, idle or not). */
    free(c->opts.ca);
    c->opts.ca = NULL;
    s->ssl = ossl.SSL_new(ctx);
    ossl_ca_context_put(ref);   /* the SSL holds its own reference */
    BIO *bio = s->ssl ? ossl.BIO_new(socket_bio_method) : NULL;
    if (!bio)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory creating the TLS session");
    ossl.BIO_set_data(bio, c);
    ossl.SSL_set_bio(s->ssl, bio, bio);
    ossl_resume_offer(c, s);
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
        ossl_resume_handshake_done(c, s);
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
    while (s->nrec < OSSL_OUT_CALLS && taken < cap) {
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
            strbuf_puts(out, ossl_session_reused(c) ? "1" : "0");
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
    .trust_ready = ossl_trust_ready,
    .trust_prepare = ossl_trust_prepare,
};
