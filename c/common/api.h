/*
 * api.h — what the files behind the tls_* entry points share (not for
 * engines): tls_client.c (the calls on a connection), lifecycle.c (start-up,
 * tls_connect, set-up, close and free) and conn_fail.c (failures).
 */
#ifndef OSTLS_API_H
#define OSTLS_API_H

#include "../tls_client.h"
#include "conn.h"
#include "engine.h"

/* ---- conn_fail.c: a call's (code, message) result; each returns 0. */

/* Sets *err and *errmsg (either may be NULL). */
int api_set_out(const char *code, const char *msg, const char **err, const char **errmsg);
/* For calls without a connection: the message is valid until this thread's next such call. */
int api_fail_threadwide(const char **err, const char **errmsg, const char *code,
                        const char *fmt, ...) TLS_PRINTF(4, 5);
/* A failure of this call only (bad argument, timeout, stream closed); the connection goes on. */
int api_fail_call(tls_conn *c, const char **err, const char **errmsg, const char *code,
                  const char *fmt, ...) TLS_PRINTF(5, 6);
/* The connection's sticky failure (conn_fail). */
int api_report_failure(tls_conn *c, const char **err, const char **errmsg);
/* TLS_CLOSED: tls_close ended it. */
int api_fail_closed(tls_conn *c, const char **err, const char **errmsg);

/* ---- lifecycle.c */

typedef enum { SETUP_DONE, SETUP_WAIT, SETUP_FAILED, SETUP_CLOSED } setup_status;

/* Options become final: the engine session is made (or its trust material
 * starts loading on the worker). 1, or 0 after conn_fail. */
int start_setup(tls_conn *c);
/* Advances set-up as far as it can without waiting. */
setup_status drive_setup(tls_conn *c);
/* The driving calls' prologue: 1 = open, go on; 0 = return now with *ret
 * (a failure, or success with "nothing yet"). */
int drive(tls_conn *c, const char **err, const char **errmsg, int *ret);
/* TLS_WANT_READ or TLS_WANT_WRITE for an engine's STEP_WANT_*. */
int want_from_step(step_result step);
/* Runs the start-up (chooses the engine) here if it has not run yet. */
void startup_run(void);
/* Connections made and not yet freed (tls_info "handles"). */
long conn_live_count(void);

#endif
