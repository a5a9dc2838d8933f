/* proxy_cred.c — the worker job around proxy_cred_os_lookup and the retry
 * URL (see proxy_cred.h). Nothing here names an OS API; which challenges a
 * 407 offers is proxy_auth.c's to say. */
#define _POSIX_C_SOURCE 200809L
#include "proxy_cred.h"

#include "compat.h"
#include "resolve.h"   /* before lock.h: winsock2.h must come before windows.h */
#include "lock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ostls_lock lock = OSTLS_LOCK_INIT;

/* ------------------------------------------------------------ the URL */

/* %-encode everything but RFC 3986's unreserved characters. */
static int encode(const char *in, char *out, size_t cap, size_t *o)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                    strchr("-._~", *p);
        if (*o + 4 >= cap)
            return 0;
        if (plain) {
            out[(*o)++] = (char)*p;
        } else {
            out[(*o)++] = '%';
            out[(*o)++] = hex[*p >> 4];
            out[(*o)++] = hex[*p & 15];
        }
    }
    out[*o] = '\0';
    return 1;
}

int proxy_cred_url(int tls, const char *host, int port, const char *user, const char *pass, char *out, size_t cap)
{
    size_t o = (size_t)snprintf(out, cap, "%s", tls ? "https://" : "http://");
    if (o >= cap || !encode(user, out, cap, &o) || o + 1 >= cap)
        return 0;
    out[o++] = ':';
    if (!encode(pass, out, cap, &o))
        return 0;
    int v6 = strchr(host, ':') != NULL;
    int n = snprintf(out + o, cap - o, "@%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
    return n > 0 && (size_t)n < cap - o;
}

/* -------------------------------------------------------------- the job */

/* Shared by the worker and the query; whichever lets go last frees it. */
struct cred_work {
    int refs;   /* under the lock */
    int port;
    int found;
    char user[PROXY_CRED_MAX], pass[PROXY_CRED_MAX];
    char why[PROXY_CRED_WHY_MAX];
    char host[];
};

struct proxy_cred_query {
    resolve_job *job;
    struct cred_work *work;
    int tls;
};

static void work_unref(struct cred_work *w)
{
    lock_take(&lock);
    int last = --w->refs == 0;
    lock_give(&lock);
    if (last) {
        memset(w->user, 0, sizeof w->user);
        memset(w->pass, 0, sizeof w->pass);
        free(w);
    }
}

static void run_lookup(void *arg)
{
    struct cred_work *w = arg;
    char user[PROXY_CRED_MAX] = "", pass[PROXY_CRED_MAX] = "", why[PROXY_CRED_WHY_MAX] = "";
    int found = proxy_cred_os_lookup(w->host, w->port, user, pass, why, sizeof why);
    lock_take(&lock);
    w->found = found;
    memcpy(w->user, user, sizeof user);
    memcpy(w->pass, pass, sizeof pass);
    memcpy(w->why, why, sizeof why);
    lock_give(&lock);
    memset(user, 0, sizeof user);
    memset(pass, 0, sizeof pass);
    work_unref(w);
}

int proxy_cred_start(const char *host, int port, int tls, proxy_cred_query **out, int *os_error)
{
    size_t len = strlen(host);
    proxy_cred_query *q = calloc(1, sizeof *q);
    struct cred_work *w = q ? calloc(1, sizeof *w + len + 1) : NULL;
    if (!w) {
        free(q);
        *os_error = 0;   /* out of memory */
        return 0;
    }
    memcpy(w->host, host, len + 1);
    w->port = port;
    w->refs = 2;   /* the worker and q */
    if (!resolve_start_work(run_lookup, w, &q->job, os_error)) {
        free(w);
        free(q);
        return 0;
    }
    q->work = w;
    q->tls = tls;
    *out = q;
    return 1;
}

int64_t proxy_cred_handle(const proxy_cred_query *q)
{
    return q && q->job ? resolve_handle(q->job) : -1;
}

int proxy_cred_finished(proxy_cred_query *q, char *url, size_t urlcap, char *why, size_t whycap)
{
    struct addrinfo *none = NULL;
    int gai_error, os_error;
    if (!resolve_finished(q->job, &none, &gai_error, &os_error))
        return 0;
    url[0] = '\0';
    struct cred_work *w = q->work;
    lock_take(&lock);
    if (w->found && !proxy_cred_url(q->tls, w->host, w->port, w->user, w->pass, url, urlcap)) {
        url[0] = '\0';
        snprintf(why, whycap, "the user name and password kept for it are too long");
    } else if (!w->found) {
        snprintf(why, whycap, "%s", w->why);
    }
    lock_give(&lock);
    return 1;
}

void proxy_cred_release(proxy_cred_query *q)
{
    if (!q)
        return;
    resolve_release(q->job);
    work_unref(q->work);
    free(q);
}
