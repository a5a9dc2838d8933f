/* live_tls.h — the live stand-in's TLS with OpenSSL (live_tls.c). */
#ifndef OSTLS_LIVE_TLS_H
#define OSTLS_LIVE_TLS_H
#include "live.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

enum { errSSLInternal = -9810, errSSLPeerUnexpectedMsg = -9819, errSSLHandshakeFail = -9858 };

/* A client SSL on fd configured as the sec_protocol options say, whose
 * certificate check calls the verify block (recording the chain as sent in
 * *sent). 1, or 0 when OpenSSL could not be set up. */
int live_tls_setup(SSL_CTX **ctx, SSL **ssl, nw_connection_t c, int fd, CFMutableArrayRef *sent);

/* After SSL_ERROR_ZERO_RETURN: 0 the peer sent close_notify, 1 a FIN
 * between records, 2 a FIN in the middle of a record (a truncation). */
int live_tls_end_kind(SSL *ssl);

/* The error Network.framework reports for a failed SSL call (new reference). */
nw_error_t live_tls_failure(SSL *ssl, int ret, int handshaking);
#endif
