/*
 * live_tls.c — the live stand-in's TLS: an OpenSSL client configured from
 * what the engine set through sec_protocol_options_* (versions, ALPN, server
 * name, tickets, local identity, the verify block), and OpenSSL's failures
 * named as Network.framework names them (errSSL* OSStatus in the tls domain,
 * errno in the posix domain).
 */
#include "live_tls.h"

#include <Block.h>
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <string.h>

struct verify_ctx {
    nw_connection_t c;
    CFMutableArrayRef *sent;
    int close_notify;           /* the peer's close_notify arrived */
};

static int verify_index = -1;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static void free_verify_ctx(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    OPENSSL_free(ptr);
}

static void init_index(void) { verify_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, free_verify_ctx); }

static SecCertificateRef cert_of(X509 *x)
{
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    if (len <= 0)
        return NULL;
    CFDataRef data = CFDataCreate(NULL, der, len);
    OPENSSL_free(der);
    SecCertificateRef cert = SecCertificateCreateWithData(NULL, data);
    CFRelease(data);
    return cert;
}

/*
 * OpenSSL's whole-chain check, replaced by Network.framework's: the verify
 * block gets the handshake's metadata (the chain as the server sent it) and
 * a trust over that chain, on the queue the engine named, and answers
 * whenever it likes; the handshake waits for the answer (or a cancel).
 */
static int verify_chain(X509_STORE_CTX *store, void *arg)
{
    (void)arg;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct verify_ctx *v = SSL_get_ex_data(ssl, verify_index);
    nw_connection_t c = v->c;
    CFMutableArrayRef sent = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_untrusted(store);
    if (chain && sk_X509_num(chain) > 0) {
        for (int i = 0; i < sk_X509_num(chain); i++) {
            SecCertificateRef cert = cert_of(sk_X509_value(chain, i));
            if (cert) {
                CFArrayAppendValue(sent, cert);
                CFRelease(cert);
            }
        }
    } else if (X509_STORE_CTX_get0_cert(store)) {
        SecCertificateRef cert = cert_of(X509_STORE_CTX_get0_cert(store));
        if (cert) {
            CFArrayAppendValue(sent, cert);
            CFRelease(cert);
        }
    }
    if (*v->sent)
        CFRelease(*v->sent);
    *v->sent = sent;
    if (!c->tls.verify)
        return 1;   /* the engine always sets one; without it nothing is checked here */

    struct standin_sec *md = live_sec_new(SEC_METADATA), *tr = live_sec_new(SEC_TRUST);
    md->chain = CFRetain(sent);
    md->version = (unsigned)SSL_version(ssl);
    tr->ref = (struct standin_cf *)live_trust_new(sent);
    pthread_mutex_lock(&c->lock);
    c->verify_answer = -1;
    pthread_mutex_unlock(&c->lock);
    sec_protocol_verify_t block = c->tls.verify;
    dispatch_queue_t queue = c->tls.verify_queue ? c->tls.verify_queue : c->queue;
    nw_retain(c);
    dispatch_async(queue, ^{
        nw_retain(c);   /* the answer's */
        block(md, tr, ^(bool accept) {
            pthread_mutex_lock(&c->lock);
            c->verify_answer = accept ? 1 : 0;
            pthread_cond_broadcast(&c->cond);
            pthread_mutex_unlock(&c->lock);
            nw_release(c);
        });
        sec_release(md);
        sec_release(tr);
        nw_release(c);
    });
    pthread_mutex_lock(&c->lock);
    while (c->verify_answer < 0 && !c->cancel)
        pthread_cond_wait(&c->cond, &c->lock);
    int accept = c->verify_answer == 1;
    pthread_mutex_unlock(&c->lock);
    if (!accept)
        X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return accept;
}

/* Watches for the peer's close_notify: with SSL_OP_IGNORE_UNEXPECTED_EOF
 * OpenSSL reports a bare FIN as a clean end too, and keeps the connection
 * writable (a half-close), which Network.framework allows. */
static void on_message(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg)
{
    (void)version;
    (void)arg;
    const unsigned char *b = buf;
    if (!write_p && content_type == SSL3_RT_ALERT && len == 2 && b[1] == SSL_AD_CLOSE_NOTIFY) {
        struct verify_ctx *v = SSL_get_ex_data(ssl, verify_index);
        if (v)
            v->close_notify = 1;
    }
}

int live_tls_end_kind(SSL *ssl)
{
    struct verify_ctx *v = SSL_get_ex_data(ssl, verify_index);
    if (v && v->close_notify)
        return 0;
    return SSL_has_pending(ssl) ? 2 : 1;
}

static int is_ip(const char *name)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

/* A SecIdentity from the stand-in's keychain calls, as OpenSSL wants it:
 * not modelled (fake.c's SecPKCS12Import refuses every PKCS#12). */
static int use_identity(SSL *ssl, sec_identity_t identity)
{
    (void)ssl;
    return identity == NULL;
}

int live_tls_setup(SSL_CTX **ctxp, SSL **sslp, nw_connection_t c, int fd, CFMutableArrayRef *sent)
{
    pthread_once(&once, init_index);
    struct live_tls_options *o = &c->tls;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return 0;
    *ctxp = ctx;
    SSL_CTX_set_min_proto_version(ctx, o->min_version ? (int)o->min_version : TLS1_2_VERSION);
    if (o->max_version)
        SSL_CTX_set_max_proto_version(ctx, (int)o->max_version);
    /* TLS 1.2 suites as Network.framework offers them: ECDHE and RSA key
     * exchange with AES-GCM, ChaCha20 or AES-CBC; no finite-field DHE, no
     * 3DES, RC4 or NULL (engines cannot set suites on it). */
    SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES:kRSA+AESGCM:kRSA+AES:!aNULL:!eNULL:!DHE:!3DES:!RC4");
    /* A certificate chain up to 256 KiB, as a loaded TLS stack takes. */
    SSL_CTX_set_max_cert_list(ctx, 256L * 1024);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (!o->tickets || !o->resumption)
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_msg_callback(ctx, on_message);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_cert_verify_callback(ctx, verify_chain, NULL);
    SSL *ssl = SSL_new(ctx);
    if (!ssl)
        return 0;
    *sslp = ssl;
    struct verify_ctx *v = OPENSSL_zalloc(sizeof *v);
    v->c = c;
    v->sent = sent;
    SSL_set_ex_data(ssl, verify_index, v);   /* freed with the SSL (free_verify_ctx) */
    if (o->alpn_len)
        SSL_set_alpn_protos(ssl, o->alpn, (unsigned)o->alpn_len);
    /* The name sent: the override, else the endpoint's host; never an IP
     * literal (RFC 6066), as Network.framework. */
    const char *name = o->server_name ? o->server_name : c->endpoint->host;
    if (name[0] && !is_ip(name))
        SSL_set_tlsext_host_name(ssl, name);
    if (!use_identity(ssl, o->identity))
        return 0;
    return SSL_set_fd(ssl, fd) == 1;
}

/* ------------------------------------------------------------- errors */

static int alert_status(int alert)
{
    static const struct { int alert, status; } map[] = {
        { 10, -9819 }, { 20, -9820 }, { 21, -9821 }, { 22, -9822 }, { 30, -9823 }, { 40, -9824 },
        { 42, -9825 }, { 43, -9826 }, { 44, -9827 }, { 45, -9828 }, { 46, -9829 }, { 47, -9830 },
        { 48, -9831 }, { 49, -9832 }, { 50, -9833 }, { 51, -9834 }, { 60, -9835 }, { 70, -9836 },
        { 71, -9837 }, { 80, -9838 }, { 86, -9860 }, { 90, -9839 }, { 100, -9840 }, { 109, -9861 },
        { 110, -9855 }, { 112, -9865 }, { 115, -9864 }, { 116, -9863 },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i].alert == alert)
            return map[i].status;
    return errSSLPeerHandshakeFail;
}

nw_error_t live_tls_failure(SSL *ssl, int ret, int handshaking)
{
    int saved = errno;
    int e = SSL_get_error(ssl, ret);
    unsigned long err = ERR_peek_last_error();
    int reason = err ? ERR_GET_REASON(err) : 0;
    ERR_clear_error();
    if (e == SSL_ERROR_ZERO_RETURN)   /* a FIN (SSL_OP_IGNORE_UNEXPECTED_EOF) */
        return handshaking ? live_error(nw_error_domain_posix, ECONNRESET)
                           : live_error(nw_error_domain_tls, errSSLClosedNoNotify);
    if (e == SSL_ERROR_SYSCALL && !err) {
        if (ret == 0 || saved == 0)   /* EOF */
            return handshaking ? live_error(nw_error_domain_posix, ECONNRESET)
                               : live_error(nw_error_domain_tls, errSSLClosedNoNotify);
        return live_error(nw_error_domain_posix, saved);
    }
    if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        return handshaking ? live_error(nw_error_domain_posix, ECONNRESET)
                           : live_error(nw_error_domain_tls, errSSLClosedNoNotify);
    if (reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256)
        return live_error(nw_error_domain_tls, alert_status(reason - SSL_AD_REASON_OFFSET));
    switch (reason) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_WRONG_SSL_VERSION:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_VERSION_TOO_HIGH:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
        return live_error(nw_error_domain_tls, errSSLPeerProtocolVersion);
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
        return live_error(nw_error_domain_tls, errSSLBadCert);
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
        return live_error(nw_error_domain_tls, errSSLProtocol);
    default:   /* a record or message OpenSSL could not parse */
        return live_error(nw_error_domain_tls, errSSLProtocol);
    }
}
