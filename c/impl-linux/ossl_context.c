/*
 * ossl_context.c — the OpenSSL engine's contexts: the policy every
 * connection shares (versions, suites, modes, callbacks), the one context
 * trusting the OS store, and the contexts for option ca, cached and shared
 * through c/common's trust cache. Trust material is loaded on c/common's
 * worker thread (trust_prepare), never on the host's.
 */
#define _GNU_SOURCE
#include "../common/trust_cache.h"
#include "ossl_api.h"
#include "ossl_identity.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

/* PEM_R_NO_START_LINE: "no more certificates" when reading a PEM bundle. */
#define OSSL_ERR_LIB_PEM 9
#define OSSL_PEM_R_NO_START_LINE 108

#define READ_BUFFER_LEN ((size_t)4 * 16384 + 512)   /* read-ahead: four full records per recv() */

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
    ossl.SSL_CTX_ctrl(ctx, OSSL_SSL_CTRL_SET_MAX_CERT_LIST, OSSL_MAX_CERT_LIST, NULL);
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
    if (ossl_ocsp_available())
        ossl.SSL_CTX_callback_ctrl(ctx, OSSL_SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB,
                                   (void (*)(void))ossl_ocsp_status_cb);
    /* A missing default bundle is not fatal here: verification then fails
     * per connection with a clear UNABLE_TO_GET_ISSUER_CERT_LOCALLY. */
    if (default_paths)
        ossl.SSL_CTX_set_default_verify_paths(ctx);
    ossl_resume_setup_ctx(ctx);
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
    unsigned long first = ossl.ERR_get_error();   /* the earliest: usually the cause */
    ossl.ERR_clear_error();
    int clean_end = !first || (ossl_error_lib(first) == OSSL_ERR_LIB_PEM &&
                               ossl_error_reason(first) == OSSL_PEM_R_NO_START_LINE);
    if (added > 0 && clean_end)
        return 1;
    char text[256];
    ossl_error_text(first, text, sizeof text);
    snprintf(why, whycap, "option ca: certificate %d could not be used: %s", added + 1, text);
    return 0;
}

/* A new context trusting what the default one does without reading the OS
 * bundle again: its certificates (shared by reference) and the same hashed
 * directory (SSL_CERT_DIR or OpenSSL's default), looked up on demand. */
static SSL_CTX *new_ctx_like_default(void)
{
    SSL_CTX *def = ossl_default_context();
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
struct trust_ref *ossl_ca_context(tls_conn *c)
{
    char why[TLS_MSG_MAX / 2];
    int invalid;
    struct trust_ref *ref = trust_cache_get(&ca_cache, c->opts.ca, &invalid, why, sizeof why);
    if (!ref)
        conn_fail(c, invalid ? TLS_INVALID_ARGUMENT : TLS_OUT_OF_MEMORY, "%s", why);
    return ref;
}

void ossl_ca_context_put(struct trust_ref *ref)
{
    trust_cache_put(&ca_cache, ref);
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

SSL_CTX *ossl_default_context(void)
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
int ossl_trust_ready(const struct tls_options *o)
{
    if (!atomic_load_explicit(&default_ctx_ready, memory_order_acquire))
        return 0;
    return !o->ca || trust_cache_contains(&ca_cache, o->ca);
}

/* engine.trust_prepare, on a worker thread: what session_new will need,
 * built and cached. A `ca` that does not parse is left for session_new to
 * report on its connection. */
void ossl_trust_prepare(const char *ca)
{
    if (!ca) {
        ossl_default_context();
        return;
    }
    trust_cache_prepare(&ca_cache, ca);
    ossl.ERR_clear_error();
}
