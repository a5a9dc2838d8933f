/*
 * st_resume.h — session resumption for the SecureTransport engine (issue 16).
 *
 * SecureTransport resumes sessions cached under the peer ID given to
 * SSLSetPeerID. ostls gives it an ID made of the connection's session key
 * (session_cache.h: every trust-deciding option) and a per-process serial,
 * and keeps that ID in c/common's cache: a session made under one key is
 * never offered under another, and once ostls's entry is gone (evicted,
 * expired, cache off) the ID is new, so SecureTransport can never resume a
 * session ostls knows nothing about. A resumed handshake carries no
 * certificate, so the entry also keeps the chain and the verification result
 * of the connection that made the session, which the resumed one reports.
 */
#ifndef OSTLS_ST_RESUME_H
#define OSTLS_ST_RESUME_H

#include "../common/session_cache.h"

#include <Security/SecureTransport.h>

typedef struct st_peer st_peer;

/* Before the handshake: gives ctx the peer ID for c. Returns the entry to
 * keep for the connection (release with st_peer_release), or NULL when the
 * cache is off for c (no peer ID set: nothing is resumed or cached). *cached
 * is 1 when the ID came from the cache (its session may be resumed). */
st_peer *st_peer_begin(tls_conn *c, SSLContextRef ctx, int *cached);

/* After a full handshake that verified (or did not ask to): caches the ID
 * with the chain the server sent and c's verification result. */
void st_peer_store(tls_conn *c, const st_peer *peer, CFArrayRef chain);

/* After a resumed handshake: c's verification result and the chain (a new
 * reference, or NULL) are those of the connection that made the session. */
CFArrayRef st_peer_resumed(tls_conn *c, const st_peer *peer);

void st_peer_release(st_peer *peer);

#endif
