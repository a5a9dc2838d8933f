/*
 * ossl_verify.c — the OpenSSL engine's verification outcome: the result
 * recorded for a handshake (as Node names it), and the server's stapled OCSP
 * response, checked during the handshake.
 */
#define _GNU_SOURCE
#include "../common/verify.h"
#include "ossl_api.h"

#include <stddef.h>

void ossl_record_verify_result(tls_conn *c)
{
    struct ossl_session *s = c->session;
    long raw = ossl.SSL_get_verify_result(s->ssl);
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
        OPENSSL_STACK *sent = ossl.SSL_get_peer_cert_chain(s->ssl);
        int n = sent ? ossl.OPENSSL_sk_num(sent) : 0;
        if (n == 1) {
            conn_set_verify_result(c, verify_unknown_issuer(n), verify_unknown_issuer_text(n));
            return;
        }
    }
    conn_set_verify_result(c, code, ossl.X509_verify_cert_error_string(raw));
}

/* The client asks for the server's stapled OCSP response (status_request).
 * A response that verifies (signed by the issuer or its delegated responder,
 * chaining to the trusted store) and says the leaf is revoked fails the
 * handshake with TLS_CERT_REVOKED; a "good", absent, unverifiable or
 * unrelated staple changes nothing (an attacker could strip it anyway).
 * No OCSP request of ostls's own ever goes out. */
int ossl_ocsp_available(void)
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
int ossl_ocsp_status_cb(SSL *ssl, void *arg)
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
