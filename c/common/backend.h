/*
 * backend.h — what a TLS engine implements for c/common (cf. curl's vtls
 * struct Curl_ssl, but linked statically: one backend per library).
 *
 * c/common owns resolution, TCP, the state machine, options, errors and
 * buffers; a backend only turns bytes into TLS and back. It moves bytes with
 * conn_send / conn_recv (conn.h), never touching the socket itself, and
 * reports failures with conn_fail* (which also makes them sticky).
 *
 * All calls are non-blocking. A step that cannot finish returns
 * STEP_WANT_READ / STEP_WANT_WRITE (what the socket must become) and is simply
 * called again later with the same arguments.
 */
#ifndef OSTLS_BACKEND_H
#define OSTLS_BACKEND_H

#include <stddef.h>
#include "conn.h"
#include "strbuf.h"

typedef enum {
    STEP_DONE,        /* finished; for read/write *n bytes moved (> 0) */
    STEP_WANT_READ,
    STEP_WANT_WRITE,
    STEP_EOF,         /* read side: the peer finished sending, cleanly */
    STEP_FAILED       /* conn_fail* has been called */
} step_result;

/* "openssl", "schannel", ... A library holding more than one engine (macOS:
 * Network.framework or SecureTransport, chosen at tls_init) defines
 * OSTLS_BACKEND_NAME_AT_RUNTIME and answers through a function instead. */
#ifdef OSTLS_BACKEND_NAME_AT_RUNTIME
const char *backend_runtime_name(void);
#  define backend_name (backend_runtime_name())
#else
extern const char backend_name[];
#endif

/* Load the OS library and build shared state. Called once. NULL on success,
 * else a TLS_* code with msg filled. */
const char *backend_global_init(char *msg, size_t msgcap);

/* Library-wide tls_info keys the backend answers: "backend_version",
 * "library_path", "library_tried", "trust_store". Set *value (static storage,
 * or written into buf) and return 1; return 0 for keys it does not know. */
int backend_library_info(const char *key, char *buf, size_t bufcap, const char **value);

/* Create the engine session from c->opts once options are final (before the
 * TCP connection exists). 0 after conn_fail on error. */
int backend_session_new(tls_conn *c);
void backend_session_free(tls_conn *c);

/* Client handshake over the connected socket. On STEP_DONE or a verification
 * failure the backend has called conn_set_verify_result. */
step_result backend_handshake(tls_conn *c);

/* One decrypt step into buf (c/common loops until full or blocked). */
step_result backend_read(tls_conn *c, void *buf, size_t len, size_t *n);
/* One encrypt step from buf; partial acceptance is fine. After STEP_WANT_*
 * the caller retries with the same bytes (possibly more after them, and
 * possibly at a different address). */
step_result backend_write(tls_conn *c, const void *buf, size_t len, size_t *n);
/* Pull in whatever has arrived on the socket without consuming app data, so
 * backend_pending becomes accurate. STEP_DONE when app data is ready. */
step_result backend_peek(tls_conn *c);
/* Decrypted bytes readable without socket I/O. */
size_t backend_pending(tls_conn *c);
/* Any input (decrypted or not) held inside the engine: waiting on the socket
 * would be wrong, read again now. */
int backend_has_buffered_input(tls_conn *c);

/* Send close_notify; STEP_DONE once it has been handed to the socket. */
step_result backend_shutdown(tls_conn *c);
/* Best-effort close_notify before the socket closes; never blocks or fails. */
void backend_close_notify(tls_conn *c);

/* Per-connection tls_info keys the backend answers: "protocol", "cipher",
 * "alpn", "peer_cert", "peer_chain". Append the value to out and return 1
 * (appending nothing means ""); return 0 for other keys. */
int backend_conn_info(tls_conn *c, const char *key, strbuf *out);
/* 1 when key is one of the per-connection keys backend_conn_info answers
 * (c/common's list): a backend without a usable session answers them as "". */
int conn_info_is_backend_key(const char *key);

#ifdef OSTLS_BACKEND_OWNS_TRANSPORT
/* For an engine that brings its own DNS and TCP (Network.framework's
 * nw_connection). When backend_owns_transport() says so at run time, c/common
 * starts no resolver and no socket: the connection goes from "connecting"
 * straight to the engine, c->sock stays TLS_NO_SOCKET, conn_send/conn_recv are
 * never used, and the engine fills remote_/local_address and _port itself.
 * Its handle for the host is its own (a pipe, say). Other engines ignore all
 * of this. tls_shutdown leaves the TCP half-close to backend_shutdown. */
int backend_owns_transport(void);
/* Like c/common's own connect step: 1 once the engine is ready for
 * backend_handshake; 0 to wait (c->setup_wants set) or after conn_fail. */
int backend_transport_connect(tls_conn *c);
/* tls_pollhandle's answer for a connection that is neither closed nor failed. */
int backend_transport_poll(tls_conn *c, int want, int64_t *handle, int *events);
/* Tear the transport down (tls_close); the handle it reported is closed. */
void backend_transport_close(tls_conn *c);
#endif

#endif
