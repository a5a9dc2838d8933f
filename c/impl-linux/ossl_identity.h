/*
 * ossl_identity.h — the client certificate (options cert + key, or pfx, with
 * passphrase) put on an OpenSSL session.
 */
#ifndef OSTLS_OSSL_IDENTITY_H
#define OSTLS_OSSL_IDENTITY_H

#include "../common/conn.h"
#include "ossl_api.h"

/* Loads the identity c->opts names (if any) into ssl and drops it from the
 * options. 1 on success (or nothing to load); 0 after conn_fail with
 * TLS_INVALID_ARGUMENT naming the option (bad PEM or PKCS#12, wrong
 * passphrase, a key that does not belong to the certificate). Runs in
 * session_new, so a bad identity fails before any TCP connection is made. */
int ossl_identity_apply(tls_conn *c, SSL *ssl);

/* Notes, on every context, when a server asks for a client certificate and
 * the connection has none (c->identity_requested). */
void ossl_identity_ctx_setup(SSL_CTX *ctx);

/* A failed handshake (or a TLS 1.3 read just after it) whose first error is
 * e: when the server asked for a client certificate that was not there and
 * then refused with an alert, fails c with TLS_HANDSHAKE_FAILED saying so
 * and returns 1; else 0, leaving the mapping to the caller. */
int ossl_identity_refused(tls_conn *c, unsigned long e, const char *text);

#endif
