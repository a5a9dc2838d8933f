/*
 * driver.c — the macOS keychain code on Linux against the scripted stand-in
 * keychain (test/standin/network/fake_keychain.c) and prints TAP:
 *   - tls_info(NULL, "identities") (c/impl-mac/mac_identities.c): every
 *     scripted identity with its label, where its key lives (keychain,
 *     Secure Enclave, a token) and its certificate; an empty keychain; a
 *     failed search;
 *   - the proxy password (c/common/proxy_cred*.c and proxy.c's 407 branch):
 *     a CONNECT proxy in this process answers 407 with a Basic challenge;
 *     the keychain's internet password for that server, port and protocol
 *     is then looked up on a worker thread (never on the thread that calls
 *     tls_*) and the tunnel is tried once more with it; never looked up
 *     without a 407, for a proxy that does not offer Basic, or when the
 *     proxy URL had user:password; a second 407 is TLS_PROXY_AUTH_REQUIRED.
 * The SecureTransport engine runs over c/common's real loopback sockets
 * (its SSL* calls are test/standin/securetransport/fake_st.c); nothing past
 * the tunnel but the stand-in's handshake completing is looked at. Built and run by scripts/test-mac-standins.sh.
 */
#define _GNU_SOURCE
#include "../network/fake_keychain.h"
#include "../tap.h"
#include "common/pem.h"
#include "common/proxy_auth.h"
#include "common/proxy_cred.h"
#include "tls_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static void is_str(const char *got, const char *want, const char *what)
{
    int same = got && want && strcmp(got, want) == 0;
    ok(same, "%s", what);
    if (!same)
        printf("  # got:  %s\n  # want: %s\n", got ? got : "(none)", want ? want : "(none)");
}

static const char *library(const char *key)
{
    const char *v = NULL, *err = NULL, *msg = NULL;
    if (!tls_info(NULL, key, &v, &err, &msg))
        printf("  # tls_info %s: %s %s\n", key, err, msg);
    return v;
}

/* ------------------------------------------------------------ identities */

static void test_identities(void)
{
    is_str(library("identities"), "", "identities: an empty keychain lists none");

    static const unsigned char alice[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
    static const unsigned char card[] = { 0x30, 0x03, 0x02, 0x01, 0x02 };
    static const unsigned char enclave[] = { 0x30, 0x03, 0x02, 0x01, 0x03 };
    fk_add_identity("Alice (work)", NULL, alice, sizeof alice);
    fk_add_identity("PIV\tcard", "com.apple.pivtoken:8F2A", card, sizeof card);
    fk_add_identity("Enclave key", "com.apple.setoken", enclave, sizeof enclave);
    strbuf want = {0};
    strbuf_puts(&want, "identity\tAlice (work)\tkeychain\n");
    pem_append_cert(&want, alice, sizeof alice);
    strbuf_puts(&want, "identity\tPIV card\ttoken com.apple.pivtoken:8F2A\n");
    pem_append_cert(&want, card, sizeof card);
    strbuf_puts(&want, "identity\tEnclave key\tSecure Enclave\n");
    pem_append_cert(&want, enclave, sizeof enclave);
    is_str(library("identities"), strbuf_text(&want),
           "identities: each identity's label (a tab in it made a space), key storage (kSecAttrTokenID: none, a "
           "smart card token, the Secure Enclave) and certificate, in the keychain's order");
    strbuf_free(&want);

    fk_fail_with(-25293);
    const char *v = library("identities");
    ok(v && strncmp(v, "error\tthe keychain search failed: ", 34) == 0 && strstr(v, "-25293"),
       "identities: a failed search is an error line with the OS status (%.*s)", v ? (int)strcspn(v, "\n") : 6,
       v ? v : "(none)");
    fk_reset();
}

/* ------------------------------------------------------- a CONNECT proxy */

#define MAX_ROUNDS 3

struct proxy {
    int listener, port;
    const char *answers[MAX_ROUNDS];   /* one per connection, in order; NULL ends */
    char requests[MAX_ROUNDS][2048];
    int connections;
    int tunnelled;                     /* the origin's handshake completed through the tunnel */
    pthread_t thread;
};

static const char answer_407_basic[] =
    "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Negotiate\r\n"
    "Proxy-Authenticate: Basic realm=\"corp\"\r\nContent-Length: 0\r\n\r\n";
static const char answer_407_negotiate[] =
    "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Negotiate, NTLM\r\n"
    "Content-Length: 0\r\n\r\n";
static const char answer_200[] = "HTTP/1.1 200 Connection established\r\n\r\n";

static void *proxy_main(void *arg)
{
    struct proxy *p = arg;
    for (int i = 0; i < MAX_ROUNDS && p->answers[i]; i++) {
        int s = accept(p->listener, NULL, NULL);
        if (s < 0)
            break;
        p->connections++;
        struct timeval limit = { 3, 0 };
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
        size_t have = 0;
        ssize_t r;
        while (have + 1 < sizeof p->requests[i] && !strstr(p->requests[i], "\r\n\r\n") &&
               (r = read(s, p->requests[i] + have, sizeof p->requests[i] - 1 - have)) > 0)
            have += (size_t)r;
        if (write(s, p->answers[i], strlen(p->answers[i])) < 0)
            break;
        if (p->answers[i] == answer_200) {
            /* The origin's first bytes through the tunnel: the stand-in's
             * ServerHello choosing TLS 1.2 (fake_st.c), which ends its
             * handshake; then wait for the client to close. */
            static const unsigned char hello[11] = { 22, 3, 3, 0, 6, 2, 0, 0, 2, 3, 3 };
            char sink[256];
            if (write(s, hello, sizeof hello) == sizeof hello)
                while (read(s, sink, sizeof sink) > 0)
                    ;
        }
        close(s);
    }
    close(p->listener);
    return NULL;
}

static void proxy_start(struct proxy *p, const char *a0, const char *a1, const char *a2)
{
    memset(p, 0, sizeof *p);
    p->answers[0] = a0;
    p->answers[1] = a1;
    p->answers[2] = a2;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    p->listener = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval limit = { 3, 0 };   /* a client that never comes back ends the proxy, not the run */
    setsockopt(p->listener, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    if (p->listener < 0 || bind(p->listener, (struct sockaddr *)&a, sizeof a) != 0 || listen(p->listener, 8) != 0 ||
        getsockname(p->listener, (struct sockaddr *)&a, &len) != 0) {
        printf("Bail out! no loopback listener\n");
        exit(1);
    }
    p->port = ntohs(a.sin_port);
    pthread_create(&p->thread, NULL, proxy_main, p);
}

/* Connect to 127.0.0.1:origin_port through proxy (an option value) and drive
 * set-up until it fails or the handshake through the tunnel is done. Returns
 * the error code (NULL: tunnelled); *msg its message. */
static const char *through(struct proxy *p, const char *proxy, int origin_port, char *msg, size_t msgcap)
{
    tls_conn *c = NULL;
    const char *err = NULL, *m = NULL;
    if (!tls_connect("127.0.0.1", origin_port, &c, &err, &m) || !tls_set_option(c, "proxy", proxy, &err, &m)) {
        printf("Bail out! tls_connect / proxy: %s %s\n", err, m);
        exit(1);
    }
    err = NULL;
    for (int i = 0; i < 200; i++) {
        int done = 0;
        if (!tls_handshake(c, &done, &err, &m))
            break;
        if (done) {
            p->tunnelled = 1;
            break;
        }
        tls_wait(c, TLS_WANT_READ, 20, NULL, NULL);
    }
    snprintf(msg, msgcap, "%s", err ? m : "");
    const char *reason = NULL;
    tls_info(c, "proxy_reason", &reason, NULL, NULL);
    if (!err && reason && !strstr(reason, "signed in with the password the OS keeps"))
        snprintf(msg, msgcap, "proxy_reason without the sign-in: %s", reason);
    tls_free(c);
    pthread_join(p->thread, NULL);
    return err;
}

static const char *auth_line(const char *request)
{
    const char *a = strstr(request, "Proxy-Authorization: ");
    return a ? a : "";
}

/* Which 407 headers offer Basic (RFC 9110: schemes are case-insensitive,
 * several challenges may share one field, auth-params are not schemes). */
static void test_basic_offered(void)
{
    static const struct {
        const char *header;
        int basic;
    } cases[] = {
        { "HTTP/1.1 407 x\r\nProxy-Authenticate: Basic realm=\"corp\"\r\n\r\n", 1 },
        { "HTTP/1.1 407 x\r\nproxy-authenticate: BASIC\r\n\r\n", 1 },
        { "HTTP/1.1 407 x\r\nProxy-Authenticate: Negotiate YIIB==, Basic realm=\"a, b\"\r\n\r\n", 1 },
        { "HTTP/1.1 407 x\r\nProxy-Authenticate: Digest realm=\"Basic\", basic=1\r\n\r\n", 0 },
        { "HTTP/1.1 407 x\r\nProxy-Authenticate: Basically\r\nX-Basic: Basic\r\n\r\n", 0 },
        { "HTTP/1.1 407 x\r\nWWW-Authenticate: Basic\r\n\r\n", 0 },
    };
    int right = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = proxy_auth_basic_offered(cases[i].header, strlen(cases[i].header));
        if (got == cases[i].basic)
            right++;
        else
            printf("  # wrong for: %s\n", cases[i].header);
    }
    ok(right == (int)(sizeof cases / sizeof cases[0]),
       "Proxy-Authenticate: Basic found case-insensitively, beside other challenges in one field or in another "
       "field; not in a quoted or auth-param value, a longer token, another header, or WWW-Authenticate");
}

static void test_proxy_password(void)
{
    struct proxy p;
    char url[64], msg[1024], want[256];
    /* base64("alice:s3cret p@ss") */
    const char *basic = "Proxy-Authorization: Basic YWxpY2U6czNjcmV0IHBAc3M=\r\n";

    proxy_start(&p, answer_407_basic, answer_200, NULL);
    fk_add_password("127.0.0.1", p.port, "htsx", "alice", "s3cret p@ss");
    snprintf(url, sizeof url, "http://127.0.0.1:%d", p.port);
    const char *err = through(&p, url, 443, msg, sizeof msg);
    ok(!err && p.tunnelled, "proxy 407 with Basic: the tunnel is made with the keychain's password (%s %s)",
       err ? err : "", msg);
    ok(p.connections == 2 && !strstr(p.requests[0], "Proxy-Authorization") &&
           strncmp(auth_line(p.requests[1]), basic, strlen(basic)) == 0,
       "proxy: the first CONNECT carries no credentials, the second (a new connection) Basic alice:s3cret p@ss");
    snprintf(want, sizeof want, "htsx 127.0.0.1:%d worker\n", p.port);
    is_str(fk_password_searches(), want,
           "proxy: one keychain search, server 127.0.0.1, the proxy's port, protocol HTTPS proxy, on a worker "
           "thread (not the thread calling tls_*)");
    fk_reset();

    proxy_start(&p, answer_407_basic, answer_200, NULL);
    fk_add_password("127.0.0.1", p.port, "htpx", "bob", "pw");
    snprintf(url, sizeof url, "http://127.0.0.1:%d", p.port);
    err = through(&p, url, 443, msg, sizeof msg);
    snprintf(want, sizeof want, "htsx 127.0.0.1:%d worker\nhtpx 127.0.0.1:%d worker\n", p.port, p.port);
    ok(!err && p.tunnelled && strstr(auth_line(p.requests[1]), "Basic Ym9iOnB3\r\n"),
       "proxy: a password kept for the HTTP proxy protocol is used when none is kept for HTTPS proxy (%s)",
       err ? msg : "tunnelled");
    is_str(fk_password_searches(), want, "proxy: searched HTTPS proxy, then HTTP proxy");
    fk_reset();

    proxy_start(&p, answer_200, NULL, NULL);
    fk_add_password("127.0.0.1", p.port, "htsx", "alice", "s3cret p@ss");
    snprintf(url, sizeof url, "http://127.0.0.1:%d", p.port);
    err = through(&p, url, 443, msg, sizeof msg);
    ok(!err && p.tunnelled && !strstr(p.requests[0], "Proxy-Authorization"),
       "proxy that does not ask: tunnelled without credentials (%s)", err ? msg : "tunnelled");
    is_str(fk_password_searches(), "", "proxy that does not ask: the keychain is not searched");
    fk_reset();

    proxy_start(&p, answer_407_negotiate, NULL, NULL);
    fk_add_password("127.0.0.1", p.port, "htsx", "alice", "s3cret p@ss");
    snprintf(url, sizeof url, "http://127.0.0.1:%d", p.port);
    err = through(&p, url, 443, msg, sizeof msg);
    ok(err && strcmp(err, TLS_PROXY_AUTH_REQUIRED) == 0 && p.connections == 1,
       "407 offering only Negotiate, NTLM: TLS_PROXY_AUTH_REQUIRED, no retry (%s)", err ? err : "tunnelled");
    is_str(fk_password_searches(), "", "407 without Basic: the keychain is not searched");
    fk_reset();

    proxy_start(&p, answer_407_basic, answer_407_basic, NULL);
    fk_add_password("127.0.0.1", p.port, "htsx", "alice", "wrong");
    snprintf(url, sizeof url, "http://127.0.0.1:%d", p.port);
    err = through(&p, url, 443, msg, sizeof msg);
    ok(err && strcmp(err, TLS_PROXY_AUTH_REQUIRED) == 0 && p.connections == 2 &&
           strstr(msg, "the password the OS keeps for this proxy was refused"),
       "a second 407 (the keychain's password refused): TLS_PROXY_AUTH_REQUIRED after one retry (%s: %s)",
       err ? err : "tunnelled", msg);
    fk_reset();

    proxy_start(&p, answer_407_basic, NULL, NULL);
    fk_add_password("127.0.0.1", p.port + 1, "htsx", "alice", "other port");
    fk_add_password("proxy.example", p.port, "htsx", "alice", "other server");
    snprintf(url, sizeof url, "http://127.0.0.1:%d", p.port);
    err = through(&p, url, 443, msg, sizeof msg);
    snprintf(want, sizeof want, "the keychain has no password for proxy 127.0.0.1 port %d", p.port);
    ok(err && strcmp(err, TLS_PROXY_AUTH_REQUIRED) == 0 && p.connections == 1 && strstr(msg, want),
       "no password kept for this server and port (only for others): TLS_PROXY_AUTH_REQUIRED saying so (%s: %s)",
       err ? err : "tunnelled", msg);
    fk_reset();

    proxy_start(&p, answer_407_basic, NULL, NULL);
    fk_add_password("127.0.0.1", p.port, "htsx", "alice", "s3cret p@ss");
    snprintf(url, sizeof url, "http://carol:given@127.0.0.1:%d", p.port);
    err = through(&p, url, 443, msg, sizeof msg);
    ok(err && strcmp(err, TLS_PROXY_AUTH_REQUIRED) == 0 && p.connections == 1 &&
           strstr(msg, "credentials in the proxy URL were refused"),
       "a proxy URL with user:password refused: TLS_PROXY_AUTH_REQUIRED, its own message (%s)", msg);
    is_str(fk_password_searches(), "", "a proxy URL with user:password: the keychain is not searched");
    fk_reset();

    /* proxy "system": the OS settings' Secure Web Proxy (fake CFNetwork) asks too */
    proxy_start(&p, answer_407_basic, answer_200, NULL);
    fcn_script_proxy("127.0.0.1", p.port);
    fk_add_password("127.0.0.1", p.port, "htsx", "alice", "s3cret p@ss");
    err = through(&p, "system", 8443, msg, sizeof msg);
    fcn_script_proxy(NULL, 0);
    ok(!err && p.tunnelled && strncmp(auth_line(p.requests[1]), basic, strlen(basic)) == 0,
       "proxy 'system' (the OS's Secure Web Proxy) answering 407: tunnelled with the keychain's password (%s)",
       err ? msg : "tunnelled");
    snprintf(want, sizeof want, "htsx 127.0.0.1:%d worker\n", p.port);
    is_str(fk_password_searches(), want, "proxy 'system': one search for that proxy, on a worker thread");
    fk_reset();
}

int main(void)
{
    const char *err, *msg;
    setenv("OSTLS_BACKEND", "securetransport", 1);
    if (!tls_init(&err, &msg)) {
        printf("Bail out! tls_init: %s %s\n", err, msg);
        return 1;
    }
    fk_host_thread = pthread_self();
    test_identities();
    test_basic_offered();
    test_proxy_password();
    printf("1..%d\n", tests);
    return failed ? 1 : 0;
}
