/*
 * ossl_api.h — the slice of OpenSSL 1.1.1 / 3.x that ostls uses, declared
 * here so the library needs no OpenSSL headers at build time and no libssl
 * link at load time. Types are opaque; constants are copied from the public
 * headers (their values are part of OpenSSL's ABI and identical in 1.1.1 and
 * 3.x unless noted).
 */
#ifndef OSTLS_OSSL_API_H
#define OSTLS_OSSL_API_H

#include <stddef.h>
#include <stdint.h>

#include "../common/conn.h"
#include "../common/records.h"
#include "../common/trust_cache.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_method_st SSL_METHOD;
typedef struct ssl_cipher_st SSL_CIPHER;
typedef struct bio_st BIO;
typedef struct bio_method_st BIO_METHOD;
typedef struct x509_st X509;
typedef struct x509_store_st X509_STORE;
typedef struct X509_VERIFY_PARAM_st X509_VERIFY_PARAM;
typedef struct stack_st OPENSSL_STACK;
typedef struct ocsp_response_st OCSP_RESPONSE;
typedef struct ocsp_basic_response_st OCSP_BASICRESP;
typedef struct ocsp_cert_id_st OCSP_CERTID;
typedef struct evp_md_st EVP_MD;
typedef struct x509_object_st X509_OBJECT;
typedef struct x509_lookup_st X509_LOOKUP;
typedef struct x509_lookup_method_st X509_LOOKUP_METHOD;
typedef struct evp_pkey_st EVP_PKEY;
typedef struct PKCS12_st PKCS12;

#define OSSL_OPENSSL_VERSION                 0
#define OSSL_X509_L_ADD_DIR                  2
#define OSSL_X509_FILETYPE_DEFAULT           3
#define OSSL_OPENSSL_INIT_NO_ATEXIT          0x00080000L   /* 1.1.1b+; ignored before */
#define OSSL_SSL_CTRL_MODE                   33
#define OSSL_SSL_CTRL_SET_READ_AHEAD         41
#define OSSL_SSL_CTRL_SET_TLSEXT_HOSTNAME    55
#define OSSL_SSL_CTRL_SET_MIN_PROTO_VERSION  123
#define OSSL_SSL_CTRL_SET_MAX_PROTO_VERSION  124
#define OSSL_TLSEXT_NAMETYPE_host_name       0
#define OSSL_SSL_MODE_ENABLE_PARTIAL_WRITE        0x1L
#define OSSL_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER  0x2L
#define OSSL_SSL_MODE_RELEASE_BUFFERS             0x10L
#define OSSL_SSL_OP_IGNORE_UNEXPECTED_EOF    ((uint64_t)1 << 7)   /* 3.0+ only */
#define OSSL_SSL_VERIFY_NONE                 0
#define OSSL_SSL_VERIFY_PEER                 1
#define OSSL_X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS 0x4
#define OSSL_X509_CHECK_FLAG_NEVER_CHECK_SUBJECT  0x20
#define OSSL_SSL_CTRL_SET_MAX_CERT_LIST      51
#define OSSL_SSL_CTRL_CHAIN_CERT             89   /* larg 1: SSL_add1_chain_cert */
#define OSSL_SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB        63
#define OSSL_SSL_CTRL_SET_TLSEXT_STATUS_REQ_TYPE      65
#define OSSL_SSL_CTRL_GET_TLSEXT_STATUS_REQ_OCSP_RESP 70
#define OSSL_TLSEXT_STATUSTYPE_ocsp          1
#define OSSL_OCSP_RESPONSE_STATUS_SUCCESSFUL 0
#define OSSL_V_OCSP_CERTSTATUS_REVOKED       1

#define OSSL_SSL_ERROR_NONE        0
#define OSSL_SSL_ERROR_SSL         1
#define OSSL_SSL_ERROR_WANT_READ   2
#define OSSL_SSL_ERROR_WANT_WRITE  3
#define OSSL_SSL_ERROR_SYSCALL     5
#define OSSL_SSL_ERROR_ZERO_RETURN 6

#define OSSL_BIO_TYPE_SOURCE_SINK  0x0400
#define OSSL_BIO_FLAGS_READ        0x01
#define OSSL_BIO_FLAGS_WRITE       0x02
#define OSSL_BIO_FLAGS_IO_SPECIAL  0x04
#define OSSL_BIO_FLAGS_RWS         0x07
#define OSSL_BIO_FLAGS_SHOULD_RETRY 0x08
#define OSSL_BIO_CTRL_EOF          2
#define OSSL_BIO_CTRL_INFO         3
#define OSSL_BIO_CTRL_PUSH         6
#define OSSL_BIO_CTRL_POP          7
#define OSSL_BIO_CTRL_FLUSH        11

#define OSSL_TLS1_2_VERSION 0x0303
#define OSSL_TLS1_3_VERSION 0x0304

#define OSSL_ERR_LIB_SSL 20
/* SSL reason codes (same numbers in 1.1.1 and 3.x). */
#define OSSL_SSL_R_BAD_DH_VALUE                   102
#define OSSL_SSL_R_BAD_CHANGE_CIPHER_SPEC         103
#define OSSL_SSL_R_BAD_HELLO_REQUEST              105
#define OSSL_SSL_R_BAD_EXTENSION                  110
#define OSSL_SSL_R_BAD_PACKET_LENGTH              115
#define OSSL_SSL_R_CCS_RECEIVED_EARLY             133
#define OSSL_SSL_R_CERTIFICATE_VERIFY_FAILED      134
#define OSSL_SSL_R_CERT_LENGTH_MISMATCH           135
#define OSSL_SSL_R_DATA_LENGTH_TOO_LONG           146
#define OSSL_SSL_R_ENCRYPTED_LENGTH_TOO_LONG      150
#define OSSL_SSL_R_EXCESSIVE_MESSAGE_SIZE         152
#define OSSL_SSL_R_LENGTH_MISMATCH                159
#define OSSL_SSL_R_LENGTH_TOO_SHORT               160
#define OSSL_SSL_R_VERSION_TOO_HIGH               166
#define OSSL_SSL_R_NO_PROTOCOLS_AVAILABLE         191
#define OSSL_SSL_R_PACKET_LENGTH_TOO_LONG         198
#define OSSL_SSL_R_INVALID_ALERT                  205
#define OSSL_SSL_R_RECORD_LENGTH_MISMATCH         213
#define OSSL_SSL_R_PARSE_TLSEXT                   227
#define OSSL_SSL_R_BAD_PACKET                     240
#define OSSL_SSL_R_UNEXPECTED_MESSAGE             244
#define OSSL_SSL_R_UNEXPECTED_RECORD              245
#define OSSL_SSL_R_UNKNOWN_ALERT_TYPE             246
#define OSSL_SSL_R_UNKNOWN_PROTOCOL               252
#define OSSL_SSL_R_UNSUPPORTED_PROTOCOL           258
#define OSSL_SSL_R_UNSUPPORTED_SSL_VERSION        259
#define OSSL_SSL_R_WRONG_VERSION_NUMBER           267
#define OSSL_SSL_R_BAD_LENGTH                     271
#define OSSL_SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC 281
#define OSSL_SSL_R_UNEXPECTED_EOF_WHILE_READING   294
#define OSSL_SSL_R_RECORD_TOO_SMALL               298
#define OSSL_SSL_R_BAD_HANDSHAKE_LENGTH           332
#define OSSL_SSL_R_VERSION_TOO_LOW                396
#define OSSL_SSL_R_LENGTH_TOO_LONG                404
#define OSSL_SSL_R_TOO_MANY_WARN_ALERTS           409
#define OSSL_SSL_R_BAD_RECORD_TYPE                443
#define OSSL_SSL_R_TLSV1_ALERT_PROTOCOL_VERSION   1070
#define OSSL_SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE  1040
#define OSSL_SSL_R_SSLV3_ALERT_BAD_CERTIFICATE    1042
#define OSSL_SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN 1046
#define OSSL_SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED 1116

/* X509_V_ERR_INVALID_CA was 24 before 3.0 (where 24 became
 * NO_ISSUER_PUBLIC_KEY and INVALID_CA moved to 79). */
#define OSSL_X509_V_ERR_INVALID_CA_1_1 24

/* Functions every supported version has: X(return type, name, parameters). */
#define OSSL_REQUIRED_FUNCTIONS(X)                                                      \
    X(unsigned long, OpenSSL_version_num, (void))                                       \
    X(const char *, OpenSSL_version, (int type))                                        \
    X(int, OPENSSL_init_ssl, (uint64_t opts, const void *settings))                     \
    X(const SSL_METHOD *, TLS_client_method, (void))                                    \
    X(SSL_CTX *, SSL_CTX_new, (const SSL_METHOD *method))                               \
    X(void, SSL_CTX_free, (SSL_CTX *ctx))                                               \
    X(int, SSL_CTX_up_ref, (SSL_CTX *ctx))                                              \
    X(long, SSL_CTX_ctrl, (SSL_CTX *ctx, int cmd, long larg, void *parg))               \
    X(uint64_t, SSL_CTX_set_options, (SSL_CTX *ctx, uint64_t options))                  \
    X(int, SSL_CTX_set_cipher_list, (SSL_CTX *ctx, const char *list))                   \
    X(void, SSL_CTX_set_verify, (SSL_CTX *ctx, int mode, void *callback))               \
    X(int, SSL_CTX_set_default_verify_paths, (SSL_CTX *ctx))                            \
    X(X509_STORE *, SSL_CTX_get_cert_store, (const SSL_CTX *ctx))                       \
    X(SSL *, SSL_new, (SSL_CTX *ctx))                                                   \
    X(void, SSL_free, (SSL *ssl))                                                       \
    X(void, SSL_set_bio, (SSL *ssl, BIO *rbio, BIO *wbio))                              \
    X(long, SSL_ctrl, (SSL *ssl, int cmd, long larg, void *parg))                       \
    X(void, SSL_set_verify, (SSL *ssl, int mode, void *callback))                       \
    X(int, SSL_set1_host, (SSL *ssl, const char *hostname))                             \
    X(void, SSL_set_hostflags, (SSL *ssl, unsigned int flags))                          \
    X(X509_VERIFY_PARAM *, SSL_get0_param, (SSL *ssl))                                  \
    X(int, SSL_set_alpn_protos, (SSL *ssl, const unsigned char *protos, unsigned len))  \
    X(void, SSL_set_connect_state, (SSL *ssl))                                          \
    X(int, SSL_do_handshake, (SSL *ssl))                                                \
    X(int, SSL_read, (SSL *ssl, void *buf, int num))                                    \
    X(int, SSL_peek, (SSL *ssl, void *buf, int num))                                    \
    X(int, SSL_write, (SSL *ssl, const void *buf, int num))                             \
    X(int, SSL_pending, (const SSL *ssl))                                               \
    X(int, SSL_has_pending, (const SSL *ssl))                                           \
    X(int, SSL_get_error, (const SSL *ssl, int ret))                                    \
    X(int, SSL_shutdown, (SSL *ssl))                                                    \
    X(long, SSL_get_verify_result, (const SSL *ssl))                                    \
    X(const char *, SSL_get_version, (const SSL *ssl))                                  \
    X(const SSL_CIPHER *, SSL_get_current_cipher, (const SSL *ssl))                     \
    X(const char *, SSL_CIPHER_standard_name, (const SSL_CIPHER *cipher))               \
    X(const char *, SSL_CIPHER_get_name, (const SSL_CIPHER *cipher))                    \
    X(void, SSL_get0_alpn_selected, (const SSL *ssl, const unsigned char **data,        \
                                     unsigned *len))                                    \
    X(OPENSSL_STACK *, SSL_get_peer_cert_chain, (const SSL *ssl))                       \
    X(void, ERR_clear_error, (void))                                                    \
    X(unsigned long, ERR_peek_error, (void))                                            \
    X(unsigned long, ERR_get_error, (void))                                             \
    X(void, ERR_error_string_n, (unsigned long e, char *buf, size_t len))               \
    X(const char *, ERR_reason_error_string, (unsigned long e))                         \
    X(const char *, X509_verify_cert_error_string, (long n))                            \
    X(void, X509_free, (X509 *cert))                                                    \
    X(int, X509_STORE_add_cert, (X509_STORE *store, X509 *cert))                        \
    X(int, X509_STORE_lock, (X509_STORE *store))                                        \
    X(int, X509_STORE_unlock, (X509_STORE *store))                                      \
    X(OPENSSL_STACK *, X509_STORE_get0_objects, (const X509_STORE *store))              \
    X(X509 *, X509_OBJECT_get0_X509, (const X509_OBJECT *object))                       \
    X(X509_LOOKUP *, X509_STORE_add_lookup, (X509_STORE *store,                          \
                                             X509_LOOKUP_METHOD *method))               \
    X(X509_LOOKUP_METHOD *, X509_LOOKUP_hash_dir, (void))                               \
    X(int, X509_LOOKUP_ctrl, (X509_LOOKUP *lookup, int cmd, const char *arg, long argl, \
                              char **ret))                                              \
    X(int, X509_VERIFY_PARAM_set1_ip_asc, (X509_VERIFY_PARAM *param, const char *ip))   \
    X(const char *, X509_get_default_cert_file, (void))                                 \
    X(const char *, X509_get_default_cert_dir, (void))                                  \
    X(const char *, X509_get_default_cert_file_env, (void))                             \
    X(const char *, X509_get_default_cert_dir_env, (void))                              \
    X(BIO *, BIO_new, (const BIO_METHOD *method))                                       \
    X(int, BIO_free, (BIO *bio))                                                        \
    X(const BIO_METHOD *, BIO_s_mem, (void))                                            \
    X(BIO *, BIO_new_mem_buf, (const void *buf, int len))                               \
    X(long, BIO_ctrl, (BIO *bio, int cmd, long larg, void *parg))                       \
    X(int, BIO_get_new_index, (void))                                                   \
    X(BIO_METHOD *, BIO_meth_new, (int type, const char *name))                         \
    X(int, BIO_meth_set_write, (BIO_METHOD *m, int (*fn)(BIO *, const char *, int)))    \
    X(int, BIO_meth_set_read, (BIO_METHOD *m, int (*fn)(BIO *, char *, int)))           \
    X(int, BIO_meth_set_ctrl, (BIO_METHOD *m, long (*fn)(BIO *, int, long, void *)))    \
    X(int, BIO_meth_set_create, (BIO_METHOD *m, int (*fn)(BIO *)))                      \
    X(void, BIO_set_data, (BIO *bio, void *ptr))                                        \
    X(void *, BIO_get_data, (BIO *bio))                                                 \
    X(void, BIO_set_init, (BIO *bio, int init))                                         \
    X(void, BIO_set_flags, (BIO *bio, int flags))                                       \
    X(void, BIO_clear_flags, (BIO *bio, int flags))                                     \
    X(X509 *, PEM_read_bio_X509, (BIO *bio, X509 **out, void *password_cb, void *u))    \
    X(int, PEM_write_bio_X509, (BIO *bio, X509 *cert))                                  \
    X(int, OPENSSL_sk_num, (const OPENSSL_STACK *stack))                                \
    X(void *, OPENSSL_sk_value, (const OPENSSL_STACK *stack, int i))                    \
    X(void, OPENSSL_sk_pop_free, (OPENSSL_STACK *stack, void (*fn)(void *)))            \
    X(int, SSL_use_certificate, (SSL *ssl, X509 *cert))                                 \
    X(int, SSL_use_PrivateKey, (SSL *ssl, EVP_PKEY *key))                               \
    X(int, SSL_check_private_key, (const SSL *ssl))                                     \
    X(EVP_PKEY *, PEM_read_bio_PrivateKey, (BIO *bio, EVP_PKEY **out,                   \
                                           int (*cb)(char *, int, int, void *), void *u)) \
    X(void, EVP_PKEY_free, (EVP_PKEY *key))                                             \
    X(PKCS12 *, d2i_PKCS12, (PKCS12 **out, const unsigned char **in, long len))         \
    X(int, PKCS12_parse, (PKCS12 *p12, const char *pass, EVP_PKEY **key, X509 **cert,   \
                          OPENSSL_STACK **ca))                                          \
    X(void, PKCS12_free, (PKCS12 *p12))

/* Present in only some versions (or builds: OCSP can be compiled out); NULL
 * when absent. Stapled OCSP is checked only when every OCSP_* one is there. */
#define OSSL_OPTIONAL_FUNCTIONS(X)                                                      \
    X(X509 *, SSL_get1_peer_certificate, (const SSL *ssl))      /* 3.0+ */              \
    X(X509 *, SSL_get_peer_certificate, (const SSL *ssl))       /* before 3.0 */        \
    X(long, SSL_CTX_callback_ctrl, (SSL_CTX *ctx, int cmd, void (*fp)(void)))           \
    X(SSL_CTX *, SSL_get_SSL_CTX, (const SSL *ssl))                                     \
    X(void, SSL_CTX_set_default_read_buffer_len, (SSL_CTX *ctx, size_t len))            \
    X(BIO *, SSL_get_rbio, (const SSL *ssl))                                            \
    X(OPENSSL_STACK *, SSL_get0_verified_chain, (const SSL *ssl))                       \
    X(int, X509_check_issued, (X509 *issuer, X509 *subject))                            \
    X(OCSP_RESPONSE *, d2i_OCSP_RESPONSE, (OCSP_RESPONSE **out, const unsigned char **in, \
                                          long len))                                    \
    X(int, OCSP_response_status, (OCSP_RESPONSE *resp))                                 \
    X(OCSP_BASICRESP *, OCSP_response_get1_basic, (OCSP_RESPONSE *resp))               \
    X(int, OCSP_basic_verify, (OCSP_BASICRESP *bs, OPENSSL_STACK *certs,                \
                               X509_STORE *store, unsigned long flags))                 \
    X(OCSP_CERTID *, OCSP_cert_to_id, (const EVP_MD *md, const X509 *subject,          \
                                       const X509 *issuer))                             \
    X(int, OCSP_resp_find_status, (OCSP_BASICRESP *bs, OCSP_CERTID *id, int *status,    \
                                   int *reason, void **revtime, void **thisupd,         \
                                   void **nextupd))                                     \
    X(void, OCSP_CERTID_free, (OCSP_CERTID *id))                                        \
    X(void, OCSP_BASICRESP_free, (OCSP_BASICRESP *bs))                                  \
    X(void, OCSP_RESPONSE_free, (OCSP_RESPONSE *resp))                                  \
    X(void, SSL_CTX_set_client_cert_cb, (SSL_CTX *ctx,                                  \
                                         int (*cb)(SSL *, X509 **, EVP_PKEY **)))

/* Session resumption (session_cache.h), 1.1.1 and 3.x; resumption stays off
 * when any is missing. */
typedef struct ssl_session_st SSL_SESSION;
typedef struct asn1_string_st ASN1_TIME;
#define OSSL_SSL_CTRL_SET_SESS_CACHE_MODE      44
#define OSSL_SSL_SESS_CACHE_CLIENT             0x0001
#define OSSL_SSL_SESS_CACHE_NO_INTERNAL        0x0300   /* no lookup, no store: ostls's cache does both */
#define OSSL_RESUME_FUNCTIONS(X)                                                        \
    X(void, SSL_CTX_sess_set_new_cb, (SSL_CTX *ctx, int (*cb)(SSL *, SSL_SESSION *)))   \
    X(int, SSL_set_session, (SSL *ssl, SSL_SESSION *session))                           \
    X(int, SSL_session_reused, (const SSL *ssl))                                        \
    X(int, SSL_set_ex_data, (SSL *ssl, int idx, void *data))                            \
    X(void *, SSL_get_ex_data, (const SSL *ssl, int idx))                               \
    X(void, SSL_SESSION_free, (SSL_SESSION *session))                                   \
    X(SSL_SESSION *, SSL_SESSION_dup, (const SSL_SESSION *session))                     \
    X(int, SSL_SESSION_is_resumable, (const SSL_SESSION *session))                      \
    X(long, SSL_SESSION_get_timeout, (const SSL_SESSION *session))                      \
    X(X509 *, SSL_SESSION_get0_peer, (SSL_SESSION *session))                            \
    X(const ASN1_TIME *, X509_get0_notAfter, (const X509 *cert))                        \
    X(int, ASN1_TIME_diff, (int *days, int *secs, const ASN1_TIME *from,                \
                            const ASN1_TIME *to))

#define OSSL_DECLARE_POINTER(ret, name, params) ret (*name) params;

struct ossl_api {
    OSSL_REQUIRED_FUNCTIONS(OSSL_DECLARE_POINTER)
    OSSL_OPTIONAL_FUNCTIONS(OSSL_DECLARE_POINTER)
    OSSL_RESUME_FUNCTIONS(OSSL_DECLARE_POINTER)
    int can_resume;                 /* every OSSL_RESUME_FUNCTIONS one is there */
    int is_3x;                      /* OpenSSL 3.0 or newer */
    char library_path[4096];        /* real path of the libssl that loaded */
    char library_tried[2048];       /* names tried, ';'-separated */
};

/* Filled by ossl_load; read-only afterwards. */
extern struct ossl_api ossl;

/* Load libssl (OSTLS_LIBSSL, else libssl.so.3 then libssl.so.1.1) and resolve
 * every function. 0 on failure with msg listing each name and why it failed. */
int ossl_load(char *msg, size_t msgcap);

/* ERR_GET_LIB / ERR_GET_REASON: the packing changed in 3.0. */
int ossl_error_lib(unsigned long e);
int ossl_error_reason(unsigned long e);

/* ------------------------------------------- what the engine's files share
 * openssl.c (the engine: BIO, errors, sessions, steps, info), ossl_context.c
 * (contexts and trust), ossl_verify.c (the verify result, stapled OCSP) and
 * ossl_resume.c (session resumption). */

/* The largest certificate chain (Certificate message) accepted, against
 * OpenSSL's default of 100 KB: certificates with thousands of names exist
 * (one with 10,000 short names is about 160 KB). Bigger fails the handshake
 * cleanly with TLS_PROTOCOL_ERROR. */
#define OSSL_MAX_CERT_LIST 300000
#define OSSL_OUT_CALLS 8   /* SSL_write calls per openssl_write (openssl.c) */

struct ossl_session {
    SSL *ssl;
    int handshake_done;
    int collect;                 /* socket_bio_write appends to out instead of sending */
    int collect_failed;          /* out could not grow: OpenSSL was told to retry */
    char *out;                   /* encrypted bytes not yet taken by the socket */
    size_t out_off, out_len;     /* sent so far, filled so far */
    size_t out_cap;
    int nrec;                    /* SSL_write outputs in out not yet fully sent, oldest first */
    int rec_first;
    size_t rec_end[OSSL_OUT_CALLS];   /* offset in out where each output ends */
    size_t rec_plain[OSSL_OUT_CALLS]; /* its plaintext length */
    size_t done;                 /* plaintext of outputs sent but not yet reported */
    int starved;                 /* the last SSL_read wanted more from the socket: what read-ahead
                                    holds is at most part of a record */
    SSL_SESSION *pending;        /* made during the handshake, stored once it is verified */
    int offered;                 /* a cached session was offered (resumed_verify_* are its result) */
    long resumed_verify_code;
    char *resumed_verify_message; /* session_cache_get's copy */
    long revocation_failure;     /* verify.h code from the stapled OCSP check (revoked, or unknown
                                    under revocation "require"), or VERIFY_OK */
    const char *revocation_why;
    /* Where the server's byte stream stands against TLS record boundaries
     * (c/common/records.h): a FIN that cuts a record is a truncation, never
     * a clean end of stream. */
    record_track rx;
};

/* ERR_error_string_n, or a placeholder for 0 (ossl_load.c). */
void ossl_error_text(unsigned long e, char *buf, size_t cap);

/* ossl_context.c: the shared context trusting the OS store (loaded once,
 * on the first trust_prepare's worker thread); for option ca, a counted
 * reference to the cached context trusting the OS store plus ca (NULL after
 * conn_fail), given back with ossl_ca_context_put once the SSL holds its own;
 * and engine.trust_ready / trust_prepare. */
SSL_CTX *ossl_default_context(void);
struct trust_ref *ossl_ca_context(tls_conn *c);
void ossl_ca_context_put(struct trust_ref *ref);
int ossl_trust_ready(const struct tls_options *o);
void ossl_trust_prepare(const char *ca);

/* ossl_verify.c: records the handshake's verify result (with a failed
 * stapled-OCSP check) with conn_set_verify_result; the status_request
 * callback every context gets when this OpenSSL can check staples. */
void ossl_record_verify_result(tls_conn *c);
int ossl_ocsp_available(void);
int ossl_ocsp_status_cb(SSL *ssl, void *arg);

/* ossl_resume.c: session resumption through c/common's cache. setup_ctx:
 * on every new context; offer: before the options are consumed;
 * handshake_done: records the verify result (the resumed session's when
 * resumed) and caches the session made. */
void ossl_resume_setup_ctx(SSL_CTX *ctx);
void ossl_resume_offer(tls_conn *c, struct ossl_session *s);
void ossl_resume_handshake_done(tls_conn *c, struct ossl_session *s);
int ossl_session_reused(tls_conn *c);

#endif
