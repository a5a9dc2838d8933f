/*
 * sock_posix.c — POSIX sockets (Linux, macOS; the build picks this file or
 * sock_win.c). Everything here is non-blocking; the only call that may sleep
 * is sock_wait, which is what tls_wait is made of.
 */
#define _GNU_SOURCE
#include "sock.h"

#include "../tls_client.h"
#include "compat.h"
#include "resolve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef __linux__
#  include <stdatomic.h>
#  include <stdint.h>
#  include <sys/eventfd.h>
#  include <sys/resource.h>
#endif

int sock_global_init(char *msg, size_t cap)
{
    (void)msg;
    (void)cap;
    return 1;   /* POSIX sockets need no start-up */
}

static int set_nonblocking_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    int fdfl = fcntl(fd, F_GETFD);
    if (fdfl < 0 || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0)
        return -1;
    return 0;
}

static int open_stream_socket(int family)
{
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
    /* Atomic, so no fork()+exec() in another thread can inherit the fd. */
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd >= 0 || errno != EINVAL)
        return fd;
#endif
    int plain = socket(family, SOCK_STREAM, IPPROTO_TCP);
    if (plain >= 0 && set_nonblocking_cloexec(plain) < 0) {
        int saved = errno;
        close(plain);
        errno = saved;
        return -1;
    }
    return plain;
}

#ifdef __linux__
/*
 * Linux doubles a process's descriptor table when a new descriptor does not
 * fit, and in a process with more than one thread the doubling sleeps through
 * an RCU grace period (expand_fdtable: synchronize_rcu). Measured here: the
 * socket() that crossed 256 and 512 descriptors slept 10-20 ms, the JS
 * thread's longest stall under 1,000 concurrent connects. So a job thread
 * grows the table ahead of need: the first socket past a quarter of the size
 * known to be there asks for eight times that size, and the thread sleeps
 * through the grace period instead of the caller. Tables never shrink, and
 * 8,192 descriptors cost 64 KiB of kernel memory.
 */
static atomic_int fd_table_known = 64;   /* Linux's smallest table */
static atomic_flag fd_table_growing = ATOMIC_FLAG_INIT;

static void grow_fd_table(void *arg)
{
    int target = (int)(intptr_t)arg, known = target;
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < (rlim_t)target) {
        target = (int)lim.rlim_cur;   /* no descriptor can go past it: */
        known = INT32_MAX;            /* never ask again */
    }
    /* The lowest free descriptor at or above target - 1 (F_DUPFD never
     * replaces one in use): the table grows to hold it. */
    int probe = eventfd(0, EFD_CLOEXEC);
    if (probe >= 0) {
        int high = fcntl(probe, F_DUPFD_CLOEXEC, target - 1);
        if (high >= 0)
            close(high);
        close(probe);
    }
    atomic_store(&fd_table_known, known);
    atomic_flag_clear(&fd_table_growing);
}

static void keep_fd_table_ahead(int fd)
{
    int known = atomic_load_explicit(&fd_table_known, memory_order_relaxed);
    if (fd < known / 4 || known > INT32_MAX / 8 || atomic_flag_test_and_set(&fd_table_growing))
        return;
    resolve_job *job;
    int os_error;
    if (resolve_start_work(grow_fd_table, (void *)(intptr_t)(known * 8), &job, &os_error))
        resolve_release(job);   /* nobody waits for it */
    else
        atomic_flag_clear(&fd_table_growing);   /* the next socket tries again */
}
#endif

net_status sock_start_connect(const struct sockaddr *sa, socklen_t salen,
                              tls_socket *out, int *os_error)
{
    *out = TLS_NO_SOCKET;
    int fd = open_stream_socket(sa->sa_family);
    if (fd < 0) {
        *os_error = errno;
        return NET_ERROR;
    }
#ifdef __linux__
    keep_fd_table_ahead(fd);
#endif
#ifdef SO_NOSIGPIPE
    /* macOS has no MSG_NOSIGNAL; the socket option does the same job. */
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    int rc;
    do
        rc = connect(fd, sa, salen);
    while (rc < 0 && errno == EINTR);
    if (rc == 0) {
        *out = fd;
        return NET_OK;
    }
    if (errno == EINPROGRESS || errno == EAGAIN) {
        *out = fd;
        return NET_AGAIN;
    }
    *os_error = errno;
    close(fd);
    return NET_ERROR;
}

net_status sock_finish_connect(tls_socket s, int *os_error)
{
    struct pollfd p = { .fd = s, .events = POLLOUT };
    int rc;
    do
        rc = poll(&p, 1, 0);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        *os_error = errno;
        return NET_ERROR;
    }
    if (rc == 0)
        return NET_AGAIN;
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        soerr = errno;
    if (soerr != 0) {
        *os_error = soerr;
        return NET_ERROR;
    }
    return NET_OK;
}

#ifndef MSG_NOSIGNAL
#  define MSG_NOSIGNAL 0
#endif

net_status sock_send(tls_socket s, const void *buf, size_t len, size_t *sent, int *os_error)
{
    ssize_t n;
    *sent = 0;
    do
        n = send(s, buf, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n >= 0) {
        *sent = (size_t)n;
        return NET_OK;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return NET_AGAIN;
    *os_error = errno;
    return NET_ERROR;
}

net_status sock_recv(tls_socket s, void *buf, size_t len, size_t *got, int *os_error)
{
    ssize_t n;
    *got = 0;
    do
        n = recv(s, buf, len, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        *got = (size_t)n;
        return NET_OK;
    }
    if (n == 0)
        return len ? NET_EOF : NET_OK;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return NET_AGAIN;
    *os_error = errno;
    return NET_ERROR;
}

int sock_recv_drained(net_status st, size_t got, size_t len)
{
    /* A TCP recv copies until len or the queue is empty, so a short count
     * means empty (libuv's uv__read stops on the same sign). */
    return st == NET_AGAIN || (st == NET_OK && got > 0 && got < len);
}

net_status sock_peek(tls_socket s, void *buf, size_t len, size_t *got, int *os_error)
{
    ssize_t n;
    *got = 0;
    do
        n = recv(s, buf, len, MSG_PEEK);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        *got = (size_t)n;
        return NET_OK;
    }
    if (n == 0)
        return len ? NET_EOF : NET_OK;
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return NET_AGAIN;
    *os_error = errno;
    return NET_ERROR;
}

int sock_shutdown_write(tls_socket s, int *os_error)
{
    if (shutdown(s, SHUT_WR) == 0 || errno == ENOTCONN)
        return 1;
    *os_error = errno;
    return 0;
}

void sock_close(tls_socket s)
{
    if (s != TLS_NO_SOCKET)
        close(s);   /* no EINTR retry: on Linux the fd is gone either way */
}

int sock_set_nodelay(tls_socket s, int on, int *os_error)
{
    if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0)
        return 1;
    *os_error = errno;
    return 0;
}

int sock_set_keepalive(tls_socket s, int idle_seconds, int *os_error)
{
    int on = idle_seconds > 0;
    if (setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) < 0)
        goto fail;
    if (on) {
#if defined(TCP_KEEPIDLE)
        if (setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &idle_seconds, sizeof idle_seconds) < 0)
            goto fail;
#elif defined(TCP_KEEPALIVE)
        if (setsockopt(s, IPPROTO_TCP, TCP_KEEPALIVE, &idle_seconds, sizeof idle_seconds) < 0)
            goto fail;
#endif
    }
    return 1;
fail:
    *os_error = errno;
    return 0;
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sock_wait(int64_t handle, int events, int timeout_ms, int *os_error)
{
    struct pollfd p = { .fd = (int)handle, .events = 0 };
    if (events & TLS_WANT_READ)
        p.events |= POLLIN;
    if (events & TLS_WANT_WRITE)
        p.events |= POLLOUT;
    int64_t deadline = timeout_ms > 0 ? monotonic_ms() + timeout_ms : 0;
    int remaining = timeout_ms;
    for (;;) {
        int rc = poll(&p, 1, remaining);
        if (rc > 0) {
            if (p.revents & POLLNVAL) {
                *os_error = EBADF;
                return -1;
            }
            return 1;
        }
        if (rc == 0)
            return 0;
        if (errno != EINTR) {
            *os_error = errno;
            return -1;
        }
        if (timeout_ms > 0) {
            int64_t left = deadline - monotonic_ms();
            if (left <= 0)
                return 0;
            remaining = (int)left;
        }
    }
}

static const struct { int code; const char *name; } errno_names[] = {
    { ECONNREFUSED, "ECONNREFUSED" }, { ECONNRESET, "ECONNRESET" },
    { ECONNABORTED, "ECONNABORTED" }, { ETIMEDOUT, "ETIMEDOUT" },
    { EHOSTUNREACH, "EHOSTUNREACH" }, { ENETUNREACH, "ENETUNREACH" },
    { ENETDOWN, "ENETDOWN" },         { EHOSTDOWN, "EHOSTDOWN" },
    { EPIPE, "EPIPE" },               { EADDRNOTAVAIL, "EADDRNOTAVAIL" },
    { EADDRINUSE, "EADDRINUSE" },     { EAFNOSUPPORT, "EAFNOSUPPORT" },
    { EACCES, "EACCES" },             { EPERM, "EPERM" },
    { EMFILE, "EMFILE" },             { ENFILE, "ENFILE" },
    { ENOBUFS, "ENOBUFS" },           { ENOMEM, "ENOMEM" },
    { ENOTCONN, "ENOTCONN" },         { EINVAL, "EINVAL" },
    { EBADF, "EBADF" },               { EPROTO, "EPROTO" },
    { EAGAIN, "EAGAIN" },             { EINTR, "EINTR" },
    { EIO, "EIO" },                   { ENOENT, "ENOENT" },
};

const char *sock_error_name(int os_error)
{
    for (size_t i = 0; i < TLS_ARRAY_LEN(errno_names); i++)
        if (errno_names[i].code == os_error)
            return errno_names[i].name;
    return "EUNKNOWN";
}

void sock_error_text(int os_error, char *buf, size_t cap)
{
    if (!cap)
        return;
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    const char *text = strerror_r(os_error, buf, cap);
    if (text != buf)
        snprintf(buf, cap, "%s", text);
#else
    if (strerror_r(os_error, buf, cap) != 0)
        snprintf(buf, cap, "error %d", os_error);
#endif
}

int sock_error_is_reset(int os_error)
{
    /* Not ETIMEDOUT, EHOSTUNREACH, ENETUNREACH, ENETDOWN, EHOSTDOWN: while
     * connecting they mean this address is unreachable and the next one may
     * work (Happy Eyeballs), not that a server dropped us. */
    return os_error == ECONNRESET || os_error == EPIPE || os_error == ECONNABORTED ||
           os_error == ENOTCONN;
}

void sock_address_text(const struct sockaddr *sa, char *addr, size_t cap, int *port)
{
    addr[0] = '\0';
    *port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in4->sin_addr, addr, (socklen_t)cap);
        *port = ntohs(in4->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, addr, (socklen_t)cap);
        *port = ntohs(in6->sin6_port);
    }
}

int sock_local_address(tls_socket s, char *addr, size_t cap, int *port)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(s, (struct sockaddr *)&ss, &len) < 0)
        return 0;
    sock_address_text((struct sockaddr *)&ss, addr, cap, port);
    return 1;
}

int sock_remote_address(tls_socket s, char *addr, size_t cap, int *port)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(s, (struct sockaddr *)&ss, &len) < 0)
        return 0;
    sock_address_text((struct sockaddr *)&ss, addr, cap, port);
    return 1;
}

int text_is_ip_address(const char *text)
{
    unsigned char scratch[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, text, scratch) == 1)
        return 1;
    char unscoped[INET6_ADDRSTRLEN + 1];
    size_t n = strcspn(text, "%");
    if (n >= sizeof unscoped)
        return 0;
    memcpy(unscoped, text, n);
    unscoped[n] = '\0';
    return inet_pton(AF_INET6, unscoped, scratch) == 1;
}

