/*
 * lifecycle.c — a connection's life up to open, and its end: start-up
 * (tls_init, the engine chosen off the host's thread), tls_connect, the
 * set-up state machine (resolving → connecting, addresses raced by race.h →
 * handshaking → open; closed / failed as ends), tls_close and tls_free.
 * Every call that drives a connection (tls_client.c) runs drive_setup first,
 * which advances as far as it can without waiting.
 */
#define _POSIX_C_SOURCE 200809L
#include "api.h"
#include "proxy.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#  include <windows.h>
#else
#  include <pthread.h>
#endif

static atomic_long live_connections;

long conn_live_count(void)
{
    return atomic_load(&live_connections);
}

/* ------------------------------------------------------------- transport */

net_status conn_send(tls_conn *c, const void *buf, size_t len, size_t *sent)
{
    /* proxy hook: through the TLS connection to an https:// proxy (proxy.c). */
    if (proxy_inner(c))
        return proxy_inner_send(c, buf, len, sent);
    net_status st = sock_send(c->sock, buf, len, sent, &c->sock_error);
    return st;
}

net_status conn_recv(tls_conn *c, void *buf, size_t len, size_t *got)
{
    net_status st;
    if (proxy_inner(c)) {
        /* Through an https:// proxy the bytes come from the inner connection's
         * tls_read, whose own engine may hold more: no claim about c. */
        st = proxy_inner_recv(c, buf, len, got);
        c->sock_drained = 0;
    } else {
        st = sock_recv(c->sock, buf, len, got, &c->sock_error);
        c->sock_drained = sock_recv_drained(st, *got, len);
    }
    if (st == NET_EOF)
        c->sock_eof = 1;
    return st;
}

static void apply_socket_options(tls_conn *c)
{
    int ignored;
    sock_set_nodelay(c->sock, c->opts.nodelay, &ignored);
    if (c->opts.keepalive_seconds)
        sock_set_keepalive(c->sock, c->opts.keepalive_seconds, &ignored);
}

static void release_transport(tls_conn *c)
{
    /* c->session first: while CONN_STARTING the engine is still being chosen. */
    if (c->session && tls_engine->transport_close)
        tls_engine->transport_close(c);
    resolve_release(c->init_job);
    c->init_job = NULL;
    resolve_release(c->resolver);
    c->resolver = NULL;
    resolve_release(c->trust_job);
    c->trust_job = NULL;
    race_free(&c->race);
    proxy_inner_close(c);   /* proxy hook */
    sock_close(c->sock);
    c->sock = TLS_NO_SOCKET;
}

/* ----------------------------------------------------------------- set-up */

/* trust_prepare's job on the worker thread: the engine builds and caches
 * what session_new will need for this `ca` (NULL: the OS store). */
struct trust_work {
    void (*prepare)(const char *ca);
    char *ca;
};

static void run_trust_work(void *arg)
{
    struct trust_work *w = arg;
    w->prepare(w->ca);
    free(w->ca);
    free(w);
}

/* 1 when the engine's trust material for these options is being loaded on
 * the worker (c->trust_job set); 0 when session_new may run now, also when
 * the worker could not be started (session_new then loads it itself). */
static int start_trust_job(tls_conn *c)
{
    const struct tls_engine *e = tls_engine;
    if (!e->trust_ready || !e->trust_prepare || e->trust_ready(&c->opts))
        return 0;
    struct trust_work *w = calloc(1, sizeof *w);
    if (!w)
        return 0;
    w->prepare = e->trust_prepare;
    w->ca = c->opts.ca ? strdup(c->opts.ca) : NULL;
    int os_error;
    if ((c->opts.ca && !w->ca) || !resolve_start_work(run_trust_work, w, &c->trust_job, &os_error)) {
        free(w->ca);
        free(w);
        c->trust_job = NULL;
        return 0;
    }
    return 1;
}

/* A worker job of set-up (start-up, name resolution, trust loading): 1 once
 * it has finished, with what it found (any out pointer may be NULL) and the
 * job released; 0 while it runs, waiting for its handle to become readable. */
static int collect_job(tls_conn *c, resolve_job **job, struct addrinfo **found, int *gai_error,
                       int *os_error)
{
    struct addrinfo *none;
    int gai, os;
    if (!resolve_finished(*job, found ? found : &none, gai_error ? gai_error : &gai,
                          os_error ? os_error : &os)) {
        c->setup_wants = TLS_WANT_READ;
        return 0;
    }
    resolve_release(*job);
    *job = NULL;
    return 1;
}

/* Options become final at the first call that drives the connection. The
 * engine session is made then, or once its trust material has been loaded
 * off this thread (finish_trust_job), whichever the engine needs. */
int start_setup(tls_conn *c)
{
    if (c->setup_started || c->state == CONN_STARTING)
        return 1;
    c->setup_started = 1;
    c->peer_name = c->opts.servername ? c->opts.servername : c->host;
    c->peer_name_is_ip = text_is_ip_address(c->peer_name);
    const struct tls_options *o = &c->opts;
    if (tls_engine->lacks_client_identity && (o->cert || o->key || o->pfx || o->store || o->store_auto))
        return conn_fail(c, TLS_INVALID_ARGUMENT,
                         "the %s engine does not send client certificates yet (options cert, key, pfx, "
                         "clientCertificate); the default engine does", tls_engine->name);
    if (tls_engine->lacks_revocation_policy && o->revocation != TLS_REVOCATION_OS)
        return conn_fail(c, TLS_INVALID_ARGUMENT,
                         "the %s engine honours only revocation \"os\" (its library's own behaviour) yet",
                         tls_engine->name);
    /* proxy hook: connect to the proxy instead of the origin (proxy.c). */
    if (!proxy_start(c, !tls_engine->transport_connect ? 0
                        : tls_engine->tunnels_proxy_url ? PROXY_ENGINE_TUNNELS : 1))
        return 0;
    if (start_trust_job(c))
        return 1;
    return tls_engine->session_new(c);
}

/* 1 once the engine session exists; 0 while the trust job runs
 * (setup_wants set) or after conn_fail. */
static int finish_trust_job(tls_conn *c)
{
    if (!c->trust_job)
        return 1;
    if (!collect_job(c, &c->trust_job, NULL, NULL, NULL))
        return 0;
    return tls_engine->session_new(c);
}

static int finish_resolving(tls_conn *c)
{
    struct addrinfo *found;
    int gai_error, os_error;
    if (!collect_job(c, &c->resolver, &found, &gai_error, &os_error))
        return 0;
    if (gai_error) {
        if (gai_error == EAI_SYSTEM && os_error) {
            char text[128];
            sock_error_text(os_error, text, sizeof text);
            conn_set_os_error(c, sock_error_name(os_error));
            return conn_fail(c, TLS_DNS_FAILED, "could not resolve %s%s: %s (%s)", proxy_label(c), proxy_target_host(c), text,
                             sock_error_name(os_error));
        }
        conn_set_os_error(c, resolve_error_name(gai_error));
        return conn_fail(c, TLS_DNS_FAILED, "could not resolve %s%s: %s (%s)", proxy_label(c), proxy_target_host(c),
                         resolve_error_text(gai_error), resolve_error_name(gai_error));
    }
    int ok = race_add(&c->race, found);
    freeaddrinfo(found);
    if (!ok)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory storing the addresses of %s", proxy_target_host(c));
    race_arrange(&c->race);
    c->state = CONN_CONNECTING;
    return 1;
}

/* Every address failed: one message naming each, the last OS error as the code. */
static int fail_connect(tls_conn *c)
{
    const conn_race *r = &c->race;
    char list[768] = "";
    char text[128];
    if (r->count == 0)
        return conn_fail(c, TLS_CONNECT_FAILED, "could not connect to %s%s port %d: it has no IPv4 or IPv6 address",
                         proxy_label(c), proxy_target_host(c), proxy_target_port(c));
    for (size_t i = 0; i < r->count; i++) {
        const race_attempt *a = &r->list[i];
        char addr[64];
        int port;
        sock_address_text((const struct sockaddr *)&a->addr, addr, sizeof addr, &port);
        sock_error_text(a->os_error, text, sizeof text);
        /* A host given as that one address is not repeated. */
        int named = r->count > 1 || strcmp(addr, proxy_target_host(c)) != 0;
        int v6 = strchr(addr, ':') != NULL;
        text_append(list, sizeof list, "%s%s%s%s%s%s (%s)", i ? "; " : "", named && v6 ? "[" : "",
                    named ? addr : "", named && v6 ? "]" : "", named ? ": " : "", text,
                    sock_error_name(a->os_error));
    }
    conn_set_os_error(c, sock_error_name(r->last_error));
    /* The server accepted the connection and then dropped it: "refused" would mislead. */
    if (sock_error_is_reset(r->last_error))
        return conn_fail(c, TLS_CONNECTION_RESET, "connection to %s%s port %d was reset by the server: %s",
                         proxy_label(c), proxy_target_host(c), proxy_target_port(c), list);
    return conn_fail(c, TLS_CONNECT_FAILED, "could not connect to %s%s port %d: %s", proxy_label(c),
                     proxy_target_host(c), proxy_target_port(c), list);
}

/* 1 connected, 0 waiting or failed (state says which). */
static int advance_connect(tls_conn *c)
{
    if (tls_engine->transport_connect) {
        if (!tls_engine->transport_connect(c))
            return 0;
        c->state = CONN_HANDSHAKING;
        return 1;
    }
    tls_socket sock;
    size_t index;
    net_status st = race_step(&c->race, race_now_ms(), &sock, &index);
    if (st == NET_AGAIN) {
        c->setup_wants = TLS_WANT_WRITE;
        return 0;
    }
    if (st != NET_OK)
        return fail_connect(c);
    c->sock = sock;
    sock_address_text((const struct sockaddr *)&c->race.list[index].addr, c->remote_address,
                      sizeof c->remote_address, &c->remote_port);
    race_free(&c->race);
    c->os_error[0] = '\0';
    apply_socket_options(c);
    sock_local_address(c->sock, c->local_address, sizeof c->local_address, &c->local_port);
    c->state = CONN_HANDSHAKING;
    return 1;
}

int want_from_step(step_result step)
{
    return step == STEP_WANT_WRITE ? TLS_WANT_WRITE : TLS_WANT_READ;
}

static int finish_starting(tls_conn *c);

setup_status drive_setup(tls_conn *c)
{
    if (c->state == CONN_FAILED)
        return SETUP_FAILED;
    if (c->state == CONN_CLOSED)
        return SETUP_CLOSED;
    if (c->state == CONN_STARTING && !finish_starting(c))
        return c->state == CONN_FAILED ? SETUP_FAILED : SETUP_WAIT;
    if (!start_setup(c))
        return SETUP_FAILED;
    /* proxy hook: proxy "system" waits for the OS's answer first (proxy.c). */
    if (!proxy_lookup_step(c))
        return c->state == CONN_FAILED ? SETUP_FAILED : SETUP_WAIT;
    for (;;) {
        switch (c->state) {
        case CONN_RESOLVING:
            if (!finish_resolving(c))
                return c->state == CONN_FAILED ? SETUP_FAILED : SETUP_WAIT;
            break;
        case CONN_CONNECTING:
            if (!advance_connect(c))
                return c->state == CONN_FAILED ? SETUP_FAILED : SETUP_WAIT;
            break;
        case CONN_HANDSHAKING: {
            /* proxy hook: the CONNECT tunnel comes first (proxy.c); a proxy
             * sign-in may need a new connection to the proxy (state moves back). */
            if (!proxy_step(c)) {
                if (c->state == CONN_RESOLVING || c->state == CONN_CONNECTING)
                    break;
                return c->state == CONN_FAILED ? SETUP_FAILED : SETUP_WAIT;
            }
            if (!finish_trust_job(c))
                return c->state == CONN_FAILED ? SETUP_FAILED : SETUP_WAIT;
            step_result step = tls_engine->handshake(c);
            if (step == STEP_DONE) {
                c->state = CONN_OPEN;
                return SETUP_DONE;
            }
            if (step == STEP_WANT_READ || step == STEP_WANT_WRITE) {
                c->setup_wants = want_from_step(step);
                return SETUP_WAIT;
            }
            if (c->state != CONN_FAILED)
                conn_fail(c, TLS_INTERNAL_ERROR, "the %s backend failed the handshake without a reason",
                          tls_engine->name);
            return SETUP_FAILED;
        }
        case CONN_OPEN:
            return SETUP_DONE;
        case CONN_STARTING:   /* finished above */
        case CONN_CLOSED:
            return SETUP_CLOSED;
        case CONN_FAILED:
            return SETUP_FAILED;
        }
    }
}

/* Shared prologue of the driving calls: 1 = open, go on; 0 = return now
 * (*ret holds the return value: a failure, or success with "nothing yet"). */
int drive(tls_conn *c, const char **err, const char **errmsg, int *ret)
{
    switch (drive_setup(c)) {
    case SETUP_DONE:
        return 1;
    case SETUP_WAIT:
        *ret = 1;
        return 0;
    case SETUP_CLOSED:
        *ret = api_fail_closed(c, err, errmsg);
        return 0;
    case SETUP_FAILED:
    default:
        *ret = api_report_failure(c, err, errmsg);
        return 0;
    }
}

/* ---------------------------------------------------------------- tls_init */

/* Start-up has two parts. The socket layer (cheap) is made ready where
 * tls_connect first runs, since parsing an address literal needs it on
 * Windows. Choosing the engine loads the OS's TLS library: dlopen of
 * libssl/libcrypto into a process as big as Node costs 5-15 ms of symbol
 * binding, so a connection made before it has finished does not wait for it
 * on the host's thread: it starts in CONN_STARTING and waits, behind its poll
 * handle, for a worker that runs the start-up (issue 15). tls_init and the
 * library-wide tls_info keys still run it where they are called. */
static const char *sock_code;
static char sock_msg[1024];
static const char *init_code;
static char init_msg[4096];
static atomic_int init_done;   /* init_code and tls_engine are final */

static void sock_once(void)
{
    if (!sock_global_init(sock_msg, sizeof sock_msg))
        sock_code = TLS_LIBRARY_NOT_FOUND;
}

static void init_once(void);

#ifdef _WIN32
static INIT_ONCE sock_guard = INIT_ONCE_STATIC_INIT;
static INIT_ONCE init_guard = INIT_ONCE_STATIC_INIT;
static BOOL CALLBACK sock_once_win(PINIT_ONCE once, PVOID param, PVOID *context)
{
    (void)once; (void)param; (void)context;
    sock_once();
    return TRUE;
}
static BOOL CALLBACK init_once_win(PINIT_ONCE once, PVOID param, PVOID *context)
{
    (void)once; (void)param; (void)context;
    init_once();
    return TRUE;
}
#  define RUN_SOCK_ONCE() InitOnceExecuteOnce(&sock_guard, sock_once_win, NULL, NULL)
#  define RUN_INIT_ONCE() InitOnceExecuteOnce(&init_guard, init_once_win, NULL, NULL)
#else
static pthread_once_t sock_guard = PTHREAD_ONCE_INIT;
static pthread_once_t init_guard = PTHREAD_ONCE_INIT;
#  define RUN_SOCK_ONCE() pthread_once(&sock_guard, sock_once)
#  define RUN_INIT_ONCE() pthread_once(&init_guard, init_once)
#endif

static void init_once(void)
{
    /* The shared socket layer first: no engine relies on another's start-up. */
    RUN_SOCK_ONCE();
    if (sock_code) {
        init_code = sock_code;
        snprintf(init_msg, sizeof init_msg, "%s", sock_msg);
    } else {
        init_code = engine_select(init_msg, sizeof init_msg);
    }
    atomic_store_explicit(&init_done, 1, memory_order_release);
}

static void run_init_work(void *arg)
{
    (void)arg;
    RUN_INIT_ONCE();
}

/* Where a connection goes once the engine is known: resolving its name, or
 * connecting (an address literal, a test hook, an engine with its own
 * transport). */
static void begin_transport(tls_conn *c)
{
    if (tls_engine->transport_connect) {
        /* The engine resolves and connects (transport_connect). */
        race_free(&c->race);
        c->state = CONN_CONNECTING;
    } else if (c->hooked) {
        race_arrange(&c->race);
        c->state = CONN_CONNECTING;
    } else {
        int os_error = 0;
        c->state = CONN_RESOLVING;
        if (!resolve_start(c->host, c->port, &c->resolver, &os_error)) {
            char text[128];
            sock_error_text(os_error, text, sizeof text);
            conn_set_os_error(c, sock_error_name(os_error));
            conn_fail(c, TLS_INTERNAL_ERROR, "could not start resolving %s: %s", c->host, text);
        }
    }
}

/* CONN_STARTING: 1 once the start-up has finished and the connection has
 * moved on; 0 while it runs (setup_wants set) or after conn_fail. */
static int finish_starting(tls_conn *c)
{
    if (!collect_job(c, &c->init_job, NULL, NULL, NULL))
        return 0;
    if (init_code)
        return conn_fail(c, init_code, "%s", init_msg);
    begin_transport(c);
    return c->state != CONN_FAILED;
}

void startup_run(void)
{
    RUN_INIT_ONCE();
}

TLS_API int tls_init(const char **err, const char **errmsg)
{
    RUN_INIT_ONCE();
    if (init_code)
        return api_set_out(init_code, init_msg, err, errmsg);
    return 1;
}

/* ------------------------------------------------------------- tls_connect */

TLS_API int tls_connect(const char *host, int port, tls_conn **tlsout,
                        const char **err, const char **errmsg)
{
    RUN_SOCK_ONCE();
    int started = atomic_load_explicit(&init_done, memory_order_acquire);
    if (sock_code)
        return api_set_out(sock_code, sock_msg, err, errmsg);
    if (started && init_code)
        return api_set_out(init_code, init_msg, err, errmsg);
    if (!tlsout)
        return api_fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_connect: tlsout is NULL");
    *tlsout = NULL;
    if (!host || !*host)
        return api_fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT,
                                   "tls_connect: host must be a non-empty string");
    if (port < 1 || port > 65535)
        return api_fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT,
                                   "tls_connect: port %d is outside 1..65535", port);
    size_t hostlen = strlen(host);
    if (hostlen > 1024)
        return api_fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT,
                                   "tls_connect: host is longer than 1024 bytes");
    if (host[0] == '[' && hostlen > 2 && host[hostlen - 1] == ']') {
        host++;
        hostlen -= 2;
    }
    char why[128];
    if (!options_host_valid(host, hostlen, why, sizeof why))
        return api_fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_connect: host is not a valid name or address: %s", why);

    tls_conn *c = calloc(1, sizeof *c);
    char *host_copy = malloc(hostlen + 1);
    if (!c || !host_copy) {
        free(c);
        free(host_copy);
        return api_fail_threadwide(err, errmsg, TLS_OUT_OF_MEMORY, "tls_connect: out of memory");
    }
    memcpy(host_copy, host, hostlen);
    host_copy[hostlen] = '\0';
    c->host = host_copy;
    c->port = port;
    c->sock = TLS_NO_SOCKET;
    c->verify_code = -1;
    c->read_wants = TLS_WANT_READ;
    c->write_wants = TLS_WANT_WRITE;
    options_init(&c->opts);

    int gai_error = 0;
    struct addrinfo *literal = NULL;
    int numeric = resolve_numeric(c->host, port, &literal, &gai_error);
    if (numeric < 0) {
        api_fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_connect: host %s is not a usable address: %s",
                            c->host, resolve_error_text(gai_error));
        free(c->host);
        free(c);
        return 0;
    }
    int hooked = 0;
    if (numeric) {
        hooked = race_add(&c->race, literal) ? 1 : -1;
        freeaddrinfo(literal);
    } else {
        hooked = race_test_hosts(&c->race, c->host, port);
    }
    if (hooked < 0) {
        race_free(&c->race);
        free(c->host);
        free(c);
        return api_fail_threadwide(err, errmsg, TLS_OUT_OF_MEMORY, "tls_connect: out of memory");
    }
    c->hooked = hooked;
    int os_error = 0;
    if (!started && resolve_start_work(run_init_work, NULL, &c->init_job, &os_error)) {
        c->state = CONN_STARTING;
    } else {
        /* Started already, or no worker could be made: start up here. */
        RUN_INIT_ONCE();
        if (init_code) {
            race_free(&c->race);
            options_free(&c->opts);
            free(c->host);
            free(c);
            return api_set_out(init_code, init_msg, err, errmsg);
        }
        begin_transport(c);
    }
    atomic_fetch_add(&live_connections, 1);
    *tlsout = c;
    return 1;
}

/* ------------------------------------------------------- close and free */

TLS_API int tls_close(tls_conn *c, const char **err, const char **errmsg)
{
    if (!c)
        return api_fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_close: tls is NULL");
    if (c->state == CONN_OPEN && !c->write_shut)
        tls_engine->close_notify(c);
    release_transport(c);
    if (c->state != CONN_FAILED)
        c->state = CONN_CLOSED;
    return 1;
}

TLS_API void tls_free(tls_conn *c)
{
    if (!c)
        return;
    if (c->session)
        tls_engine->session_free(c);
    release_transport(c);
    proxy_free(c);   /* proxy hook */
    options_free(&c->opts);
    strbuf_free(&c->info);
    free(c->fail_msg);
    free(c->call_msg);
    free(c->verify_message);
    free(c->proxy_reason);
    free(c->host);
    free(c);
    atomic_fetch_sub(&live_connections, 1);
}
