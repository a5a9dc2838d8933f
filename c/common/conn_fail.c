/*
 * conn_fail.c — how failures are recorded and reported: a connection's
 * sticky failure (conn_fail*, which engines call), its verify result, and the
 * (code, message) pair every tls_* call hands back (api.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "api.h"
#include "verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* For calls without a connection: valid until this thread's next such call. */
static TLS_THREAD_LOCAL char thread_msg[TLS_MSG_MAX];

int api_set_out(const char *code, const char *msg, const char **err, const char **errmsg)
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

int api_fail_threadwide(const char **err, const char **errmsg, const char *code,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(thread_msg, sizeof thread_msg, fmt, ap);
    va_end(ap);
    return api_set_out(code, thread_msg, err, errmsg);
}

int api_fail_call(tls_conn *c, const char **err, const char **errmsg, const char *code,
                  const char *fmt, ...)
{
    char *msg = conn_text_buffer(&c->call_msg, TLS_MSG_MAX);
    if (!msg)
        return api_set_out(code, no_memory_for_message, err, errmsg);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, TLS_MSG_MAX, fmt, ap);
    va_end(ap);
    return api_set_out(code, msg, err, errmsg);
}

int api_report_failure(tls_conn *c, const char **err, const char **errmsg)
{
    return api_set_out(c->fail_code, c->fail_msg ? c->fail_msg : no_memory_for_message, err, errmsg);
}

int api_fail_closed(tls_conn *c, const char **err, const char **errmsg)
{
    return api_fail_call(c, err, errmsg, TLS_CLOSED, "the connection to %s was closed by tls_close",
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
