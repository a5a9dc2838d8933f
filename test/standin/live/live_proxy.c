/*
 * live_proxy.c — the live stand-in's HTTP CONNECT proxies (macOS 14's
 * nw_proxy_config_create_http_connect in a privacy context set on the
 * parameters): the connection's I/O thread opens TCP to the proxy, sends
 * "CONNECT host:port" (with Basic Proxy-Authorization when a user name and
 * password are set), reads the answer up to its blank line and, on a 2xx,
 * runs the origin's TLS over the same socket.
 *
 * Not modelled: TLS to the proxy (an https:// proxy, given TLS options) —
 * such a connection fails with POSIX EPROTONOSUPPORT — and whatever error
 * Network.framework really reports when a proxy refuses (Apple documents
 * none): a non-2xx answer fails the connection with POSIX ECONNREFUSED.
 */
#include "live.h"

#include <errno.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void options_destroy(void *self)
{
    struct nw_protocol_options *o = self;
    if (o->sec)
        sec_release(o->sec);
}

/* Only ever handed to nw_proxy_config_create_http_connect by network.c. */
nw_protocol_options_t nw_tls_create_options(void)
{
    return live_new(sizeof(struct nw_protocol_options), options_destroy);
}

static void config_destroy(void *self)
{
    struct nw_proxy_config *p = self;
    memset(p->user, 0, sizeof p->user);
    memset(p->pass, 0, sizeof p->pass);
}

nw_proxy_config_t nw_proxy_config_create_http_connect(nw_endpoint_t proxy_endpoint,
                                                      nw_protocol_options_t proxy_tls_options)
{
    struct nw_proxy_config *p = live_new(sizeof *p, config_destroy);
    snprintf(p->host, sizeof p->host, "%s", proxy_endpoint->host);
    snprintf(p->port, sizeof p->port, "%s", proxy_endpoint->port);
    p->tls = proxy_tls_options != NULL;
    return p;
}

void nw_proxy_config_set_username_and_password(nw_proxy_config_t p, const char *username, const char *password)
{
    snprintf(p->user, sizeof p->user, "%s", username);
    snprintf(p->pass, sizeof p->pass, "%s", password ? password : "");
    p->has_credentials = 1;
}

static void privacy_destroy(void *self)
{
    struct nw_privacy_context *x = self;
    if (x->proxy)
        nw_release(x->proxy);
}

nw_privacy_context_t nw_privacy_context_create(const char *description)
{
    (void)description;
    return live_new(sizeof(struct nw_privacy_context), privacy_destroy);
}

void nw_privacy_context_add_proxy(nw_privacy_context_t x, nw_proxy_config_t p)
{
    if (x->proxy)   /* the stand-in keeps one proxy per context (ostls adds one) */
        nw_release(x->proxy);
    x->proxy = nw_retain(p);
}

void nw_parameters_set_privacy_context(nw_parameters_t params, nw_privacy_context_t x)
{
    if (params->privacy)
        nw_release(params->privacy);
    params->privacy = nw_retain(x);
}

/* ------------------------------------------------------------ the tunnel */

static int send_all(nw_connection_t c, int fd, const char *buf, size_t len, int *err)
{
    for (size_t off = 0; off < len;) {
        ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!live_wait_fd(c, fd, POLLOUT))
                return 0;
        } else {
            *err = errno;
            return 0;
        }
    }
    return 1;
}

/* The answer's header, a byte at a time so that nothing after it (the
 * origin's TLS) is consumed. */
static int read_header(nw_connection_t c, int fd, char *buf, size_t cap, int *err)
{
    size_t have = 0;
    while (have + 1 < cap) {
        ssize_t n = recv(fd, buf + have, 1, 0);
        if (n == 1) {
            buf[++have] = '\0';
            if (have >= 4 && memcmp(buf + have - 4, "\r\n\r\n", 4) == 0)
                return 1;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!live_wait_fd(c, fd, POLLIN))
                return 0;
        } else {
            *err = n == 0 ? ECONNRESET : errno;
            return 0;
        }
    }
    *err = EPROTO;   /* no end of header in 16 KiB */
    return 0;
}

int live_proxy_tunnel(nw_connection_t c, int fd, nw_error_t *error)
{
    struct nw_proxy_config *p = c->proxy;
    *error = NULL;
    if (p->tls) {
        *error = live_error(nw_error_domain_posix, EPROTONOSUPPORT);
        return 0;
    }
    const char *host = c->endpoint->host;
    const char *open = strchr(host, ':') ? "[" : "", *close = *open ? "]" : "";
    char auth[1100] = "";
    if (p->has_credentials) {
        char plain[520];
        unsigned char b64[700];
        int n = snprintf(plain, sizeof plain, "%s:%s", p->user, p->pass);
        EVP_EncodeBlock(b64, (const unsigned char *)plain, n);
        snprintf(auth, sizeof auth, "Proxy-Authorization: Basic %s\r\n", b64);
        memset(plain, 0, sizeof plain);
        memset(b64, 0, sizeof b64);
    }
    char req[1600];
    int len = snprintf(req, sizeof req, "CONNECT %s%s%s:%s HTTP/1.1\r\nHost: %s%s%s:%s\r\n%s\r\n", open, host, close,
                       c->endpoint->port, open, host, close, c->endpoint->port, auth);
    int err = 0, ok = send_all(c, fd, req, (size_t)len, &err);
    memset(auth, 0, sizeof auth);
    memset(req, 0, sizeof req);
    char answer[16384];
    if (ok)
        ok = read_header(c, fd, answer, sizeof answer, &err);
    if (!ok) {
        if (err)
            *error = live_error(nw_error_domain_posix, err);
        return 0;
    }
    int status = 0;
    if (sscanf(answer, "HTTP/1.%*1[01] %3d", &status) != 1 || status < 200 || status > 299) {
        *error = live_error(nw_error_domain_posix, ECONNREFUSED);
        return 0;
    }
    return 1;
}
