/* sysproxy.c — the cache and the worker job around sysproxy_os_lookup
 * (see sysproxy.h). Nothing here names an OS API. */
#define _POSIX_C_SOURCE 200809L
#include "race.h"
#include "resolve.h"
#include "sysproxy.h"
#include "lock.h"   /* after the socket headers: it includes <windows.h> on Windows */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static ostls_lock lock = OSTLS_LOCK_INIT;

/* ------------------------------------------------------------- the cache */

#define CACHE_SLOTS 32

struct slot {
    char host[256];
    int port;
    time_t expires;   /* 0: free */
    struct sysproxy_answer answer;
};

static struct slot cache[CACHE_SLOTS];

/* The monotonic clock the connection race already reads (race.h). */
static time_t now_seconds(void)
{
    return (time_t)(race_now_ms() / 1000);
}

/* Under the lock. */
static int cache_get(const char *host, int port, struct sysproxy_answer *out)
{
    time_t now = now_seconds();
    for (int i = 0; i < CACHE_SLOTS; i++) {
        struct slot *s = &cache[i];
        if (s->expires > now && s->port == port && strcmp(s->host, host) == 0) {
            *out = s->answer;
            return 1;
        }
    }
    return 0;
}

/* Under the lock: a free or expired slot, else the one expiring first. */
static void cache_put(const char *host, int port, const struct sysproxy_answer *answer)
{
    if (strlen(host) >= sizeof cache[0].host)
        return;
    time_t now = now_seconds();
    struct slot *pick = &cache[0];
    for (int i = 0; i < CACHE_SLOTS; i++) {
        struct slot *s = &cache[i];
        if (s->expires <= now || (s->port == port && strcmp(s->host, host) == 0)) {
            pick = s;
            break;
        }
        if (s->expires < pick->expires)
            pick = s;
    }
    snprintf(pick->host, sizeof pick->host, "%s", host);
    pick->port = port;
    pick->answer = *answer;
    pick->expires = now + SYSPROXY_TTL_SECONDS;
}

/* -------------------------------------------------------------- the job */

/* Shared by the worker and the query; whichever lets go last frees it. */
struct lookup {
    int refs;   /* under the lock */
    int port;
    struct sysproxy_answer answer;
    char host[];
};

struct sysproxy_query {
    resolve_job *job;         /* NULL once answered */
    struct lookup *work;
    int answered;
    struct sysproxy_answer answer;
};

static void lookup_unref(struct lookup *w)
{
    lock_take(&lock);
    int last = --w->refs == 0;
    lock_give(&lock);
    if (last)
        free(w);
}

static void run_lookup(void *arg)
{
    struct lookup *w = arg;
    struct sysproxy_answer a;
    memset(&a, 0, sizeof a);
    sysproxy_os_lookup(w->host, w->port, &a);
    lock_take(&lock);
    w->answer = a;
    cache_put(w->host, w->port, &a);
    lock_give(&lock);
    lookup_unref(w);
}

int sysproxy_start(const char *host, int port, sysproxy_query **out, int *os_error)
{
    sysproxy_query *q = calloc(1, sizeof *q);
    if (!q) {
        *os_error = 0;   /* out of memory */
        return 0;
    }
    lock_take(&lock);
    q->answered = cache_get(host, port, &q->answer);
    lock_give(&lock);
    if (q->answered) {
        *out = q;
        return 1;
    }
    size_t len = strlen(host);
    struct lookup *w = calloc(1, sizeof *w + len + 1);
    if (!w) {
        free(q);
        *os_error = 0;
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
    *out = q;
    return 1;
}

int64_t sysproxy_handle(const sysproxy_query *q)
{
    return q->job ? resolve_handle(q->job) : -1;
}

int sysproxy_finished(sysproxy_query *q, struct sysproxy_answer *out)
{
    if (!q->answered) {
        struct addrinfo *none;
        int gai_error, os_error;
        if (!resolve_finished(q->job, &none, &gai_error, &os_error))
            return 0;
        lock_take(&lock);
        q->answer = q->work->answer;
        lock_give(&lock);
        q->answered = 1;
    }
    *out = q->answer;
    return 1;
}

void sysproxy_release(sysproxy_query *q)
{
    if (!q)
        return;
    resolve_release(q->job);
    if (q->work)
        lookup_unref(q->work);
    free(q);
}
