/*
 * mbedtls_api.h — the Mbed TLS 2.28 functions the mbedtls engine calls,
 * bound at run time (dlopen/dlsym) so that the library builds and loads on
 * machines without Mbed TLS. Debian's headers give the types, constants and
 * struct layouts: those are ABI, which is why the engine accepts only the
 * SONAMEs (and version line) it was compiled against.
 */
#ifndef OSTLS_MBEDTLS_API_H
#define OSTLS_MBEDTLS_API_H

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include "../common/conn.h"
#include "../common/records.h"

#if MBEDTLS_VERSION_MAJOR != 2 || MBEDTLS_VERSION_MINOR != 28
#  error "the mbedtls engine is written for Mbed TLS 2.28 LTS (libmbedtls-dev 2.28)"
#endif

/* The SONAMEs of 2.28 (libmbedtls.so.14 pulls in the other two). */
#define MBED_SONAME_TLS "libmbedtls.so.14"
#define MBED_SONAME_X509 "libmbedx509.so.1"
#define MBED_SONAME_CRYPTO "libmbedcrypto.so.7"

/* Each entry X(name) becomes the member `name` typed as mbedtls_<name>. */
#define MBED_FUNCTIONS(X)                                                                  \
    X(version_get_number) X(version_get_string_full) X(strerror)                         \
    X(entropy_init) X(entropy_func) X(ctr_drbg_init) X(ctr_drbg_seed) X(ctr_drbg_random) \
    X(x509_crt_init) X(x509_crt_free) X(x509_crt_parse) X(x509_crt_parse_file)           \
    X(x509_crt_parse_path) X(x509_crt_check_extended_key_usage)                                                               \
    X(ssl_init) X(ssl_free) X(ssl_setup) X(ssl_config_init) X(ssl_config_free)           \
    X(ssl_config_defaults) X(ssl_conf_authmode) X(ssl_conf_rng) X(ssl_conf_ca_chain)     \
    X(ssl_conf_ciphersuites) X(ssl_conf_curves) X(ssl_conf_sig_hashes)                   \
    X(ssl_conf_min_version) X(ssl_conf_max_version) X(ssl_conf_alpn_protocols)           \
    X(ssl_conf_renegotiation) X(ssl_conf_verify) X(ssl_set_hostname) X(ssl_set_bio)      \
    X(ssl_handshake) X(ssl_read) X(ssl_write) X(ssl_close_notify)                        \
    X(ssl_get_bytes_avail) X(ssl_get_version)                   \
    X(ssl_get_ciphersuite) X(ssl_get_ciphersuite_id) X(ssl_get_alpn_protocol)            \
    X(ssl_get_peer_cert) X(ssl_get_max_out_record_payload)                               \
    X(ssl_session_init) X(ssl_session_free) X(ssl_get_session) X(ssl_set_session)

#define MBED_MEMBER(name) __typeof__(mbedtls_##name) *name;
struct mbed_api {
    MBED_FUNCTIONS(MBED_MEMBER)
};
#undef MBED_MEMBER

/* mbedtls_load.c: the bound functions and what was loaded, for tls_info. */
extern struct mbed_api mb;
extern char mbed_library_path[];
extern char mbed_library_tried[];
extern char mbed_version[];      /* "mbed TLS 2.28.3" */
extern char mbed_trust_text[];   /* where the anchors came from */
extern mbedtls_x509_crt mbed_system_ca;   /* read-only once loaded; may be empty */

/* The engine's per-connection state (tls_conn.session). */
struct mbed_session {
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    int ready;                   /* ssl and conf were set up */
    int handshake_done;
    mbedtls_x509_crt *extra_ca;  /* option ca, with mbed_system_ca linked after its tail */
    mbedtls_x509_crt *extra_tail;
    char *alpn_buf;              /* ALPN names, NUL-separated, and their list */
    const char **alpn_list;
    size_t write_held;           /* plaintext of a record mbedtls holds after WANT_WRITE */
    size_t held_left;            /* its encrypted bytes not yet sent */
    long untrusted_code;         /* why the chain was not trusted (verify.h) */
    uint32_t vflags;             /* MBEDTLS_X509_BADCERT_* of the whole chain */
    int verified;                /* verify_cb ran */
    int verify_rejected;         /* verify_cb failed the handshake */
    record_track rx;             /* received bytes against record boundaries (records.h) */
    void *offered;               /* the cached session offered (resumed_verify_* are its result) */
    int resumed;                 /* ... and the server resumed it */
    long resumed_verify_code;
    char *resumed_verify_message; /* session_cache_get's copy */
    unsigned char *anchor;       /* DER of the top of the chain verify_cb saw (tls_info trust_anchor) */
    size_t anchor_len;
};

/* mbedtls_verify.c: the verify callback (its context is the tls_conn), and
 * the outcome recorded with conn_set_verify_result. */
int mbed_verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags);
void mbed_record_verify_result(tls_conn *c);

/* mbedtls_resume.c: session resumption through c/common's cache. offer: after
 * ssl_setup, before the handshake; handshake_done: records the verify result
 * (the resumed session's when resumed) and caches the session made. */
void mbed_resume_offer(tls_conn *c, struct mbed_session *s);
void mbed_resume_handshake_done(tls_conn *c, struct mbed_session *s);
/* The chain a resumed connection reports (DER, leaf first): 1 with *der and
 * *len, 0 when not resumed. */
int mbed_resume_chain(const struct mbed_session *s, const unsigned char **der, size_t *len);
void mbed_resume_free(struct mbed_session *s);

/* 1 once bound; 0 with msg saying why (and which other version is installed). */
int mbed_load(char *msg, size_t msgcap);
/* Reads SSL_CERT_FILE / SSL_CERT_DIR / the distribution bundle into mbed_system_ca. */
void mbed_load_trust(void);

#endif
