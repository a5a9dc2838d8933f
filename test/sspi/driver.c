/*
 * driver.c — the SSPI stand-in's tests, printed as TAP (scripts/test-sspi.sh
 * builds it with the Schannel engine, c/common and test/sspi/standin.c, and
 * runs it under Wine). Each test is a scripted server on loopback, in a
 * thread, speaking standin.h's wire format, and a client driving ostls's C
 * API exactly as a host does (tls_handshake / tls_read / tls_write /
 * tls_wait), so the engine meets the stand-in through c/common's transport.
 *
 * usage: driver.exe <dir with standin0.der and standin1.der>
 */
#include <winsock2.h>
#include <ws2tcpip.h>

#include "../../c/tls_client.h"
#include "identities.h"
#include "standin.h"

#include <process.h>
#include <stdio.h>
#include <stdlib.h>

static int tests, failed;

static void result(int pass, const char *name, const char *detail)
{
    printf("%s %d - %s\n", pass ? "ok" : "not ok", ++tests, name);
    if (!pass) {
        failed++;
        if (detail && *detail)
            printf("  # %s\n", detail);
    }
    fflush(stdout);
}

/* ------------------------------------------------------------------ peer */

struct peer {
    SOCKET listener, s;
    int port;
    void (*script)(struct peer *);
    HANDLE thread, go;
    /* what the client sent, decoded */
    unsigned char app[4096];
    size_t app_len;           /* bytes kept in app (the first 4096) */
    unsigned long long app_total, app_mismatch;   /* against pattern() (the upload test) */
    int hellos, finisheds, close_notify, clear_alert;
    char client_cert[48];     /* the last client Certificate: "" none, else a thumbprint */
    int cert_msgs;            /* client Certificate messages received */
    unsigned char out[1 << 16];
    size_t out_len;
};

static unsigned char pattern(unsigned long long i)
{
    return (unsigned char)(i * 7 + i / 251);
}

static int recv_all(SOCKET s, unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        int r = recv(s, (char *)buf + got, (int)(n - got), 0);
        if (r <= 0)
            return 0;
        got += (size_t)r;
    }
    return 1;
}

/* A client Certificate message ('C' and a thumbprint, or 'C' alone: none). */
static void peer_client_cert(struct peer *p, const unsigned char *body, size_t len)
{
    size_t n = len - 1 < sizeof p->client_cert - 1 ? len - 1 : sizeof p->client_cert - 1;
    memcpy(p->client_cert, body + 1, n);
    p->client_cert[n] = '\0';
    p->cert_msgs++;
}

/* One record from the client, decoded into p's tallies; its first body byte
 * (handshake op, or inner type for sealed records) in *op. 0 at EOF. */
static int peer_record(struct peer *p, int *op)
{
    unsigned char h[5], body[16384 + 64];
    if (!recv_all(p->s, h, 5))
        return 0;
    size_t len = (size_t)((h[3] << 8) | h[4]);
    if (len > sizeof body || !recv_all(p->s, body, len))
        return 0;
    *op = 0;
    if (h[0] == 22 && len > 0) {
        *op = body[0];
        p->hellos += body[0] == 'c';
        p->finisheds += body[0] == 'f';
        if (body[0] == 'C')
            peer_client_cert(p, body, len);
    } else if (h[0] == 21) {
        p->clear_alert = 1;
        *op = 21;
    } else if (h[0] == 23 && len >= STANDIN_TRAILER) {
        size_t plen = len - STANDIN_TRAILER;
        int inner = body[plen] ^ STANDIN_KEY;
        *op = inner;
        if (inner == 21) {
            p->close_notify = 1;
        } else if (inner == 23) {
            for (size_t i = 0; i < plen; i++) {
                unsigned char b = body[i] ^ STANDIN_KEY;
                if (p->app_len < sizeof p->app)
                    p->app[p->app_len++] = b;
                if (b != pattern(p->app_total))
                    p->app_mismatch++;
                p->app_total++;
            }
        }
    }
    return 1;
}

/* Reads until a handshake record with this op; 0 at EOF. */
static int expect(struct peer *p, int want)
{
    int op;
    while (peer_record(p, &op))
        if (op == want)
            return 1;
    return 0;
}

/* Reads until the client's close_notify or EOF. */
static void drain(struct peer *p)
{
    int op;
    while (!p->close_notify && peer_record(p, &op))
        ;
}

static void hs(struct peer *p, const char *body)
{
    p->out_len += standin_frame(p->out + p->out_len, 22, body, strlen(body));
}

static void seal(struct peer *p, int inner, const char *text)
{
    p->out_len += standin_seal(p->out + p->out_len, inner, text, strlen(text));
}

static void close_notify(struct peer *p)
{
    unsigned char alert[2] = { 1, 0 };
    p->out_len += standin_seal(p->out + p->out_len, 21, alert, 2);
}

/* Sends what was queued, in one send() (so it arrives in one read if the client is slow). */
static void flush(struct peer *p)
{
    send(p->s, (const char *)p->out, (int)p->out_len, 0);
    p->out_len = 0;
}

/* Sends what was queued in pieces cut at `cuts`, pausing between them. */
static void flush_split(struct peer *p, const size_t *cuts, int ncuts)
{
    size_t from = 0;
    for (int i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : p->out_len;
        send(p->s, (const char *)p->out + from, (int)(to - from), 0);
        from = to;
        Sleep(100);
    }
    p->out_len = 0;
}

static void handshake13(struct peer *p, const char *extra_after_finished)
{
    expect(p, 'c');
    hs(p, "S03");
    hs(p, "F");
    if (extra_after_finished)
        seal(p, 23, extra_after_finished);
    flush(p);
    expect(p, 'f');
}

static unsigned __stdcall peer_main(void *arg)
{
    struct peer *p = arg;
    p->s = accept(p->listener, NULL, NULL);
    if (p->s != INVALID_SOCKET) {
        p->script(p);
        shutdown(p->s, SD_SEND);
        /* Wait for the client's end before closing: no RST cuts what was sent. */
        char sink[4096];
        while (recv(p->s, sink, sizeof sink, 0) > 0)
            ;
        closesocket(p->s);
    }
    return 0;
}

static struct peer *peer_start(void (*script)(struct peer *))
{
    struct peer *p = calloc(1, sizeof *p);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int alen = sizeof a;
    p->listener = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    bind(p->listener, (struct sockaddr *)&a, sizeof a);
    listen(p->listener, 1);
    getsockname(p->listener, (struct sockaddr *)&a, &alen);
    p->port = ntohs(a.sin_port);
    p->script = script;
    p->go = CreateEventW(NULL, TRUE, FALSE, NULL);
    p->thread = (HANDLE)_beginthreadex(NULL, 0, peer_main, p, 0, NULL);
    return p;
}

static void peer_join(struct peer *p)
{
    WaitForSingleObject(p->thread, 20000);
    CloseHandle(p->thread);
    CloseHandle(p->go);
    closesocket(p->listener);
}

/* ---------------------------------------------------------------- client */

struct client {
    tls_conn *c;
    const char *err;          /* the failure's code, NULL while none */
    char msg[512];
    char data[4096];
    size_t len;
};

static void failure(struct client *k, const char *err, const char *msg)
{
    k->err = err;
    snprintf(k->msg, sizeof k->msg, "%s: %s", err, msg ? msg : "");
}

static char ca_pem[8192];   /* standin0.pem: with it as `ca`, certificate 0 verifies and 1 does not */

/* Connects with these options (name, value, ..., NULL) and handshakes. */
static int client_open_with(struct client *k, int port, const char *const *opts)
{
    const char *e, *m;
    memset(k, 0, sizeof *k);
    if (!tls_connect("127.0.0.1", port, &k->c, &e, &m)) {
        failure(k, e, m);
        return 0;
    }
    for (int i = 0; opts[i]; i += 2)
        if (!tls_set_option(k->c, opts[i], opts[i + 1], &e, &m)) {
            failure(k, e, m);
            return 0;
        }
    for (;;) {
        int done = 0;
        if (!tls_handshake(k->c, &done, &e, &m)) {
            failure(k, e, m);
            return 0;
        }
        if (done)
            return 1;
        if (!tls_wait(k->c, TLS_WANT_READ, 10000, &e, &m)) {
            failure(k, e, m);
            return 0;
        }
    }
}

/* Connects and handshakes; verify_ca: verify against ca_pem, else verify "none". */
static int client_open_as(struct client *k, int port, int verify_ca)
{
    const char *opts[] = { "servername", "localhost", verify_ca ? "ca" : "verify", verify_ca ? ca_pem : "none",
                           "session_cache", "0", NULL };
    return client_open_with(k, port, opts);
}

static int client_open(struct client *k, int port)
{
    return client_open_as(k, port, 0);
}

/* Reads until the stream ends; 1 for a clean end (TLS_CLOSED). */
static int client_read_to_end(struct client *k)
{
    const char *e, *m;
    for (;;) {
        size_t n = 0;
        if (!tls_read(k->c, k->data + k->len, sizeof k->data - 1 - k->len, &n, &e, &m)) {
            k->data[k->len] = '\0';
            if (strcmp(e, TLS_CLOSED) == 0)
                return 1;
            failure(k, e, m);
            return 0;
        }
        k->len += n;
        if (n == 0 && !tls_wait(k->c, TLS_WANT_READ, 10000, &e, &m)) {
            failure(k, e, m);
            return 0;
        }
    }
}

static void client_close(struct client *k)
{
    if (k->c)
        tls_free(k->c);
    k->c = NULL;
}

/* "expected X, got Y (error)" */
static const char *got_text(struct client *k, const char *want)
{
    static char buf[800];
    snprintf(buf, sizeof buf, "expected \"%s\", read \"%.*s\"%s%s", want, (int)k->len, k->data,
             k->err ? "; failed with " : "", k->err ? k->msg : "");
    return buf;
}

/* --------------------------------------------------------------- scripts */

static void s_extra_after_finished(struct peer *p)
{
    handshake13(p, "early bytes");
    close_notify(p);
    flush(p);
    drain(p);
}

static void s_several_records(struct peer *p)
{
    handshake13(p, NULL);
    seal(p, 23, "one,");
    seal(p, 23, "two,");
    seal(p, 23, "three,");
    seal(p, 23, "four");
    close_notify(p);
    flush(p);
    drain(p);
}

static void s_split_records(struct peer *p)
{
    handshake13(p, NULL);
    seal(p, 23, "a record cut in three");
    seal(p, 23, "+header cut");
    close_notify(p);
    size_t first = 5 + strlen("a record cut in three") + STANDIN_TRAILER;
    size_t cuts[] = { 3, 11, first + 2, first + 4 };
    flush_split(p, cuts, 4);
    drain(p);
}

static void s_ticket_then_data(struct peer *p)
{
    handshake13(p, NULL);
    seal(p, 22, "N-ticket-bytes");
    seal(p, 23, "after the ticket");
    close_notify(p);
    flush(p);
    drain(p);
}

static void s_ticket_then_close(struct peer *p)
{
    handshake13(p, NULL);
    seal(p, 23, "last words");
    seal(p, 22, "N-ticket-bytes");
    close_notify(p);
    flush(p);
    drain(p);
}

static void s_fragmented_ticket(struct peer *p)
{
    handshake13(p, NULL);
    seal(p, 22, "n-first-half");
    flush(p);
    Sleep(200);
    seal(p, 22, "m-second-half");
    seal(p, 23, "data after it");
    close_notify(p);
    flush(p);
    drain(p);
}

static void s_ticket_during_upload(struct peer *p)
{
    handshake13(p, NULL);
    WaitForSingleObject(p->go, 20000);   /* the client's upload is blocked now */
    seal(p, 22, "N-ticket-bytes");
    seal(p, 23, "after the ticket");
    flush(p);
    drain(p);
    close_notify(p);
    flush(p);
}

static void s_cert_request_once(struct peer *p)
{
    expect(p, 'c');
    hs(p, "S03");
    hs(p, "Q");
    hs(p, "F");
    flush(p);
    expect(p, 'f');
    seal(p, 23, "no certificate needed");
    close_notify(p);
    flush(p);
    drain(p);
}

static void s_cert_request_forever(struct peer *p)
{
    expect(p, 'c');
    hs(p, "S03");
    hs(p, "Q!");
    hs(p, "F");
    flush(p);
    drain(p);
}

static void renegotiate(struct peer *p, const char *server_hello)
{
    expect(p, 'c');
    hs(p, "S02");
    hs(p, "F");
    flush(p);
    expect(p, 'f');
    seal(p, 22, "H");
    flush(p);
    if (!expect(p, 'c'))
        return;
    hs(p, server_hello);
    hs(p, "F");
    flush(p);
}

static void s_reneg_same_cert(struct peer *p)
{
    renegotiate(p, "S02");
    expect(p, 'f');
    seal(p, 23, "renegotiated");
    close_notify(p);
    flush(p);
    drain(p);
}

static void s_reneg_new_cert(struct peer *p)
{
    renegotiate(p, "S12");
    drain(p);
}

static void s_untrusted_certificate(struct peer *p)
{
    expect(p, 'c');
    hs(p, "S13");
    hs(p, "F");
    flush(p);
    drain(p);
}

static void s_trusted_certificate(struct peer *p)
{
    handshake13(p, "verified");
    close_notify(p);
    flush(p);
    drain(p);
}

static void s_malformed(struct peer *p)
{
    expect(p, 'c');
    hs(p, "S03");
    hs(p, "Z");
    flush(p);
    drain(p);
}

/* ------------------------------------- clientCertificate 'auto' (issue 12)
 *
 * Real Schannel, when the server sends a CertificateRequest and the
 * credentials hold no certificate, returns SEC_I_INCOMPLETE_CREDENTIALS and
 * tells the CAs the server named through SECPKG_ATTR_ISSUER_LIST_EX; Wine's
 * Schannel never does, so these paths are proven here. Two identities, A and
 * B (issued by CAs A and B), are in the prefix's CurrentUser\My (Wine's
 * crypt32: the engine's CertFindChainInStore search is real); CA C issued
 * none. The scripted server asks for a certificate naming a CA list and
 * records which certificate the client's Certificate message carried (the
 * stand-in sends the thumbprint of the certificate in the credentials it was
 * last given). */

#define AUTO_CONNS 3

/* What each connection of s_auto's server does, and what it received. */
static struct {
    int conns;
    struct {
        int ask;                        /* send a CertificateRequest */
        unsigned char list[2048];       /* after 'Q': 2-byte length + DER name, each */
        size_t list_len;
        char got[48];                   /* the client Certificate: thumbprint, "" none */
        int got_msg;                    /* a client Certificate message arrived */
    } c[AUTO_CONNS];
} auto_script;

static void auto_list_add(int conn, const BYTE *der, DWORD len)
{
    unsigned char *l = auto_script.c[conn].list + auto_script.c[conn].list_len;
    l[0] = (unsigned char)(len >> 8);
    l[1] = (unsigned char)len;
    memcpy(l + 2, der, len);
    auto_script.c[conn].list_len += 2 + len;
}

/* One conversation per connection, each on a fresh accept after the first. */
static void s_auto(struct peer *p)
{
    for (int i = 0; i < auto_script.conns; i++) {
        if (i > 0) {
            char sink[4096];
            shutdown(p->s, SD_SEND);
            while (recv(p->s, sink, sizeof sink, 0) > 0)
                ;
            closesocket(p->s);
            p->s = accept(p->listener, NULL, NULL);
            p->close_notify = 0;
        }
        p->cert_msgs = 0;
        p->client_cert[0] = '\0';
        expect(p, 'c');
        hs(p, "S03");
        if (auto_script.c[i].ask) {
            unsigned char body[2100] = "Q";
            memcpy(body + 1, auto_script.c[i].list, auto_script.c[i].list_len);
            p->out_len += standin_frame(p->out + p->out_len, 22, body, 1 + auto_script.c[i].list_len);
        }
        hs(p, "F");
        flush(p);
        expect(p, 'f');
        auto_script.c[i].got_msg = p->cert_msgs;
        memcpy(auto_script.c[i].got, p->client_cert, sizeof p->client_cert);
        seal(p, 23, "done");
        close_notify(p);
        flush(p);
        drain(p);
    }
}

/* Connection i of the running s_auto server: with 'auto' or not, the session cache on or off. */
static int auto_connect(struct peer *p, int use_auto, int cache, char *detail, size_t cap)
{
    const char *opts[] = { "servername", "localhost", "verify", "none", "session_cache", cache ? "1" : "0",
                           "client_cert_auto", use_auto ? "1" : "0", NULL };
    struct client k;
    int clean = client_open_with(&k, p->port, opts) && client_read_to_end(&k);
    client_close(&k);
    snprintf(detail, cap, "%s", got_text(&k, "done"));
    return clean && k.len == 4 && memcmp(k.data, "done", 4) == 0;
}

/* The identities the 'auto' tests put in the stores, for naming them in details. */
enum { ID_A, ID_B, ID_D, ID_E, ID_COUNT };
static struct sspi_identity auto_ids[ID_COUNT];
static const char *const auto_id_names[ID_COUNT] = { "identity A", "identity B", "identity D", "identity E" };

static const char *thumb_name(const char *thumb)
{
    for (int i = 0; i < ID_COUNT; i++)
        if (thumb[0] && strcmp(thumb, auto_ids[i].thumb) == 0)
            return auto_id_names[i];
    return thumb[0] ? thumb : "none";
}

/* One connection to a server that asks with the list of connection 0 (or does not ask). */
static void auto_single(const char *name, int use_auto, int ask, const char *want, int want_query)
{
    auto_script.conns = 1;
    auto_script.c[0].ask = ask;
    int queries = standin_stats.issuer_list_queries, creds = standin_stats.creds_with_cert;
    struct peer *p = peer_start(s_auto);
    char text[900], detail[1200];
    int clean = auto_connect(p, use_auto, 0, text, sizeof text);
    peer_join(p);
    free(p);
    const char *got = auto_script.c[0].got;
    int queried = standin_stats.issuer_list_queries - queries, acquired = standin_stats.creds_with_cert - creds;
    int want_creds = want[0] != '\0';
    snprintf(detail, sizeof detail,
             "sent %s (%d Certificate messages), expected %s; issuer list read %d times, expected %d; %d credentials "
             "with a certificate acquired; %s",
             thumb_name(got), auto_script.c[0].got_msg, thumb_name(want), queried, want_query, acquired, text);
    result(clean && strcmp(got, want) == 0 && auto_script.c[0].got_msg == (ask ? 1 : 0) && queried == want_query &&
               acquired == want_creds,
           name, detail);
}

/* A fresh script whose first connection's list names these identities' issuers (-1 ends). */
static void auto_names(const int *ids)
{
    memset(&auto_script, 0, sizeof auto_script);
    for (; *ids >= 0; ids++)
        auto_list_add(0, auto_ids[*ids].issuer, auto_ids[*ids].issuer_len);
}

static void auto_tests(const char *dir)
{
    static const char *const files[ID_COUNT] = { "idA.pfx", "idB.pfx", "idD.pfx", "idE.pfx" };
    char why[300] = "";
    BYTE other[512];
    DWORD other_len = 0;
    int ok = sspi_ca_name(dir, "caC.der", other, sizeof other, &other_len);
    sspi_identity_sweep();
    for (int i = 0; ok && i < ID_COUNT; i++)
        ok = sspi_identity_add(dir, files[i], &auto_ids[i], why, sizeof why);
    if (!ok) {
        result(0, "clientCertificate 'auto': the test identities are in CurrentUser\\My", why);
        sspi_identity_sweep();
        return;
    }
    const struct sspi_identity *a = &auto_ids[ID_A], *b = &auto_ids[ID_B];
    /* The search must choose by the CA list, not take the first identity it
     * meets: the server names the one CurrentUser\My enumerates second. */
    int second = sspi_identity_before(a, b) ? ID_B : ID_A, first = second == ID_A ? ID_B : ID_A;
    memset(&auto_script, 0, sizeof auto_script);
    auto_list_add(0, other, other_len);
    auto_list_add(0, auto_ids[second].issuer, auto_ids[second].issuer_len);
    auto_single("clientCertificate 'auto': the server's CA list names the issuer of the identity CurrentUser\\My "
                "holds second (and a CA of none): that identity is sent, in the retried credentials",
                1, 1, auto_ids[second].thumb, 1);
    memset(&auto_script, 0, sizeof auto_script);
    auto_list_add(0, other, other_len);
    auto_single("clientCertificate 'auto': the CA list names no stored identity's issuer: no certificate, the "
                "handshake goes on",
                1, 1, "", 1);
    memset(&auto_script, 0, sizeof auto_script);
    auto_single("clientCertificate 'auto': an empty CA list (any CA): no certificate (only a named CA picks one), "
                "the handshake goes on",
                1, 1, "", 1);
    auto_names((const int[]){ ID_D, -1 });
    auto_single("clientCertificate 'auto': the only identity from the named CA allows server authentication only "
                "(extended key usage): no certificate",
                1, 1, "", 1);
    auto_names((const int[]){ ID_E, -1 });
    auto_single("clientCertificate 'auto': the only identity from the named CA has expired: no certificate", 1, 1, "",
                1);
    auto_names((const int[]){ first, -1 });
    auto_single("without 'auto', a server that asks and names a stored identity's CA gets no certificate (the CA "
                "list is not even read)",
                0, 1, "", 0);
    memset(&auto_script, 0, sizeof auto_script);
    auto_single("clientCertificate 'auto', a server that does not ask: no Certificate message, no search", 1, 0, "",
                0);

    /* The session cache: three connections to the same server, cache on. */
    memset(&auto_script, 0, sizeof auto_script);
    auto_script.conns = 3;
    for (int i = 0; i < 3; i++)
        auto_script.c[i].ask = 1;
    auto_list_add(0, b->issuer, b->issuer_len);
    auto_list_add(1, b->issuer, b->issuer_len);
    auto_list_add(2, a->issuer, a->issuer_len);
    struct peer *p = peer_start(s_auto);
    char text[3][900], detail[1200];
    int clean[3];
    clean[0] = auto_connect(p, 1, 1, text[0], sizeof text[0]);
    clean[1] = auto_connect(p, 0, 1, text[1], sizeof text[1]);
    clean[2] = auto_connect(p, 1, 1, text[2], sizeof text[2]);
    peer_join(p);
    free(p);
    snprintf(detail, sizeof detail, "sent %s, expected identity B; %s", thumb_name(auto_script.c[0].got), text[0]);
    result(clean[0] && strcmp(auto_script.c[0].got, b->thumb) == 0,
           "session cache on: 'auto' sends identity B to a server that names B's CA", detail);
    snprintf(detail, sizeof detail, "sent %s, expected none; %s", thumb_name(auto_script.c[1].got), text[1]);
    result(clean[1] && auto_script.c[1].got_msg == 1 && auto_script.c[1].got[0] == '\0',
           "... then a connection to the same server without 'auto' presents no certificate (the credentials "
           "'auto' made never entered the session cache)",
           detail);
    snprintf(detail, sizeof detail, "sent %s, expected identity A; %s", thumb_name(auto_script.c[2].got), text[2]);
    result(clean[2] && strcmp(auto_script.c[2].got, a->thumb) == 0,
           "... and one with 'auto' to the same server, now naming A's CA, sends A (chosen again, not B's "
           "credentials from the cache)",
           detail);
    sspi_identity_sweep();
}

/* ----------------------------------------------------------------- tests */

/* Runs a script whose client only handshakes and reads to the end. */
static void read_test(const char *name, void (*script)(struct peer *), const char *want)
{
    struct peer *p = peer_start(script);
    struct client k;
    int clean = client_open(&k, p->port) && client_read_to_end(&k);
    client_close(&k);
    peer_join(p);
    result(clean && k.len == strlen(want) && memcmp(k.data, want, k.len) == 0, name, got_text(&k, want));
    free(p);
}

/* Uploads until the socket is full mid-record, lets the server send a
 * NewSessionTicket and data, then finishes the upload and shuts down. */
static void upload_test(void)
{
    const char *name = "TLS 1.3: a NewSessionTicket (SEC_I_RENEGOTIATE) while an upload is blocked mid-record: "
                       "every byte arrives once, in order, and no ticket byte is read as data";
    struct peer *p = peer_start(s_ticket_during_upload);
    struct client k;
    const char *e, *m;
    unsigned char chunk[65536 + 77];
    unsigned long long sent = 0, total = 0;
    int blocked = 0, ok = client_open(&k, p->port);
    while (ok && !blocked && sent < (1ull << 28)) {
        for (size_t i = 0; i < sizeof chunk; i++)
            chunk[i] = pattern(sent + i);
        size_t w = 0;
        if (!tls_write(k.c, chunk, sizeof chunk, &w, &e, &m)) {
            failure(&k, e, m);
            ok = 0;
        }
        sent += w;
        blocked = w < sizeof chunk;
    }
    total = sent + (8u << 20);
    SetEvent(p->go);
    int ended = 0, shut = 0;
    while (ok && !ended) {
        int moved = 0;
        size_t n = 0;
        if (!tls_read(k.c, k.data + k.len, sizeof k.data - 1 - k.len, &n, &e, &m)) {
            if (strcmp(e, TLS_CLOSED) != 0) {
                failure(&k, e, m);
                ok = 0;
            }
            ended = 1;
        }
        k.len += n;
        moved |= n > 0;
        if (ok && sent < total) {
            size_t want = total - sent < sizeof chunk ? (size_t)(total - sent) : sizeof chunk, w = 0;
            for (size_t i = 0; i < want; i++)
                chunk[i] = pattern(sent + i);
            if (!tls_write(k.c, chunk, want, &w, &e, &m)) {
                failure(&k, e, m);
                ok = 0;
            }
            sent += w;
            moved |= w > 0;
        } else if (ok && !shut) {
            int done = 0;
            if (!tls_shutdown(k.c, &done, &e, &m)) {
                failure(&k, e, m);
                ok = 0;
            }
            shut = done;
            moved |= done;
        }
        if (ok && !ended && !moved &&
            !tls_wait(k.c, TLS_WANT_READ | (sent < total || !shut ? TLS_WANT_WRITE : 0), 10000, &e, &m)) {
            failure(&k, e, m);
            ok = 0;
        }
    }
    client_close(&k);
    peer_join(p);
    const char *want = "after the ticket";
    char detail[1200];
    snprintf(detail, sizeof detail, "%s; blocked %d; server got %llu of %llu bytes, %llu wrong", got_text(&k, want),
             blocked, p->app_total, total, p->app_mismatch);
    result(ok && blocked && k.len == strlen(want) && memcmp(k.data, want, k.len) == 0 && p->app_total == total &&
               p->app_mismatch == 0,
           name, detail);
    free(p);
}

static void handshake_failure_test(const char *name, void (*script)(struct peer *), const char *want_code,
                                   const char *want_words, int *peer_alert, int *peer_finished)
{
    struct peer *p = peer_start(script);
    struct client k;
    standin_stats.isc_calls = 0;
    int opened = client_open(&k, p->port) && client_read_to_end(&k);
    int calls = standin_stats.isc_calls;
    client_close(&k);
    peer_join(p);
    char detail[900];
    snprintf(detail, sizeof detail, "expected %s, got %s (%d InitializeSecurityContext calls)", want_code,
             k.err ? k.msg : opened ? "a clean end" : "?", calls);
    result(!opened && k.err && strcmp(k.err, want_code) == 0 && (!want_words || strstr(k.msg, want_words)) &&
               calls < 20,
           name, detail);
    if (peer_alert)
        *peer_alert = p->clear_alert;
    if (peer_finished)
        *peer_finished = p->finisheds;
    free(p);
}

static PCCERT_CONTEXT load_cert(const char *dir, const char *file)
{
    char path[1024];
    snprintf(path, sizeof path, "%s\\%s", dir, file);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char der[8192];
    size_t n = fread(der, 1, sizeof der, f);
    fclose(f);
    return CertCreateCertificateContext(X509_ASN_ENCODING, der, (DWORD)n);
}

int main(int argc, char **argv)
{
    WSADATA wsa;
    WSAStartup(MAKEWORD(2, 2), &wsa);
    const char *e, *m;
    if (argc < 2 || !(load_cert(argv[1], "standin0.der")) || !tls_init(&e, &m)) {
        printf("Bail out! usage: driver <dir with standin0.der, standin1.der>, or tls_init failed\n");
        return 2;
    }
    char pem_path[1024];
    snprintf(pem_path, sizeof pem_path, "%s\\standin0.pem", argv[1]);
    FILE *pf = fopen(pem_path, "rb");
    size_t pn = pf ? fread(ca_pem, 1, sizeof ca_pem - 1, pf) : 0;
    if (pf)
        fclose(pf);
    ca_pem[pn] = '\0';
    standin_set_cert(0, load_cert(argv[1], "standin0.der"));
    standin_set_cert(1, load_cert(argv[1], "standin1.der"));
    printf("TAP version 13\n");

    read_test("SECBUFFER_EXTRA after the handshake: application data in the read that carried the server's "
              "Finished is delivered",
              s_extra_after_finished, "early bytes");
    read_test("several records in one read, then close_notify (SEC_I_CONTEXT_EXPIRED): all of them, in order, "
              "then a clean end",
              s_several_records, "one,two,three,four");
    read_test("records and a record header split across reads (SEC_E_INCOMPLETE_MESSAGE)", s_split_records,
              "a record cut in three+header cut");
    read_test("TLS 1.3: a NewSessionTicket (SEC_I_RENEGOTIATE) and data in one read: the ticket's bytes are "
              "never application data, the data after it (EXTRA handed to InitializeSecurityContext) is",
              s_ticket_then_data, "after the ticket");
    read_test("TLS 1.3: close_notify right after a NewSessionTicket (SEC_I_CONTEXT_EXPIRED from "
              "InitializeSecurityContext) is a clean end",
              s_ticket_then_close, "last words");
    read_test("TLS 1.3: a post-handshake message split across two records (InitializeSecurityContext answers "
              "SEC_E_INCOMPLETE_MESSAGE until it has the rest): the rest goes to it, not to DecryptMessage",
              s_fragmented_ticket, "data after it");
    upload_test();
    read_test("SEC_I_INCOMPLETE_CREDENTIALS once: the handshake goes on without a client certificate",
              s_cert_request_once, "no certificate needed");
    handshake_failure_test("SEC_I_INCOMPLETE_CREDENTIALS again and again: TLS_HANDSHAKE_FAILED naming the client "
                           "certificate, at once",
                           s_cert_request_forever, TLS_HANDSHAKE_FAILED, "client certificate", NULL, NULL);
    read_test("TLS 1.2 renegotiation with the same certificate: data after it arrives", s_reneg_same_cert,
              "renegotiated");
    int finisheds = 0, alert = 0;
    char detail[600];
    handshake_failure_test("TLS 1.2 renegotiation that changes the certificate: TLS_HANDSHAKE_FAILED",
                           s_reneg_new_cert, TLS_HANDSHAKE_FAILED, "different certificate", NULL, &finisheds);
    snprintf(detail, sizeof detail, "the server received %d client Finished messages, expected 1", finisheds);
    result(finisheds == 1, "... and the client's Finished of the renegotiation never left", detail);
    handshake_failure_test("a malformed handshake message: TLS_HANDSHAKE_FAILED", s_malformed, TLS_HANDSHAKE_FAILED,
                           NULL, &alert, NULL);
    result(alert, "... and the alert Schannel made (SECBUFFER_ALERT) reached the server",
           alert ? NULL : "the server received no alert record");
    {
        /* The chain is built on a worker: the client's Finished must wait for its verdict. */
        struct peer *p = peer_start(s_trusted_certificate);
        struct client k;
        int clean = client_open_as(&k, p->port, 1) && client_read_to_end(&k);
        client_close(&k);
        peer_join(p);
        result(clean && k.len == 8 && memcmp(k.data, "verified", 8) == 0,
               "verification on (a ca that trusts the certificate): the chain is built on a worker, the "
               "handshake waits for it and completes",
               got_text(&k, "verified"));
        free(p);
        p = peer_start(s_untrusted_certificate);
        int opened = client_open_as(&k, p->port, 1);
        client_close(&k);
        peer_join(p);
        snprintf(detail, sizeof detail, "got %s; the server received %d client Finished messages",
                 opened ? "a connection" : k.msg, p->finisheds);
        result(!opened && k.err && strcmp(k.err, TLS_CERT_UNTRUSTED) == 0 && p->finisheds == 0,
               "verification on, a certificate the ca does not cover: TLS_CERT_UNTRUSTED, and the client's "
               "Finished never left (it waited for the worker's verdict)",
               detail);
        free(p);
    }
    auto_tests(argv[1]);
    snprintf(detail, sizeof detail, "%d continuation calls passed phNewContext NULL",
             standin_stats.null_new_context);
    result(standin_stats.null_new_context == 0,
           "every InitializeSecurityContext continuation passes phNewContext (documented: never NULL)", detail);

    printf("1..%d\n", tests);
    printf("# %d passed, %d failed\n", tests - failed, failed);
    return failed ? 1 : 0;
}
