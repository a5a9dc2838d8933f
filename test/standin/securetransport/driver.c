/*
 * driver.c — runs c/impl-mac/securetransport.c (through c/common's public
 * API and its real loopback socket) against the SecureTransport stand-in
 * (fake_st.c) and prints TAP: the version the server chose, the single
 * evaluation, close_notify on the half-close (issue 17 #9) and writing after
 * the server's close_notify (#10). The "server" is this process, speaking the
 * stand-in's framing on the accepted socket.
 */
#define _GNU_SOURCE
#include "../network/standin.h"
#include "../tap.h"
#include "tls_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

extern int st_sc_trust_ok;


static const char *info(tls_conn *c, const char *key)
{
    const char *v = "";
    tls_info(c, key, &v, NULL, NULL);
    return v;
}

static int listener, port;

static void listen_once(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0 || bind(listener, (struct sockaddr *)&a, sizeof a) != 0 || listen(listener, 8) != 0 ||
        getsockname(listener, (struct sockaddr *)&a, &len) != 0) {
        printf("Bail out! no loopback listener\n");
        exit(1);
    }
    port = ntohs(a.sin_port);
}

/* Connect, accept, send a ServerHello start choosing version; *srv is the
 * server's socket. Returns the connection after driving its handshake: *err
 * NULL when it completed. */
static tls_conn *connect_with(int version, int *srv, const char **err)
{
    tls_conn *c = NULL;
    const char *msg;
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    if (!tls_connect("127.0.0.1", port, &c, err, &msg)) {
        printf("Bail out! tls_connect: %s\n", msg);
        exit(1);
    }
    int done = 0;
    tls_handshake(c, &done, NULL, NULL);
    *srv = accept(listener, NULL, NULL);
    struct timeval limit = { 3, 0 };   /* a client that never ends its side fails a check, not the run */
    setsockopt(*srv, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    unsigned char hello[11] = { 22, 3, 3, 0, 6, 2, 0, 0, 2, (unsigned char)(version >> 8), (unsigned char)version };
    if (write(*srv, hello, sizeof hello) != sizeof hello)
        exit(1);
    *err = NULL;
    for (int i = 0; i < 100; i++) {
        if (!tls_handshake(c, &done, err, &msg))
            return c;
        if (done)
            return c;
        tls_wait(c, TLS_WANT_READ, 100, NULL, NULL);
    }
    *err = "(still handshaking)";
    return c;
}

/* Everything the client sent until its FIN. */
static size_t drain(int srv, unsigned char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n < cap && (r = read(srv, buf + n, cap - n)) > 0)
        n += (size_t)r;
    return n;
}

static int read_all(tls_conn *c, char *buf, size_t want)
{
    size_t have = 0, n;
    for (int i = 0; i < 100 && have < want; i++) {
        if (!tls_read(c, buf + have, want - have, &n, NULL, NULL))
            return 0;
        have += n;
        if (have < want)
            tls_wait(c, TLS_WANT_READ, 100, NULL, NULL);
    }
    return have == want;
}

static const char *read_end(tls_conn *c)
{
    char buf[16];
    size_t n;
    const char *err = NULL, *msg;
    for (int i = 0; i < 100; i++) {
        if (!tls_read(c, buf, sizeof buf, &n, &err, &msg))
            return err;
        tls_wait(c, TLS_WANT_READ, 100, NULL, NULL);
    }
    return "(no end)";
}

int main(void)
{
    const char *err, *msg;
    setenv("OSTLS_BACKEND", "securetransport", 1);
    if (!tls_init(&err, &msg)) {
        printf("Bail out! tls_init: %s %s\n", err, msg);
        return 1;
    }
    listen_once();
    int srv;

    tls_conn *c = connect_with(0x0301, &srv, &err);
    ok(err && strcmp(err, TLS_PROTOCOL_VERSION) == 0,
       "#10 a ServerHello choosing TLS 1.0, refused by SecureTransport with a generic status: TLS_PROTOCOL_VERSION (%s)",
       err ? err : "connected");
    tls_free(c);
    close(srv);

    int hidden = sc_hidden_evaluations, evaluations = sc_evaluations;
    c = connect_with(0x0303, &srv, &err);
    ok(!err, "a TLS 1.2 handshake completes");
    ok(sc_hidden_evaluations == hidden, "#6 no certificate read from the trust before its evaluation (%d)",
       sc_hidden_evaluations - hidden);
    ok(sc_evaluations - evaluations == 1, "#6 one evaluation (%d)", sc_evaluations - evaluations);
    int certs = 0;
    for (const char *p = info(c, "peer_chain"); (p = strstr(p, "BEGIN CERTIFICATE")); p++)
        certs++;
    ok(certs == 3, "#6 peer_chain is read after the evaluation: the chain it built (%d certificates)", certs);
    /* #9: end() while the server may still send: FIN only, reading goes on */
    int done = 0;
    ok(tls_shutdown(c, &done, &err, &msg) && done == 1, "#9 tls_shutdown completes");
    unsigned char got[64];
    size_t n = drain(srv, got, sizeof got);
    ok(n == 0, "#9 the server still sending: the half-close is the FIN alone (%zu bytes before it)", n);
    if (write(srv, "D\0\5reply", 8) != 8)
        return 1;
    char buf[8];
    ok(read_all(c, buf, 5) && memcmp(buf, "reply", 5) == 0, "#9 and the server's reply is still read");
    tls_free(c);
    close(srv);

    /* #9: the server finished first (close_notify): end() sends close_notify */
    c = connect_with(0x0303, &srv, &err);
    if (write(srv, "A\0\0", 3) != 3)
        return 1;
    const char *end = read_end(c);
    ok(end && strcmp(end, TLS_CLOSED) == 0, "the server's close_notify ends the stream (%s)", end ? end : "");
    ok(tls_shutdown(c, &done, &err, &msg) && done == 1, "#9 tls_shutdown after the server finished completes");
    n = drain(srv, got, sizeof got);
    ok(n == 3 && got[0] == 'A', "#9 and sends close_notify before the FIN (%zu bytes)", n);
    tls_free(c);
    close(srv);

    /* #10: writing after the server's close_notify */
    c = connect_with(0x0303, &srv, &err);
    if (write(srv, "A\0\0", 3) != 3)
        return 1;
    end = read_end(c);
    size_t w;
    err = NULL;
    ok(!tls_write(c, "x", 1, &w, &err, &msg) && err && strcmp(err, TLS_CLOSED) == 0,
       "#10 errSSLClosedGraceful from SSLWrite after the server's close_notify: TLS_CLOSED, not a reset (%s)",
       err ? err : "written");
    tls_free(c);
    close(srv);

    printf("1..%d\n", tests);
    return failed ? 1 : 0;
}
