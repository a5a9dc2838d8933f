/*
 * schannel_verify.h — the Schannel engine's certificate verification
 * (schannel_verify.c), called from the record layer (schannel.c).
 */
#ifndef OSTLS_SCHANNEL_VERIFY_H
#define OSTLS_SCHANNEL_VERIFY_H

#include "../common/conn.h"

#include <windows.h>
#include <wincrypt.h>

/* The system's words for a Win32 / SSPI / crypt32 status. */
void sch_status_text(DWORD code, char *buf, size_t cap);

/* The `ca` option's certificates into a new memory store (*store; the caller
 * closes it, also after a failure). 1, or 0 after conn_fail. */
int sch_load_anchors(tls_conn *c, HCERTSTORE *store);

/* Fetches by the chain engine (AIA, automatic root update) may take this
 * long each, on the worker, when the result decides the connection. */
#define SCH_URL_TIMEOUT_MS 15000

/* One verification: the inputs (owned copies) and the result. */
struct sch_verify_request {
    PCCERT_CONTEXT leaf;      /* with the certificates the server sent, in its store */
    HCERTSTORE ca_store;      /* the ca option's anchors, or NULL */
    wchar_t *target;          /* the server name, NULL for an IP literal */
    char *peer_name;
    int peer_name_is_ip;
    int network;              /* the chain engine may fetch what it lacks */
    int revocation;           /* enum tls_revocation */
    long code;                /* verify.h */
    char message[256];
    PCCERT_CONTEXT anchor;    /* when verified: the root the chain ended at (tls_info trust_anchor) */
};

typedef struct sch_verify_job sch_verify_job;

/* Starts verifying `leaf` for c->peer_name, trusting the OS stores plus
 * `ca_store` (may be NULL), on a worker thread: the chain engine may read
 * files, the registry and (when c->opts.verify_peer) the network, which must
 * not happen on the host's thread. *job and c->engine_job are set while it
 * runs; when no worker can start, it verifies at once (local data only) and
 * records the result, *job NULL. *anchor: as sch_verify_collect. 0 after
 * conn_fail. */
int sch_verify_start(tls_conn *c, PCCERT_CONTEXT leaf, HCERTSTORE ca_store, const wchar_t *target,
                     sch_verify_job **job, PCCERT_CONTEXT *anchor);

/* 1 when there is no job, or it has finished: its result is recorded
 * (conn_set_verify_result), the job released, c->engine_job cleared. 0 while
 * it runs (the host waits on c->engine_job's handle). When the chain
 * verified, *anchor becomes the root it ended at (the old one freed; the
 * caller frees it). */
int sch_verify_collect(tls_conn *c, sch_verify_job **job, PCCERT_CONTEXT *anchor);

/* Lets go of a job that may still run (the worker frees it when it ends). */
void sch_verify_drop(tls_conn *c, sch_verify_job **job);

#endif
