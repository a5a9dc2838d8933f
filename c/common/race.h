/*
 * race.h — Happy Eyeballs (RFC 8305): connect to one of a host's addresses,
 * racing them. Addresses are interleaved by family, IPv6 first; the next
 * attempt starts when the previous one fails or after RACE_ATTEMPT_DELAY_MS,
 * whichever comes first, while earlier attempts go on; the first to connect
 * wins and the others are closed.
 *
 * Nothing here waits. The caller drives race_step whenever the handle from
 * race_handle is ready or race_timeout_ms has passed.
 *
 * Why one handle: a host (libuv, tls_wait) watches one handle per connection.
 * Several attempts may be in flight, and only the newest is watched: it is the
 * one most likely to succeed (the older ones have already had at least
 * RACE_ATTEMPT_DELAY_MS without an answer: the blackholed-address case), and
 * the older ones are looked at on every step, with race_timeout_ms asking for
 * a step every RACE_RECHECK_MS while more than one is in flight. An epoll or
 * kqueue set would watch them all, but has no Windows equivalent a host can
 * poll; this is the same on every platform and costs at most RACE_RECHECK_MS
 * of latency in the rare case that an older attempt wins.
 */
#ifndef OSTLS_RACE_H
#define OSTLS_RACE_H

#include <stddef.h>
#include <stdint.h>
#include "sock.h"

/* RFC 8305 section 5: "Connection Attempt Delay", recommended 250 ms. */
#define RACE_ATTEMPT_DELAY_MS 250
/* How often older attempts in flight (not the watched one) are looked at. */
#define RACE_RECHECK_MS 50
/* Addresses beyond this are ignored (a name with more is pathological). */
#define RACE_MAX_ADDRESSES 64

typedef struct {
    struct sockaddr_storage addr;
    socklen_t len;
    tls_socket sock;   /* TLS_NO_SOCKET unless in flight */
    int os_error;      /* why it failed; 0 while not failed */
} race_attempt;

typedef struct {
    race_attempt *list;
    size_t count;
    size_t started;       /* attempts [0, started) have begun */
    int64_t next_start;   /* when attempt `started` may begin though others are in flight */
    int last_error;       /* OS error of the latest failure */
} conn_race;

/* Monotonic milliseconds. */
int64_t race_now_ms(void);

/* Append the IPv4/IPv6 addresses of list (copied; the caller frees list). 0: out of memory. */
int race_add(conn_race *r, const struct addrinfo *list);
/* Interleave the families, IPv6 first, keeping the resolver's order within each. */
void race_arrange(conn_race *r);

/* NET_OK: *winner is connected (the caller owns it; *index names its address);
 * NET_AGAIN: wait for race_handle / race_timeout_ms; NET_ERROR: every address
 * failed (see list[i].os_error and last_error). */
net_status race_step(conn_race *r, int64_t now, tls_socket *winner, size_t *index);

/* The attempt to watch for writable, or TLS_NO_SOCKET when none is in flight. */
tls_socket race_handle(const conn_race *r);
/* Milliseconds until race_step must run even if the handle stays quiet; -1: no limit. */
int race_timeout_ms(const conn_race *r, int64_t now);

/* Close every attempt in flight and free the list. */
void race_free(conn_race *r);

/* Test hook, documented in c/tls_client.h (tls_connect): addresses for a name
 * under the reserved ".test" top-level domain (RFC 6761) from the environment
 * variable OSTLS_TEST_HOSTS, loopback addresses only. 1: found (r filled);
 * 0: not a hooked name; -1: out of memory. */
int race_test_hosts(conn_race *r, const char *host, int port);

#endif
