/*
 * tls_client.c — the tls_* calls on a connection: reading, writing and
 * shutting down, readiness (tls_pollhandle, tls_wait), options, tls_info and
 * the FFI hot path. Each call that "drives" the connection first runs
 * drive_setup (lifecycle.c: start-up, tls_connect, the set-up state machine,
 * close and free), which advances as far as it can without waiting; failures
 * are recorded and reported by conn_fail.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "api.h"
#include "proxy.h"
#include "verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* For tls_info without a connection: valid until this thread's next such call. */
static TLS_THREAD_LOCAL char thread_info[4096];

/* Largest single engine call; keeps int-based engine APIs (SSL_read/write) safe. */
#define ENGINE_CHUNK_MAX ((size_t)1 << 30)

/* -------------------------------------------------------- driving calls */

TLS_API int tls_handshake(tls_conn *c, int *done, const char **err, const char **errmsg)
{
    if (!c || !done)
        return api_fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_handshake: %s is NULL",
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
        return api_fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_isopen: %s is NULL",
                                   c ? "isopen" : "tls");
    *isopen = 0;
    switch (drive_setup(c)) {
    case SETUP_CLOSED:
        return 1;
    case SETUP_FAILED:
        return api_report_failure(c, err, errmsg);
    case SETUP_WAIT:
        *isopen = 1;
        return 1;
    case SETUP_DONE:
        break;
    }
    if (!notice_peer_end(c))
        return api_report_failure(c, err, errmsg);
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
        return api_fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_read: %s is NULL",
                                   !c ? "tls" : !nread ? "nread" : "buf");
    *nread = 0;
    int ret;
    if (!drive(c, err, errmsg, &ret))
        return ret;
    if (c->peer_finished && tls_engine->pending(c) == 0)
        return api_fail_call(c, err, errmsg, TLS_CLOSED, "%s has finished sending (end of stream)",
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
        return api_report_failure(c, err, errmsg);
    if (step == STEP_EOF)
        return api_fail_call(c, err, errmsg, TLS_CLOSED, "%s has finished sending (end of stream)",
                             c->host);
    return 1;
}

TLS_API int tls_write(tls_conn *c, const void *buf, size_t len, size_t *written,
                      const char **err, const char **errmsg)
{
    if (!c || !written || (!buf && len))
        return api_fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_write: %s is NULL",
                                   !c ? "tls" : !written ? "written" : "buf");
    *written = 0;
    int ret;
    if (!drive(c, err, errmsg, &ret))
        return ret;
    if (c->write_shut)
        return api_fail_call(c, err, errmsg, TLS_CLOSED,
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
        return api_report_failure(c, err, errmsg);
    return 1;
}

TLS_API int tls_bytesavailable(tls_conn *c, size_t *n, const char **err, const char **errmsg)
{
    if (!c || !n)
        return api_fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_bytesavailable: %s is NULL",
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
        return api_report_failure(c, err, errmsg);
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
        return api_fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_shutdown: %s is NULL",
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
        return api_report_failure(c, err, errmsg);
    }
    int os_error = 0;
    /* An engine with its own transport ended the sending side in shutdown;
     * through an https:// proxy, its TLS connection ends (proxy hook). */
    if (proxy_inner(c)) {
        if (!proxy_inner_shutdown(c)) {
            conn_fail_socket(c, "while shutting down the TLS connection to the proxy");
            return api_report_failure(c, err, errmsg);
        }
    } else if (!tls_engine->transport_connect && !sock_shutdown_write(c->sock, &os_error)) {
        c->sock_error = os_error;
        conn_fail_socket(c, "while shutting down");
        return api_report_failure(c, err, errmsg);
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
        return api_fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_pollhandle: %s is NULL",
                                   !c ? "tls" : !handle ? "handle" : "events");
    *handle = -1;
    *events = 0;
    if (!valid_want(want, 1))
        return api_fail_call(c, err, errmsg, TLS_INVALID_ARGUMENT,
                             "tls_pollhandle: want must be 0, TLS_WANT_READ and/or TLS_WANT_WRITE, not %d", want);
    if (c->state != CONN_CLOSED && c->state != CONN_FAILED)
        start_setup(c);
    if (!poll_target(c, want, handle, events))
        return api_report_failure(c, err, errmsg);
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
        return api_fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_wait: tls is NULL");
    if (!valid_want(want, 0))
        return api_fail_call(c, err, errmsg, TLS_INVALID_ARGUMENT,
                             "tls_wait: want must be TLS_WANT_READ and/or TLS_WANT_WRITE, not %d", want);
    switch (drive_setup(c)) {
    case SETUP_FAILED:
        return api_report_failure(c, err, errmsg);
    case SETUP_CLOSED:
        return api_fail_closed(c, err, errmsg);
    default:
        break;
    }
    int64_t handle;
    int events;
    if (!poll_target(c, want, &handle, &events))
        return api_report_failure(c, err, errmsg);
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
        return api_fail_call(c, err, errmsg, TLS_TIMEOUT, "no progress on the connection to %s within %d ms",
                             c->host, timeout_ms);
    char text[128];
    sock_error_text(os_error, text, sizeof text);
    return api_fail_call(c, err, errmsg, TLS_INTERNAL_ERROR, "waiting for the connection to %s failed: %s",
                         c->host, text);
}

/* --------------------------------------------------------------- options */

TLS_API int tls_set_option(tls_conn *c, const char *key, const char *value,
                           const char **err, const char **errmsg)
{
    if (!c)
        return api_fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_set_option: tls is NULL");
    if (c->state == CONN_CLOSED)
        return api_fail_call(c, err, errmsg, TLS_INVALID_ARGUMENT,
                             "option %.100s cannot be set: the connection is closed", key ? key : "");
    enum option_kind kind;
    int nodelay = c->opts.nodelay, keepalive = c->opts.keepalive_seconds;
    char why[TLS_MSG_MAX];
    const char *code = options_set(&c->opts, key, value, c->setup_started, &kind, why, sizeof why);
    if (code)
        return api_fail_call(c, err, errmsg, code, "%s", why);
    if (kind == OPTION_SOCKET && c->setup_started && tls_engine->fixed_socket_options &&
        (nodelay != c->opts.nodelay || keepalive != c->opts.keepalive_seconds)) {
        c->opts.nodelay = nodelay;
        c->opts.keepalive_seconds = keepalive;
        return api_fail_call(c, err, errmsg, TLS_INVALID_ARGUMENT,
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
            return api_fail_call(c, err, errmsg, TLS_INVALID_ARGUMENT, "option %s could not be applied: %s",
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
        startup_run();   /* the other keys describe the engine, so choose it */
    if (strcmp(key, "api_version") == 0) {
        snprintf(thread_info, sizeof thread_info, "%d", TLS_CLIENT_API_VERSION);
        *value = thread_info;
    } else if (strcmp(key, "handles") == 0) {
        snprintf(thread_info, sizeof thread_info, "%ld", conn_live_count());
        *value = thread_info;
    } else if (!engine_library_info(key, thread_info, sizeof thread_info, value)) {
        return api_fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "unknown info key \"%.100s\"", key);
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
        return api_fail_call(c, err, errmsg, TLS_OUT_OF_MEMORY, "out of memory building info summary");
    *value = strbuf_text(&c->info);
    return 1;
}

TLS_API int tls_info(tls_conn *c, const char *key, const char **value,
                     const char **err, const char **errmsg)
{
    if (!key || !value) {
        const char *what = !key ? "key" : "value";
        if (c)
            return api_fail_call(c, err, errmsg, TLS_INVALID_ARGUMENT, "tls_info: %s is NULL", what);
        return api_fail_threadwide(err, errmsg, TLS_INVALID_ARGUMENT, "tls_info: %s is NULL", what);
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
            return api_fail_call(c, err, errmsg, TLS_INVALID_ARGUMENT, "unknown info key \"%.100s\"", key);
    } else if (!tls_engine->conn_info(c, key, sb) && !conn_info_is_backend_key(key)) {
        /* A listed key an engine does not answer (a feature it lacks, such
         * as session_reused on an engine that never resumes) is "". */
        return api_fail_call(c, err, errmsg, TLS_INVALID_ARGUMENT, "unknown info key \"%.100s\"", key);
    }

    if (sb->failed)
        return api_fail_call(c, err, errmsg, TLS_OUT_OF_MEMORY, "out of memory building info %s", key);
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
