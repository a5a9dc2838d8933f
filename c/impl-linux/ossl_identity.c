/*
 * ossl_identity.c — the client certificate from files for the OpenSSL engine.
 * Everything happens per SSL (SSL_use_*), so the shared, cached SSL_CTXs
 * never carry one connection's identity into another.
 */
#define _GNU_SOURCE
#include "ossl_identity.h"

#include "../tls_client.h"

#include <stdio.h>
#include <string.h>

/* Hands OpenSSL the passphrase; with none given, an encrypted key fails
 * instead of OpenSSL's default of prompting on the terminal. */
static int passphrase_cb(char *buf, int size, int rwflag, void *u)
{
    (void)rwflag;
    const char *pass = u;
    if (!pass)
        return -1;
    size_t len = strlen(pass);
    if (len > (size_t)size)
        return -1;
    memcpy(buf, pass, len);
    return (int)len;
}

/* OpenSSL's reason for the last failure, or fallback. */
static void last_error(char *buf, size_t cap, const char *fallback)
{
    unsigned long e = ossl.ERR_get_error();   /* the first names the cause */
    ossl.ERR_clear_error();
    const char *reason = e ? ossl.ERR_reason_error_string(e) : NULL;
    snprintf(buf, cap, "%s", reason ? reason : fallback);
}

static void free_x509(void *x)
{
    ossl.X509_free(x);
}

/* Leaf from the PEM chain into ssl, the rest as its chain. */
static int use_pem_chain(tls_conn *c, SSL *ssl, const char *pem)
{
    BIO *bio = ossl.BIO_new_mem_buf(pem, -1);
    if (!bio)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory reading option cert");
    X509 *leaf = ossl.PEM_read_bio_X509(bio, NULL, NULL, NULL);
    int ok = leaf && ossl.SSL_use_certificate(ssl, leaf) == 1;
    if (leaf)
        ossl.X509_free(leaf);
    for (X509 *extra; ok && (extra = ossl.PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL;) {
        ok = ossl.SSL_ctrl(ssl, OSSL_SSL_CTRL_CHAIN_CERT, 1, extra) == 1;
        ossl.X509_free(extra);
    }
    ossl.BIO_free(bio);
    if (!ok) {
        char why[160];
        last_error(why, sizeof why, "not a certificate");
        return conn_fail(c, TLS_INVALID_ARGUMENT, "option cert could not be used: %s", why);
    }
    ossl.ERR_clear_error();   /* the end of the PEM text is reported as an error */
    return 1;
}

static int use_pem_key(tls_conn *c, SSL *ssl, const char *pem, const char *passphrase)
{
    BIO *bio = ossl.BIO_new_mem_buf(pem, -1);
    if (!bio)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory reading option key");
    EVP_PKEY *key = ossl.PEM_read_bio_PrivateKey(bio, NULL, passphrase_cb, (void *)passphrase);
    ossl.BIO_free(bio);
    if (!key) {
        char why[160];
        last_error(why, sizeof why, "not a private key");
        return conn_fail(c, TLS_INVALID_ARGUMENT, "option key could not be read (%s): %s",
                         passphrase ? "is the passphrase right?" : "encrypted keys need option passphrase",
                         why);
    }
    int ok = ossl.SSL_use_PrivateKey(ssl, key) == 1;
    ossl.EVP_PKEY_free(key);
    if (!ok) {
        /* SSL_use_PrivateKey also refuses a key that is not the certificate's. */
        char why[160];
        last_error(why, sizeof why, "unusable key");
        return conn_fail(c, TLS_INVALID_ARGUMENT,
                         "option key could not be used (do the client certificate and its private key "
                         "belong together?): %s", why);
    }
    return 1;
}

static int use_pfx(tls_conn *c, SSL *ssl, const unsigned char *der, size_t len,
                   const char *passphrase)
{
    const unsigned char *p = der;
    PKCS12 *p12 = ossl.d2i_PKCS12(NULL, &p, (long)len);
    EVP_PKEY *key = NULL;
    X509 *leaf = NULL;
    OPENSSL_STACK *chain = NULL;
    int parsed = p12 && ossl.PKCS12_parse(p12, passphrase, &key, &leaf, &chain) == 1;
    char why[160] = "";
    if (!parsed)
        last_error(why, sizeof why, "not a PKCS#12 file");
    int ok = parsed && key && leaf && ossl.SSL_use_certificate(ssl, leaf) == 1 &&
             ossl.SSL_use_PrivateKey(ssl, key) == 1;
    for (int i = 0; ok && chain && i < ossl.OPENSSL_sk_num(chain); i++)
        ok = ossl.SSL_ctrl(ssl, OSSL_SSL_CTRL_CHAIN_CERT, 1, ossl.OPENSSL_sk_value(chain, i)) == 1;
    if (parsed && !ok)
        last_error(why, sizeof why, key && leaf ? "unusable certificate or key"
                                                : "it holds no certificate with its private key");
    if (chain)
        ossl.OPENSSL_sk_pop_free(chain, free_x509);
    if (leaf)
        ossl.X509_free(leaf);
    if (key)
        ossl.EVP_PKEY_free(key);
    if (p12)
        ossl.PKCS12_free(p12);
    if (!ok)
        return conn_fail(c, TLS_INVALID_ARGUMENT, "option pfx could not be used%s: %s",
                         parsed ? "" : " (is the passphrase right?)", why);
    return 1;
}

int ossl_identity_apply(tls_conn *c, SSL *ssl)
{
    struct tls_options *o = &c->opts;
    char msg[200];
    if (options_identity_check(o, msg, sizeof msg) ||
        (o->store && snprintf(msg, sizeof msg, "option client_cert_store: the OpenSSL engine takes client "
                                               "certificates from files only (cert and key, or pfx)") > 0) ||
        (o->store_auto && snprintf(msg, sizeof msg, "clientCertificate 'auto' (client_cert_auto) chooses from the "
                                                    "OS's identity store, which Linux does not have: the OpenSSL "
                                                    "engine takes client certificates from files only (cert and "
                                                    "key, or pfx)") > 0)) {
        options_drop_identity(o);
        return conn_fail(c, TLS_INVALID_ARGUMENT, "%s", msg);
    }
    int ok = 1;
    if (o->pfx)
        ok = use_pfx(c, ssl, o->pfx, o->pfx_len, o->passphrase);
    else if (o->cert)
        ok = use_pem_chain(c, ssl, o->cert) && use_pem_key(c, ssl, o->key, o->passphrase);
    if (ok && (o->pfx || o->cert) && ossl.SSL_check_private_key(ssl) != 1) {
        char why[160];
        last_error(why, sizeof why, "the private key does not match the certificate");
        ok = conn_fail(c, TLS_INVALID_ARGUMENT,
                       "the client certificate and its private key (options %s) do not belong together: %s",
                       o->pfx ? "pfx" : "cert and key", why);
    }
    options_drop_identity(o);
    ossl.ERR_clear_error();
    return ok;
}

/* OpenSSL calls this when the server sends a CertificateRequest and the SSL
 * has no certificate: none is sent (0), as browsers do without a choice. */
static int client_cert_cb(SSL *ssl, X509 **cert, EVP_PKEY **key)
{
    (void)cert;
    (void)key;
    BIO *bio = ossl.SSL_get_rbio ? ossl.SSL_get_rbio(ssl) : NULL;
    tls_conn *c = bio ? ossl.BIO_get_data(bio) : NULL;
    if (c)
        c->identity_requested = 1;
    return 0;
}

void ossl_identity_ctx_setup(SSL_CTX *ctx)
{
    if (ossl.SSL_CTX_set_client_cert_cb)
        ossl.SSL_CTX_set_client_cert_cb(ctx, client_cert_cb);
}

int ossl_identity_refused(tls_conn *c, unsigned long e, const char *text)
{
    if (!c->identity_requested || ossl_error_lib(e) != OSSL_ERR_LIB_SSL)
        return 0;
    switch (ossl_error_reason(e)) {
    case OSSL_SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    case OSSL_SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
    case OSSL_SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case OSSL_SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
        conn_fail(c, TLS_HANDSHAKE_FAILED,
                  "%s requires a client certificate and none was given (options cert and key, "
                  "or pfx): %s", c->peer_name, text);
        return 1;
    }
    return 0;
}
