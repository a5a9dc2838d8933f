/*
 * bench/server.c — the one TLS server every client in a scenario talks to.
 * Single-threaded epoll over the system OpenSSL, written so it is not the
 * bottleneck: bulk data comes from one pre-made buffer, nothing is copied
 * or allocated per record.
 *
 *   server <mode> <cert.pem> <key.pem> [bytes]
 *     source  after the handshake send <bytes> bytes, then close_notify and close
 *     sink    read and discard until the client ends (also: handshakes, idle)
 *     echo    send back whatever arrives (ping-pong)
 *
 * OSTLS_BENCH_TLS=1.2 caps the protocol at TLS 1.2 (default: TLS 1.3).
 * Prints "PORT <n>" on stdout once listening on 127.0.0.1. Runs until killed.
 * Session tickets are off so that a client that hangs up right after its
 * handshake leaves nothing unread (a clean FIN, the same for every client).
 */
#define _GNU_SOURCE
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum { SOURCE, SINK, ECHO, GREET };   /* greet: a sink that issues a ticket and sends one byte after the handshake */
#define CHUNK (256 * 1024)

struct conn {
    int fd;
    SSL *ssl;
    int open;                 /* handshake done */
    unsigned long long sent;  /* source: bytes accepted by SSL_write */
    int last_write;           /* source: length of the write that must be retried */
    int finished;             /* source: all sent; wait for the client to hang up */
    char *pend;               /* echo: bytes not yet written back */
    size_t pend_len, pend_cap;
    unsigned events;
};

static int mode;
static unsigned long long total;
static char *blob;
static int ep;

static void die(const char *what)
{
    fprintf(stderr, "server: %s: %s\n", what, strerror(errno));
    ERR_print_errors_fp(stderr);
    exit(1);
}

static void set_events(struct conn *c, unsigned ev)
{
    if (ev == c->events)
        return;
    struct epoll_event e = { .events = ev, .data.ptr = c };
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
    c->events = ev;
}

static void drop(struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    SSL_free(c->ssl);
    close(c->fd);
    free(c->pend);
    free(c);
}

/* 0: keep, -1: dropped */
static int want(struct conn *c, int rc)
{
    int e = SSL_get_error(c->ssl, rc);
    if (e == SSL_ERROR_WANT_READ) {
        set_events(c, EPOLLIN);
        return 0;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        set_events(c, EPOLLIN | EPOLLOUT);
        return 0;
    }
    if (e == SSL_ERROR_ZERO_RETURN)
        SSL_shutdown(c->ssl);
    ERR_clear_error();
    drop(c);
    return -1;
}

static void pump(struct conn *c)
{
    if (!c->open) {
        int rc = SSL_do_handshake(c->ssl);
        if (rc != 1) {
            want(c, rc);
            return;
        }
        c->open = 1;
        if (mode == GREET)
            SSL_write(c->ssl, "!", 1);   /* after the ticket: a client that has read it has the ticket */
    }
    if (mode == SOURCE && c->finished) {
        char scrap[4096];
        int rc;
        while ((rc = SSL_read(c->ssl, scrap, sizeof scrap)) > 0)
            ;
        want(c, rc);
        return;
    }
    if (mode == SOURCE) {
        while (c->sent < total) {
            unsigned long long left = total - c->sent;
            int len = c->last_write ? c->last_write : (int)(left < CHUNK ? left : CHUNK);
            int rc = SSL_write(c->ssl, blob, len);
            if (rc <= 0) {
                c->last_write = len;
                if (want(c, rc) < 0)
                    return;
                if (c->events & EPOLLOUT)
                    return;
                break;   /* wants read (renegotiation-like): wait for it */
            }
            c->last_write = 0;
            c->sent += (unsigned)rc;
        }
        if (c->sent >= total) {
            /* close_notify and FIN, then wait for the client to close: closing
             * here could turn unread input into a RST that loses our data. */
            SSL_shutdown(c->ssl);
            shutdown(c->fd, SHUT_WR);
            c->finished = 1;
            set_events(c, EPOLLIN);
        }
        return;
    }
    /* sink and echo */
    static char buf[CHUNK];
    for (;;) {
        if (mode == ECHO && c->pend_len) {
            int rc = SSL_write(c->ssl, c->pend, (int)c->pend_len);
            if (rc <= 0) {
                if (want(c, rc) < 0)
                    return;
                return;
            }
            memmove(c->pend, c->pend + rc, c->pend_len - (size_t)rc);
            c->pend_len -= (size_t)rc;
            if (c->pend_len)
                continue;
            set_events(c, EPOLLIN);
        }
        int rc = SSL_read(c->ssl, buf, sizeof buf);
        if (rc <= 0) {
            want(c, rc);
            return;
        }
        if (mode == ECHO) {
            if (c->pend_len + (size_t)rc > c->pend_cap) {
                c->pend_cap = (c->pend_len + (size_t)rc) * 2;
                c->pend = realloc(c->pend, c->pend_cap);
                if (!c->pend)
                    die("realloc");
            }
            memcpy(c->pend + c->pend_len, buf, (size_t)rc);
            c->pend_len += (size_t)rc;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: server source|sink|echo|greet cert.pem key.pem [bytes]\n");
        return 2;
    }
    mode = strcmp(argv[1], "source") == 0 ? SOURCE : strcmp(argv[1], "echo") == 0 ? ECHO
         : strcmp(argv[1], "greet") == 0 ? GREET : SINK;
    total = argc > 4 ? strtoull(argv[4], NULL, 10) : 0;
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    blob = malloc(CHUNK);
    for (int i = 0; i < CHUNK; i++)
        blob[i] = (char)('a' + i % 26);

    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, argv[2]) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, argv[3], SSL_FILETYPE_PEM) != 1)
        die("certificate or key");
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* OSTLS_BENCH_TLS=1.2: the TLS 1.2 scenarios (the client offers both). */
    const char *version = getenv("OSTLS_BENCH_TLS");
    if (version && strcmp(version, "1.2") == 0)
        SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    /* Resumption only in greet mode (the "with resumption" scenario): one
     * TLS 1.3 ticket per connection. */
    SSL_CTX_set_num_tickets(ctx, mode == GREET ? 1 : 0);

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa) || listen(ls, 4096))
        die("listen");
    socklen_t sl = sizeof sa;
    getsockname(ls, (struct sockaddr *)&sa, &sl);
    printf("PORT %d\n", ntohs(sa.sin_port));
    fflush(stdout);

    ep = epoll_create1(0);
    struct epoll_event le = { .events = EPOLLIN, .data.ptr = NULL };
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &le);
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c) {
                pump(c);
                continue;
            }
            for (;;) {
                int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
                if (fd < 0)
                    break;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                c = calloc(1, sizeof *c);
                c->fd = fd;
                c->ssl = SSL_new(ctx);
                SSL_set_fd(c->ssl, fd);
                SSL_set_accept_state(c->ssl);
                c->events = EPOLLIN;
                struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
            }
        }
    }
}
