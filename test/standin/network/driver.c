/*
 * driver.c — runs c/impl-mac/network.c (through c/common's public API, as
 * the host does) against the scripted Network.framework stand-in (fake.c) and
 * prints TAP. Each test replays what Apple documents Network.framework doing
 * (see fake.c) and checks what the engine does with it: send completions
 * delivered late, cancel with sends outstanding, the handshake ending with
 * and without the verify block, errors in each nw_error domain, socket
 * options after start, the certificate chain read without a second
 * evaluation. Built and run by scripts/test-mac-standins.sh.
 */
#define _GNU_SOURCE
#include "standin.h"
#include "../tap.h"
#include "tls_client.h"

#include <dns_sd.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


static void is_str(const char *got, const char *want, const char *what)
{
    int same = (!got && !want) || (got && want && strcmp(got, want) == 0);
    ok(same, "%s: %s", what, want ? want : "(none)");
    if (!same)
        printf("  # got: %s\n", got ? got : "(none)");
}

static const char *info(tls_conn *c, const char *key)
{
    const char *v = "";
    tls_info(c, key, &v, NULL, NULL);
    return v;
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* The script keeps each stand-in connection until released() so that it can
 * still look at one after tls_free. */
static nw_connection_t held[64];
static int nheld;

static void settle(void)
{
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    nanosleep(&ts, NULL);
}

/* Connect and take the first step (which creates and starts the
 * nw_connection); *nc is the stand-in connection. */
static tls_conn *open_conn(const char *host, const char *servername, const char *verify, nw_connection_t *nc)
{
    tls_conn *c = NULL;
    const char *err, *msg;
    if (!tls_connect(host, 443, &c, &err, &msg)) {
        printf("# tls_connect: %s %s\n", err, msg);
        exit(1);
    }
    if (servername)
        tls_set_option(c, "servername", servername, NULL, NULL);
    if (verify)
        tls_set_option(c, "verify", verify, NULL, NULL);
    nw_connection_t before = sc_last_connection();
    int done;
    tls_handshake(c, &done, NULL, NULL);
    *nc = sc_last_connection();
    if (*nc == before || nheld == 64) {
        printf("# no nw_connection was created\n");
        exit(1);
    }
    held[nheld++] = nw_retain(*nc);
    return c;
}

/* Drive the handshake until done or failed: 1 done, 0 failed (*err set). */
static int handshake(tls_conn *c, const char **err)
{
    const char *msg;
    *err = NULL;
    for (int i = 0; i < 50; i++) {
        int done = 0;
        if (!tls_handshake(c, &done, err, &msg))
            return 0;
        if (done)
            return 1;
        tls_wait(c, TLS_WANT_READ, 100, NULL, NULL);
    }
    *err = "(still handshaking)";
    return 0;
}

static tls_conn *open_ready(nw_connection_t *nc)
{
    tls_conn *c = open_conn("example.test", NULL, NULL, nc);
    sc_verify(*nc, 2, 1, 0);
    sc_state(*nc, nw_connection_state_ready, 0, 0);
    const char *err;
    if (!handshake(c, &err)) {
        printf("# handshake failed: %s\n", err);
        exit(1);
    }
    return c;
}

/* After tls_free, every stand-in object goes once the queue has drained. */
static void released(const char *what)
{
    while (nheld)
        nw_release(held[--nheld]);
    for (int i = 0; i < 100 && (sc_live_connections() || sc_live_queues()); i++)
        settle();
    ok(sc_live_connections() == 0 && sc_live_queues() == 0, "%s: the connection and its queue are released", what);
}

static void test_chain_and_single_evaluation(void)
{
    int hidden = sc_hidden_evaluations, evaluations = sc_evaluations;
    nw_connection_t nc;
    tls_conn *c = open_conn("example.test", NULL, NULL, &nc);
    ok(sc_verify(nc, 2, 1, 0) == 1, "#6 the verify block accepts a trusted chain");
    sc_state(nc, nw_connection_state_ready, 0, 0);
    const char *err;
    ok(handshake(c, &err), "#6 the handshake completes");
    ok(sc_hidden_evaluations == hidden, "#6 no certificate read from the trust before its evaluation (%d hidden)",
       sc_hidden_evaluations - hidden);
    ok(sc_evaluations - evaluations == 1, "#6 exactly one evaluation (%d)", sc_evaluations - evaluations);
    ok(sc_async_off_queue == 0, "#6 SecTrustEvaluateAsyncWithError called from the queue it answers on");
    ok(count_of(info(c, "peer_chain"), "BEGIN CERTIFICATE") == 2,
       "#6 peer_chain is the 2 certificates the server sent, not the 3 the evaluation built");
    is_str(info(c, "verify_result"), "ok", "#6 verify_result");
    is_str(info(c, "protocol"), "TLSv1.3", "protocol from the metadata");
    tls_free(c);
    released("#6");
}

static void test_shutdown_waits_for_sends(void)
{
    nw_connection_t nc;
    tls_conn *c = open_ready(&nc);
    sc_auto_complete(nc, 0);
    size_t n;
    for (int i = 0; i < 3; i++)
        tls_write(c, "0123456789", 10, &n, NULL, NULL);
    is_str(sc_log(nc), "S10 S10 S10 ", "#7 three sends handed over");
    int done = -1;
    const char *err = NULL, *msg;
    ok(tls_shutdown(c, &done, &err, &msg) && done == 0, "#7 shutdown is not done while sends are outstanding");
    ok(!strchr(sc_log(nc), 'F'), "#7 no close_notify/FIN while sends are outstanding");
    int64_t handle;
    int events = 0;
    tls_pollhandle(c, TLS_WANT_WRITE, &handle, &events, NULL, NULL);
    ok(events == TLS_WANT_READ, "#7 the host waits on the handle meanwhile (no busy loop; events %d)", events);
    sc_complete_sends(nc, 2, 0, 0);
    ok(tls_shutdown(c, &done, NULL, NULL) && done == 0 && !strchr(sc_log(nc), 'F'),
       "#7 still waiting with one send outstanding");
    sc_complete_sends(nc, 1, 0, 0);
    tls_pollhandle(c, TLS_WANT_WRITE, &handle, &events, NULL, NULL);
    ok(events == TLS_POLL_NOW, "#7 the last completion wakes the host");
    ok(tls_shutdown(c, &done, NULL, NULL) && done == 0, "#7 the final send goes out; done when it completes");
    is_str(sc_log(nc), "S10 S10 S10 F ", "#7 close_notify/FIN after every data send completed");
    sc_complete_sends(nc, 1, 0, 0);
    ok(tls_shutdown(c, &done, NULL, NULL) && done == 1, "#7 shutdown done once the final send completed");
    size_t w = 99;
    ok(!tls_write(c, "x", 1, &w, &err, &msg) && err && strcmp(err, TLS_CLOSED) == 0,
       "#7 writing after shutdown is TLS_CLOSED");
    tls_close(c, NULL, NULL);
    tls_free(c);
    is_str(sc_log(nc), "S10 S10 S10 F C", "#7 tls_close cancels gracefully, tls_free does not force");
    released("#7 shutdown");
}

static void test_free_with_sends_outstanding(void)
{
    nw_connection_t nc;
    tls_conn *c = open_ready(&nc);
    sc_auto_complete(nc, 0);
    size_t n;
    tls_write(c, "abc", 3, &n, NULL, NULL);
    tls_free(c);
    is_str(sc_log(nc), "S3 X", "#7 tls_free on an open connection is nw_connection_force_cancel (abortive)");
    released("#7 free with a send outstanding");

    c = open_ready(&nc);
    tls_close(c, NULL, NULL);
    tls_close(c, NULL, NULL);
    tls_free(c);
    is_str(sc_log(nc), "C", "#7 tls_close twice, then tls_free: one graceful cancel");
    released("#7 close then free");
}

static void expect_setup_failure(const char *what, const char *want, int verify_ok, int domain, int code,
                                 nw_connection_state_t state)
{
    nw_connection_t nc;
    tls_conn *c = open_conn("example.test", NULL, NULL, &nc);
    if (verify_ok >= 0)
        sc_verify(nc, 1, verify_ok, verify_ok ? 0 : errSecNotTrusted);
    sc_state(nc, state, domain, code);
    const char *err;
    int done = handshake(c, &err);
    ok(!done && err && strcmp(err, want) == 0, "%s: %s", what, want);
    if (done || !err || strcmp(err, want) != 0)
        printf("  # got: %s (%s)\n", done ? "connected" : err, info(c, "verify_result"));
    tls_free(c);
}

static void test_error_domains(void)
{
    /* #10: the verify block rejected the certificate: TLS_CERT_* whichever
     * domain the aborted handshake is reported in. */
    expect_setup_failure("#10 rejected certificate, handshake reported in the POSIX domain", TLS_CERT_UNTRUSTED, 0,
                         nw_error_domain_posix, ECONNRESET, nw_connection_state_failed);
    expect_setup_failure("#10 rejected certificate, handshake reported in the TLS domain", TLS_CERT_UNTRUSTED, 0,
                         nw_error_domain_tls, errSSLBadCert, nw_connection_state_failed);
    expect_setup_failure("#10 rejected certificate, failure without an error", TLS_CERT_UNTRUSTED, 0, 0, 0,
                         nw_connection_state_failed);
    expect_setup_failure("#10 rejected certificate, then cancelled", TLS_CERT_UNTRUSTED, 0, 0, 0,
                         nw_connection_state_cancelled);
    /* errors in each domain with no verification failure */
    expect_setup_failure("DNS domain", TLS_DNS_FAILED, -1, nw_error_domain_dns, kDNSServiceErr_NoSuchRecord,
                         nw_connection_state_waiting);
    expect_setup_failure("POSIX domain before TLS", TLS_CONNECT_FAILED, -1, nw_error_domain_posix, ECONNREFUSED,
                         nw_connection_state_failed);
    expect_setup_failure("POSIX domain during TLS", TLS_CONNECTION_RESET, 1, nw_error_domain_posix, ECONNRESET,
                         nw_connection_state_failed);
    expect_setup_failure("TLS domain, server's protocol_version alert", TLS_PROTOCOL_VERSION, -1,
                         nw_error_domain_tls, errSSLPeerProtocolVersion, nw_connection_state_failed);
    expect_setup_failure("TLS domain, handshake failure", TLS_HANDSHAKE_FAILED, 1, nw_error_domain_tls,
                         errSSLPeerHandshakeFail, nw_connection_state_failed);
    released("setup failures");

    /* after the handshake */
    nw_connection_t nc;
    char buf[64];
    size_t n = 0;
    const char *err, *msg;
    tls_conn *c = open_ready(&nc);
    sc_receive(nc, "hello", 5, 0, 0, 0);
    tls_wait(c, TLS_WANT_READ, 1000, NULL, NULL);
    ok(tls_read(c, buf, sizeof buf, &n, NULL, NULL) && n == 5 && memcmp(buf, "hello", 5) == 0, "data received");
    tls_wait(c, TLS_WANT_READ, 1000, NULL, NULL);
    sc_receive(nc, NULL, 0, 0, nw_error_domain_posix, ECONNRESET);
    tls_wait(c, TLS_WANT_READ, 1000, NULL, NULL);
    ok(!tls_read(c, buf, sizeof buf, &n, &err, &msg) && strcmp(err, TLS_CONNECTION_RESET) == 0,
       "POSIX domain after the handshake: TLS_CONNECTION_RESET");
    tls_free(c);

    c = open_ready(&nc);
    tls_wait(c, TLS_WANT_READ, 1000, NULL, NULL);
    sc_receive(nc, NULL, 0, 0, nw_error_domain_tls, errSSLClosedNoNotify);
    tls_wait(c, TLS_WANT_READ, 1000, NULL, NULL);
    ok(!tls_read(c, buf, sizeof buf, &n, &err, &msg) && strcmp(err, TLS_CLOSED) == 0,
       "TLS domain errSSLClosedNoNotify: a clean end (TLS_CLOSED), as Node");
    tls_free(c);

    c = open_ready(&nc);
    tls_wait(c, TLS_WANT_READ, 1000, NULL, NULL);
    sc_receive(nc, "bye", 3, 1, 0, 0);
    tls_wait(c, TLS_WANT_READ, 1000, NULL, NULL);
    ok(tls_read(c, buf, sizeof buf, &n, NULL, NULL) && n == 3, "data with the end of the stream");
    ok(!tls_read(c, buf, sizeof buf, &n, &err, &msg) && strcmp(err, TLS_CLOSED) == 0, "then TLS_CLOSED");
    tls_free(c);

    c = open_ready(&nc);
    sc_auto_complete(nc, 0);
    tls_write(c, "abc", 3, &n, NULL, NULL);
    sc_complete_sends(nc, 1, nw_error_domain_tls, errSSLClosedAbort);
    tls_wait(c, TLS_WANT_WRITE, 1000, NULL, NULL);
    ok(!tls_write(c, "d", 1, &n, &err, &msg) && strcmp(err, TLS_PROTOCOL_ERROR) == 0,
       "a send completing with a TLS-domain error fails the next write (TLS_PROTOCOL_ERROR)");
    tls_free(c);
    released("failures after the handshake");
}

static void test_late_send_completions(void)
{
    nw_connection_t nc;
    tls_conn *c = open_ready(&nc);
    sc_auto_complete(nc, 0);
    static char big[400 * 1024];
    size_t written = 0;
    tls_write(c, big, sizeof big, &written, NULL, NULL);
    ok(written > 0 && written < sizeof big, "writes stop accepting while completions are late (%zu of %zu)", written,
       sizeof big);
    int64_t handle;
    int events = 0;
    tls_pollhandle(c, TLS_WANT_WRITE, &handle, &events, NULL, NULL);
    ok(events == TLS_WANT_READ, "the host waits for completions (events %d)", events);
    sc_complete_sends(nc, (size_t)-1, 0, 0);
    tls_pollhandle(c, TLS_WANT_WRITE, &handle, &events, NULL, NULL);
    ok(events == TLS_POLL_NOW, "the completions wake the host");
    size_t more = 0;
    ok(tls_write(c, big + written, sizeof big - written, &more, NULL, NULL) && more > 0, "and it writes on");
    tls_free(c);
    released("late completions");
}

static void test_socket_options(void)
{
    nw_connection_t nc;
    tls_conn *c = NULL;
    tls_connect("example.test", 443, &c, NULL, NULL);
    tls_set_option(c, "nodelay", "0", NULL, NULL);
    tls_set_option(c, "keepalive", "30", NULL, NULL);
    int done;
    tls_handshake(c, &done, NULL, NULL);
    nc = sc_last_connection();
    held[nheld++] = nw_retain(nc);
    ok(sc_nodelay(nc) == 0 && sc_keepalive_idle(nc) == 30, "#8 socket options set before start reach the TCP options");
    const char *err = NULL, *msg = NULL;
    ok(tls_set_option(c, "nodelay", "0", &err, &msg), "#8 the same nodelay after start is accepted");
    ok(!tls_set_option(c, "nodelay", "1", &err, &msg) && strcmp(err, TLS_INVALID_ARGUMENT) == 0,
       "#8 a different nodelay after start is TLS_INVALID_ARGUMENT, not ignored");
    printf("  # %s\n", msg ? msg : "");
    ok(!tls_set_option(c, "keepalive", "60", &err, &msg) && strcmp(err, TLS_INVALID_ARGUMENT) == 0,
       "#8 a different keepalive after start is TLS_INVALID_ARGUMENT");
    ok(tls_set_option(c, "keepalive", "30", &err, &msg), "#8 the same keepalive after start is accepted");
    sc_verify(nc, 1, 1, 0);
    sc_state(nc, nw_connection_state_ready, 0, 0);
    ok(handshake(c, &err), "#8 the refused change did not fail the connection");
    tls_free(c);
    released("#8");
}

static void test_server_names(void)
{
    nw_connection_t nc;
    tls_conn *c = open_conn("example.test", NULL, NULL, &nc);
    is_str(sc_server_name(nc), "example.test", "#10 SNI and verification name: the host");
    tls_free(c);
    c = open_conn("example.test", "127.0.0.1", NULL, &nc);
    is_str(sc_server_name(nc), "127.0.0.1",
           "#10 an IP servername with a name host overrides the endpoint's name (the name checked)");
    tls_free(c);
    c = open_conn("127.0.0.1", NULL, NULL, &nc);
    is_str(sc_server_name(nc), NULL, "#10 an IP host: no server name set (no SNI)");
    tls_free(c);
    c = open_conn("127.0.0.1", "example.test", NULL, &nc);
    is_str(sc_server_name(nc), "example.test", "a name servername with an IP host");
    tls_free(c);
    released("server names");
}

static void test_no_verify_block(void)
{
    /* Up without the verify block (a resumed session). */
    nw_connection_t nc;
    tls_conn *c = open_conn("example.test", NULL, NULL, &nc);
    sc_state(nc, nw_connection_state_ready, 0, 0);
    const char *err;
    ok(!handshake(c, &err) && strcmp(err, TLS_CERT_UNTRUSTED) == 0,
       "ready without the verify block having run: TLS_CERT_UNTRUSTED when verifying");
    tls_free(c);
    c = open_conn("example.test", NULL, "none", &nc);
    sc_state(nc, nw_connection_state_ready, 0, 0);
    ok(handshake(c, &err), "with verify none it connects");
    ok(strcmp(info(c, "verify_result"), "ok") != 0, "and says nothing vouched for the server (%s)",
       info(c, "verify_result"));
    tls_free(c);

    c = open_conn("example.test", NULL, NULL, &nc);
    sc_verify(nc, 3, 1, 0);
    sc_verify(nc, 2, 1, 0);   /* the block may run more than once */
    sc_state(nc, nw_connection_state_ready, 0, 0);
    ok(handshake(c, &err) && count_of(info(c, "peer_chain"), "BEGIN CERTIFICATE") == 2,
       "a second run of the verify block replaces the first's chain");
    tls_free(c);
    released("verify block");
}

int main(void)
{
    const char *err, *msg;
    if (!tls_init(&err, &msg)) {
        printf("Bail out! tls_init: %s %s\n", err, msg);
        return 1;
    }
    is_str(info(NULL, "backend"), "network", "the engine is network.c");
    test_chain_and_single_evaluation();
    test_shutdown_waits_for_sends();
    test_free_with_sends_outstanding();
    test_error_domains();
    test_late_send_completions();
    test_socket_options();
    test_server_names();
    test_no_verify_block();
    printf("1..%d\n", tests);
    if (failed)
        printf("# %d of %d failed\n", failed, tests);
    return failed ? 1 : 0;
}
