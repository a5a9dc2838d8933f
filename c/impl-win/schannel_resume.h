/*
 * schannel_resume.h — session resumption for the Schannel engine (issue 16).
 *
 * Schannel keeps its own client session cache, per credential handle and
 * target name. ostls acquired a fresh credential for every connection, so
 * nothing was ever resumed. Now the credential is shared per session key
 * (session_cache.h: every trust-deciding option), through c/common's cache:
 * a session made under one key is never offered under another, however
 * Schannel matches target names. Verification still runs on every
 * connection, resumed or not (manual validation of the certificate Schannel
 * keeps with the session).
 */
#ifndef OSTLS_SCHANNEL_RESUME_H
#define OSTLS_SCHANNEL_RESUME_H

#define SECURITY_WIN32
#include "../common/session_cache.h"

#include <windows.h>
#include <sspi.h>

typedef struct sch_cred sch_cred;   /* a shared, reference-counted credential handle */

/* The credential cached under c's key (session_key_prepare has run): 1 with
 * *cred (the handle), *tls13 (it allows TLS 1.3) and *ref (the reference to
 * release) set; else 0. */
int sch_cred_lookup(tls_conn *c, CredHandle *cred, int *tls13, sch_cred **ref);

/* Wraps a credential just acquired; NULL when out of memory (the caller then
 * keeps and frees the handle itself). */
sch_cred *sch_cred_wrap(const CredHandle *cred, int tls13);

/* Drops a reference; the handle is freed with the last one. */
void sch_cred_release(sch_cred *ref);

/* After a handshake that verified (or did not ask to): c's credential goes
 * into the cache under c's key, so the next connection resumes through it. */
void sch_cred_store(tls_conn *c, sch_cred *ref);

/* Did this handshake resume a cached session (SSL_SESSION_RECONNECT)? */
int sch_session_reused(CtxtHandle *ctx);

#endif
