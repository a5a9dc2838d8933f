/*
 * handshake.c — fuzz target: the client fed arbitrary server bytes.
 *
 * A listener on 127.0.0.1 lives in this process. Each input makes one
 * connection through the public API (tls_connect to the address literal: no
 * DNS), and plays the server on the accepted socket: whatever the client
 * sends is read and dropped, the input's bytes are sent as the server's
 * (whole, or in chunks between the client's steps), then the server ends the
 * stream (FIN, or a reset). The client is driven with tls_handshake, and with
 * tls_read / tls_write if the handshake ever completes, until it finishes or
 * fails; every tls_info key is asked along the way; then it is freed.
 *
 * Input: byte 0 flags, byte 1 chunk size, the rest is the server's stream.
 *   flags bit 0: verify "none"        bit 1: max_version TLSv1.2
 *   flags bit 2: min_version TLSv1.3  bit 3: alpn "h2,http/1.1"
 *   flags bit 4: send in chunks of (byte 1 + 1) bytes, one per client step
 *   flags bit 5: end with a reset (SO_LINGER 0) instead of a FIN
 *   flags bit 6: tls_close before tls_free
 * Checked: no crash or sanitizer report; every failure has a code and a
 * message; once the server has ended the stream the client reaches an end
 * within a bounded number of steps (no hang); nothing leaks.
 */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

static int listener = -1;
static int listen_port;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *err = NULL, *msg = NULL;
    if (!tls_init(&err, &msg)) {
        fprintf(stderr, "tls_init: %s: %s\n", err, msg);
        exit(1);
    }
    listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    if (listener < 0 || bind(listener, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(listener, 64) < 0 || getsockname(listener, (struct sockaddr *)&a, &alen) < 0) {
        perror("fuzz handshake: listener");
        exit(1);
    }
    listen_port = ntohs(a.sin_port);
    return 0;
}

/* Connections left in the backlog by an earlier input are closed. */
static void drain_backlog(void)
{
    int s;
    while ((s = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
        close(s);
}

static void end_stream(int server, int reset)
{
    if (reset) {
        struct linger l = { 1, 0 };
        setsockopt(server, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        close(server);
    } else {
        shutdown(server, SHUT_WR);
    }
}

/* Waits (briefly) until the client can make progress; never long, since the
 * server side is this process and has already sent what it will send. */
static void wait_client(tls_conn *c, int want)
{
    int64_t handle = -1;
    int events = 0;
    if (!tls_pollhandle(c, want, &handle, &events, NULL, NULL) || (events & TLS_POLL_NOW) ||
        handle < 0 || events == 0)
        return;
    struct pollfd p = { .fd = (int)handle,
                        .events = (short)(((events & TLS_WANT_READ) ? POLLIN : 0) |
                                          ((events & TLS_WANT_WRITE) ? POLLOUT : 0)) };
    poll(&p, 1, 20);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int flags = data[0];
    size_t chunk = (flags & 16) ? (size_t)data[1] + 1 : (size_t)-1;
    const uint8_t *stream = data + 2;
    size_t len = size - 2;

    drain_backlog();
    tls_conn *c = NULL;
    const char *err = NULL, *msg = NULL;
    FUZZ_ASSERT(tls_connect("127.0.0.1", listen_port, &c, &err, &msg), "tls_connect: %s", msg);
    /* The name in the seeds' certificate (assets/selftest), whose CA scripts/fuzz.sh
     * makes the only trust anchor: verification can pass and the flight go on. */
    FUZZ_ASSERT(tls_set_option(c, "servername", "ostls-selftest.invalid", &err, &msg),
                "servername: %s", msg);
    if (flags & 1)
        FUZZ_ASSERT(tls_set_option(c, "verify", "none", &err, &msg), "verify: %s", msg);
    if ((flags & 6) != 6) {   /* min 1.3 with max 1.2 is refused by tls_set_option */
        if (flags & 2)
            FUZZ_ASSERT(tls_set_option(c, "max_version", "TLSv1.2", &err, &msg), "max: %s", msg);
        if (flags & 4)
            FUZZ_ASSERT(tls_set_option(c, "min_version", "TLSv1.3", &err, &msg), "min: %s", msg);
    }
    if (flags & 8)
        FUZZ_ASSERT(tls_set_option(c, "alpn", "h2,http/1.1", &err, &msg), "alpn: %s", msg);

    int server = -1, ended = 0, finished = 0;
    size_t sent = 0;
    int steps_after_end = 0;
    int handshake_done = 0;
    for (int step = 0; !finished; step++) {
        FUZZ_ASSERT(step < 200000, "no end after %d steps", step);
        int want = TLS_WANT_READ;
        if (!handshake_done) {
            int ok = tls_handshake(c, &handshake_done, &err, &msg);
            FUZZ_CHECK_ERROR(ok, err, msg);
            if (!ok)
                break;
        }
        if (handshake_done) {
            char buf[4096];
            size_t n = 0;
            int ok = tls_read(c, buf, sizeof buf, &n, &err, &msg);
            FUZZ_CHECK_ERROR(ok, err, msg);
            if (!ok)
                break;
            ok = tls_write(c, "ping", 4, &n, &err, &msg);
            FUZZ_CHECK_ERROR(ok, err, msg);
        }
        if (server == -1) {
            server = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            /* No Nagle: small chunks would wait for the client's delayed ACK. */
            int one = 1;
            if (server >= 0)
                setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        if (server >= 0 && !ended) {
            char sink[16384];
            while (recv(server, sink, sizeof sink, 0) > 0)
                ;
            if (sent < len) {
                size_t n = len - sent < chunk ? len - sent : chunk;
                ssize_t w = send(server, stream + sent, n, MSG_NOSIGNAL);
                if (w > 0)
                    sent += (size_t)w;
                else if (w < 0 && errno != EAGAIN)
                    sent = len;   /* the client is gone: stop sending */
            }
            if (sent == len) {
                end_stream(server, flags & 32);
                if (flags & 32)
                    server = -2;   /* closed by the reset */
                ended = 1;
            }
        }
        fuzz_all_info(c);
        if (ended)
            FUZZ_ASSERT(++steps_after_end < 500,
                        "the client has not finished %d steps after the server ended the stream",
                        steps_after_end);
        wait_client(c, want);
    }
    fuzz_all_info(c);
    if (flags & 64) {
        FUZZ_ASSERT(tls_close(c, &err, &msg), "tls_close: %s", msg);
        fuzz_all_info(c);
    }
    tls_free(c);
    if (server >= 0)
        close(server);
    return 0;
}
