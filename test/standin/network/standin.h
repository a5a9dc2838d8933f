/*
 * standin.h — the script side of ostls's Network.framework stand-in
 * (fake.c): a test drives the fake nw_connection that network.c made the way
 * Network.framework would, event by event, on the connection's own queue.
 * Every sc_* call runs on that queue and returns once it (and anything it
 * posted there) has run, so a script is deterministic.
 */
#ifndef OSTLS_STANDIN_H
#define OSTLS_STANDIN_H
#include <Network/Network.h>
#include <stddef.h>

/* The connection network.c created last (NULL before). */
nw_connection_t sc_last_connection(void);
/* What network.c configured on it. */
const char *sc_server_name(nw_connection_t c);   /* NULL when none was set */
int sc_nodelay(nw_connection_t c);
int sc_keepalive_idle(nw_connection_t c);        /* 0 when keep-alive is off */
/* The sends in order: "S<bytes>" per data send, "F" for the final one, "C" for
 * nw_connection_cancel, "X" for nw_connection_force_cancel. */
const char *sc_log(nw_connection_t c);
size_t sc_sends_pending(nw_connection_t c);      /* completions not yet delivered */
int sc_receives_pending(nw_connection_t c);

/* Run the state handler. domain 0: no error. */
void sc_state(nw_connection_t c, nw_connection_state_t state, int domain, int code);
/* Run the verify block with a chain of ncerts certificates as the server sent
 * them; the OS evaluation then answers ok, or fails with status. Returns what
 * the block answered Network.framework (1 accept, 0 reject, -1 not yet). */
int sc_verify(nw_connection_t c, int ncerts, int ok, int status);
/* Complete the oldest pending receive: data (may be NULL), is_complete, error. */
void sc_receive(nw_connection_t c, const void *data, size_t len, int is_complete, int domain, int code);
/* Deliver the completions of the oldest n pending sends (error domain/code or 0). */
void sc_complete_sends(nw_connection_t c, size_t n, int domain, int code);
/* Sends complete at once (1, the default) or wait for sc_complete_sends (0). */
void sc_auto_complete(nw_connection_t c, int on);

/* A server trust as an OS library hands it over: ncerts certificates as the
 * server sent them, evaluating to ok or failing with status. */
SecTrustRef sc_trust_new(int ncerts, int ok, int status);

/* Counters over the whole process. */
extern int sc_hidden_evaluations;   /* certificates read from a trust before its evaluation */
extern int sc_evaluations;          /* SecTrustEvaluate*WithError calls */
extern int sc_async_off_queue;      /* SecTrustEvaluateAsyncWithError called off its queue */
int sc_live_connections(void);      /* fake nw_connection objects not yet released */
int sc_live_queues(void);
#endif
