/*
 * proxy.h — HTTP CONNECT tunnels, a phase of the connection state machine.
 *
 * With the "proxy" option set, set-up resolves and races the proxy's
 * addresses instead of the origin's, sends "CONNECT origin:port", reads the
 * proxy's answer without waiting, and then hands the tunnelled socket to the
 * engine's handshake, which verifies the ORIGIN's name as always. Nothing in
 * here names an engine; an engine that brings its own transport cannot be
 * tunnelled here: it tunnels itself (engine.h tunnels_proxy_url, given the
 * URL parsed by proxy_url_parse), or the connection fails with
 * TLS_INVALID_ARGUMENT.
 *
 * proxy "system" first asks the OS which proxy it would use for the origin
 * (sysproxy.h, off this thread); meanwhile the origin's own resolution, started
 * by tls_connect, goes on, and is used when the answer is "direct".
 */
#ifndef OSTLS_PROXY_H
#define OSTLS_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "sock.h"

typedef struct tls_conn tls_conn;

/* Largest proxy answer (status line + headers) read before giving up. */
#define PROXY_HEADER_MAX 16384

/* A parsed proxy URL. Holds the credentials: memset it to 0 when done. */
struct proxy_url {
    char host[256];            /* brackets removed */
    int port;
    char user[256], pass[256];
    int has_credentials;
    int tls;                   /* https://: TLS to the proxy */
};

/* Parse "http[s]://[user:pass@]host[:port][/]": 1, or 0 with why filled. */
int proxy_url_parse(const char *url, struct proxy_url *u, char *why, size_t cap);

/* Check a proxy URL, "http://[user:pass@]host[:port][/]", for tls_set_option.
 * 1 if usable; 0 with why filled. */
int proxy_url_valid(const char *url, char *why, size_t whycap);

/* At the start of set-up (options final): when c->opts.proxy is set, drop the
 * origin's resolution and start resolving / racing the proxy instead. 1 to go
 * on, 0 after conn_fail. engine_owns_transport: the engine does its own TCP;
 * PROXY_ENGINE_TUNNELS: it also tunnels through an option proxy URL itself
 * (its OS's CONNECT support), so that URL is left to it. */
#define PROXY_ENGINE_TUNNELS 2
int proxy_start(tls_conn *c, int engine_owns_transport);

/* Option proxy "system": 1 once the OS's answer is in and acted on (a
 * tunnel started, or the origin's own resolution left to go on); 0 to wait
 * on proxy_lookup_handle (c->setup_wants set) or after conn_fail. Runs before
 * every other set-up phase. */
int proxy_lookup_step(tls_conn *c);

/* The handle to wait on while the OS's answer is looked up (or, after a
 * 407, while a sign-in token or the OS's password is computed on a worker),
 * else -1. */
int64_t proxy_lookup_handle(tls_conn *c);

/* The tunnel phase, run on the connected socket before the engine's
 * handshake: 1 once the tunnel is up (or there is no proxy); 0 to wait
 * (c->setup_wants set) or after conn_fail. */
int proxy_step(tls_conn *c);

/* The host / port the set-up is connecting to (the proxy's while tunnelling),
 * and "proxy " or "" to put before it in messages. */
const char *proxy_target_host(tls_conn *c);
int proxy_target_port(tls_conn *c);
const char *proxy_label(tls_conn *c);

/* Option proxy "system": the proxy URL the OS chose and the connection
 * tunnels through, without user:password (tls_info "proxy_url"); "" when it
 * goes direct or the proxy came from the option itself. */
const char *proxy_os_url(tls_conn *c);

/* 1 while the CONNECT tunnel is still being made. */
int proxy_pending(tls_conn *c);

/* https:// proxies: 1 when c's transport is a TLS connection to the proxy;
 * then conn_send / conn_recv go through these, readiness is that
 * connection's (proxy_inner_poll turns c's events into its handle and
 * events), and shutting down / closing c ends it too. */
int proxy_inner(tls_conn *c);
net_status proxy_inner_send(tls_conn *c, const void *buf, size_t len, size_t *sent);
net_status proxy_inner_recv(tls_conn *c, void *buf, size_t len, size_t *got);
void proxy_inner_poll(tls_conn *c, int64_t *handle, int *events);
int proxy_inner_polltimeout(tls_conn *c);   /* -1: no limit */
int proxy_inner_shutdown(tls_conn *c);      /* 0 when it failed */
void proxy_inner_close(tls_conn *c);

void proxy_free(tls_conn *c);

#endif
