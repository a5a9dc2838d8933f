/*
 * live_io.c — the live stand-in's "network stack": one thread per
 * nw_connection (never the caller's thread, never the connection's queue)
 * resolves with getaddrinfo, connects, runs the TLS handshake with OpenSSL
 * as the sec_protocol options say, calls the verify block on its queue with
 * the chain the server sent and waits for its answer, then carries the
 * queued sends and receives until cancelled. Every result is posted to the
 * connection's queue. Errors come in the domains Network.framework reports:
 * dns (DNSServiceErrorType), posix (errno), tls (errSSL* OSStatus).
 */
#include "live.h"
#include "live_tls.h"

#include <Block.h>
#include <dns_sd.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct io {
    nw_connection_t c;
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    CFMutableArrayRef sent;     /* the chain as the server sent it */
    nw_error_t failed;          /* the connection's failure, once it failed */
    int rx_eof, tx_closed;
};

static void drain_wake(nw_connection_t c)
{
    char buf[64];
    while (read(c->wake[0], buf, sizeof buf) > 0)
        ;
}

static int cancelled(nw_connection_t c)
{
    pthread_mutex_lock(&c->lock);
    int v = c->cancel;
    pthread_mutex_unlock(&c->lock);
    return v;
}

/* Wait for fd (events) or the wake pipe. 0 when cancelled. */
static int wait_fd(nw_connection_t c, int fd, short events)
{
    struct pollfd p[2] = { { c->wake[0], POLLIN, 0 }, { fd, events, 0 } };
    for (;;) {
        if (cancelled(c))
            return 0;
        int n = poll(p, fd >= 0 ? 2 : 1, -1);
        if (n < 0 && errno == EINTR)
            continue;
        drain_wake(c);
        if (p[1].revents || fd < 0)
            return 1;
    }
}

int live_wait_fd(nw_connection_t c, int fd, short events) { return wait_fd(c, fd, events); }

/* ------------------------------------------------------------ connect */

static void set_socket_options(nw_connection_t c, int fd)
{
    int one = 1;
    if (c->nodelay)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c->keepalive) {
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
        if (c->idle > 0)
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &c->idle, sizeof c->idle);
    }
}

/* Connect to the endpoint: the socket, or -1 with *error set (NULL: cancelled). */
static int connect_endpoint(nw_connection_t c, nw_error_t *error)
{
    *error = NULL;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *list = NULL;
    /* Through a proxy: TCP goes to the proxy (live_proxy_tunnel follows). */
    const char *host = c->proxy ? c->proxy->host : c->endpoint->host;
    const char *port = c->proxy ? c->proxy->port : c->endpoint->port;
    int rc = getaddrinfo(host, port, &hints, &list);
    if (rc != 0) {
        *error = live_error(nw_error_domain_dns,
                            rc == EAI_AGAIN ? kDNSServiceErr_Timeout : kDNSServiceErr_NoSuchRecord);
        return -1;
    }
    int last = ECONNREFUSED;
    for (struct addrinfo *a = list; a; a = a->ai_next) {
        if (cancelled(c))
            break;
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        set_socket_options(c, fd);
        int err = 0;
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            err = errno;
            if (err == EINPROGRESS) {
                if (!wait_fd(c, fd, POLLOUT)) {
                    close(fd);
                    break;
                }
                socklen_t len = sizeof err;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            }
        }
        if (err == 0) {
            freeaddrinfo(list);
            return fd;
        }
        last = err;
        close(fd);
    }
    freeaddrinfo(list);
    if (!cancelled(c))
        *error = live_error(nw_error_domain_posix, last);
    return -1;
}

/* ---------------------------------------------------------- handshake */

static int handshake(struct io *io, nw_error_t *error)
{
    *error = NULL;
    for (;;) {
        ERR_clear_error();
        int r = SSL_connect(io->ssl);
        if (r == 1)
            return 1;
        int e = SSL_get_error(io->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (!wait_fd(io->c, io->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT))
                return 0;
            continue;
        }
        if (cancelled(io->c))
            return 0;
        *error = live_tls_failure(io->ssl, r, 1);
        return 0;
    }
}

static void capture_ready(struct io *io)
{
    nw_connection_t c = io->c;
    struct standin_sec *md = live_sec_new(SEC_METADATA);
    md->version = (unsigned)SSL_version(io->ssl);
    const SSL_CIPHER *cipher = SSL_get_current_cipher(io->ssl);
    md->cipher = cipher ? (uint16_t)SSL_CIPHER_get_protocol_id(cipher) : 0;
    const unsigned char *alpn = NULL;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(io->ssl, &alpn, &alpn_len);
    if (alpn_len && alpn_len < sizeof md->alpn)
        memcpy(md->alpn, alpn, alpn_len);
    md->chain = io->sent ? CFRetain(io->sent) : NULL;
    struct sockaddr_storage local = { 0 }, remote = { 0 };
    socklen_t len = sizeof local;
    getsockname(io->fd, (struct sockaddr *)&local, &len);
    len = sizeof remote;
    getpeername(io->fd, (struct sockaddr *)&remote, &len);
    pthread_mutex_lock(&c->lock);
    c->metadata = md;
    c->local = local;
    c->remote = remote;
    pthread_mutex_unlock(&c->lock);
}

/* ---------------------------------------------------------------- data */

static void post_send_done(nw_connection_t c, struct live_send *s, nw_error_t error)
{
    if (error)
        nw_retain(error);
    nw_retain(c);
    dispatch_async(c->queue, ^{
        s->done(error);
        if (error)
            nw_release(error);
        Block_release(s->done);
        free(s->bytes);
        free(s);
        nw_release(c);
    });
}

static void post_receive(nw_connection_t c, struct live_receive *r, const void *data, size_t len, int complete,
                         nw_error_t error)
{
    dispatch_data_t content = len ? dispatch_data_create(data, len, NULL, DISPATCH_DATA_DESTRUCTOR_DEFAULT) : NULL;
    if (error)
        nw_retain(error);
    nw_retain(c);
    dispatch_async(c->queue, ^{
        r->done(content, complete ? NW_CONNECTION_DEFAULT_STREAM_CONTEXT : NULL, complete, error);
        if (content)
            dispatch_release(content);
        if (error)
            nw_release(error);
        Block_release(r->done);
        free(r);
        nw_release(c);
    });
}

static struct live_send *pop_send(nw_connection_t c)
{
    pthread_mutex_lock(&c->lock);
    struct live_send *s = c->sends;
    if (s) {
        c->sends = s->next;
        if (!c->sends)
            c->sends_tail = &c->sends;
    }
    pthread_mutex_unlock(&c->lock);
    return s;
}

static struct live_receive *pop_receive(nw_connection_t c)
{
    pthread_mutex_lock(&c->lock);
    struct live_receive *r = c->receives;
    if (r) {
        c->receives = r->next;
        if (!c->receives)
            c->receives_tail = &c->receives;
    }
    pthread_mutex_unlock(&c->lock);
    return r;
}

static void fail(struct io *io, nw_error_t error)
{
    if (io->failed) {
        nw_release(error);
        return;
    }
    io->failed = error;
    nw_retain(error);
    live_post_state(io->c, nw_connection_state_failed, error);
}

/* Write the oldest send: 1 progress, 0 blocked (*events set), -1 none. */
static int try_write(struct io *io, short *events)
{
    nw_connection_t c = io->c;
    pthread_mutex_lock(&c->lock);
    struct live_send *s = c->sends;
    pthread_mutex_unlock(&c->lock);
    if (!s)
        return -1;
    if (io->failed || io->tx_closed) {
        pop_send(c);
        post_send_done(c, s, io->failed ? io->failed : live_error(nw_error_domain_posix, EPIPE));
        return 1;
    }
    while (s->off < s->len) {
        ERR_clear_error();
        int r = SSL_write(io->ssl, s->bytes + s->off, (int)(s->len - s->off));
        if (r > 0) {
            s->off += (size_t)r;
            continue;
        }
        int e = SSL_get_error(io->ssl, r);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
            *events |= e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
            return 0;
        }
        fail(io, live_tls_failure(io->ssl, r, 0));
        return 1;
    }
    if (s->final) {
        /* close_notify, then the FIN: Network.framework's final send. */
        SSL_shutdown(io->ssl);
        shutdown(io->fd, SHUT_WR);
        io->tx_closed = 1;
    }
    pop_send(c);
    post_send_done(c, s, NULL);
    return 1;
}

/* Answer the oldest receive: 1 progress, 0 blocked (*events set), -1 none. */
static int try_read(struct io *io, short *events)
{
    nw_connection_t c = io->c;
    pthread_mutex_lock(&c->lock);
    struct live_receive *r = c->receives;
    pthread_mutex_unlock(&c->lock);
    if (!r)
        return -1;
    if (io->failed || io->rx_eof) {
        pop_receive(c);
        post_receive(c, r, NULL, 0, io->rx_eof && !io->failed, io->failed);
        return 1;
    }
    unsigned char buf[65536];
    size_t max = r->max < sizeof buf ? r->max : sizeof buf;
    ERR_clear_error();
    int n = SSL_read(io->ssl, buf, (int)max);
    if (n > 0) {
        pop_receive(c);
        post_receive(c, r, buf, (size_t)n, 0, NULL);
        return 1;
    }
    int e = SSL_get_error(io->ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        *events |= e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        return 0;
    }
    if (e == SSL_ERROR_ZERO_RETURN) {
        int kind = live_tls_end_kind(io->ssl);
        if (kind == 2) {   /* cut inside a record: the transport failed */
            fail(io, live_error(nw_error_domain_posix, ECONNRESET));
            return 1;
        }
        io->rx_eof = 1;
        if (kind == 1) {   /* no close_notify: the receive ends with that error */
            pop_receive(c);
            nw_error_t error = live_error(nw_error_domain_tls, errSSLClosedNoNotify);
            post_receive(c, r, NULL, 0, 0, error);
            nw_release(error);
        }
        return 1;
    }
    nw_error_t error = live_tls_failure(io->ssl, n, 0);
    if (error->domain == nw_error_domain_tls && error->code == errSSLClosedNoNotify) {
        /* The peer closed without close_notify: Network.framework ends the
         * receive with that error (network.c takes it as the end). */
        pop_receive(c);
        post_receive(c, r, NULL, 0, 0, error);
        nw_release(error);
        io->rx_eof = 1;
        return 1;
    }
    fail(io, error);
    return 1;
}

static void carry(struct io *io)
{
    nw_connection_t c = io->c;
    for (;;) {
        if (cancelled(c))
            return;
        short events = 0;
        int w = try_write(io, &events), r = try_read(io, &events);
        if (w == 1 || r == 1)
            continue;
        if (r == 0 && SSL_pending(io->ssl))
            continue;
        struct pollfd p[2] = { { c->wake[0], POLLIN, 0 }, { io->fd, events, 0 } };
        if (poll(p, events ? 2 : 1, -1) < 0 && errno != EINTR)
            return;
        drain_wake(c);
    }
}

/* ------------------------------------------------------------- cancel */

static void finish(struct io *io)
{
    nw_connection_t c = io->c;
    pthread_mutex_lock(&c->lock);
    int force = c->force;
    pthread_mutex_unlock(&c->lock);
    if (io->fd >= 0) {
        if (force) {
            struct linger hard = { 1, 0 };
            setsockopt(io->fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
        } else if (io->ssl && SSL_is_init_finished(io->ssl) && !io->tx_closed && !io->failed) {
            SSL_shutdown(io->ssl);   /* nw_connection_cancel: close_notify, then FIN */
        }
        close(io->fd);
    }
    nw_error_t gone = live_error(nw_error_domain_posix, ECANCELED);
    for (struct live_receive *r; (r = pop_receive(c));)
        post_receive(c, r, NULL, 0, 0, gone);
    for (struct live_send *s; (s = pop_send(c));)
        post_send_done(c, s, gone);
    nw_release(gone);
    pthread_mutex_lock(&c->lock);
    int post = !c->cancelled_posted;
    c->cancelled_posted = 1;
    pthread_mutex_unlock(&c->lock);
    if (post)
        live_post_state(c, nw_connection_state_cancelled, NULL);
}

static void wait_cancel(nw_connection_t c)
{
    while (wait_fd(c, -1, 0))
        ;
}

static void *io_main(void *arg)
{
    struct io io = { .c = arg, .fd = -1 };
    nw_connection_t c = io.c;
    live_post_state(c, nw_connection_state_preparing, NULL);
    nw_error_t error = NULL;
    io.fd = connect_endpoint(c, &error);
    if (io.fd < 0) {
        if (error)   /* Network.framework waits for a better network, saying why */
            live_post_state(c, nw_connection_state_waiting, error);
        wait_cancel(c);
    } else if (c->proxy && !live_proxy_tunnel(c, io.fd, &error)) {
        if (error)
            live_post_state(c, nw_connection_state_failed, error);
        wait_cancel(c);
    } else if (!live_tls_setup(&io.ctx, &io.ssl, c, io.fd, &io.sent)) {
        live_post_state(c, nw_connection_state_failed, live_error(nw_error_domain_tls, errSSLInternal));
        wait_cancel(c);
    } else if (!handshake(&io, &error)) {
        if (error)
            live_post_state(c, nw_connection_state_failed, error);
        wait_cancel(c);
    } else {
        capture_ready(&io);
        live_post_state(c, nw_connection_state_ready, NULL);
        carry(&io);
    }
    finish(&io);
    if (io.ssl)
        SSL_free(io.ssl);
    if (io.ctx)
        SSL_CTX_free(io.ctx);
    if (io.sent)
        CFRelease(io.sent);
    if (io.failed)
        nw_release(io.failed);
    nw_release(c);
    return NULL;
}

void live_io_start(nw_connection_t c)
{
    nw_retain(c);
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &a, io_main, c) != 0)
        abort();
    pthread_attr_destroy(&a);
}
