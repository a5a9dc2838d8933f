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

/* *anchor: when the chain verifies, the root it ended at (a duplicate the
 * caller frees), else left alone. */
/* Verifies `leaf` (with the certificates the server sent, in its store) for
 * c->peer_name, trusting the OS stores plus `ca_store` (may be NULL); the
 * result goes to conn_set_verify_result. `target` is the server name, NULL
 * for an IP literal. */
void sch_verify_chain(tls_conn *c, PCCERT_CONTEXT leaf, HCERTSTORE ca_store, const wchar_t *target,
                      PCCERT_CONTEXT *anchor);

#endif
