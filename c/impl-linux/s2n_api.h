/*
 * s2n_api.h — the part of AWS s2n-tls's public API the s2n engine calls,
 * declared here so the library builds without s2n's headers and loads without
 * libs2n: every function is a pointer filled by dlsym at run time. Types are
 * opaque; the enum values below are part of s2n's stable ABI (api/s2n.h).
 */
#ifndef OSTLS_S2N_API_H
#define OSTLS_S2N_API_H

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

#endif
