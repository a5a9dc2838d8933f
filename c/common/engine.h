/*
 * engine.h — the one table a TLS engine fills (cf. curl's vtls struct
 * Curl_ssl). c/common owns resolution, TCP, the state machine, options,
 * errors and buffers; an engine only turns bytes into TLS and back. It moves
 * bytes with conn_send / conn_recv (conn.h), never touching the socket
 * itself, and reports failures with conn_fail* (which also makes them sticky).
 *
 * A platform's library holds one or more engines: the platform's engine list
 * (tls_engines[], defined outside c/common, in each platform's engines.c)
 * names them in order of preference, and tls_init picks the first that loads,
 * or the one OSTLS_BACKEND names. Nothing in c/common names an engine.
 *
 * All calls are non-blocking. A step that cannot finish returns
 * STEP_WANT_READ / STEP_WANT_WRITE (what the socket must become) and is simply
 * called again later with the same arguments.
 */
#ifndef OSTLS_ENGINE_H
#define OSTLS_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include "conn.h"
#include "strbuf.h"

typedef enum {
    STEP_DONE,        /* finished; for read/write *n bytes moved (> 0) */
    STEP_WANT_READ,
    STEP_WANT_WRITE,
    STEP_EOF,         /* read side: the peer finished sending, cleanly */
    STEP_FAILED       /* conn_fail* has been called */
} step_result;

struct tls_engine {
    /* The engine's short name: OSTLS_BACKEND's value and tls_info "backend". */
    const char *name;
    /* 1: never picked by the default order, only when OSTLS_BACKEND names it
     * (an engine whose library's ABI cannot be checked at load time, or
     * which a user should choose knowingly). */
    int by_name_only;
    /* What the engine does not implement yet, refused by c/common when set-up
     * starts (TLS_INVALID_ARGUMENT) instead of being silently ignored:
     * client identities (cert/key/pfx/client_cert_*), and revocation
     * policies other than "os". */
    int lacks_client_identity;
    int lacks_revocation_policy;
    /* 1: the socket options (nodelay, keepalive) are taken when the
     * connection is created and cannot change afterwards (Network.framework's
     * TCP options are part of the parameters its connection is made from):
     * once set-up has started, tls_set_option refuses a different value with
     * TLS_INVALID_ARGUMENT instead of ignoring it. */
    int fixed_socket_options;
    /* 1: an engine with its own transport that tunnels through an option
     * proxy URL itself (its OS's HTTP CONNECT), so c/common leaves the URL
     * to session_new instead of refusing it. */
    int tunnels_proxy_url;
    /* 1: has_buffered_input also counts every byte the engine took from the
     * socket and has not processed (records read ahead), all but a partial
     * record that cannot progress until more arrives. Then, once a conn_recv
     * found the socket empty (c->sock_drained) and nothing is buffered,
     * tls_read stops and waits for readable instead of calling read again
     * for a recv() that would fail with EAGAIN. 0: read until it says wait. */
    int counts_read_ahead;

    /* Load the engine's library and build shared state. Called at most once
     * per process, and only for the engine being chosen. NULL on success, else
     * a TLS_* code (TLS_LIBRARY_NOT_FOUND when the library is not there) with
     * msg filled: it becomes part of "why not" in library_tried. */
    const char *(*global_init)(char *msg, size_t msgcap);

    /* Library-wide tls_info keys: "backend_version", "library_path",
     * "library_tried", "trust_store", "install_hint". Set *value (static
     * storage, or written into buf) and return 1; 0 for keys it does not know. */
    int (*library_info)(const char *key, char *buf, size_t bufcap, const char **value);

    /* Create the engine session from c->opts once options are final (before
     * the TCP connection exists). 0 after conn_fail on error. */
    int (*session_new)(tls_conn *c);
    void (*session_free)(tls_conn *c);

    /* Client handshake over the connected socket. On STEP_DONE or a
     * verification failure the engine has called conn_set_verify_result. */
    step_result (*handshake)(tls_conn *c);

    /* One decrypt step into buf (c/common loops until full or blocked). */
    step_result (*read)(tls_conn *c, void *buf, size_t len, size_t *n);
    /* One encrypt step from buf; partial acceptance is fine. After STEP_WANT_*
     * the caller retries with the same bytes (possibly more after them, and
     * possibly at a different address). */
    step_result (*write)(tls_conn *c, const void *buf, size_t len, size_t *n);
    /* Pull in whatever has arrived on the socket without consuming app data,
     * so pending becomes accurate. STEP_DONE when app data is ready. */
    step_result (*peek)(tls_conn *c);
    /* Decrypted bytes readable without socket I/O. */
    size_t (*pending)(tls_conn *c);
    /* Any input (decrypted or not) held inside the engine: waiting on the
     * socket would be wrong, read again now. */
    int (*has_buffered_input)(tls_conn *c);

    /* Send close_notify; STEP_DONE once it has been handed to the socket. */
    step_result (*shutdown)(tls_conn *c);
    /* Best-effort close_notify before the socket closes; never blocks or fails. */
    void (*close_notify)(tls_conn *c);

    /* Per-connection tls_info keys: "protocol", "cipher", "alpn",
     * "peer_cert", "peer_chain", "session_reused". Append the value to out and
     * return 1 (appending nothing means ""); return 0 for other keys. */
    int (*conn_info)(tls_conn *c, const char *key, strbuf *out);

    /* Optional. Loading trust material (the OS store, a `ca`) reads files
     * and parses hundreds of certificates: tens of milliseconds that must not
     * land on the host's thread. trust_ready says, without blocking or
     * waiting on a lock, whether session_new for these options would load
     * any; if it would, c/common first runs trust_prepare(opts->ca) on a
     * worker thread behind the poll handle (as for DNS), then session_new.
     * trust_prepare must be thread-safe, touch no connection, and leave what
     * it built where session_new finds it; a failure is left for session_new
     * to report on its connection. */
    int (*trust_ready)(const struct tls_options *opts);
    void (*trust_prepare)(const char *ca);

    /* Optional, NULL for engines that let c/common do DNS and TCP. An engine
     * that brings its own transport (its OS library makes the connection) sets
     * all three: c/common then starts no resolver and no socket, the
     * connection goes from "connecting" straight to transport_connect,
     * c->sock stays TLS_NO_SOCKET, conn_send/conn_recv are never used, and the
     * engine fills remote_/local_address and _port itself. tls_shutdown leaves
     * the TCP half-close to shutdown. */
    /* 1 once ready for handshake; 0 to wait (c->setup_wants set) or after conn_fail. */
    int (*transport_connect)(tls_conn *c);
    /* tls_pollhandle's answer for a connection that is neither closed nor failed. */
    int (*transport_poll)(tls_conn *c, int want, int64_t *handle, int *events);
    /* Tear the transport down (tls_close); the handle it reported is closed. */
    void (*transport_close)(tls_conn *c);
};

/* The platform's engines in order of preference, NULL-terminated (defined by
 * the platform's engine list file, not in c/common). */
extern const struct tls_engine *const tls_engines[];

/* A second environment variable the platform accepts for OSTLS_BACKEND
 * (macOS: OSTLS_MAC_BACKEND, from before there was one name), or NULL.
 * Defined by the platform's engine list file beside tls_engines[]. */
extern const char *const tls_engine_env_alias;

/* The engine tls_init chose (NULL before tls_init succeeded). */
extern const struct tls_engine *tls_engine;

/* engine.c: pick tls_engine (tls_init, once): OSTLS_BACKEND (or the alias)
 * names one, else the first of tls_engines[] whose global_init succeeds.
 * NULL on success, else a TLS_* code with msg naming what was tried and why. */
const char *engine_select(char *msg, size_t msgcap);
/* Library-wide tls_info keys about the choice ("backend", "engines": one
 * line per engine of the build, "name\tstatus\twhy", status "loaded",
 * "failed" or "not tried") and the chosen engine's own keys (before a
 * choice, or when none loaded: those of the engine that was asked for, or
 * of the first of the list). Same contract as library_info. */
int engine_library_info(const char *key, char *buf, size_t bufcap, const char **value);

/* 1 when key is one of the per-connection keys conn_info answers (c/common's
 * list): an engine without a usable session answers them as "". */
int conn_info_is_backend_key(const char *key);

#endif
