/*
 * live.h — ostls's LIVE Network.framework stand-in (test/standin/live): the
 * nw_*, sec_protocol_* and SecTrust calls network.c makes, carrying real
 * connections on Linux (getaddrinfo + connect, TLS by the system OpenSSL,
 * linked statically and privately into the test library), so the shared
 * TypeScript suite runs against c/impl-mac/network.c. CoreFoundation objects,
 * certificates and the serial queues (a thread each) are the scripted
 * stand-in's (test/standin/network/fake.c, linked with its symbols made weak
 * so these files replace its scripted nw_* and SecTrust calls).
 *
 * Every object starts with fake_cf.h's struct hdr, so nw_retain/nw_release
 * and sec_release (fake.c's) count and free it.
 */
#ifndef OSTLS_LIVE_H
#define OSTLS_LIVE_H
#include <Network/Network.h>
#include <Security/Security.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/socket.h>
#include "fake_cf.h"

typedef struct x509_st X509;

void *live_new(size_t size, void (*destroy)(void *self));

/* ------------------------------------------------------------ objects */

struct nw_error { struct hdr h; nw_error_domain_t domain; int code; };
struct nw_endpoint {
    struct hdr h;
    char host[256], port[16];
    struct sockaddr_storage addr;
    int is_address;
};
struct nw_path { struct hdr h; struct sockaddr_storage local, remote; };
struct nw_protocol_definition { struct hdr h; };
struct nw_content_context { struct hdr h; };

enum sec_kind { SEC_TRUST, SEC_CERT, SEC_IDENTITY, SEC_OPTIONS, SEC_METADATA };

/* sec_protocol_options_t: what the engine set, read when the TLS starts. */
struct live_tls_options {
    unsigned min_version, max_version;
    unsigned char alpn[512];     /* wire format */
    size_t alpn_len;
    char *server_name;
    int resumption, tickets;
    sec_identity_t identity;
    sec_protocol_verify_t verify;
    dispatch_queue_t verify_queue;
};

struct standin_sec {
    struct hdr h;
    enum sec_kind kind;
    struct standin_cf *ref;               /* trust, certificate, identity */
    CFArrayRef chain;                     /* metadata: as sent; identity: the rest of the chain */
    struct live_tls_options *opts;        /* options */
    unsigned version;                     /* metadata: as negotiated */
    uint16_t cipher;
    char alpn[256];
};

struct standin_sec *live_sec_new(enum sec_kind kind);

struct nw_protocol_options {
    struct hdr h;
    struct standin_sec *sec;    /* the TLS options, or NULL for TCP */
    int nodelay, keepalive, idle;
};
struct nw_parameters {
    struct hdr h;
    nw_parameters_configure_protocol_block_t tls, tcp;
    struct nw_privacy_context *privacy;   /* nw_parameters_set_privacy_context, else NULL */
};
/* An HTTP CONNECT proxy (live_proxy.c): at most one per privacy context. */
struct nw_proxy_config {
    struct hdr h;
    char host[256], port[16];
    int tls;                    /* TLS options given: an https:// proxy */
    char user[256], pass[256];
    int has_credentials;
};
struct nw_privacy_context { struct hdr h; struct nw_proxy_config *proxy; };
struct nw_protocol_metadata { struct hdr h; struct standin_sec *sec; };

nw_error_t live_error(nw_error_domain_t domain, int code);
CFErrorRef live_cf_error(long code, const char *text);

/* --------------------------------------------------------- connection */

struct live_send {
    unsigned char *bytes;       /* a copy of the content (NULL: none) */
    size_t len, off;
    int final;
    nw_connection_send_completion_t done;
    struct live_send *next;
};

struct live_receive {
    uint32_t max;
    nw_connection_receive_completion_t done;
    struct live_receive *next;
};

struct nw_connection {
    struct hdr h;
    struct nw_endpoint *endpoint;
    struct nw_proxy_config *proxy;   /* the parameters' privacy context's proxy, else NULL */
    struct live_tls_options tls;
    int nodelay, keepalive, idle;
    dispatch_queue_t queue;
    nw_connection_state_changed_handler_t on_state;

    pthread_mutex_t lock;
    pthread_cond_t cond;        /* the verify block answered; cancel */
    int wake[2];                /* the I/O thread's wake-up pipe */
    int started, cancel, force, cancelled_posted;
    int verify_answer;          /* -1 until the verify block answered */
    struct live_send *sends, **sends_tail;
    struct live_receive *receives, **receives_tail;

    /* the I/O thread's (read by the engine's queue once ready) */
    struct standin_sec *metadata;
    struct sockaddr_storage local, remote;
};

/* The I/O thread (live_io.c): resolve, connect, handshake, then carry data
 * until cancelled. Holds a reference to c. */
void live_io_start(nw_connection_t c);
void live_wake(nw_connection_t c);
/* Wait for fd (poll events) or the wake pipe on the I/O thread: 0 when cancelled. */
int live_wait_fd(nw_connection_t c, int fd, short events);

/* On the I/O thread, fd connected to c->proxy: the CONNECT exchange. 1 once
 * the tunnel is up; 0 with *error set (NULL when cancelled). */
int live_proxy_tunnel(nw_connection_t c, int fd, nw_error_t *error);

/* Deliver on the connection's queue (dispatch_async). */
void live_post_state(nw_connection_t c, nw_connection_state_t state, nw_error_t error);

/* ----------------------------------------------------------- trust */

/* A trust over the chain as the server sent it (DER certificates). */
SecTrustRef live_trust_new(CFArrayRef sent);
X509 *live_x509(SecCertificateRef cert);   /* parsed copy; X509_free it */
#endif
