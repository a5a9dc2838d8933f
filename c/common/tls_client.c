/*
 * tls_client.c — the public tls_* API and the connection state machine:
 * resolving → connecting (addresses raced, race.h) → handshaking → open, with
 * closed / failed as ends. Every entry point that "drives" the connection
 * first runs drive_setup, which advances as far as it can without waiting.
 */
#define _POSIX_C_SOURCE 200809L
#include "../tls_client.h"

#include "engine.h"
#include "conn.h"
#include "proxy.h"
#include "verify.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#  include <windows.h>
#else
#  include <pthread.h>
#endif

/* Largest single engine call; keeps int-based engine APIs (SSL_read/write) safe. */
#define ENGINE_CHUNK_MAX ((size_t)1 << 30)

static atomic_long live_connections;

/* ---------------------------------------------------------------- errors */

/* For calls without a connection: valid until this thread's next such call. */
static TLS_THREAD_LOCAL char thread_msg[TLS_MSG_MAX];
static TLS_THREAD_LOCAL char thread_info[4096];

static int set_out(const char *code, const char *msg, const char **err, const char **errmsg)
{
    if (err)
        *err = code;
    if (errmsg)
        *errmsg = msg;
    return 0;
}

/* When a message buffer could not be allocated: the code still says what failed. */
static const char no_memory_for_message[] = "(out of memory: the message was dropped)";

char *conn_text_buffer(char **slot, size_t cap)
{
    if (!*slot && (*slot = malloc(cap)) != NULL)
        (*slot)[0] = '\0';
    return *slot;
}

static int fail_threadwide(const char **err, const char **errmsg, const char *code,
                           const char *fmt, ...) TLS_PRINTF(4, 5);
static int fail_threadwide(const char **err, const char **errmsg, const char *code,
                           const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(thread_msg, sizeof thread_msg, fmt, ap);
    va_end(ap);
    return set_out(code, thread_msg, err, errmsg);
}

/* A failure of this call only (bad argument, timeout, stream closed). */
static int fail_call(tls_conn *c, const char **err, const char **errmsg, const char *code,
                     const char *fmt, ...) TLS_PRINTF(5, 6);
static int fail_call(tls_conn *c, const char **err, const char **errmsg, const char *code,
                     const char *fmt, ...)
{
    char *msg = conn_text_buffer(&c->call_msg, TLS_MSG_MAX);
    if (!msg)
        return set_out(code, no_memory_for_message, err, errmsg);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, TLS_MSG_MAX, fmt, ap);
    va_end(ap);
    return set_out(code, msg, err, errmsg);
}

static int report_failure(tls_conn *c, const char **err, const char **errmsg)
{
    return set_out(c->fail_code, c->fail_msg ? c->fail_msg : no_memory_for_message, err, errmsg);
}

static int fail_closed(tls_conn *c, const char **err, const char **errmsg)
{
    return fail_call(c, err, errmsg, TLS_CLOSED, "the connection to %s was closed by tls_close",
                     c->host);
}

int conn_fail(tls_conn *c, const char *code, const char *fmt, ...)
{
    if (c->state == CONN_FAILED)
        return 0;   /* the first failure is the one that explains the rest */
    char *msg = conn_text_buffer(&c->fail_msg, TLS_MSG_MAX);
    if (msg) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, TLS_MSG_MAX, fmt, ap);
        va_end(ap);
    }
    c->fail_code = code;
    c->state = CONN_FAILED;
    /* The OS error explains this failure only if it was named for it. */
    if (!c->os_error_fresh)
        c->os_error[0] = '\0';
    c->os_error_fresh = 0;
    return 0;
}

void conn_set_os_error(tls_conn *c, const char *name)
{
    snprintf(c->os_error, sizeof c->os_error, "%s", name ? name : "");
    c->os_error_fresh = 1;
}

const char *conn_peer_text(tls_conn *c, char *buf, size_t cap)
{
    if (!c->remote_address[0] || strcmp(c->host, c->remote_address) == 0)
        snprintf(buf, cap, "%s port %d", c->host, c->remote_port ? c->remote_port : c->port);
    else
        snprintf(buf, cap, "%s (%s port %d)", c->host, c->remote_address, c->remote_port);
    return buf;
}

int conn_fail_socket(tls_conn *c, const char *during)
{
    char peer[400];
    conn_peer_text(c, peer, sizeof peer);
    if (c->sock_error) {
        char text[128];
        sock_error_text(c->sock_error, text, sizeof text);
        conn_set_os_error(c, sock_error_name(c->sock_error));
        return conn_fail(c, TLS_CONNECTION_RESET, "connection to %s lost %s: %s (%s)", peer, during,
                         text, sock_error_name(c->sock_error));
    }
    return conn_fail(c, TLS_CONNECTION_RESET, "%s closed the connection %s", peer, during);
}

void conn_set_verify_result(tls_conn *c, long code, const char *message)
{
    c->verify_code = code;
    /* Engines set this once per handshake, so exact size beats a fixed
     * buffer. Copied before the old one is freed: message may be it. */
    char *copy = strdup(message ? message : "");   /* NULL (out of memory) reads as "" */
    free(c->verify_message);
    c->verify_message = copy;
}

const char *conn_verify_message(const tls_conn *c)
{
    return c->verify_message ? c->verify_message : "";
}

int conn_fail_verify(tls_conn *c)
{
    return conn_fail(c, verify_result_error(c->verify_code),
                     "certificate verify failed for %s: %s (%s)", c->peer_name,
                     conn_verify_message(c), verify_result_name(c->verify_code));
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

typedef enum { SETUP_DONE, SETUP_WAIT, SETUP_FAILED, SETUP_CLOSED } setup_status;

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

/* Options become final at the first call that drives the connection. The
 * engine session is made then, or once its trust material has been loaded
 * off this thread (finish_trust_job), whichever the engine needs. */
static int start_setup(tls_conn *c)
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
    struct addrinfo *none;
    int gai_error, os_error;
    if (!resolve_finished(c->trust_job, &none, &gai_error, &os_error)) {
        c->setup_wants = TLS_WANT_READ;
        return 0;
    }
    resolve_release(c->trust_job);
    c->trust_job = NULL;
    return tls_engine->session_new(c);
}

static int finish_resolving(tls_conn *c)
{
    struct addrinfo *found;
    int gai_error, os_error;
    if (!resolve_finished(c->resolver, &found, &gai_error, &os_error)) {
        c->setup_wants = TLS_WANT_READ;
        return 0;
    }
    resolve_release(c->resolver);
    c->resolver = NULL;
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

static int want_from_step(step_result step)
{
    return step == STEP_WANT_WRITE ? TLS_WANT_WRITE : TLS_WANT_READ;
}

static int finish_starting(tls_conn *c);

static setup_status drive_setup(tls_conn *c)
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
static int drive(tls_conn *c, const char **err, const char **errmsg, int *ret)
{
    switch (drive_setup(c)) {
    case SETUP_DONE:
        return 1;
    case SETUP_WAIT:
        *ret = 1;
        return 0;
    case SETUP_CLOSED:
        *ret = fail_closed(c, err, errmsg);
        return 0;
    case SETUP_FAILED:
    default:
        *ret = report_failure(c, err, errmsg);
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
    struct addrinfo *none;
    int gai_error, os_error;
    if (!resolve_finished(c->init_job, &none, &gai_error, &os_error)) {
        c->setup_wants = TLS_WANT_READ;
        return 0;
    }
    resolve_release(c->init_job);
    c->init_job = NULL;
    if (init_code)
        return conn_fail(c, init_code, "%s", init_msg);
    begin_transport(c);
    return c->state != CONN_FAILED;
}

TLS_API int tls_init(const char **err, const char **errmsg)
{
    RUN_INIT_ONCE();
    if (init_code)
        return set_out(init_code, init_msg, err, errmsg);
    return 1;
}

/* ------------------------------------------------------------- tls_connect */

TLS_API int tls_connect(const char *host, int port, tls_conn **tlsout,
                        const char **err, const char **errmsg)
{
    RUN_SOCK_ONCE();
    int started = atomic_load_explicit(&init_done, memory_order_acquire);
    if (sock_code)
        return set_out(sock_code, sock_msg, err, errmsg);
    if (started && init_code)
        return set_out(init_code, init_msg, err, errmsg);
    if (!tlsout)
        return fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_connect: tlsout is NULL");
    *tlsout = NULL;
    if (!host || !*host)
        return fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT,
                               "tls_connect: host must be a non-empty string");
    if (port < 1 || port > 65535)
        return fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT,
                               "tls_connect: port %d is outside 1..65535", port);
    size_t hostlen = strlen(host);
    if (hostlen > 1024)
        return fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT,
                               "tls_connect: host is longer than 1024 bytes");
    if (host[0] == '[' && hostlen > 2 && host[hostlen - 1] == ']') {
        host++;
        hostlen -= 2;
    }
    char why[128];
    if (!options_host_valid(host, hostlen, why, sizeof why))
        return fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_connect: host is not a valid name or address: %s", why);

    tls_conn *c = calloc(1, sizeof *c);
    char *host_copy = malloc(hostlen + 1);
    if (!c || !host_copy) {
        free(c);
        free(host_copy);
        return fail_threadwide(err, errmsg, TLS_OUT_OF_MEMORY, "tls_connect: out of memory");
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
        fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_connect: host %s is not a usable address: %s",
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
        return fail_threadwide(err, errmsg, TLS_OUT_OF_MEMORY, "tls_connect: out of memory");
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
            return set_out(init_code, init_msg, err, errmsg);
        }
        begin_transport(c);
    }
    atomic_fetch_add(&live_connections, 1);
    *tlsout = c;
    return 1;
}

/* -------------------------------------------------------- driving calls */

TLS_API int tls_handshake(tls_conn *c, int *done, const char **err, const char **errmsg)
{
    if (!c || !done)
        return fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_handshake: %s is NULL",
                               c ? "done" : "tls");
    *done = 0;
    int ret;
    if (!drive(c, err, errmsg, &ret))
        return ret;
    *done = 1;
    return 1;
}

/* An open connection whose socket is readable may hold a close_notify or a
 * FIN we have not looked at; isopen should notice without consuming data. */
static int notice_peer_end(tls_conn *c)
{
    if (c->peer_finished || tls_engine->pending(c) > 0)
        return 1;
    int os_error;
    /* An engine with its own transport has no socket to look at: its peek
     * below never waits. */
    if (!tls_engine->transport_connect && !proxy_inner(c) && sock_wait(c->sock, TLS_WANT_READ, 0, &os_error) <= 0)
        return 1;
    step_result step = tls_engine->peek(c);
    if (step == STEP_EOF)
        c->peer_finished = 1;
    else if (step == STEP_WANT_READ || step == STEP_WANT_WRITE)
        c->read_wants = want_from_step(step);
    return step != STEP_FAILED;
}

TLS_API int tls_isopen(tls_conn *c, int *isopen, const char **err, const char **errmsg)
{
    if (!c || !isopen)
        return fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_isopen: %s is NULL",
                               c ? "isopen" : "tls");
    *isopen = 0;
    switch (drive_setup(c)) {
    case SETUP_CLOSED:
        return 1;
    case SETUP_FAILED:
        return report_failure(c, err, errmsg);
    case SETUP_WAIT:
        *isopen = 1;
        return 1;
    case SETUP_DONE:
        break;
    }
    if (!notice_peer_end(c))
        return report_failure(c, err, errmsg);
    *isopen = !c->peer_finished && !c->write_shut;
    return 1;
}

/* Would another engine read now only find the socket empty? So when the
 * last conn_recv drained it and the engine holds nothing it could hand out
 * without the socket: no plaintext and no record read ahead (an engine that
 * cannot say so leaves counts_read_ahead 0 and is asked again, as is any
 * engine on a platform whose socket layer never reports a drain). Reading on
 * would cost one recv() that fails with EAGAIN per call; waiting is safe
 * because the host's poll is level-triggered (sock_recv_drained). */
static int read_would_wait(tls_conn *c)
{
    return c->sock_drained && tls_engine->counts_read_ahead && !tls_engine->has_buffered_input(c);
}

TLS_API int tls_read(tls_conn *c, void *buf, size_t len, size_t *nread,
                     const char **err, const char **errmsg)
{
    if (!c || !nread || (!buf && len))
        return fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_read: %s is NULL",
                               !c ? "tls" : !nread ? "nread" : "buf");
    *nread = 0;
    int ret;
    if (!drive(c, err, errmsg, &ret))
        return ret;
    if (c->peer_finished && tls_engine->pending(c) == 0)
        return fail_call(c, err, errmsg, TLS_CLOSED, "%s has finished sending (end of stream)",
                         c->host);
    size_t total = 0;
    step_result step = STEP_DONE;
    while (total < len) {
        size_t chunk = len - total < ENGINE_CHUNK_MAX ? len - total : ENGINE_CHUNK_MAX;
        size_t n = 0;
        step = tls_engine->read(c, (char *)buf + total, chunk, &n);
        if (step != STEP_DONE)
            break;
        total += n;
        c->read_wants = TLS_WANT_READ;
        if (total < len && read_would_wait(c)) {
            step = STEP_WANT_READ;   /* as if the engine had said it */
            break;
        }
    }
    if (step == STEP_WANT_READ || step == STEP_WANT_WRITE)
        c->read_wants = want_from_step(step);
    else if (step == STEP_EOF)
        c->peer_finished = 1;
    *nread = total;
    if (total > 0)
        return 1;   /* a failure or the end is reported by the next call */
    if (step == STEP_FAILED)
        return report_failure(c, err, errmsg);
    if (step == STEP_EOF)
        return fail_call(c, err, errmsg, TLS_CLOSED, "%s has finished sending (end of stream)",
                         c->host);
    return 1;
}

TLS_API int tls_write(tls_conn *c, const void *buf, size_t len, size_t *written,
                      const char **err, const char **errmsg)
{
    if (!c || !written || (!buf && len))
        return fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_write: %s is NULL",
                               !c ? "tls" : !written ? "written" : "buf");
    *written = 0;
    int ret;
    if (!drive(c, err, errmsg, &ret))
        return ret;
    if (c->write_shut)
        return fail_call(c, err, errmsg, TLS_CLOSED,
                         "the sending side to %s was shut down by tls_shutdown", c->host);
    size_t total = 0;
    step_result step = STEP_DONE;
    while (total < len) {
        size_t chunk = len - total < ENGINE_CHUNK_MAX ? len - total : ENGINE_CHUNK_MAX;
        size_t n = 0;
        step = tls_engine->write(c, (const char *)buf + total, chunk, &n);
        if (step != STEP_DONE)
            break;
        total += n;
        c->write_wants = TLS_WANT_WRITE;
    }
    if (step == STEP_WANT_READ || step == STEP_WANT_WRITE)
        c->write_wants = want_from_step(step);
    *written = total;
    if (total == 0 && step == STEP_FAILED)
        return report_failure(c, err, errmsg);
    return 1;
}

TLS_API int tls_bytesavailable(tls_conn *c, size_t *n, const char **err, const char **errmsg)
{
    if (!c || !n)
        return fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_bytesavailable: %s is NULL",
                               c ? "n" : "tls");
    *n = 0;
    int ret;
    if (!drive(c, err, errmsg, &ret))
        return ret;
    *n = tls_engine->pending(c);
    if (*n > 0 || c->peer_finished)
        return 1;
    step_result step = tls_engine->peek(c);
    if (step == STEP_FAILED)
        return report_failure(c, err, errmsg);
    if (step == STEP_EOF)
        c->peer_finished = 1;
    else if (step != STEP_DONE)
        c->read_wants = want_from_step(step);
    *n = tls_engine->pending(c);
    return 1;
}

TLS_API int tls_shutdown(tls_conn *c, int *done, const char **err, const char **errmsg)
{
    if (!c || !done)
        return fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_shutdown: %s is NULL",
                               c ? "done" : "tls");
    *done = 0;
    int ret;
    if (!drive(c, err, errmsg, &ret))
        return ret;
    if (c->write_shut) {
        *done = 1;
        return 1;
    }
    step_result step = tls_engine->shutdown(c);
    if (step == STEP_WANT_READ || step == STEP_WANT_WRITE) {
        c->write_wants = want_from_step(step);
        return 1;
    }
    if (step != STEP_DONE) {
        if (c->state != CONN_FAILED)
            conn_fail(c, TLS_INTERNAL_ERROR, "the %s backend failed to send close_notify", tls_engine->name);
        return report_failure(c, err, errmsg);
    }
    int os_error = 0;
    /* An engine with its own transport ended the sending side in shutdown;
     * through an https:// proxy, its TLS connection ends (proxy hook). */
    if (proxy_inner(c)) {
        if (!proxy_inner_shutdown(c)) {
            conn_fail_socket(c, "while shutting down the TLS connection to the proxy");
            return report_failure(c, err, errmsg);
        }
    } else if (!tls_engine->transport_connect && !sock_shutdown_write(c->sock, &os_error)) {
        c->sock_error = os_error;
        conn_fail_socket(c, "while shutting down");
        return report_failure(c, err, errmsg);
    }
    c->write_shut = 1;
    *done = 1;
    return 1;
}

/* ------------------------------------------------------------ readiness */

static int poll_target(tls_conn *c, int want, int64_t *handle, int *events)
{
    *handle = -1;
    *events = 0;
    if (c->state == CONN_STARTING) {
        *handle = resolve_handle(c->init_job);
        *events = TLS_WANT_READ;
        return 1;
    }
    if (tls_engine->transport_poll && c->state != CONN_CLOSED && c->state != CONN_FAILED)
        return tls_engine->transport_poll(c, want, handle, events);
    int64_t lookup = proxy_lookup_handle(c);
    if (lookup >= 0 && c->state != CONN_CLOSED && c->state != CONN_FAILED) {
        *handle = lookup;
        *events = TLS_WANT_READ;
        return 1;
    }
    switch (c->state) {
    case CONN_RESOLVING:
        *handle = resolve_handle(c->resolver);
        *events = TLS_WANT_READ;
        return 1;
    case CONN_CONNECTING: {
        tls_socket newest = race_handle(&c->race);
        if (newest == TLS_NO_SOCKET) {
            *events = TLS_POLL_NOW;   /* nothing started yet: drive it */
            return 1;
        }
        *handle = (int64_t)newest;
        *events = TLS_WANT_WRITE;
        return 1;
    }
    case CONN_HANDSHAKING:
        /* While a proxy tunnel is being made, its socket decides (the trust
         * job is looked at only once the tunnel is up: proxy hook). */
        if ((c->trust_job || c->engine_job) && !proxy_pending(c)) {
            *handle = resolve_handle(c->trust_job ? c->trust_job : c->engine_job);
            *events = TLS_WANT_READ;
            return 1;
        }
        *handle = (int64_t)c->sock;
        *events = c->setup_wants ? c->setup_wants : TLS_POLL_NOW;
        proxy_inner_poll(c, handle, events);   /* proxy hook */
        return 1;
    case CONN_OPEN:
        *handle = (int64_t)c->sock;
        if (want & TLS_WANT_READ)
            *events |= (c->peer_finished || tls_engine->has_buffered_input(c)) ? TLS_POLL_NOW
                                                                            : c->read_wants;
        if (want & TLS_WANT_WRITE)
            *events |= c->write_shut ? TLS_POLL_NOW : c->write_wants;
        proxy_inner_poll(c, handle, events);   /* proxy hook */
        return 1;
    case CONN_CLOSED:
        *events = TLS_POLL_NOW;   /* the next call reports TLS_CLOSED */
        return 1;
    case CONN_STARTING:           /* answered above */
    case CONN_FAILED:
    default:
        return 0;
    }
}

/* tls_pollhandle accepts 0 (nothing to do after set-up); tls_wait needs a direction. */
static int valid_want(int want, int allow_none)
{
    return (want > 0 || (allow_none && want == 0)) && (want & ~(TLS_WANT_READ | TLS_WANT_WRITE)) == 0;
}

TLS_API int tls_pollhandle(tls_conn *c, int want, int64_t *handle, int *events,
                           const char **err, const char **errmsg)
{
    if (!c || !handle || !events)
        return fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_pollhandle: %s is NULL",
                               !c ? "tls" : !handle ? "handle" : "events");
    *handle = -1;
    *events = 0;
    if (!valid_want(want, 1))
        return fail_call(c, err, errmsg, TLS_INVALID_ARGUMENT,
                         "tls_pollhandle: want must be 0, TLS_WANT_READ and/or TLS_WANT_WRITE, not %d", want);
    if (c->state != CONN_CLOSED && c->state != CONN_FAILED)
        start_setup(c);
    if (!poll_target(c, want, handle, events))
        return report_failure(c, err, errmsg);
    return 1;
}

/* 1 while the handle tls_pollhandle gives is a worker job's (start-up, name
 * resolution, the system proxy lookup, trust loading, an engine's job): the
 * same order as poll_target. */
static int waits_on_job(tls_conn *c)
{
    if (c->state == CONN_STARTING)
        return 1;
    if (c->state == CONN_CLOSED || c->state == CONN_FAILED)
        return 0;
    if (tls_engine && tls_engine->transport_poll)
        return 0;
    if (proxy_lookup_handle(c) >= 0 || c->state == CONN_RESOLVING)
        return 1;
    return c->state == CONN_HANDSHAKING && (c->trust_job || c->engine_job) && !proxy_pending(c);
}

TLS_API int tls_polltimeout(tls_conn *c)
{
    /* A job's wake-up can be lost on some platforms (resolve.h): look again. */
    if (c && waits_on_job(c))
        return resolve_recheck_ms();
    if (c && c->state == CONN_HANDSHAKING && proxy_inner(c))
        return proxy_inner_polltimeout(c);   /* proxy hook: the proxy's own race */
    if (!c || c->state != CONN_CONNECTING)
        return -1;
    if (tls_engine->transport_connect || proxy_lookup_handle(c) >= 0)
        return -1;
    return race_timeout_ms(&c->race, race_now_ms());
}

TLS_API int tls_wait(tls_conn *c, int want, int timeout_ms, const char **err, const char **errmsg)
{
    if (!c)
        return fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_wait: tls is NULL");
    if (!valid_want(want, 0))
        return fail_call(c, err, errmsg, TLS_INVALID_ARGUMENT,
                         "tls_wait: want must be TLS_WANT_READ and/or TLS_WANT_WRITE, not %d", want);
    switch (drive_setup(c)) {
    case SETUP_FAILED:
        return report_failure(c, err, errmsg);
    case SETUP_CLOSED:
        return fail_closed(c, err, errmsg);
    default:
        break;
    }
    int64_t handle;
    int events;
    if (!poll_target(c, want, &handle, &events))
        return report_failure(c, err, errmsg);
    if ((events & TLS_POLL_NOW) || events == 0 || handle < 0)
        return 1;
    /* The set-up's own timer (the next address to try) may end the wait first. */
    int timer = tls_polltimeout(c);
    int wait_ms = timer >= 0 && (timeout_ms < 0 || timer < timeout_ms) ? timer : timeout_ms;
    int os_error = 0;
    int rc = sock_wait(handle, events, wait_ms, &os_error);
    if (rc > 0 || (rc == 0 && wait_ms != timeout_ms))
        return 1;
    if (rc == 0)
        return fail_call(c, err, errmsg, TLS_TIMEOUT, "no progress on the connection to %s within %d ms",
                         c->host, timeout_ms);
    char text[128];
    sock_error_text(os_error, text, sizeof text);
    return fail_call(c, err, errmsg, TLS_INTERNAL_ERROR, "waiting for the connection to %s failed: %s",
                     c->host, text);
}

/* ------------------------------------------------------- close and free */

TLS_API int tls_close(tls_conn *c, const char **err, const char **errmsg)
{
    if (!c)
        return fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_close: tls is NULL");
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

/* --------------------------------------------------------------- options */

TLS_API int tls_set_option(tls_conn *c, const char *key, const char *value,
                           const char **err, const char **errmsg)
{
    if (!c)
        return fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_set_option: tls is NULL");
    if (c->state == CONN_CLOSED)
        return fail_call(c, err, errmsg, TLS_INVALID_ARGUMENT,
                         "option %.100s cannot be set: the connection is closed", key ? key : "");
    enum option_kind kind;
    int nodelay = c->opts.nodelay, keepalive = c->opts.keepalive_seconds;
    char why[TLS_MSG_MAX];
    const char *code = options_set(&c->opts, key, value, c->setup_started, &kind, why, sizeof why);
    if (code)
        return fail_call(c, err, errmsg, code, "%s", why);
    if (kind == OPTION_SOCKET && c->setup_started && tls_engine->fixed_socket_options &&
        (nodelay != c->opts.nodelay || keepalive != c->opts.keepalive_seconds)) {
        c->opts.nodelay = nodelay;
        c->opts.keepalive_seconds = keepalive;
        return fail_call(c, err, errmsg, TLS_INVALID_ARGUMENT,
                         "option %s cannot be changed once the connection has started: the %s engine "
                         "fixes TCP options when it creates the connection (set it before the first call "
                         "that drives the connection)", key, tls_engine->name);
    }
    if (kind == OPTION_SOCKET && c->sock != TLS_NO_SOCKET) {
        int os_error = 0;
        int ok = key[0] == 'n' ? sock_set_nodelay(c->sock, c->opts.nodelay, &os_error)
                               : sock_set_keepalive(c->sock, c->opts.keepalive_seconds, &os_error);
        if (!ok) {
            char text[128];
            sock_error_text(os_error, text, sizeof text);
            return fail_call(c, err, errmsg, TLS_INVALID_ARGUMENT, "option %s could not be applied: %s",
                             key, text);
        }
    }
    return 1;
}

/* ------------------------------------------------------------------ info */

static const char *state_name(conn_state s)
{
    switch (s) {
    case CONN_STARTING: return "starting";
    case CONN_RESOLVING: return "resolving";
    case CONN_CONNECTING: return "connecting";
    case CONN_HANDSHAKING: return "handshaking";
    case CONN_OPEN: return "open";
    case CONN_CLOSED: return "closed";
    case CONN_FAILED: return "failed";
    }
    return "";
}

static int library_info(const char *key, const char **value, const char **err, const char **errmsg)
{
    if (strcmp(key, "api_version") != 0 && strcmp(key, "handles") != 0)
        RUN_INIT_ONCE();   /* the other keys describe the engine, so choose it */
    if (strcmp(key, "api_version") == 0) {
        snprintf(thread_info, sizeof thread_info, "%d", TLS_CLIENT_API_VERSION);
        *value = thread_info;
    } else if (strcmp(key, "handles") == 0) {
        snprintf(thread_info, sizeof thread_info, "%ld", atomic_load(&live_connections));
        *value = thread_info;
    } else if (!engine_library_info(key, thread_info, sizeof thread_info, value)) {
        return fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "unknown info key \"%.100s\"", key);
    }
    return 1;
}

static void port_text(strbuf *sb, int port)
{
    if (port > 0)
        strbuf_printf(sb, "%d", port);
}

int conn_info_is_backend_key(const char *key)
{
    static const char *const keys[] = { "protocol", "cipher", "alpn", "peer_cert", "peer_chain",
                                        "trust_anchor", "session_reused" };
    for (size_t i = 0; i < TLS_ARRAY_LEN(keys); i++)
        if (strcmp(key, keys[i]) == 0)
            return 1;
    return 0;
}

/* tls_info "summary": the values a host reads after every handshake, in one
 * call (through an FFI each call costs microseconds; a connection made nine). */
static int info_summary(tls_conn *c, const char **value, const char **err, const char **errmsg)
{
    /* alpn last: the one value whose bytes come from the caller's list. */
    static const char *const keys[] = { "verify_result", "protocol", "session_reused", "cipher",
                                        "remote_address", "remote_port", "local_address", "local_port",
                                        "alpn" };
    strbuf all = { 0 };
    for (size_t i = 0; i < TLS_ARRAY_LEN(keys); i++) {
        const char *v;
        if (!tls_info(c, keys[i], &v, err, errmsg)) {
            strbuf_free(&all);
            return 0;
        }
        strbuf_puts(&all, v);
        if (i + 1 < TLS_ARRAY_LEN(keys))
            strbuf_puts(&all, "\n");
    }
    strbuf_reset(&c->info);
    strbuf_append(&c->info, all.data ? all.data : "", all.len);
    int failed = all.failed || c->info.failed;
    strbuf_free(&all);
    if (failed)
        return fail_call(c, err, errmsg, TLS_OUT_OF_MEMORY, "out of memory building info summary");
    *value = strbuf_text(&c->info);
    return 1;
}

TLS_API int tls_info(tls_conn *c, const char *key, const char **value,
                     const char **err, const char **errmsg)
{
    if (!key || !value) {
        const char *what = !key ? "key" : "value";
        if (c)
            return fail_call(c, err, errmsg, TLS_INVALID_ARGUMENT, "tls_info: %s is NULL", what);
        return fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_info: %s is NULL", what);
    }
    if (!c)
        return library_info(key, value, err, errmsg);
    if (strcmp(key, "summary") == 0)
        return info_summary(c, value, err, errmsg);

    strbuf *sb = &c->info;
    strbuf_reset(sb);
    strbuf_append(sb, "", 0);
    if (strcmp(key, "state") == 0)
        strbuf_puts(sb, state_name(c->state));
    else if (strcmp(key, "verify_result") == 0) {
        if (c->verify_code >= 0)
            strbuf_puts(sb, verify_result_name(c->verify_code));
    } else if (strcmp(key, "verify_message") == 0)
        strbuf_puts(sb, conn_verify_message(c));
    else if (strcmp(key, "os_error") == 0)
        strbuf_puts(sb, c->os_error);
    else if (strcmp(key, "remote_address") == 0)
        strbuf_puts(sb, c->remote_address);
    else if (strcmp(key, "remote_port") == 0)
        port_text(sb, c->remote_port);
    else if (strcmp(key, "local_address") == 0)
        strbuf_puts(sb, c->local_address);
    else if (strcmp(key, "local_port") == 0)
        port_text(sb, c->local_port);
    else if (strcmp(key, "proxy_source") == 0)
        strbuf_puts(sb, c->proxy_source);
    else if (strcmp(key, "proxy_reason") == 0)
        strbuf_puts(sb, c->proxy_reason ? c->proxy_reason : "");
    else if (strcmp(key, "proxy_url") == 0)
        strbuf_puts(sb, proxy_os_url(c));
    else if (!c->session) {
        if (!conn_info_is_backend_key(key))
            return fail_call(c, err, errmsg, TLS_INVALID_ARGUMENT, "unknown info key \"%.100s\"", key);
    } else if (!tls_engine->conn_info(c, key, sb) && !conn_info_is_backend_key(key)) {
        /* A listed key an engine does not answer (a feature it lacks, such
         * as session_reused on an engine that never resumes) is "". */
        return fail_call(c, err, errmsg, TLS_INVALID_ARGUMENT, "unknown info key \"%.100s\"", key);
    }

    if (sb->failed)
        return fail_call(c, err, errmsg, TLS_OUT_OF_MEMORY, "out of memory building info %s", key);
    *value = strbuf_text(sb);
    return 1;
}

/* ------------------------------------------------ hot path for FFI hosts */

/* Thin wrappers over tls_read / tls_write / tls_pollhandle with no
 * out-parameters (see c/tls_client.h). On -1 the host repeats the full call,
 * which reports the same condition with its code and message. */

TLS_API int64_t tls_read_fast(tls_conn *c, void *buf, size_t len, int32_t *waitfor)
{
    size_t n = 0;
    if (waitfor)
        *waitfor = 0;
    if (!tls_read(c, buf, len, &n, NULL, NULL))
        return -1;
    /* tls_read stops short of len only when the engine cannot go on without
     * waiting, at the end of the stream, or after a failure; only the first
     * means "wait before calling again". */
    if (waitfor && n < len && !c->peer_finished && c->state != CONN_FAILED &&
        c->state != CONN_CLOSED) {
        int ev = c->state == CONN_OPEN ? c->read_wants : TLS_WANT_READ | TLS_WANT_WRITE;
        if (c->state == CONN_OPEN && proxy_inner(c)) {
            /* proxy hook: through an https:// proxy the host watches the inner
             * connection's handle, so the wait is what that connection needs
             * (its TLS may have to write before c can read: tls_pollevents
             * says the same); "call again now" is no wait at all. */
            int64_t h = (int64_t)c->sock;
            proxy_inner_poll(c, &h, &ev);
            if (ev & TLS_POLL_NOW)
                ev = 0;
        }
        *waitfor = ev;
    }
    return (int64_t)n;
}

TLS_API int64_t tls_write_fast(tls_conn *c, const void *buf, size_t len)
{
    size_t n = 0;
    if (!tls_write(c, buf, len, &n, NULL, NULL))
        return -1;
    return (int64_t)n;
}

TLS_API int tls_pollevents(tls_conn *c, int want)
{
    int64_t handle;
    int events;
    if (!tls_pollhandle(c, want, &handle, &events, NULL, NULL))
        return -1;
    return events;
}
