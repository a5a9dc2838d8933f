/* race.c — Happy Eyeballs connection racing (see race.h for the design). */
#define _POSIX_C_SOURCE 200809L
#include "race.h"

#include "compat.h"
#include "resolve.h"

#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#  include <windows.h>
#else
#  include <netinet/in.h>
#  include <time.h>
#endif

int64_t race_now_ms(void)
{
#ifdef _WIN32
    return (int64_t)GetTickCount64();
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
}

int race_add(conn_race *r, const struct addrinfo *list)
{
    for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof(struct sockaddr_storage) || r->count >= RACE_MAX_ADDRESSES)
            continue;
        race_attempt *grown = realloc(r->list, (r->count + 1) * sizeof *grown);
        if (!grown)
            return 0;
        r->list = grown;
        race_attempt *a = &r->list[r->count++];
        memset(a, 0, sizeof *a);
        memcpy(&a->addr, ai->ai_addr, ai->ai_addrlen);
        a->len = (socklen_t)ai->ai_addrlen;
        a->sock = TLS_NO_SOCKET;
    }
    return 1;
}

void race_arrange(conn_race *r)
{
    if (r->count < 2)
        return;
    race_attempt *out = malloc(r->count * sizeof *out);
    if (!out)
        return;   /* the resolver's order is still a correct order */
    size_t n = 0, v6 = 0, v4 = 0;
    while (n < r->count) {
        while (v6 < r->count && r->list[v6].addr.ss_family != AF_INET6)
            v6++;
        if (v6 < r->count)
            out[n++] = r->list[v6++];
        while (v4 < r->count && r->list[v4].addr.ss_family != AF_INET)
            v4++;
        if (v4 < r->count)
            out[n++] = r->list[v4++];
    }
    free(r->list);
    r->list = out;
}

static size_t in_flight(const conn_race *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->started; i++)
        n += r->list[i].sock != TLS_NO_SOCKET;
    return n;
}

static void failed(conn_race *r, race_attempt *a, int os_error, int64_t now)
{
    sock_close(a->sock);
    a->sock = TLS_NO_SOCKET;
    a->os_error = os_error ? os_error : -1;
    r->last_error = os_error;
    /* RFC 8305 section 5: a failure starts the next attempt at once. */
    r->next_start = now;
}

static net_status won(conn_race *r, size_t i, tls_socket *winner, size_t *index)
{
    *winner = r->list[i].sock;
    *index = i;
    r->list[i].sock = TLS_NO_SOCKET;
    for (size_t j = 0; j < r->started; j++) {
        sock_close(r->list[j].sock);
        r->list[j].sock = TLS_NO_SOCKET;
    }
    return NET_OK;
}

net_status race_step(conn_race *r, int64_t now, tls_socket *winner, size_t *index)
{
    *winner = TLS_NO_SOCKET;
    *index = 0;
    for (size_t i = 0; i < r->started; i++) {
        race_attempt *a = &r->list[i];
        if (a->sock == TLS_NO_SOCKET)
            continue;
        int os_error = 0;
        net_status st = sock_finish_connect(a->sock, &os_error);
        if (st == NET_OK)
            return won(r, i, winner, index);
        if (st == NET_ERROR)
            failed(r, a, os_error, now);
    }
    while (r->started < r->count && (in_flight(r) == 0 || now >= r->next_start)) {
        race_attempt *a = &r->list[r->started++];
        int os_error = 0;
        net_status st = sock_start_connect((const struct sockaddr *)&a->addr, a->len, &a->sock, &os_error);
        if (st == NET_OK)
            return won(r, r->started - 1, winner, index);
        if (st == NET_AGAIN)
            r->next_start = now + RACE_ATTEMPT_DELAY_MS;
        else
            failed(r, a, os_error, now);
    }
    return in_flight(r) ? NET_AGAIN : NET_ERROR;
}

tls_socket race_handle(const conn_race *r)
{
    for (size_t i = r->started; i > 0; i--)
        if (r->list[i - 1].sock != TLS_NO_SOCKET)
            return r->list[i - 1].sock;
    return TLS_NO_SOCKET;
}

int race_timeout_ms(const conn_race *r, int64_t now)
{
    size_t n = in_flight(r);
    if (n == 0)
        return -1;
    int64_t t = -1;
    if (r->started < r->count)
        t = r->next_start > now ? r->next_start - now : 0;
    if (n > 1 && (t < 0 || t > RACE_RECHECK_MS))
        t = RACE_RECHECK_MS;
    return (int)t;
}

void race_free(conn_race *r)
{
    for (size_t i = 0; i < r->started; i++)
        sock_close(r->list[i].sock);
    free(r->list);
    memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------- test hook */

static int is_loopback(const struct addrinfo *ai)
{
    if (ai->ai_family == AF_INET) {
        const unsigned char *b = (const unsigned char *)&((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
        return b[0] == 127;
    }
    if (ai->ai_family == AF_INET6) {
        const unsigned char *b = (const unsigned char *)&((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        static const unsigned char loop6[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
        return memcmp(b, loop6, 16) == 0;
    }
    return 0;
}

static int ends_with_test_tld(const char *host)
{
    size_t n = strlen(host);
    if (n && host[n - 1] == '.')
        n--;
    if (n < 6)
        return 0;
    const char *tld = host + n - 5;
    return tld[0] == '.' && (tld[1] | 0x20) == 't' && (tld[2] | 0x20) == 'e' &&
           (tld[3] | 0x20) == 's' && (tld[4] | 0x20) == 't';
}

static int read_env(const char *name, char *buf, size_t cap)
{
#ifdef _WIN32
    /* The CRT's getenv copy misses what the host set after start-up. */
    DWORD n = GetEnvironmentVariableA(name, buf, (DWORD)cap);
    return n > 0 && n < cap;
#else
    const char *v = getenv(name);
    if (!v || strlen(v) >= cap)
        return 0;
    memcpy(buf, v, strlen(v) + 1);
    return 1;
#endif
}

/* OSTLS_TEST_HOSTS="name.test=::1,127.0.0.1;other.test=127.0.0.2". The name
 * must end in ".test", which RFC 6761 reserves for testing and the public DNS
 * never answers, and only loopback addresses are taken: the hook cannot send a
 * real name anywhere, nor any name off this machine. */
int race_test_hosts(conn_race *r, const char *host, int port)
{
    char env[2048];
    if (!ends_with_test_tld(host) || !read_env("OSTLS_TEST_HOSTS", env, sizeof env))
        return 0;
    size_t hostlen = strlen(host);
    for (char *entry = env; entry && *entry;) {
        char *next = strchr(entry, ';');
        if (next)
            *next++ = '\0';
        char *eq = strchr(entry, '=');
        if (eq && (size_t)(eq - entry) == hostlen && strncmp(entry, host, hostlen) == 0) {
            for (char *addr = eq + 1; addr && *addr;) {
                char *comma = strchr(addr, ',');
                if (comma)
                    *comma++ = '\0';
                struct addrinfo *ai = NULL;
                int gai_error = 0;
                if (resolve_numeric(addr, port, &ai, &gai_error) == 1) {
                    int ok = !is_loopback(ai) || race_add(r, ai);
                    freeaddrinfo(ai);
                    if (!ok)
                        return -1;
                }
                addr = comma;
            }
            return r->count > 0;
        }
        entry = next;
    }
    return 0;
}
