/*
 * s2n_resume.h — the s2n engine's session resumption through c/common's
 * cache (session_cache.h), keyed as every engine's. s2n serializes a client
 * session (TLS 1.2 ticket, TLS 1.3 PSK ticket) into bytes: the cache keeps
 * them with the certificate chain of the connection that made them, since
 * s2n has no peer certificate on a resumed connection.
 *
 * The engine's configs are shared by every connection, so tickets are
 * switched on there once (s2n_resume_config) and the ticket callback finds
 * its connection through s2n_connection_get_ctx.
 */
#ifndef OSTLS_S2N_RESUME_H
#define OSTLS_S2N_RESUME_H

#include "../common/conn.h"
#include "../common/strbuf.h"
#include "s2n_api.h"

struct s2n_cached;

/* Per connection (inside the engine's session; zeroed at creation). */
struct s2n_resume {
    const struct s2n_api *api;
    tls_conn *c;
    struct s2n_cached *offered;   /* the cached session offered, held until the end */
    int handshake_done;
    int resumed;                  /* the server resumed it */
    long offered_verify_code;     /* the verify result it was stored with */
    char *offered_verify_message; /* session_cache_get's copy */
    unsigned char *chain;         /* the peer's chain (DER, leaf first) sessions are stored with */
    size_t chain_len;
    unsigned char *pending;       /* a TLS 1.2 ticket received inside the handshake */
    size_t pending_len;
    long pending_life;
};

/* On each new config: tickets on, and the callback that caches them. */
void s2n_resume_config(const struct s2n_api *api, struct s2n_config *cfg);

/* After the connection's set-up, before the handshake: offers the session
 * cached under c's key (when its certificate is still valid). */
void s2n_resume_offer(const struct s2n_api *api, tls_conn *c, struct s2n_connection *sc,
                      struct s2n_resume *r);

/* Right after the handshake: 1 when it resumed (c's verify result is then
 * the session's), 0 when the engine verifies as usual. */
int s2n_resume_reused(struct s2n_connection *sc, struct s2n_resume *r);

/* Once a full handshake's verify result is recorded (not called when it
 * failed): keeps the chain and caches a ticket that came inside it. */
void s2n_resume_verified(struct s2n_connection *sc, struct s2n_resume *r);

/* The peer chain a resumed connection reports (DER, leaf first): 1 with
 * *der / *len, 0 when not resumed. */
int s2n_resume_chain(const struct s2n_resume *r, const unsigned char **der, size_t *len);

/* The peer's chain as s2n holds it, as concatenated DER (leaf first). */
void s2n_peer_chain_der(const struct s2n_api *api, struct s2n_connection *sc, strbuf *out);

void s2n_resume_free(struct s2n_resume *r);

#endif
