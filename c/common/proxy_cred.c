/* proxy_cred.c — the worker job around proxy_cred_os_lookup, the Basic
 * challenge test and the retry URL (see proxy_cred.h). Nothing here names an
 * OS API. */
#define _POSIX_C_SOURCE 200809L
#include "proxy_cred.h"

#include "compat.h"
#include "resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#  include <windows.h>
static SRWLOCK lock = SRWLOCK_INIT;
static void lock_take(void) { AcquireSRWLockExclusive(&lock); }
static void lock_give(void) { ReleaseSRWLockExclusive(&lock); }
#else
#  include <pthread.h>
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void lock_take(void) { pthread_mutex_lock(&lock); }
static void lock_give(void) { pthread_mutex_unlock(&lock); }
#endif

/* ------------------------------------------------------ the challenge */

static int lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

static int same_word(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

static int is_token_char(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Does the field value v[0..n) hold a challenge with scheme Basic? A scheme
 * is a token at the start or after a comma, followed by a space, a comma or
 * the end (an auth-param "name=value" after a comma is not a scheme). */
static int value_offers_basic(const char *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t start = i;
        while (i < n && is_token_char((unsigned char)v[i]))
            i++;
        size_t len = i - start;
        int is_scheme = len > 0 && (i == n || v[i] == ' ' || v[i] == '\t' || v[i] == ',');
        if (is_scheme && len == 5 && same_word(v + start, "basic", 5))
            return 1;
        /* skip to the next comma outside a quoted string */
        int quoted = 0;
        while (i < n && (quoted || v[i] != ',')) {
            if (v[i] == '"')
                quoted = !quoted;
            else if (v[i] == '\\' && quoted && i + 1 < n)
                i++;
            i++;
        }
    }
    return 0;
}

int proxy_cred_basic_offered(const char *header, size_t len)
{
    static const char name[] = "proxy-authenticate:";
    size_t nlen = sizeof name - 1;
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && header[i - 1] != '\n')
            continue;
        if (len - i < nlen || !same_word(header + i, name, nlen))
            continue;
        size_t start = i + nlen, end = start;
        while (end < len && header[end] != '\r' && header[end] != '\n')
            end++;
        if (value_offers_basic(header + start, end - start))
            return 1;
    }
    return 0;
}

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
    lock_take();
    int last = --w->refs == 0;
    lock_give();
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
    lock_take();
    w->found = found;
    memcpy(w->user, user, sizeof user);
    memcpy(w->pass, pass, sizeof pass);
    memcpy(w->why, why, sizeof why);
    lock_give();
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
    lock_take();
    if (w->found && !proxy_cred_url(q->tls, w->host, w->port, w->user, w->pass, url, urlcap)) {
        url[0] = '\0';
        snprintf(why, whycap, "the user name and password kept for it are too long");
    } else if (!w->found) {
        snprintf(why, whycap, "%s", w->why);
    }
    lock_give();
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
