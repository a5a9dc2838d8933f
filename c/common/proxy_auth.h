/*
 * proxy_auth.h — signing in to a proxy that answered CONNECT with 407.
 *
 * proxy_auth.c (every OS) reads the Proxy-Authenticate challenges, picks a
 * scheme (Negotiate, then NTLM, where this OS's part can do them; Basic has
 * already been sent when the proxy URL carries user:password) and turns each
 * challenge into the next request's Proxy-Authorization line. The tokens come
 * from the OS's part, proxy_auth_os_* (proxy_auth_win.c: SSPI, the user's
 * Windows sign-in; proxy_auth_none.c: none). Those calls may wait (Kerberos
 * asks the domain controller for a ticket), so every one of them runs on a
 * worker thread (resolve_start_work) and the connection waits on the job's
 * handle (proxy_auth_handle), as for the system proxy lookup.
 */
#ifndef OSTLS_PROXY_AUTH_H
#define OSTLS_PROXY_AUTH_H

#include <stddef.h>
#include <stdint.h>

/* Round trips allowed before giving up (NTLM needs 2, Negotiate 1 to 3). */
#define PROXY_AUTH_MAX_ROUNDS 5

/* ---------------------------------------------------- the OS's part */

typedef struct proxy_auth_os proxy_auth_os;

/* 1 if this OS's ostls can sign in with scheme ("Negotiate" or "NTLM");
 * 0 with why filled (a sentence for the error message). */
int proxy_auth_os_available(const char *scheme, char *why, size_t cap);

/* Start an exchange for scheme with the proxy host as the target
 * ("HTTP/<host>"): as the signed-in user when user is NULL, else as user
 * ("DOMAIN\user", "user@domain" or "user") with pass. NULL with why filled. */
proxy_auth_os *proxy_auth_os_start(const char *scheme, const char *host, const char *user, const char *pass,
                                   char *why, size_t cap);

/* The calls below (start, step, free) run on a worker thread, one at a
 * time per exchange; they may block. */

/* One round: in[0..inlen) is the proxy's token (NULL, 0 for the first).
 * *out (malloc'd, *outlen bytes) is the token to send, or NULL when the OS
 * has nothing more to send. 1 on success; 0 with why filled (naming the OS
 * call and its status). */
int proxy_auth_os_step(proxy_auth_os *a, const unsigned char *in, size_t inlen, unsigned char **out,
                       size_t *outlen, char *why, size_t cap);

void proxy_auth_os_free(proxy_auth_os *a);

/* ---------------------------------------------------- the exchange */

typedef struct proxy_auth proxy_auth;

enum proxy_auth_next {
    PROXY_AUTH_SEND,      /* *line is the next request's Proxy-Authorization line */
    PROXY_AUTH_REFUSED,   /* no way on: why says what the proxy asked for and why not */
    PROXY_AUTH_WAIT       /* a worker computes the token: wait on proxy_auth_handle, then call
                           * proxy_auth_answer again with the same arguments */
};

/* The proxy answered 407 with header[0..len) (the whole response header).
 * *state is NULL before the first 407 and is kept between them (free it with
 * proxy_auth_free). user / pass: the proxy URL's credentials, or NULL;
 * sent_basic: the request carried them as Basic. On PROXY_AUTH_SEND, *line is
 * "Proxy-Authorization: <scheme> <token>\r\n" (malloc'd; wipe and free it) and
 * *bound is 1 when the exchange belongs to this connection (a challenge
 * was answered: the proxy must keep the connection open). */
enum proxy_auth_next proxy_auth_answer(proxy_auth **state, const char *header, size_t len, const char *host,
                                       const char *user, const char *pass, int sent_basic, char **line,
                                       int *bound, char *why, size_t cap);

/* 1 when the 407 header[0..len) offers Basic: one of the challenges of a
 * Proxy-Authenticate field has the scheme "Basic" (RFC 9110 §11.6.1:
 * case-insensitive; several challenges may share a field, comma-separated;
 * auth-params and quoted values are not schemes). */
int proxy_auth_basic_offered(const char *header, size_t len);

/* While a token is being computed (PROXY_AUTH_WAIT), the handle that
 * becomes readable when it is done; else -1. */
int64_t proxy_auth_handle(const proxy_auth *state);

/* The scheme being used, or NULL before any. */
const char *proxy_auth_scheme(const proxy_auth *state);

/* Safe while a token is being computed: the worker frees what it holds. */
void proxy_auth_free(proxy_auth *state);

/* Helpers proxy.c shares: base64 of len bytes into out (4 * ceil(len / 3) + 1
 * bytes), and the value of header field name (case-insensitive) in the
 * response header[0..len) from the n-th occurrence on: its start and length,
 * or NULL. */
void proxy_base64(const unsigned char *in, size_t len, char *out);
const char *proxy_header_field(const char *header, size_t len, const char *name, size_t *vlen, size_t *from);

#endif
