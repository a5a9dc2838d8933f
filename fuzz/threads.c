/*
 * threads.c — ThreadSanitizer driver: several threads, each making and
 * dropping connections through the public API while their background DNS
 * lookups (host "localhost") are still running, to a local listener that
 * accepts and hangs up at once. It covers what one JS thread never does:
 * connections on different threads at the same time (the lookup threads, the
 * `ca` context cache and its lock, tls_init's once, the per-thread messages,
 * the live-handle counter), and tls_free racing the lookup thread.
 *
 *   threads [threads] [rounds]     prints one TAP line; exit 1 on a failure
 *
 * Built and run by scripts/test-sanitizers.sh tsan (-fsanitize=thread).
 */
#define _GNU_SOURCE
#include "tls_client.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int port;
static char *ca_pem;
static atomic_int failures;
static atomic_int stop_acceptor;

static void fail(const char *what, const char *err, const char *msg)
{
    atomic_fetch_add(&failures, 1);
    fprintf(stderr, "# %s: %s: %s\n", what, err ? err : "-", msg ? msg : "-");
}

static void *acceptor(void *arg)
{
    int listener = *(int *)arg;
    while (!atomic_load(&stop_acceptor)) {
        int s = accept(listener, NULL, NULL);
        if (s >= 0)
            close(s);   /* hang up: the client's handshake fails */
    }
    return NULL;
}

static void all_info(tls_conn *c)
{
    static const char *const keys[] = { "state", "protocol", "cipher", "alpn", "peer_cert",
                                        "peer_chain", "verify_result", "os_error",
                                        "remote_address", "local_port" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v, *err = NULL, *msg = NULL;
        if (!tls_info(c, keys[i], &v, &err, &msg))
            fail(keys[i], err, msg);
    }
}

/* Drives set-up until it ends (fails: the server hangs up) or max steps. */
static void drive(tls_conn *c, int max_steps)
{
    for (int i = 0; i < max_steps; i++) {
        int done = 0;
        const char *err = NULL, *msg = NULL;
        if (!tls_handshake(c, &done, &err, &msg) || done)
            return;
        tls_wait(c, TLS_WANT_READ, 50, &err, &msg);
    }
}


struct job { int id, rounds; };

static void *run(void *arg)
{
    struct job *j = arg;
    for (int i = 0; i < j->rounds; i++) {
        const char *err = NULL, *msg = NULL, *v = NULL;
        tls_conn *c = NULL;
        int mode = (i + j->id) % 5;
        const char *host = mode == 3 ? "127.0.0.1" : "localhost";
        if (mode == 4) {
            if (!tls_init(&err, &msg) || !tls_info(NULL, "handles", &v, &err, &msg) ||
                !tls_info(NULL, "backend_version", &v, &err, &msg))
                fail("library info", err, msg);
            continue;
        }
        if (!tls_connect(host, port, &c, &err, &msg)) {
            fail("tls_connect", err, msg);
            continue;
        }
        switch (mode) {
        case 0:   /* freed while the lookup runs */
            break;
        case 1: { /* one step, then freed (lookup usually still running) */
            int done;
            tls_handshake(c, &done, &err, &msg);
            break;
        }
        case 2:   /* the shared ca text: the context cache from many threads */
            if (!tls_set_option(c, "ca", ca_pem, &err, &msg))
                fail("ca", err, msg);
            drive(c, 40);
            tls_close(c, &err, &msg);
            all_info(c);
            break;
        case 3:   /* an address: straight to TCP, to the end */
            drive(c, 40);
            all_info(c);
            break;
        }
        tls_free(c);
    }
    return NULL;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

int main(int argc, char **argv)
{
    int nthreads = argc > 1 ? atoi(argv[1]) : 6;
    int rounds = argc > 2 ? atoi(argv[2]) : 200;
    ca_pem = read_file("assets/selftest/ca.pem");
    if (!ca_pem) {
        printf("not ok 1 - threads: assets/selftest/ca.pem not found (run from the repository root)\n");
        return 1;
    }
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    if (listener < 0 || bind(listener, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(listener, 256) < 0 || getsockname(listener, (struct sockaddr *)&a, &alen) < 0) {
        printf("not ok 1 - threads: no listener\n");
        return 1;
    }
    port = ntohs(a.sin_port);
    pthread_t acc;
    pthread_create(&acc, NULL, acceptor, &listener);

    pthread_t t[64];
    struct job jobs[64];
    if (nthreads > 64)
        nthreads = 64;
    for (int i = 0; i < nthreads; i++) {
        jobs[i] = (struct job){ i, rounds };
        pthread_create(&t[i], NULL, run, &jobs[i]);
    }
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);

    const char *handles = "?", *err, *msg;
    tls_info(NULL, "handles", &handles, &err, &msg);
    int ok = atomic_load(&failures) == 0 && strcmp(handles, "0") == 0;
    printf("TAP version 14\n%s 1 - %d threads x %d rounds of connect / free during DNS / "
           "handshake / close / info; %d failures, %s handles left\n1..1\n",
           ok ? "ok" : "not ok", nthreads, rounds, atomic_load(&failures), handles);
    atomic_store(&stop_acceptor, 1);
    shutdown(listener, SHUT_RDWR);
    close(listener);
    pthread_join(acc, NULL);
    return ok ? 0 : 1;
}
