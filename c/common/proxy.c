/*
 * proxy.c — HTTP CONNECT (RFC 9110 §9.3.6) through a proxy, as a
 * non-blocking phase between TCP connect and the TLS handshake.
 *
 * The answer is read with a peek first and then consumed only up to the end
 * of its header: bytes after it (the origin's first TLS bytes, should a proxy
 * ever send them in the same segment) stay queued in the socket for the
 * engine, and the socket's readiness still tells the truth about them.
 */
#define _POSIX_C_SOURCE 200809L
#include "proxy.h"

#include "conn.h"
#include "proxy_auth.h"
#include "options.h"
#include "proxy_cred.h"
#include "sysproxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct conn_proxy {
    char host[256];            /* the proxy, brackets removed */
    int port;
    char label[280];           /* "proxy host" for messages */
    char *request;             /* the CONNECT request; NULL once sent */
    size_t request_len, sent;
    char header[PROXY_HEADER_MAX];
    size_t have;               /* bytes of the answer consumed so far */
    int sent_credentials;
    char user[256], pass[256]; /* the URL's credentials (wiped at the end), for a sign-in after 407 */
    int has_credentials;
    proxy_auth *auth;          /* the sign-in after a 407 (proxy_auth.h), else NULL */
    int auth_wait;             /* its next token is being computed on a worker (proxy_auth_handle) */
    size_t discard;            /* bytes of a 407's body still to be read before the next request */
    int tunnel_up;             /* the proxy said 2xx: the engine owns the socket now */
    tls_conn *inner;           /* https:// proxy: the TLS connection to the proxy, else NULL */
    int inner_up;              /* its handshake is done */
    char *os_url;              /* proxy "system": the URL the OS named, without user:password; else NULL */
};

/* ------------------------------------------------------------ URL parsing */

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Percent-decode len bytes of src into out (cap bytes). 0 on a bad escape,
 * a NUL or control byte (never put into a header), or overflow. */
static int percent_decode(const char *src, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int ch = (unsigned char)src[i];
        if (ch == '%') {
            if (i + 2 >= len)
                return 0;
            int hi = hexval(src[i + 1]), lo = hexval(src[i + 2]);
            if (hi < 0 || lo < 0)
                return 0;
            ch = hi * 16 + lo;
            i += 2;
        }
        if (ch < 0x20 || ch == 0x7f || o + 1 >= cap)
            return 0;
        out[o++] = (char)ch;
    }
    out[o] = '\0';
    return 1;
}

int proxy_url_parse(const char *url, struct proxy_url *u, char *why, size_t cap)
{
    memset(u, 0, sizeof *u);
    const char *p;
    if (strncmp(url, "http://", 7) == 0)
        p = url + 7;
    else if (strncmp(url, "https://", 8) == 0) {
        p = url + 8;
        u->tls = 1;
    } else {
        snprintf(why, cap, "expected http[s]://[user:password@]host[:port]");
        return 0;
    }
    size_t auth_len = strcspn(p, "/?#");
    const char *rest = p + auth_len;
    if (*rest && strcmp(rest, "/") != 0) {
        snprintf(why, cap, "a proxy URL has no path, query or fragment");
        return 0;
    }
    const char *at = NULL;
    for (const char *q = p; q < p + auth_len; q++)
        if (*q == '@')
            at = q;
    const char *hp = p;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        size_t ulen = colon ? (size_t)(colon - p) : (size_t)(at - p);
        if (!percent_decode(p, ulen, u->user, sizeof u->user) ||
            (colon && !percent_decode(colon + 1, (size_t)(at - colon - 1), u->pass, sizeof u->pass))) {
            snprintf(why, cap, "the user name or password is malformed (bad %%-escape, control character, or longer than 255 bytes)");
            return 0;
        }
        if (strchr(u->user, ':')) {
            snprintf(why, cap, "the user name cannot contain ':' (Basic authentication)");
            return 0;
        }
        u->has_credentials = 1;
        hp = at + 1;
    }
    const char *end = p + auth_len;
    const char *host_end, *port_start = NULL;
    if (*hp == '[') {
        const char *close = memchr(hp, ']', (size_t)(end - hp));
        if (!close) {
            snprintf(why, cap, "an IPv6 proxy address needs its closing ']'");
            return 0;
        }
        host_end = close;
        hp++;
        if (close + 1 < end) {
            if (close[1] != ':') {
                snprintf(why, cap, "unexpected text after the proxy's IPv6 address");
                return 0;
            }
            port_start = close + 2;
        }
    } else {
        const char *colon = memchr(hp, ':', (size_t)(end - hp));
        host_end = colon ? colon : end;
        if (colon)
            port_start = colon + 1;
    }
    size_t hlen = (size_t)(host_end - hp);
    char hwhy[128];
    if (hlen == 0 || hlen >= sizeof u->host || !options_host_valid(hp, hlen, hwhy, sizeof hwhy)) {
        snprintf(why, cap, "the proxy host is not a valid name or address%s%s", hlen ? ": " : "",
                 hlen ? hwhy : "");
        return 0;
    }
    memcpy(u->host, hp, hlen);
    u->host[hlen] = '\0';
    u->port = u->tls ? 443 : 80;
    if (port_start) {
        int port = 0;
        if (port_start == end)
            port = -1;
        for (const char *q = port_start; q < end && port >= 0; q++)
            port = (*q >= '0' && *q <= '9' && port < 65536) ? port * 10 + (*q - '0') : -1;
        if (port < 1 || port > 65535) {
            snprintf(why, cap, "the proxy port must be a number from 1 to 65535");
            return 0;
        }
        u->port = port;
    }
    return 1;
}

int proxy_url_valid(const char *url, char *why, size_t whycap)
{
    if (strcmp(url, "system") == 0)
        return 1;
    struct proxy_url u;
    int ok = proxy_url_parse(url, &u, why, whycap);
    memset(&u, 0, sizeof u);   /* no credentials left on the stack */
    return ok;
}

/* --------------------------------------------------------------- request */

/* The CONNECT request, with auth (a Proxy-Authorization line) or, for the
 * first request, Basic from the URL's credentials when it has them. */
static int build_request(tls_conn *c, const char *auth)
{
    struct conn_proxy *px = c->proxy;
    char authority[1100];
    int v6 = strchr(c->host, ':') != NULL;
    snprintf(authority, sizeof authority, "%s%s%s:%d", v6 ? "[" : "", c->host, v6 ? "]" : "", c->port);
    char basic[800] = "";
    if (!auth && px->has_credentials) {
        char plain[520];
        char b64[700];
        int n = snprintf(plain, sizeof plain, "%s:%s", px->user, px->pass);
        proxy_base64((const unsigned char *)plain, (size_t)n, b64);
        snprintf(basic, sizeof basic, "Proxy-Authorization: Basic %s\r\n", b64);
        memset(plain, 0, sizeof plain);
        memset(b64, 0, sizeof b64);
        px->sent_credentials = 1;
    }
    if (!auth)
        auth = basic;
    size_t cap = 2 * strlen(authority) + strlen(auth) + 64;
    px->request = malloc(cap);
    int n = px->request ? snprintf(px->request, cap, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", authority,
                                   authority, auth)
                        : 0;
    memset(basic, 0, sizeof basic);
    px->request_len = (size_t)n;
    px->sent = 0;
    return px->request != NULL;
}

/* ----------------------------------------------------------------- start */

/* Point the race at host:port, as tls_connect does for the origin: an
 * address literal at once, the OSTLS_TEST_HOSTS hook, else background DNS. */
static int start_target(tls_conn *c, const char *host, int port)
{
    resolve_release(c->resolver);
    c->resolver = NULL;
    race_free(&c->race);
    int gai_error = 0;
    struct addrinfo *literal = NULL;
    int numeric = resolve_numeric(host, port, &literal, &gai_error);
    if (numeric < 0)
        return conn_fail(c, TLS_INVALID_ARGUMENT, "proxy %s is not a usable address: %s", host,
                         resolve_error_text(gai_error));
    int hooked;
    if (numeric) {
        hooked = race_add(&c->race, literal) ? 1 : -1;
        freeaddrinfo(literal);
    } else {
        hooked = race_test_hosts(&c->race, host, port);
    }
    if (hooked < 0)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory storing the addresses of proxy %s", host);
    if (hooked) {
        race_arrange(&c->race);
        c->state = CONN_CONNECTING;
        return 1;
    }
    int os_error = 0;
    c->state = CONN_RESOLVING;
    if (!resolve_start(host, port, &c->resolver, &os_error)) {
        char text[128];
        sock_error_text(os_error, text, sizeof text);
        conn_set_os_error(c, sock_error_name(os_error));
        return conn_fail(c, TLS_INTERNAL_ERROR, "could not start resolving proxy %s: %s", host, text);
    }
    return 1;
}

/* ------------------------------------------------------ https:// proxies */

/* An https:// proxy is reached by a connection of its own, made through this
 * library's public API like any other: its addresses are raced, its
 * certificate is verified by the OS (with the `ca` option's anchors too,
 * which this connection trusts), and the CONNECT request, its answer and
 * then the origin's TLS records travel inside it: conn_send / conn_recv
 * route through it (proxy_inner_send / _recv), so the engine does not know. */

static int inner_fail(tls_conn *c, const char *err, const char *msg)
{
    const char *os = "";
    tls_info(c->proxy->inner, "os_error", &os, NULL, NULL);
    conn_set_os_error(c, os && *os ? os : NULL);
    return conn_fail(c, err ? err : TLS_INTERNAL_ERROR, "TLS to %s failed: %s", c->proxy->label,
                     msg ? msg : "no reason given");
}

static int start_inner(tls_conn *c)
{
    struct conn_proxy *px = c->proxy;
    const char *err = NULL, *msg = NULL;
    if (!tls_connect(px->host, px->port, &px->inner, &err, &msg)) {
        px->inner = NULL;
        return conn_fail(c, err ? err : TLS_INTERNAL_ERROR, "%s: %s", px->label, msg ? msg : "cannot connect");
    }
    if ((c->opts.ca && !tls_set_option(px->inner, "ca", c->opts.ca, &err, &msg)) ||
        !tls_set_option(px->inner, "nodelay", c->opts.nodelay ? "1" : "0", &err, &msg))
        return inner_fail(c, err, msg);
    /* The origin's own resolution and race are not needed. */
    resolve_release(c->resolver);
    c->resolver = NULL;
    race_free(&c->race);
    c->state = CONN_HANDSHAKING;
    return 1;
}

/* 1 once the TLS connection to the proxy is up; 0 to wait or after conn_fail. */
static int inner_step(tls_conn *c)
{
    struct conn_proxy *px = c->proxy;
    if (!px->inner || px->inner_up)
        return 1;
    const char *err = NULL, *msg = NULL;
    int done = 0;
    if (!tls_handshake(px->inner, &done, &err, &msg))
        return inner_fail(c, err, msg);
    if (!done) {
        c->setup_wants = TLS_WANT_READ;   /* proxy_inner_poll asks the inner connection */
        return 0;
    }
    px->inner_up = 1;
    /* The TCP peer is the proxy: the inner connection's own addresses (the
     * same struct, so no text round trip through tls_info). */
    memcpy(c->remote_address, px->inner->remote_address, sizeof c->remote_address);
    c->remote_port = px->inner->remote_port;
    memcpy(c->local_address, px->inner->local_address, sizeof c->local_address);
    c->local_port = px->inner->local_port;
    return 1;
}

int proxy_pending(tls_conn *c)
{
    return c->proxy && !c->proxy->tunnel_up;
}

int proxy_inner(tls_conn *c)
{
    return c->proxy && c->proxy->inner;
}

net_status proxy_inner_send(tls_conn *c, const void *buf, size_t len, size_t *sent)
{
    *sent = 0;
    if (len == 0)
        return NET_OK;
    if (!c->proxy->inner_up)
        return NET_AGAIN;
    const char *err = NULL, *msg = NULL;
    if (!tls_write(c->proxy->inner, buf, len, sent, &err, &msg))
        return err && strcmp(err, TLS_CLOSED) == 0 ? NET_EOF : NET_ERROR;
    return *sent ? NET_OK : NET_AGAIN;
}

net_status proxy_inner_recv(tls_conn *c, void *buf, size_t len, size_t *got)
{
    *got = 0;
    if (!c->proxy->inner_up)
        return NET_AGAIN;
    const char *err = NULL, *msg = NULL;
    if (!tls_read(c->proxy->inner, buf, len, got, &err, &msg))
        return err && strcmp(err, TLS_CLOSED) == 0 ? NET_EOF : NET_ERROR;
    return *got ? NET_OK : NET_AGAIN;
}

void proxy_inner_poll(tls_conn *c, int64_t *handle, int *events)
{
    if (!proxy_inner(c))
        return;
    int want = *events & (TLS_WANT_READ | TLS_WANT_WRITE);
    int64_t h;
    int ev;
    /* The handle is always the inner connection's (the host may keep it
     * once set-up is done); the events only when c waits for the socket. */
    if (!tls_pollhandle(c->proxy->inner, want ? want : TLS_WANT_READ, &h, &ev, NULL, NULL)) {
        *events = TLS_POLL_NOW;   /* the next call surfaces the inner failure */
        return;
    }
    *handle = h;
    if (want && !(*events & TLS_POLL_NOW))
        *events = ev;
}

int proxy_inner_polltimeout(tls_conn *c)
{
    return proxy_inner(c) && !c->proxy->inner_up ? tls_polltimeout(c->proxy->inner) : -1;
}

int proxy_inner_shutdown(tls_conn *c)
{
    /* The origin has had its close_notify through the tunnel; the TLS
     * connection to the proxy stays open for the origin's answer (a proxy's
     * TLS server commonly closes both ways on close_notify) until close. */
    return c->proxy->inner_up;
}

void proxy_inner_close(tls_conn *c)
{
    if (proxy_inner(c))
        tls_close(c->proxy->inner, NULL, NULL);
}

/* A copy of url without "user:password@", so that it can be shown and
 * handed to the host (tls_info "proxy_url"); NULL when out of memory. */
static char *url_without_userinfo(const char *url)
{
    char *copy = strdup(url);
    if (!copy)
        return NULL;
    char *authority = strstr(copy, "://");
    authority = authority ? authority + 3 : copy;
    size_t len = strcspn(authority, "/?#");
    char *at = NULL;
    for (char *q = authority; q < authority + len; q++)
        if (*q == '@')
            at = q;
    if (at)
        memmove(authority, at + 1, strlen(at + 1) + 1);
    return copy;
}

/* Says how the proxy (or none) was chosen: source as tls_info "proxy_source"
 * gives it, and the reason in words (dropped when out of memory). */
static void set_choice(tls_conn *c, const char *source, const char *reason)
{
    snprintf(c->proxy_source, sizeof c->proxy_source, "%s", source);
    char *buf = conn_text_buffer(&c->proxy_reason, PROXY_REASON_MAX);
    if (buf)
        snprintf(buf, PROXY_REASON_MAX, "%s", reason);
}

/* Tunnel through url. from_os: the URL came from the OS's settings, not
 * from the caller, so a URL ostls cannot use is the proxy's failure. */
static int tunnel_start(tls_conn *c, const char *url, int from_os)
{
    struct proxy_url u;
    char why[200];
    if (!proxy_url_parse(url, &u, why, sizeof why)) {
        if (from_os)
            return conn_fail(c, TLS_PROXY_FAILED, "the OS's proxy for %s port %d (%s, %s) cannot be used: %s",
                             c->host, c->port, url, c->proxy_reason ? c->proxy_reason : "", why);
        return conn_fail(c, TLS_INVALID_ARGUMENT, "invalid value for option proxy: %s", why);
    }
    c->proxy = calloc(1, sizeof *c->proxy);
    if (c->proxy && u.has_credentials) {
        memcpy(c->proxy->user, u.user, sizeof u.user);
        memcpy(c->proxy->pass, u.pass, sizeof u.pass);
        c->proxy->has_credentials = 1;
    }
    int ok = c->proxy && build_request(c, NULL);
    if (ok) {
        snprintf(c->proxy->host, sizeof c->proxy->host, "%s", u.host);
        c->proxy->port = u.port;
        snprintf(c->proxy->label, sizeof c->proxy->label, "proxy %s", u.host);
    }
    if (ok && from_os)
        ok = (c->proxy->os_url = url_without_userinfo(url)) != NULL;
    int tls = u.tls;
    memset(&u, 0, sizeof u);
    if (!ok)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory preparing the proxy request");
    return tls ? start_inner(c) : start_target(c, c->proxy->host, c->proxy->port);
}

int proxy_start(tls_conn *c, int engine_owns_transport)
{
    if (!c->opts.proxy || c->state == CONN_FAILED)
        return 1;
    int system = strcmp(c->opts.proxy, "system") == 0;
    if (engine_owns_transport && system) {
        set_choice(c, "engine", "the TLS engine makes its own connections: the system proxy is left to it");
        return 1;
    }
    if (engine_owns_transport == PROXY_ENGINE_TUNNELS) {
        set_choice(c, "option", "option proxy");
        return 1;   /* the engine checks the URL and asks its OS to tunnel */
    }
    if (engine_owns_transport)
        return conn_fail(c, TLS_INVALID_ARGUMENT,
                         "option proxy is not supported by this TLS engine yet (it makes its own connections)");
    if (!system) {
        set_choice(c, "option", "option proxy");
        return tunnel_start(c, c->opts.proxy, 0);
    }
    int os_error = 0;
    if (!sysproxy_start(c->host, c->port, &c->proxy_lookup, &os_error)) {
        c->proxy_lookup = NULL;
        if (!os_error)
            return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory looking up the system proxy");
        char text[128];
        sock_error_text(os_error, text, sizeof text);
        return conn_fail(c, TLS_INTERNAL_ERROR, "could not start looking up the system proxy: %s", text);
    }
    return 1;
}

static int cred_step(tls_conn *c);

int proxy_lookup_step(tls_conn *c)
{
    if (c->proxy_cred)
        return cred_step(c);   /* credentials hook */
    if (!c->proxy_lookup)
        return 1;
    struct sysproxy_answer a;
    if (!sysproxy_finished(c->proxy_lookup, &a)) {
        c->setup_wants = TLS_WANT_READ;
        return 0;
    }
    sysproxy_release(c->proxy_lookup);
    c->proxy_lookup = NULL;
    set_choice(c, a.source, a.why);
    if (!a.url[0])
        return 1;   /* direct: the origin's resolution goes on */
    return tunnel_start(c, a.url, 1);
}

int64_t proxy_lookup_handle(tls_conn *c)
{
    if (c->proxy_cred)
        return proxy_cred_handle(c->proxy_cred);   /* credentials hook */
    if (c->proxy && c->proxy->auth_wait)
        return proxy_auth_handle(c->proxy->auth);   /* a sign-in token on its worker */
    return c->proxy_lookup ? sysproxy_handle(c->proxy_lookup) : -1;
}

/* ------------------------------------------------------------ the answer */

/* Offset just past the empty line that ends the header in buf[0..len), or 0. */
static size_t header_end(const char *buf, size_t len)
{
    for (size_t i = 1; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (buf[i - 1] == '\n')
            return i + 1;
        if (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n')
            return i + 1;
    }
    return 0;
}

/* Does what has arrived so far still look like an HTTP/1.x status line? */
static int plausible_start(const char *buf, size_t len)
{
    static const char prefix[] = "HTTP/1.";
    size_t n = len < sizeof prefix - 1 ? len : sizeof prefix - 1;
    return strncmp(buf, prefix, n) == 0;
}

/* Printable copy of at most cap-1 bytes of the first line, for messages. */
static void first_line(const char *buf, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len && buf[i] != '\r' && buf[i] != '\n' && o + 1 < cap; i++) {
        unsigned char ch = (unsigned char)buf[i];
        out[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
    out[o] = '\0';
}

static int proxy_fail(tls_conn *c, const char *code, const char *fmt, const char *detail)
{
    char origin[1100];
    snprintf(origin, sizeof origin, "%s port %d", c->host, c->port);
    return conn_fail(c, code, "%s (%s port %d) %s %s%s", c->proxy->label, c->remote_address,
                     c->remote_port, fmt, origin, detail);
}

static int socket_fail(tls_conn *c, net_status st, const char *during)
{
    char detail[200] = "";
    if (st == NET_ERROR) {
        char text[128];
        sock_error_text(c->sock_error, text, sizeof text);
        snprintf(detail, sizeof detail, ": %s (%s)", text, sock_error_name(c->sock_error));
        conn_set_os_error(c, sock_error_name(c->sock_error));
    }
    return proxy_fail(c, TLS_PROXY_FAILED, during, detail);
}

/* ------------------------------------------- the OS's proxy password */

/* After a 407 that offers Basic when no user:password was sent: look up the
 * password the OS keeps for this proxy (proxy_cred.h) on a worker thread.
 * The connection to the proxy ends now (the retry makes a new one, so the
 * 407's body need not be read); proxy_lookup_step waits for the answer. 1
 * when the lookup started; 0 when there is none to make (the 407 stands). */
static int cred_lookup(tls_conn *c)
{
    struct conn_proxy *px = c->proxy;
    int os_error = 0;
    if (c->proxy_cred_sent || !proxy_cred_os_available() || !proxy_auth_basic_offered(px->header, px->have) ||
        !proxy_cred_start(px->host, px->port, px->inner != NULL, &c->proxy_cred, &os_error))
        return 0;
    if (px->inner) {
        tls_free(px->inner);
        px->inner = NULL;
        px->inner_up = 0;
    } else {
        sock_close(c->sock);
        c->sock = TLS_NO_SOCKET;
    }
    c->setup_wants = TLS_WANT_READ;
    return 1;
}

/* The answer: tunnel again, once, with the password; none is the 407. */
static int cred_step(tls_conn *c)
{
    char url[PROXY_CRED_URL_MAX], why[PROXY_CRED_WHY_MAX];
    if (!proxy_cred_finished(c->proxy_cred, url, sizeof url, why, sizeof why)) {
        c->setup_wants = TLS_WANT_READ;
        return 0;
    }
    proxy_cred_release(c->proxy_cred);
    c->proxy_cred = NULL;
    if (!url[0]) {
        char line[200], detail[600];
        first_line(c->proxy->header, c->proxy->have, line, sizeof line);
        const char *sp = strchr(line, ' ');
        snprintf(detail, sizeof detail, ": %s (the proxy URL has no user:password, and %s)", sp ? sp + 1 : line,
                 why);
        return proxy_fail(c, TLS_PROXY_AUTH_REQUIRED, "requires authentication to tunnel to", detail);
    }
    c->proxy_cred_sent = 1;
    if (c->proxy_reason)
        text_append(c->proxy_reason, PROXY_REASON_MAX, "; signed in with the password the OS keeps for it");
    proxy_free(c);
    int ok = tunnel_start(c, url, 1);
    memset(url, 0, sizeof url);
    return ok;
}

/* A 407 from the proxy: 2 when the next request (with the next sign-in
 * token) is ready to go, on this connection or on a new one to the proxy;
 * 0 after conn_fail. */
static int answer_407(tls_conn *c, const char *status_text);

/* The complete header is in px->header[0..have): judge the status. 1 when
 * the tunnel is up, 2 to send the next request (407), 0 after conn_fail. */
static int judge(tls_conn *c)
{
    struct conn_proxy *px = c->proxy;
    char line[200];
    first_line(px->header, px->have, line, sizeof line);
    int status = 0;
    const char *sp = strchr(line, ' ');
    if (strncmp(line, "HTTP/1.", 7) == 0 && sp && sp[1] >= '1' && sp[1] <= '5' && sp[2] >= '0' &&
        sp[2] <= '9' && sp[3] >= '0' && sp[3] <= '9' && (sp[4] == ' ' || sp[4] == '\0'))
        status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
    char detail[260];
    snprintf(detail, sizeof detail, ": \"%s\"", line);
    if (status == 0)
        return proxy_fail(c, TLS_PROXY_FAILED, "answered CONNECT with a malformed status line for", detail);
    if (status == 407)
        return answer_407(c, sp + 1);
    if (status < 200 || status > 299) {
        snprintf(detail, sizeof detail, ": %s", sp + 1);
        return proxy_fail(c, TLS_PROXY_FAILED, "refused the tunnel to", detail);
    }
    return 1;
}

/* Can the next request go on this connection after the 407? HTTP/1.1, no
 * "close", and a body of known length (read and dropped first). */
static int keeps_connection(struct conn_proxy *px, size_t *body)
{
    size_t vlen, from = 0;
    const char *v;
    if (strncmp(px->header, "HTTP/1.1", 8) != 0)
        return 0;
    static const char *const conn_fields[] = {"Connection", "Proxy-Connection"};
    for (size_t f = 0; f < 2; f++)
        for (from = 0; (v = proxy_header_field(px->header, px->have, conn_fields[f], &vlen, &from)) != NULL;)
            for (size_t i = 0; i + 5 <= vlen; i++)
                if (strncmp(v + i, "close", 5) == 0 || strncmp(v + i, "Close", 5) == 0)
                    return 0;
    from = 0;
    if (proxy_header_field(px->header, px->have, "Transfer-Encoding", &vlen, &from))
        return 0;
    from = 0;
    v = proxy_header_field(px->header, px->have, "Content-Length", &vlen, &from);
    if (!v || vlen == 0 || vlen > 6)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < vlen; i++) {
        if (v[i] < '0' || v[i] > '9')
            return 0;
        n = n * 10 + (size_t)(v[i] - '0');
    }
    *body = n;
    return n <= 65536;
}

/* Open a new connection to the proxy for the next request (the old one
 * ends): the set-up goes back to resolving / connecting, or for an https://
 * proxy to a new TLS connection to it. */
static int reconnect(tls_conn *c)
{
    struct conn_proxy *px = c->proxy;
    px->have = 0;
    px->discard = 0;
    if (px->inner) {
        tls_free(px->inner);
        px->inner = NULL;
        px->inner_up = 0;
        return start_inner(c) ? 2 : 0;
    }
    sock_close(c->sock);
    c->sock = TLS_NO_SOCKET;
    return start_target(c, px->host, px->port) ? 2 : 0;
}

static int answer_407(tls_conn *c, const char *status_text)
{
    struct conn_proxy *px = c->proxy;
    /* No credentials sent and the proxy offers Basic: the password the OS
     * keeps for it, where the OS keeps one (macOS; proxy_cred.h), first. */
    if (!px->sent_credentials && !px->auth && cred_lookup(c))
        return 0;
    char why[700], detail[900];
    char *line = NULL;
    int bound = 0;
    enum proxy_auth_next next =
        proxy_auth_answer(&px->auth, px->header, px->have, px->host, px->has_credentials ? px->user : NULL,
                          px->has_credentials ? px->pass : NULL, px->sent_credentials, &line, &bound, why,
                          sizeof why);
    px->auth_wait = next == PROXY_AUTH_WAIT;
    if (px->auth_wait) {
        /* The 407 stays in px->header (and its body in the socket) until the
         * token is in: then judge() runs again and takes it. */
        c->setup_wants = TLS_WANT_READ;
        return 0;
    }
    if (next == PROXY_AUTH_REFUSED) {
        /* After the OS's password was tried, the URL's credentials are that
         * password (and where the OS keeps one, no OS sign-in scheme exists). */
        snprintf(detail, sizeof detail, ": %s (%s)", status_text,
                 c->proxy_cred_sent ? "the password the OS keeps for this proxy was refused" : why);
        return proxy_fail(c, TLS_PROXY_AUTH_REQUIRED, "requires authentication to tunnel to", detail);
    }
    free(px->request);
    int ok = build_request(c, line);
    memset(line, 0, strlen(line));
    free(line);
    if (!ok)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory preparing the proxy request");
    size_t body = 0;
    if (keeps_connection(px, &body)) {
        px->have = 0;
        px->discard = body;
        return 2;
    }
    /* NTLM and Negotiate answer a challenge on the connection that carried
     * it: a proxy that closes it then cannot be signed in to. */
    if (bound) {
        snprintf(detail, sizeof detail, ": %s (it ended the connection after its %s challenge, to which the answer "
                 "belongs: a %s sign-in needs a keep-alive connection)", status_text,
                 proxy_auth_scheme(px->auth), proxy_auth_scheme(px->auth));
        return proxy_fail(c, TLS_PROXY_AUTH_REQUIRED, "requires authentication to tunnel to", detail);
    }
    return reconnect(c);
}

/* Read and drop what is left of a 407's body. 1 when done; 0 to wait or
 * after conn_fail. */
static int drop_body(tls_conn *c)
{
    struct conn_proxy *px = c->proxy;
    while (px->discard) {
        char sink[1024];
        size_t n = 0;
        net_status st = conn_recv(c, sink, px->discard < sizeof sink ? px->discard : sizeof sink, &n);
        if (st == NET_AGAIN) {
            c->setup_wants = TLS_WANT_READ;
            return 0;
        }
        if (st != NET_OK)
            return socket_fail(c, st, "lost the connection while sending its 407 answer to CONNECT for");
        px->discard -= n;
    }
    return 1;
}

static int proxy_round(tls_conn *c);

int proxy_step(tls_conn *c)
{
    for (;;) {
        int r = proxy_round(c);
        if (r != 2)
            return r;
        if (c->state != CONN_HANDSHAKING)
            return 0;   /* a new connection to the proxy first (lifecycle.c goes on with it) */
    }
}

/* One request and its answer: 1 tunnel up, 2 another request to send, 0 to
 * wait or after conn_fail. */
static int proxy_round(tls_conn *c)
{
    struct conn_proxy *px = c->proxy;
    if (!px || px->tunnel_up)
        return 1;
    if (px->auth_wait)
        return judge(c);   /* the 407 again: its sign-in token may be in */
    if (!inner_step(c) || !drop_body(c))
        return 0;
    while (px->sent < px->request_len) {
        size_t n = 0;
        net_status st = conn_send(c, px->request + px->sent, px->request_len - px->sent, &n);
        if (st == NET_AGAIN) {
            c->setup_wants = TLS_WANT_WRITE;
            return 0;
        }
        if (st != NET_OK)
            return socket_fail(c, st, "dropped the connection while ostls sent CONNECT for");
        px->sent += n;
    }
    if (px->request) {
        memset(px->request, 0, px->request_len);   /* it may hold credentials */
        free(px->request);
        px->request = NULL;
    }
    for (;;) {
        size_t room = sizeof px->header - px->have, n = 0;
        if (room == 0)
            return proxy_fail(c, TLS_PROXY_FAILED, "sent a header larger than 16 KiB in answer to CONNECT for", "");
        /* Through TLS there is no peek: one byte at a time (decrypted
         * already, so cheap) never takes a byte past the header. */
        net_status st = px->inner ? conn_recv(c, px->header + px->have, 1, &n)
                                  : sock_peek(c->sock, px->header + px->have, room, &n, &c->sock_error);
        if (st == NET_AGAIN) {
            c->setup_wants = TLS_WANT_READ;
            return 0;
        }
        if (st == NET_EOF)
            return proxy_fail(c, TLS_PROXY_FAILED, "closed the connection before answering CONNECT for", "");
        if (st != NET_OK)
            return socket_fail(c, st, "dropped the connection before answering CONNECT for");
        size_t end = header_end(px->header, px->have + n);
        size_t take = end ? end - px->have : n;
        /* Consume exactly our part; what follows the header stays queued. */
        size_t got = px->inner ? take : 0;
        if (!px->inner)
            st = conn_recv(c, px->header + px->have, take, &got);
        if (st != NET_OK || got != take)
            return socket_fail(c, st, "lost the connection while answering CONNECT for");
        px->have += got;
        if (!plausible_start(px->header, px->have)) {
            char line[80], detail[120];
            first_line(px->header, px->have, line, sizeof line);
            snprintf(detail, sizeof detail, ": it is not HTTP (\"%s\")", line);
            return proxy_fail(c, TLS_PROXY_FAILED, "answered CONNECT with something else for", detail);
        }
        if (end) {
            int verdict = judge(c);
            if (verdict != 1)
                return verdict;
            px->tunnel_up = 1;   /* the engine takes the socket from here */
            return 1;
        }
    }
}

/* ------------------------------------------------------------- accessors */

const char *proxy_target_host(tls_conn *c)
{
    return c->proxy ? c->proxy->host : c->host;
}

int proxy_target_port(tls_conn *c)
{
    return c->proxy ? c->proxy->port : c->port;
}

const char *proxy_label(tls_conn *c)
{
    return c->proxy ? "proxy " : "";
}

const char *proxy_os_url(tls_conn *c)
{
    return c->proxy && c->proxy->os_url ? c->proxy->os_url : "";
}

void proxy_free(tls_conn *c)
{
    sysproxy_release(c->proxy_lookup);
    c->proxy_lookup = NULL;
    proxy_cred_release(c->proxy_cred);
    c->proxy_cred = NULL;
    if (!c->proxy)
        return;
    if (c->proxy->inner)
        tls_free(c->proxy->inner);
    if (c->proxy->request) {
        memset(c->proxy->request, 0, c->proxy->request_len);
        free(c->proxy->request);
    }
    free(c->proxy->os_url);
    proxy_auth_free(c->proxy->auth);
    memset(c->proxy->user, 0, sizeof c->proxy->user);
    memset(c->proxy->pass, 0, sizeof c->proxy->pass);
    free(c->proxy);
    c->proxy = NULL;
}
