/*
 * verify.h — certificate verification outcomes in one vocabulary for every
 * backend. The numbers are those of the X509_V_* codes Node reports (OpenSSL
 * 3's numbering, X509_V_OK == 0: a vocabulary, not a dependency); every engine
 * translates its library's statuses into these, so tls_info "verify_result"
 * and the TLS_CERT_* errors mean the same everywhere.
 */
#ifndef OSTLS_VERIFY_H
#define OSTLS_VERIFY_H

enum {
    VERIFY_OK = 0,
    VERIFY_UNABLE_TO_GET_ISSUER_CERT = 2,
    VERIFY_CERT_SIGNATURE_FAILURE = 7,
    VERIFY_CERT_NOT_YET_VALID = 9,
    VERIFY_CERT_HAS_EXPIRED = 10,
    VERIFY_DEPTH_ZERO_SELF_SIGNED_CERT = 18,
    VERIFY_SELF_SIGNED_CERT_IN_CHAIN = 19,
    VERIFY_UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20,
    VERIFY_UNABLE_TO_VERIFY_LEAF_SIGNATURE = 21,
    VERIFY_CERT_CHAIN_TOO_LONG = 22,
    VERIFY_CERT_REVOKED = 23,
    VERIFY_INVALID_PURPOSE = 26,
    VERIFY_CERT_UNTRUSTED = 27,
    VERIFY_CERT_REJECTED = 28,
    VERIFY_HOSTNAME_MISMATCH = 62,
    VERIFY_IP_ADDRESS_MISMATCH = 64,
    VERIFY_OCSP_VERIFY_FAILED = 74,
    VERIFY_OCSP_CERT_UNKNOWN = 75,
    VERIFY_OCSP_NO_RESPONSE = 100,   /* OpenSSL 3.2's number; used by every engine for "no status" */
    VERIFY_INVALID_CA = 79,
    VERIFY_LAST_KNOWN = 104,     /* X509_V_ERR_DUPLICATE_EXTENSION (OpenSSL 3.6) */
};

/* Node's name for a verification result: "ok", "CERT_HAS_EXPIRED", ...,
 * "ERR_TLS_CERT_ALTNAME_INVALID" for name mismatches. */
const char *verify_result_name(long code);

/* The TLS_* error code a failed verification is reported as. */
const char *verify_result_error(long code);

/* A certificate whose issuer was found neither among those the server sent
 * nor in the trust store, as Node names it: Node's OpenSSL goes on past the
 * first error, so when the chain it could build is the leaf alone (the server
 * sent one certificate, not self-issued) it ends with
 * UNABLE_TO_VERIFY_LEAF_SIGNATURE ("unable to verify the first certificate"),
 * otherwise UNABLE_TO_GET_ISSUER_CERT_LOCALLY. `built` is that chain's length. */
long verify_unknown_issuer(int built);
const char *verify_unknown_issuer_text(int built);

#endif
