/*
 * conn.h — the connection record shared by c/common and the backend, and the
 * services c/common offers backends (socket I/O with error capture, failure
 * recording, verification results).
 *
 * Backends may read: host, port, opts, peer_name, peer_name_is_ip,
 * remote_address/remote_port, sock_error, sock_eof; and own: session.
 * Options are frozen once set-up starts, so a backend that has taken what it
 * needs from opts.ca in its session_new may free it (and set it to NULL).
 * Everything else belongs to c/common's state machine.
 */
#ifndef OSTLS_CONN_H
#define OSTLS_CONN_H

#include "../tls_client.h"
#include "compat.h"
#include "options.h"
#include "race.h"
#include "resolve.h"
#include "sock.h"
#include "strbuf.h"

#define TLS_MSG_MAX 1024          /* fail_msg, call_msg */
#define PROXY_REASON_MAX 420

typedef enum {
    CONN_STARTING,                /* the engine is being chosen and loaded on a worker (tls_init) */
    CONN_RESOLVING,
    CONN_CONNECTING,
    CONN_HANDSHAKING,
    CONN_OPEN,
    CONN_CLOSED,
    CONN_FAILED
} conn_state;

struct tls_conn {
    conn_state state;
    int setup_started;            /* options are final and the backend session exists */

    char *host;                   /* as given, IPv6 brackets removed */
    int port;
    struct tls_options opts;
    const char *peer_name;        /* servername option, else host */
    int peer_name_is_ip;          /* verify against IP SANs, send no SNI */

    resolve_job *init_job;        /* CONN_STARTING: the library's start-up, run off-thread */
    int hooked;                   /* tls_connect put the addresses in race already */
    resolve_job *resolver;
    resolve_job *trust_job;       /* the engine's trust material loading off-thread */
    resolve_job *engine_job;      /* set by the engine (which owns it) while its handshake waits for a
                                     worker of its own (resolve_start_work): polled instead of the socket */
    conn_race race;               /* the addresses being raced; freed once connected */
    tls_socket sock;

    int setup_wants;              /* events the set-up step is blocked on */
    int read_wants;               /* events the last read was blocked on */
    int write_wants;              /* events the last write/shutdown was blocked on */
    int peer_finished;            /* the peer's stream ended (close_notify or FIN) */
    int write_shut;               /* tls_shutdown completed */

    int sock_error;               /* OS error of the last failed conn_send/conn_recv */
    int sock_eof;                 /* conn_recv saw the end of the TCP stream */
    int sock_drained;             /* the last conn_recv emptied the socket (sock_recv_drained): what
                                     comes later makes the poll fire; never set through a proxy tunnel */

    /* The texts below are allocated when first written (conn_text_buffer),
     * NULL until then: most connections never fail or use a proxy, and as
     * arrays they were 2.7 KiB of every idle connection's 3.4. */
    const char *fail_code;        /* sticky failure, when state == CONN_FAILED */
    char *fail_msg;               /* TLS_MSG_MAX bytes */
    char *call_msg;               /* TLS_MSG_MAX bytes: message of the latest non-sticky failure */
    char os_error[32];
    int os_error_fresh;           /* os_error was set for the failure being recorded */

    int identity_requested;       /* the server asked for a client certificate and none was set */

    long verify_code;             /* verify.h code; -1 until verification ran */
    char *verify_message;         /* exactly as long as the OS's words (conn_set_verify_result) */

    char remote_address[64];
    int remote_port;
    char local_address[64];
    int local_port;

    struct conn_proxy *proxy;     /* proxy.c's state while tunnelling (option proxy), else NULL */
    struct sysproxy_query *proxy_lookup;  /* option proxy "system": the OS's answer, until it arrives */
    struct proxy_cred_query *proxy_cred;  /* after a 407: the OS's password for the proxy, until it arrives */
    int proxy_cred_sent;          /* the tunnel was tried again with that password */
    char proxy_source[16];        /* how the proxy (or none) was chosen: "option", or sysproxy.h's sources */
    char *proxy_reason;           /* the same in words: PROXY_REASON_MAX bytes */

    strbuf info;                  /* holds the latest tls_info value */
    void *session;                /* owned by the backend */

    /* Session cache (session_cache.h): the digest of every trust-deciding
     * option, set by session_key_prepare; ready 0 keeps c out of the cache. */
    unsigned char session_key[32];
    int session_key_ready;
};

/* An engine whose handshake step waits for its own worker (e.g. building the
 * certificate chain) sets c->engine_job to the worker's job and returns
 * STEP_WANT_READ: the host then waits on the job's handle, which becomes
 * readable when the work is done. The engine clears it again (and releases
 * the job) once it has the result, and in session_free at the latest. */

/* Socket I/O for the backend's transport. Records sock_error / sock_eof so a
 * later conn_fail_socket can say what happened. */
net_status conn_send(tls_conn *c, const void *buf, size_t len, size_t *sent);
net_status conn_recv(tls_conn *c, void *buf, size_t len, size_t *got);

/* Record the sticky failure (state becomes CONN_FAILED). Returns 0. */
int conn_fail(tls_conn *c, const char *code, const char *fmt, ...) TLS_PRINTF(3, 4);
/* Failure caused by the transport (sock_error / sock_eof): TLS_CONNECTION_RESET
 * with os_error set. during: e.g. "during the TLS handshake". Returns 0. */
int conn_fail_socket(tls_conn *c, const char *during);
/* Name the OS error behind the failure conn_fail is about to record. A
 * failure recorded without one clears any earlier name, so a stale OS error
 * is never reported with an unrelated failure. */
void conn_set_os_error(tls_conn *c, const char *name);
/* "example.com (192.0.2.1 port 443)", or "192.0.2.1 port 443" when the host
 * is that address: for messages, so that none repeats the address. */
const char *conn_peer_text(tls_conn *c, char *buf, size_t cap);

/* Verification outcome (verify.h code, the OS's words for it). */
void conn_set_verify_result(tls_conn *c, long code, const char *message);
/* The OS's words for the verification outcome; "" before it ran. */
const char *conn_verify_message(const tls_conn *c);

/* The cap-byte buffer behind *slot (one of the connection's text members),
 * allocated on first use and freed with the connection; NULL when out of
 * memory, and the caller then drops its text. */
char *conn_text_buffer(char **slot, size_t cap);
/* Fail with the TLS_CERT_* code for the recorded verify result. Returns 0. */
int conn_fail_verify(tls_conn *c);

#endif
