/*
 * mbedtls_verify.c — the mbedtls engine's certificate checks beyond Mbed TLS
 * 2.28's own (IP SANs, no CN fallback, serverAuth) and its flags as OpenSSL's
 * verification codes, so results read the same on every engine.
 */
#define _GNU_SOURCE
#include "mbedtls_have.h"
#if OSTLS_HAVE_MBEDTLS   /* else mbedtls_absent.c stands in */
#include "../common/der.h"
#include "../common/verify.h"
#include "mbedtls_api.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2.28 keeps only dNSName and otherName SANs: iPAddress ones are read from
 * the raw extensions here. 1 when one equals addr (4 or 16 bytes). */
static int san_has_ip(const mbedtls_x509_crt *crt, const unsigned char *addr, size_t addrlen)
{
    const unsigned char *p = crt->v3_ext.p, *end = p + crt->v3_ext.len, *v;
    size_t n;
    int tag;
    if (!p)
        return 0;
    if (*p == 0xa3 && der_next(&p, end, &tag, &v, &n)) {   /* [3] EXPLICIT, when kept */
        p = v;
        end = v + n;
    }
    if (!der_next(&p, end, &tag, &v, &n) || tag != 0x30)
        return 0;
    const unsigned char *ext = v, *exts_end = v + n;
    while (ext < exts_end) {
        const unsigned char *e, *f, *fend;
        size_t elen;
        if (!der_next(&ext, exts_end, &tag, &e, &elen) || tag != 0x30)
            return 0;
        f = e;
        fend = e + elen;
        if (!der_next(&f, fend, &tag, &v, &n) || tag != 0x06)
            return 0;
        if (n != 3 || memcmp(v, "\x55\x1d\x11", 3) != 0)   /* id-ce-subjectAltName */
            continue;
        if (!der_next(&f, fend, &tag, &v, &n))
            return 0;
        if (tag == 0x01 && !der_next(&f, fend, &tag, &v, &n))   /* critical */
            return 0;
        const unsigned char *g = v, *gend = v + n;
        if (tag != 0x04 || !der_next(&g, gend, &tag, &v, &n) || tag != 0x30)
            return 0;
        g = v;
        gend = v + n;
        while (g < gend) {
            if (!der_next(&g, gend, &tag, &v, &n))
                return 0;
            if (tag == 0x87 && n == addrlen && memcmp(v, addr, n) == 0)
                return 1;
        }
        return 0;
    }
    return 0;
}

static int peer_ip_matches(tls_conn *c, const mbedtls_x509_crt *crt)
{
    char ip[64];
    unsigned char addr[16];
    snprintf(ip, sizeof ip, "%.*s", (int)strcspn(c->peer_name, "%"), c->peer_name);
    if (inet_pton(AF_INET, ip, addr) == 1)
        return san_has_ip(crt, addr, 4);
    if (inet_pton(AF_INET6, ip, addr) == 1)
        return san_has_ip(crt, addr, 16);
    return 0;
}

/* Called for every certificate of the chain, the top first, the leaf last.
 * The engine runs Mbed TLS in VERIFY_OPTIONAL mode and decides here, at the
 * leaf, with every flag known: REQUIRED would also enforce keyEncipherment
 * for RSA key exchange, which OpenSSL does not (IIS-era certificates lack it).
 * A non-zero return aborts the handshake with an alert; VERIFY_FAILED itself
 * would be swallowed by OPTIONAL, hence FATAL_ERROR. */
int mbed_verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    tls_conn *c = ctx;
    struct mbed_session *s = c->session;
    if (!s->verified && !s->anchor && crt->raw.len) {
        /* The first call is the top of the chain: the trust anchor when it verifies. */
        s->anchor = malloc(crt->raw.len);
        if (s->anchor) {
            memcpy(s->anchor, crt->raw.p, crt->raw.len);
            s->anchor_len = crt->raw.len;
        }
    }
    if ((*flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) && !s->untrusted_code) {
        int self = crt->issuer_raw.len == crt->subject_raw.len &&
                   memcmp(crt->issuer_raw.p, crt->subject_raw.p, crt->subject_raw.len) == 0;
        /* The top of the chain comes first: an untrusted leaf seen first
         * is a chain of the leaf alone (verify.h, as Node names it). */
        s->untrusted_code = !self ? verify_unknown_issuer(depth + 1)
                            : depth == 0 ? VERIFY_DEPTH_ZERO_SELF_SIGNED_CERT
                                         : VERIFY_SELF_SIGNED_CERT_IN_CHAIN;
    }
    if (depth == 0) {
        if (c->peer_name_is_ip) {
            if (!peer_ip_matches(c, crt))
                *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
        } else if (!(crt->ext_types & MBEDTLS_X509_EXT_SUBJECT_ALT_NAME)) {
            /* No CN fallback: the name must be in subjectAltName. */
            *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
        }
        if (mb.x509_crt_check_extended_key_usage(crt, MBEDTLS_OID_SERVER_AUTH,
                                                 MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)) != 0)
            *flags |= MBEDTLS_X509_BADCERT_EXT_KEY_USAGE;
    }
    /* No CRLs are configured: their flags say nothing. */
    s->vflags |= *flags & ~(uint32_t)(MBEDTLS_X509_BADCRL_NOT_TRUSTED | MBEDTLS_X509_BADCRL_EXPIRED |
                                      MBEDTLS_X509_BADCRL_FUTURE | MBEDTLS_X509_BADCRL_BAD_MD |
                                      MBEDTLS_X509_BADCRL_BAD_PK | MBEDTLS_X509_BADCRL_BAD_KEY);
    s->verified = 1;
    if (depth == 0 && s->vflags && c->opts.verify_peer) {
        s->verify_rejected = 1;
        return MBEDTLS_ERR_X509_FATAL_ERROR;
    }
    return 0;
}

/* Mbed TLS's flags as OpenSSL's verification codes and words, in the order
 * OpenSSL meets them: chain, purpose, name, revocation, validity. */
void mbed_record_verify_result(tls_conn *c)
{
    struct mbed_session *s = c->session;
    uint32_t f = s->verified ? s->vflags : MBEDTLS_X509_BADCERT_MISSING;
    long code = VERIFY_OK;
    const char *text = "ok";
    if (f & (MBEDTLS_X509_BADCERT_NOT_TRUSTED | MBEDTLS_X509_BADCERT_MISSING)) {
        code = s->untrusted_code ? s->untrusted_code : VERIFY_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
        text = code == VERIFY_DEPTH_ZERO_SELF_SIGNED_CERT ? "self-signed certificate"
               : code == VERIFY_SELF_SIGNED_CERT_IN_CHAIN ? "self-signed certificate in certificate chain"
               : code == VERIFY_UNABLE_TO_VERIFY_LEAF_SIGNATURE ? verify_unknown_issuer_text(1)
                                                              : verify_unknown_issuer_text(2);
    } else if (f & (MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE |
                    MBEDTLS_X509_BADCERT_NS_CERT_TYPE)) {
        code = VERIFY_INVALID_PURPOSE;
        text = "unsupported certificate purpose";
    } else if (f & MBEDTLS_X509_BADCERT_CN_MISMATCH) {
        code = c->peer_name_is_ip ? VERIFY_IP_ADDRESS_MISMATCH : VERIFY_HOSTNAME_MISMATCH;
        text = c->peer_name_is_ip ? "IP address mismatch" : "hostname mismatch";
    } else if (f & MBEDTLS_X509_BADCERT_REVOKED) {
        code = VERIFY_CERT_REVOKED;
        text = "certificate revoked";
    } else if (f & MBEDTLS_X509_BADCERT_EXPIRED) {
        code = VERIFY_CERT_HAS_EXPIRED;
        text = "certificate has expired";
    } else if (f & MBEDTLS_X509_BADCERT_FUTURE) {
        code = VERIFY_CERT_NOT_YET_VALID;
        text = "certificate is not yet valid";
    } else if (f & MBEDTLS_X509_BADCERT_BAD_MD) {
        code = 68;   /* X509_V_ERR_CA_MD_TOO_WEAK */
        text = "CA signature digest algorithm too weak";
    } else if (f & (MBEDTLS_X509_BADCERT_BAD_PK | MBEDTLS_X509_BADCERT_BAD_KEY)) {
        code = 66;   /* X509_V_ERR_EE_KEY_TOO_SMALL */
        text = "EE certificate key too weak";
    } else if (f) {
        code = VERIFY_CERT_REJECTED;
        text = "certificate rejected";
    }
    conn_set_verify_result(c, code, text);
}
#endif /* OSTLS_HAVE_MBEDTLS */
