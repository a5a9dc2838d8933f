/*
 * proxy_cred.h — the password the OS keeps for a proxy (macOS: the
 * keychain's internet password for the proxy's host and port), used when a
 * proxy answers CONNECT with 407 and offers Basic, and the proxy URL had no
 * user:password. It is looked up only then (never sent to a proxy that did
 * not ask) and tried once: a second 407 is TLS_PROXY_AUTH_REQUIRED.
 *
 * The OS's part (proxy_cred_os_lookup) may block: the keychain may ask the
 * user to allow the access. So it runs on the same kind of worker thread as
 * name resolution (resolve_start_work), never inside a tls_* call, and the
 * connection waits on the job's handle like on any other set-up phase.
 * Nothing is cached: each 407 asks again (the user may have changed it).
 */
#ifndef OSTLS_PROXY_CRED_H
#define OSTLS_PROXY_CRED_H

#include <stddef.h>
#include <stdint.h>

#define PROXY_CRED_MAX 256     /* user name or password, with its NUL */
#define PROXY_CRED_WHY_MAX 300
#define PROXY_CRED_URL_MAX 1700  /* proxy_cred_url's longest: both %-encoded, the host, the port */

/* ---------------------------------------------------- the OS's part */

/* 1 when this OS keeps proxy passwords ostls reads (macOS); 0 (Linux,
 * Windows: there a proxy sign-in is the user's Windows logon, not a stored
 * password) means a 407 is final at once, as without this file. */
int proxy_cred_os_available(void);

/* The user name and password the OS keeps for proxy host:port. May block.
 * 1 with user and pass filled; 0 with why filled (none kept, or the OS's
 * refusal in its words). */
int proxy_cred_os_lookup(const char *host, int port, char *user, char *pass, char *why, size_t whycap);

/* --------------------------------------------------- platform-neutral */

/* "http[s]://user:pass@host:port" (user and pass %-encoded, an IPv6 host in
 * brackets): the proxy URL to try again with. 0 when it does not fit. */
int proxy_cred_url(int tls, const char *host, int port, const char *user, const char *pass, char *out,
                   size_t cap);

typedef struct proxy_cred_query proxy_cred_query;

/* Start looking up the credentials for proxy host:port on a worker thread.
 * tls: the proxy is https:// (kept for the retry's URL). 0 on failure with
 * *os_error set: 0 out of memory, else why no thread started. */
int proxy_cred_start(const char *host, int port, int tls, proxy_cred_query **out, int *os_error);

/* The handle that becomes readable once answered; -1 when none (q NULL). */
int64_t proxy_cred_handle(const proxy_cred_query *q);

/* 1 once answered: then *url is the proxy URL with the credentials (url
 * filled; the caller wipes it) when some were found, else url is "" and why
 * says why not. 0 while the lookup runs. */
int proxy_cred_finished(proxy_cred_query *q, char *url, size_t urlcap, char *why, size_t whycap);

/* Let go (wiping what it holds); safe while the lookup still runs; q may be NULL. */
void proxy_cred_release(proxy_cred_query *q);

#endif
