/*
 * s2n_api.h — the part of AWS s2n-tls's public API the s2n engine calls,
 * declared here so the library builds without s2n's headers and loads without
 * libs2n: every function is a pointer filled by dlsym at run time. Types are
 * opaque; the enum values below are part of s2n's stable ABI (api/s2n.h).
 */
#ifndef OSTLS_S2N_API_H
#define OSTLS_S2N_API_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct s2n_config;
struct s2n_connection;
struct s2n_cert_chain_and_key;
struct s2n_cert;
struct s2n_session_ticket;

/* s2n_mode */
#define S2N_MODE_CLIENT 1
/* s2n_blinding: errors return at once; the caller decides about delays. */
#define S2N_BLINDING_SELF_SERVICE 1
/* s2n_blocked_status */
#define S2N_STATUS_NOT_BLOCKED   0
#define S2N_STATUS_ON_READ       1
#define S2N_STATUS_ON_WRITE      2
/* s2n_error_type */
#define S2N_ETYPE_OK       0
#define S2N_ETYPE_IO       1
#define S2N_ETYPE_CLOSED   2
#define S2N_ETYPE_BLOCKED  3
#define S2N_ETYPE_ALERT    4
#define S2N_ETYPE_PROTO    5
#define S2N_ETYPE_INTERNAL 6
#define S2N_ETYPE_USAGE    7
/* protocol numbers of s2n_connection_get_actual_protocol_version */
#define S2N_PROTO_TLS12 33
#define S2N_PROTO_TLS13 34

typedef int s2n_io_fn(void *ctx, uint8_t *buf, uint32_t len);
typedef int s2n_io_out_fn(void *ctx, const uint8_t *buf, uint32_t len);
typedef uint8_t s2n_host_fn(const char *name, size_t len, void *data);
typedef int s2n_ticket_fn(struct s2n_connection *sc, void *ctx, struct s2n_session_ticket *ticket);

/* X(return type, name, parameters) */
#define S2N_FUNCTIONS(X) \
    X(int, s2n_init, (void)) \
    X(int *, s2n_errno_location, (void)) \
    X(int, s2n_error_get_type, (int err)) \
    X(const char *, s2n_strerror, (int err, const char *lang)) \
    X(const char *, s2n_strerror_name, (int err)) \
    X(unsigned long, s2n_get_openssl_version, (void)) \
    X(struct s2n_config *, s2n_config_new_minimal, (void)) \
    X(int, s2n_config_free, (struct s2n_config *cfg)) \
    X(int, s2n_config_set_verification_ca_location, (struct s2n_config *cfg, const char *file, const char *dir)) \
    X(int, s2n_config_add_pem_to_trust_store, (struct s2n_config *cfg, const char *pem)) \
    X(int, s2n_config_disable_x509_verification, (struct s2n_config *cfg)) \
    X(int, s2n_config_set_cipher_preferences, (struct s2n_config *cfg, const char *policy)) \
    X(struct s2n_connection *, s2n_connection_new, (int mode)) \
    X(int, s2n_connection_free, (struct s2n_connection *sc)) \
    X(int, s2n_connection_set_config, (struct s2n_connection *sc, struct s2n_config *cfg)) \
    X(int, s2n_connection_set_cipher_preferences, (struct s2n_connection *sc, const char *policy)) \
    X(int, s2n_connection_set_blinding, (struct s2n_connection *sc, int blinding)) \
    X(int, s2n_connection_set_verify_host_callback, (struct s2n_connection *sc, s2n_host_fn *fn, void *data)) \
    X(int, s2n_connection_set_recv_cb, (struct s2n_connection *sc, s2n_io_fn *fn)) \
    X(int, s2n_connection_set_send_cb, (struct s2n_connection *sc, s2n_io_out_fn *fn)) \
    X(int, s2n_connection_set_recv_ctx, (struct s2n_connection *sc, void *ctx)) \
    X(int, s2n_connection_set_send_ctx, (struct s2n_connection *sc, void *ctx)) \
    X(int, s2n_connection_append_protocol_preference, (struct s2n_connection *sc, const uint8_t *proto, uint8_t len)) \
    X(int, s2n_set_server_name, (struct s2n_connection *sc, const char *name)) \
    X(int, s2n_negotiate, (struct s2n_connection *sc, int *blocked)) \
    X(ssize_t, s2n_send, (struct s2n_connection *sc, const void *buf, ssize_t len, int *blocked)) \
    X(ssize_t, s2n_recv, (struct s2n_connection *sc, void *buf, ssize_t len, int *blocked)) \
    X(uint32_t, s2n_peek, (struct s2n_connection *sc)) \
    X(int, s2n_shutdown_send, (struct s2n_connection *sc, int *blocked)) \
    X(int, s2n_connection_get_actual_protocol_version, (struct s2n_connection *sc)) \
    X(int, s2n_connection_get_cipher_iana_value, (struct s2n_connection *sc, uint8_t *hi, uint8_t *lo)) \
    X(const char *, s2n_get_application_protocol, (struct s2n_connection *sc)) \
    X(int, s2n_connection_get_alert, (struct s2n_connection *sc)) \
    X(struct s2n_cert_chain_and_key *, s2n_cert_chain_and_key_new, (void)) \
    X(int, s2n_cert_chain_and_key_free, (struct s2n_cert_chain_and_key *chain)) \
    X(int, s2n_connection_get_peer_cert_chain, (const struct s2n_connection *sc, struct s2n_cert_chain_and_key *chain)) \
    X(int, s2n_cert_chain_get_length, (const struct s2n_cert_chain_and_key *chain, uint32_t *count)) \
    X(int, s2n_cert_chain_get_cert, (const struct s2n_cert_chain_and_key *chain, struct s2n_cert **cert, uint32_t index)) \
    X(int, s2n_cert_get_der, (const struct s2n_cert *cert, const uint8_t **der, uint32_t *len)) \
    X(int, s2n_cert_get_x509_extension_value_length, (struct s2n_cert *cert, const uint8_t *oid, uint32_t *len)) \
    X(int, s2n_config_set_session_tickets_onoff, (struct s2n_config *cfg, uint8_t enabled)) \
    X(int, s2n_config_set_session_ticket_cb, (struct s2n_config *cfg, s2n_ticket_fn *fn, void *ctx)) \
    X(int, s2n_session_ticket_get_data_len, (struct s2n_session_ticket *ticket, size_t *len)) \
    X(int, s2n_session_ticket_get_data, (struct s2n_session_ticket *ticket, size_t max, uint8_t *data)) \
    X(int, s2n_session_ticket_get_lifetime, (struct s2n_session_ticket *ticket, uint32_t *seconds)) \
    X(int, s2n_connection_set_session, (struct s2n_connection *sc, const uint8_t *session, size_t len)) \
    X(int, s2n_connection_is_session_resumed, (struct s2n_connection *sc)) \
    X(int, s2n_connection_set_ctx, (struct s2n_connection *sc, void *ctx)) \
    X(void *, s2n_connection_get_ctx, (struct s2n_connection *sc))

#define S2N_DECLARE_SLOT(ret, name, params) ret (*name) params;
struct s2n_api {
    S2N_FUNCTIONS(S2N_DECLARE_SLOT)
};

/* ---- shared by the engine's files: s2n.c (the engine table and the
 * steps), s2n_load.c (binding libs2n), s2n_config.c (trust configurations) */

/* Security policies (s2n's names; tls/s2n_security_policies.c), chosen to
 * offer what the OpenSSL engine offers: TLS 1.2 at the least; on 1.2, ECDHE
 * with AES-GCM, ChaCha20 and AES-CBC, and RSA key exchange with AES (kept for
 * IIS-era servers); never finite-field DHE, 3DES, RC4 or NULL. */
#define POLICY_DEFAULT "20241106"        /* TLS 1.2 and 1.3 */
#define POLICY_TLS12   "ELBSecurityPolicy-TLS-1-2-Ext-2018-06"   /* 1.2 only, same 1.2 suites but ChaCha20 */
#define POLICY_TLS13   "20250414"        /* TLS 1.3 only */

struct tls_options;
struct trust_ref;

extern struct s2n_api s2n;
extern char s2n_library_path[PATH_MAX];       /* the file libs2n was loaded from */
extern char s2n_library_tried[512];           /* the names tried, ';'-separated */
extern char s2n_crypto_text[PATH_MAX + 64];   /* which libcrypto libs2n uses */

/* s2n's error number of the calling thread. */
int s2n_err(void);

/* s2n_load.c: 1 once libs2n is loaded and bound (before s2n_init); 0 with msg saying why. */
int s2n_load_library(char *msg, size_t cap);

/* s2n_config.c. Finds the trust paths and makes the non-verifying config
 * (reads no trust store); 0 when s2n could not make it. */
int s2n_cfg_init(void);
/* The config a connection with options o uses: the non-verifying one, the
 * shared verifying one, or (option ca) a cached one that *ref then holds a
 * counted reference to. NULL with why filled, *invalid set when ca is bad. */
struct s2n_config *s2n_cfg_for(const struct tls_options *o, struct trust_ref **ref, int *invalid,
                               char *why, size_t cap);
/* Lets go of a reference from s2n_cfg_for (NULL is fine); after the connection that used it. */
void s2n_cfg_release(struct trust_ref *ref);
/* The engine table's trust_ready / trust_prepare (engine.h). */
int s2n_cfg_trust_ready(const struct tls_options *o);
void s2n_cfg_trust_prepare(const char *ca);
/* "file F; dir D", for tls_info "trust_store". */
void s2n_cfg_trust_text(char *buf, size_t cap);

#endif
