/*
 * bench/client.c — the reference limit: a plain C client on the same system
 * OpenSSL that ostls loads. One scenario per process; prints one JSON line.
 *
 *   client recv  <port> <bytes>                   read until the server's close_notify
 *   client send  <port> <bytes> <chunk>           write, then close_notify, wait for the server to close
 *   client hs    <port> <count> <concurrency>     connect + verify + handshake + close, count times
 *   client ping  <port> <count> <size> <warmup>   request/response of size bytes
 *   client idle  <port> <count>                   hold count open connections, report memory
 *
 * CA file from OSTLS_BENCH_CA; trust = the OS store plus that CA (as ostls's `ca`).
 * CPU is getrusage(RUSAGE_SELF) over the measured phase only.
 */
#define _GNU_SOURCE
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static SSL_CTX *ctx;
static int port;

static void die(const char *what)
{
    fprintf(stderr, "client: %s: %s\n", what, strerror(errno));
    ERR_print_errors_fp(stderr);
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu(double *user, double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
    *sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    return *user + *sys;
}

static long status_field(const char *name)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(name);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, name, n) == 0 && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static int tcp_connect(int nonblock)
{
    int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        die("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) && errno != EINPROGRESS)
        die("connect");
    return fd;
}

static SSL *new_ssl(int fd)
{
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1");
    SSL_set_connect_state(ssl);
    return ssl;
}

static SSL *blocking_session(void)
{
    SSL *ssl = new_ssl(tcp_connect(0));
    if (SSL_do_handshake(ssl) != 1)
        die("handshake");
    return ssl;
}

static void close_session(SSL *ssl)
{
    int fd = SSL_get_fd(ssl);
    SSL_free(ssl);
    close(fd);
}

/* ---- handshakes and idle connections: non-blocking, epoll ---- */

struct hconn {
    SSL *ssl;
    int fd;
};

/* Runs handshakes with at most conc in flight until count have completed.
 * keep: hold them open (idle) instead of closing each one. */
static void handshakes(int count, int conc, int keep, struct hconn **kept)
{
    int ep = epoll_create1(0);
    int started = 0, done = 0, inflight = 0;
    struct epoll_event evs[128];
    struct hconn *held = keep ? calloc((size_t)count, sizeof *held) : NULL;
    while (done < count) {
        while (inflight < conc && started < count) {
            struct hconn *h = calloc(1, sizeof *h);
            h->fd = tcp_connect(1);
            h->ssl = new_ssl(h->fd);
            struct epoll_event e = { .events = EPOLLOUT | EPOLLIN, .data.ptr = h };
            epoll_ctl(ep, EPOLL_CTL_ADD, h->fd, &e);
            started++;
            inflight++;
        }
        int n = epoll_wait(ep, evs, 128, 10000);
        if (n <= 0)
            die("handshake wait");
        for (int i = 0; i < n; i++) {
            struct hconn *h = evs[i].data.ptr;
            int rc = SSL_do_handshake(h->ssl);
            if (rc == 1) {
                if (SSL_get_verify_result(h->ssl) != X509_V_OK)
                    die("verify");
                epoll_ctl(ep, EPOLL_CTL_DEL, h->fd, NULL);
                if (keep) {
                    held[done] = *h;
                } else {
                    SSL_shutdown(h->ssl);
                    close_session(h->ssl);
                }
                free(h);
                done++;
                inflight--;
                continue;
            }
            int err = SSL_get_error(h->ssl, rc);
            if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
                die("handshake");
            struct epoll_event e = { .events = err == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT,
                                     .data.ptr = h };
            epoll_ctl(ep, EPOLL_CTL_MOD, h->fd, &e);
        }
    }
    close(ep);
    if (kept)
        *kept = held;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: client recv|send|hs|ping|idle <port> ...\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    const char *mode = argv[1];
    port = atoi(argv[2]);
    const char *ca = getenv("OSTLS_BENCH_CA");

    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_default_verify_paths(ctx);
    if (!ca || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
        die("OSTLS_BENCH_CA");

    double u0, s0, u1, s1, t0 = 0, t1;
    unsigned long long bytes = 0;
    char extra[512] = "";

    if (strcmp(mode, "recv") == 0) {
        unsigned long long want = strtoull(argv[3], NULL, 10);
        static char buf[256 * 1024];
        cpu(&u0, &s0);
        t0 = now();
        SSL *ssl = blocking_session();
        int rc;
        while ((rc = SSL_read(ssl, buf, sizeof buf)) > 0)
            bytes += (unsigned)rc;
        if (bytes != want)
            die("short read");
        close_session(ssl);
        t1 = now();
        cpu(&u1, &s1);
    } else if (strcmp(mode, "send") == 0) {
        unsigned long long want = strtoull(argv[3], NULL, 10);
        int chunk = atoi(argv[4]);
        char *buf = malloc((size_t)chunk);
        memset(buf, 'x', (size_t)chunk);
        cpu(&u0, &s0);
        t0 = now();
        SSL *ssl = blocking_session();
        while (bytes < want) {
            int len = want - bytes < (unsigned)chunk ? (int)(want - bytes) : chunk;
            int rc = SSL_write(ssl, buf, len);
            if (rc <= 0)
                die("write");
            bytes += (unsigned)rc;
        }
        SSL_shutdown(ssl);
        char scrap[4096];
        while (SSL_read(ssl, scrap, sizeof scrap) > 0)
            ;
        close_session(ssl);
        t1 = now();
        cpu(&u1, &s1);
    } else if (strcmp(mode, "hs") == 0) {
        int count = atoi(argv[3]), conc = atoi(argv[4]);
        cpu(&u0, &s0);
        t0 = now();
        handshakes(1, 1, 0, NULL);   /* the first connection (the C client sets up its SSL_CTX before) */
        t1 = now();
        cpu(&u1, &s1);
        snprintf(extra, sizeof extra, ",\"first_cpu_ms\":%.3f,\"first_wall_ms\":%.3f",
                 ((u1 - u0) + (s1 - s0)) * 1e3, (t1 - t0) * 1e3);
        handshakes(conc < 8 ? 8 : conc, conc, 0, NULL);   /* warm-up */
        cpu(&u0, &s0);
        t0 = now();
        handshakes(count, conc, 0, NULL);
        t1 = now();
        cpu(&u1, &s1);
        bytes = (unsigned long long)count;
    } else if (strcmp(mode, "hsr") == 0) {
        /* Sequential handshakes, each resuming the previous connection's
         * session (read after the server's one byte, which follows its ticket). */
        int count = atoi(argv[3]), warm = 8;
        SSL_SESSION *session = NULL;
        for (int i = 0; i < warm + count; i++) {
            if (i == warm) {
                cpu(&u0, &s0);
                t0 = now();
            }
            SSL *ssl = new_ssl(tcp_connect(0));
            if (session)
                SSL_set_session(ssl, session);
            char one;
            if (SSL_do_handshake(ssl) != 1 || SSL_read(ssl, &one, 1) != 1)
                die("handshake");
            if (i > warm && !SSL_session_reused(ssl))
                die("not resumed");
            SSL_SESSION_free(session);
            /* A copy: SSL_free without close_notify marks the connection's
             * own session not resumable (ostls's cache keeps copies too). */
            session = SSL_SESSION_dup(SSL_get0_session(ssl));
            close_session(ssl);
        }
        t1 = now();
        cpu(&u1, &s1);
        SSL_SESSION_free(session);
        bytes = (unsigned long long)count;
    } else if (strcmp(mode, "ping") == 0) {
        int count = atoi(argv[3]), size = atoi(argv[4]), warm = atoi(argv[5]);
        char *buf = malloc((size_t)size), *in = malloc((size_t)size);
        memset(buf, 'p', (size_t)size);
        double *lat = malloc(sizeof(double) * (size_t)count);
        SSL *ssl = blocking_session();
        for (int i = -warm; i < count; i++) {
            if (i == 0) {
                cpu(&u0, &s0);
                t0 = now();
            }
            double a = now();
            if (SSL_write(ssl, buf, size) != size)
                die("write");
            int got = 0;
            while (got < size) {
                int rc = SSL_read(ssl, in + got, size - got);
                if (rc <= 0)
                    die("read");
                got += rc;
            }
            if (i >= 0)
                lat[i] = now() - a;
        }
        t1 = now();
        cpu(&u1, &s1);
        close_session(ssl);
        qsort(lat, (size_t)count, sizeof *lat, cmp_double);
        snprintf(extra, sizeof extra, ",\"p50_us\":%.2f,\"p99_us\":%.2f,\"msgs_per_s\":%.1f",
                 lat[count / 2] * 1e6, lat[(int)(count * 0.99)] * 1e6, count / (t1 - t0));
        bytes = (unsigned long long)count;
    } else if (strcmp(mode, "idle") == 0) {
        int count = atoi(argv[3]);
        handshakes(8, 8, 0, NULL);   /* warm-up: everything loaded */
        long rss0 = status_field("VmRSS");
        cpu(&u0, &s0);
        t0 = now();
        struct hconn *held;
        handshakes(count, 64, 1, &held);
        t1 = now();
        cpu(&u1, &s1);
        usleep(300 * 1000);
        long rss1 = status_field("VmRSS");
        snprintf(extra, sizeof extra, ",\"rss_before_kb\":%ld,\"rss_after_kb\":%ld,\"rss_per_conn_kb\":%.3f",
                 rss0, rss1, (double)(rss1 - rss0) / count);
        for (int i = 0; i < count; i++)
            close_session(held[i].ssl);
        bytes = (unsigned long long)count;
    } else {
        fprintf(stderr, "client: unknown mode %s\n", mode);
        return 2;
    }
    printf("{\"impl\":\"c\",\"mode\":\"%s\",\"user_s\":%.6f,\"sys_s\":%.6f,\"cpu_s\":%.6f,\"wall_s\":%.6f,"
           "\"units\":%llu,\"rss_kb\":%ld,\"maxrss_kb\":%ld,\"threads\":%ld%s}\n",
           mode, u1 - u0, s1 - s0, (u1 - u0) + (s1 - s0), t1 - t0, bytes, status_field("VmRSS"),
           status_field("VmHWM"), status_field("Threads"), extra);
    return 0;
}
