/*
 * resolve.h — name resolution that never blocks the caller.
 *
 * Address literals resolve at once. Names are looked up by getaddrinfo on a
 * detached thread that signals completion through a pipe, whose read end is
 * the handle the host waits on meanwhile. The job is shared by the thread and
 * the connection and freed by whichever lets go last, so a connection can be
 * freed while its lookup is still running.
 */
#ifndef OSTLS_RESOLVE_H
#define OSTLS_RESOLVE_H

#include <stdint.h>
#include "sock.h"

typedef struct resolve_job resolve_job;

/* 1 and *out set when host is an address literal; 0 when it is a name.
 * -1 when the literal could not be converted (*gai_error). */
int resolve_numeric(const char *host, int port, struct addrinfo **out, int *gai_error);

/* Start a background lookup. 0 on failure with *os_error set. */
int resolve_start(const char *host, int port, resolve_job **out, int *os_error);

/* Run work(arg) on the same kind of background thread, for other work that
 * may block (loading a trust store): the job's handle and resolve_finished
 * then say when it has returned (with no addresses). work must not touch
 * anything the connection may free meanwhile; arg is work's to free. 0 on
 * failure with *os_error set (work has not run and arg is still the caller's). */
int resolve_start_work(void (*work)(void *), void *arg, resolve_job **out, int *os_error);

/* The handle that becomes readable when the lookup has finished. */
int64_t resolve_handle(const resolve_job *job);

/* 1 once the lookup has finished; then *result (caller frees with
 * freeaddrinfo) or *gai_error / *os_error (for EAI_SYSTEM) are filled. */
int resolve_finished(resolve_job *job, struct addrinfo **result, int *gai_error, int *os_error);

/* How often (ms) a host waiting on a job's handle must look again even if
 * the handle never became readable: -1 when the handle cannot miss (POSIX:
 * the worker closes the pipe's write end); on Windows the wake datagram's
 * send can fail for good (resolve_win.c), and then only this re-check ends
 * the wait. */
int resolve_recheck_ms(void);

/* Drop the connection's interest; safe while the lookup is running. */
void resolve_release(resolve_job *job);

/* "ENOTFOUND", "EAI_AGAIN", ... as Node names them. */
const char *resolve_error_name(int gai_error);
const char *resolve_error_text(int gai_error);

#endif
