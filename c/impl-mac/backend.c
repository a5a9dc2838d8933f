/*
 * backend.c — the backend_* symbols c/common calls, forwarded to the engine
 * chosen once per process (see mac.h): Network.framework when it is there,
 * else SecureTransport; OSTLS_MAC_BACKEND=network|securetransport forces one.
 */
#include "mac.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct mac_engine *engine;
static char selection_note[256];
static const char *selection_error;   /* a bad OSTLS_MAC_BACKEND value */

/* Network.framework is weak-linked: on a system without it (or without the
 * sec_protocol TLS-version setters, macOS 10.15) these resolve to NULL. */
static int network_available(void)
{
    return dlsym(RTLD_DEFAULT, "nw_connection_create") != NULL &&
           dlsym(RTLD_DEFAULT, "sec_protocol_options_set_min_tls_protocol_version") != NULL;
}

static void select_engine(void)
{
    const char *forced = getenv("OSTLS_MAC_BACKEND");
    if (forced && *forced) {
        if (strcmp(forced, "network") == 0) {
            engine = &mac_network_engine;
            snprintf(selection_note, sizeof selection_note, "network (forced by OSTLS_MAC_BACKEND)%s",
                     network_available() ? "" : ": Network.framework is not available here");
            if (!network_available())
                selection_error = "OSTLS_MAC_BACKEND=network, but Network.framework (macOS 10.15 or newer) is not available";
            return;
        }
        engine = &mac_securetransport_engine;
        if (strcmp(forced, "securetransport") == 0) {
            snprintf(selection_note, sizeof selection_note,
                     "securetransport (forced by OSTLS_MAC_BACKEND)");
        } else {
            snprintf(selection_note, sizeof selection_note, "OSTLS_MAC_BACKEND=%.64s", forced);
            selection_error = "OSTLS_MAC_BACKEND must be \"network\" or \"securetransport\"";
        }
        return;
    }
    if (network_available()) {
        engine = &mac_network_engine;
        snprintf(selection_note, sizeof selection_note, "network (Network.framework)");
    } else {
        engine = &mac_securetransport_engine;
        snprintf(selection_note, sizeof selection_note,
                 "network (Network.framework not available); securetransport");
    }
}

static pthread_once_t select_guard = PTHREAD_ONCE_INIT;

static const struct mac_engine *current(void)
{
    pthread_once(&select_guard, select_engine);
    return engine;
}

const char *mac_selection_note(void)
{
    current();
    return selection_note;
}

const char *backend_runtime_name(void)
{
    return current()->name;
}

const char *backend_global_init(char *msg, size_t msgcap)
{
    const struct mac_engine *e = current();
    if (selection_error) {
        snprintf(msg, msgcap, "%s", selection_error);
        return TLS_LIBRARY_NOT_FOUND;
    }
    return e->global_init(msg, msgcap);
}

int backend_library_info(const char *key, char *buf, size_t bufcap, const char **value)
{
    return current()->library_info(key, buf, bufcap, value);
}

int backend_session_new(tls_conn *c) { return engine->session_new(c); }
void backend_session_free(tls_conn *c) { engine->session_free(c); }
step_result backend_handshake(tls_conn *c) { return engine->handshake(c); }
step_result backend_read(tls_conn *c, void *buf, size_t len, size_t *n) { return engine->read(c, buf, len, n); }
step_result backend_write(tls_conn *c, const void *buf, size_t len, size_t *n) { return engine->write(c, buf, len, n); }
step_result backend_peek(tls_conn *c) { return engine->peek(c); }
size_t backend_pending(tls_conn *c) { return engine->pending(c); }
int backend_has_buffered_input(tls_conn *c) { return engine->has_buffered_input(c); }
step_result backend_shutdown(tls_conn *c) { return engine->shutdown(c); }
void backend_close_notify(tls_conn *c) { engine->close_notify(c); }
int backend_conn_info(tls_conn *c, const char *key, strbuf *out) { return engine->conn_info(c, key, out); }

/* tls_connect runs tls_init first, so the engine is chosen before any
 * connection exists and these are only asked with it set. */
int backend_owns_transport(void) { return current()->owns_transport; }
int backend_transport_connect(tls_conn *c) { return engine->transport_connect(c); }
int backend_transport_poll(tls_conn *c, int want, int64_t *handle, int *events)
{
    return engine->transport_poll(c, want, handle, events);
}
void backend_transport_close(tls_conn *c) { engine->transport_close(c); }
