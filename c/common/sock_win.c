/*
 * sock_win.c — Winsock sockets (the Windows build picks this file instead of
 * sock_posix.c; sock.h is the one API). Same contract as the POSIX code:
 * non-blocking sockets, OS errors as plain ints (WSA codes here), and the only
 * call that may sleep is sock_wait.
 */
#include "sock.h"

#include "../tls_client.h"
#include "compat.h"

#include <mstcpip.h>
#include <stdio.h>
#include <string.h>

/* Winsock must be started before the first socket (the resolver's wake-up
 * sockets included): tls_init runs this once, before choosing the engine, so
 * no engine depends on another's start-up. */
int sock_global_init(char *msg, size_t cap)
{
    WSADATA wsa;
    int rc = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (rc != 0) {
        snprintf(msg, cap, "Winsock could not be initialised (WSAStartup error %d)", rc);
        return 0;
    }
    return 1;
}

static int set_nonblocking(SOCKET s)
{
    u_long on = 1;
    return ioctlsocket(s, FIONBIO, &on) == 0 ? 0 : -1;
}

static SOCKET open_stream_socket(int family)
{
    /* Not inheritable, so a child process started meanwhile cannot keep it open. */
    SOCKET s = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0,
                          WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET && WSAGetLastError() == WSAEINVAL) {
        s = WSASocketW(family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
        if (s != INVALID_SOCKET)
            SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
    }
    if (s != INVALID_SOCKET && set_nonblocking(s) < 0) {
        int saved = WSAGetLastError();
        closesocket(s);
        WSASetLastError(saved);
        return INVALID_SOCKET;
    }
    return s;
}

net_status sock_start_connect(const struct sockaddr *sa, socklen_t salen,
                              tls_socket *out, int *os_error)
{
    *out = TLS_NO_SOCKET;
    SOCKET s = open_stream_socket(sa->sa_family);
    if (s == INVALID_SOCKET) {
        *os_error = WSAGetLastError();
        return NET_ERROR;
    }
    if (connect(s, sa, (int)salen) == 0) {
        *out = s;
        return NET_OK;
    }
    int e = WSAGetLastError();
    if (e == WSAEWOULDBLOCK || e == WSAEINPROGRESS || e == WSAEALREADY) {
        *out = s;
        return NET_AGAIN;
    }
    *os_error = e;
    closesocket(s);
    return NET_ERROR;
}

net_status sock_finish_connect(tls_socket s, int *os_error)
{
    /* A failed non-blocking connect shows in the except set on Windows, not
     * the write set, so look at both. */
    fd_set wr, ex;
    FD_ZERO(&wr);
    FD_ZERO(&ex);
    FD_SET(s, &wr);
    FD_SET(s, &ex);
    struct timeval zero = { 0, 0 };
    int rc = select(0, NULL, &wr, &ex, &zero);
    if (rc == SOCKET_ERROR) {
        *os_error = WSAGetLastError();
        return NET_ERROR;
    }
    if (rc == 0)
        return NET_AGAIN;
    int soerr = 0;
    int len = sizeof soerr;
    if (getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&soerr, &len) != 0)
        soerr = WSAGetLastError();
    if (soerr == 0 && FD_ISSET(s, &ex) && !FD_ISSET(s, &wr))
        soerr = WSAECONNREFUSED;
    if (soerr != 0) {
        *os_error = soerr;
        return NET_ERROR;
    }
    return NET_OK;
}

net_status sock_send(tls_socket s, const void *buf, size_t len, size_t *sent, int *os_error)
{
    *sent = 0;
    int chunk = len > 0x40000000 ? 0x40000000 : (int)len;
    int n = send(s, buf, chunk, 0);
    if (n != SOCKET_ERROR) {
        *sent = (size_t)n;
        return NET_OK;
    }
    int e = WSAGetLastError();
    if (e == WSAEWOULDBLOCK)
        return NET_AGAIN;
    *os_error = e;
    return NET_ERROR;
}

net_status sock_recv(tls_socket s, void *buf, size_t len, size_t *got, int *os_error)
{
    *got = 0;
    int chunk = len > 0x40000000 ? 0x40000000 : (int)len;
    int n = recv(s, buf, chunk, 0);
    if (n > 0) {
        *got = (size_t)n;
        return NET_OK;
    }
    if (n == 0)
        return len ? NET_EOF : NET_OK;
    int e = WSAGetLastError();
    if (e == WSAEWOULDBLOCK)
        return NET_AGAIN;
    *os_error = e;
    return NET_ERROR;
}

int sock_recv_drained(net_status st, size_t got, size_t len)
{
    /* Never: readers keep asking until WSAEWOULDBLOCK, as before. Stopping
     * early is safe only under a level-triggered poll; libuv's Windows poll
     * (AFD, and Wine's emulation of it) has not been tested for that here. */
    (void)st;
    (void)got;
    (void)len;
    return 0;
}

net_status sock_peek(tls_socket s, void *buf, size_t len, size_t *got, int *os_error)
{
    *got = 0;
    int chunk = len > 0x40000000 ? 0x40000000 : (int)len;
    int n = recv(s, buf, chunk, MSG_PEEK);
    if (n > 0) {
        *got = (size_t)n;
        return NET_OK;
    }
    if (n == 0)
        return len ? NET_EOF : NET_OK;
    int e = WSAGetLastError();
    if (e == WSAEWOULDBLOCK)
        return NET_AGAIN;
    *os_error = e;
    return NET_ERROR;
}

int sock_shutdown_write(tls_socket s, int *os_error)
{
    if (shutdown(s, SD_SEND) == 0 || WSAGetLastError() == WSAENOTCONN)
        return 1;
    *os_error = WSAGetLastError();
    return 0;
}

void sock_close(tls_socket s)
{
    if (s != TLS_NO_SOCKET)
        closesocket(s);
}

int sock_set_nodelay(tls_socket s, int on, int *os_error)
{
    BOOL flag = on ? TRUE : FALSE;
    if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&flag, sizeof flag) == 0)
        return 1;
    *os_error = WSAGetLastError();
    return 0;
}

int sock_set_keepalive(tls_socket s, int idle_seconds, int *os_error)
{
    /* SIO_KEEPALIVE_VALS sets on/off and the idle time in one call on every
     * Windows version (TCP_KEEPIDLE only exists from Windows 10 1709). */
    struct tcp_keepalive ka;
    ka.onoff = idle_seconds > 0;
    ka.keepalivetime = idle_seconds > 0 ? (ULONG)idle_seconds * 1000u : 0;
    ka.keepaliveinterval = 1000;
    DWORD ignored = 0;
    if (WSAIoctl(s, SIO_KEEPALIVE_VALS, &ka, sizeof ka, NULL, 0, &ignored, NULL, NULL) == 0)
        return 1;
    BOOL flag = idle_seconds > 0;   /* fall back to plain SO_KEEPALIVE */
    if (setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, (const char *)&flag, sizeof flag) == 0)
        return 1;
    *os_error = WSAGetLastError();
    return 0;
}

int sock_wait(int64_t handle, int events, int timeout_ms, int *os_error)
{
    SOCKET s = (SOCKET)handle;
    ULONGLONG deadline = timeout_ms > 0 ? GetTickCount64() + (ULONGLONG)timeout_ms : 0;
    for (;;) {
        fd_set rd, wr, ex;
        FD_ZERO(&rd);
        FD_ZERO(&wr);
        FD_ZERO(&ex);
        if (events & TLS_WANT_READ)
            FD_SET(s, &rd);
        if (events & TLS_WANT_WRITE) {
            FD_SET(s, &wr);
            FD_SET(s, &ex);   /* connect failures */
        }
        struct timeval tv, *ptv = NULL;
        if (timeout_ms >= 0) {
            ULONGLONG left = 0;
            if (timeout_ms > 0) {
                ULONGLONG now = GetTickCount64();
                left = now < deadline ? deadline - now : 0;
            }
            tv.tv_sec = (long)(left / 1000);
            tv.tv_usec = (long)(left % 1000) * 1000;
            ptv = &tv;
        }
        int rc = select(0, &rd, &wr, &ex, ptv);
        if (rc > 0)
            return 1;
        if (rc == 0)
            return 0;
        int e = WSAGetLastError();
        if (e != WSAEINTR) {
            *os_error = e;
            return -1;
        }
    }
}

static const struct { int code; const char *name; const char *text; } wsa_names[] = {
    { WSAECONNREFUSED, "ECONNREFUSED", "connection refused" },
    { WSAECONNRESET, "ECONNRESET", "connection reset by peer" },
    { WSAECONNABORTED, "ECONNABORTED", "connection aborted" },
    { WSAETIMEDOUT, "ETIMEDOUT", "connection timed out" },
    { WSAEHOSTUNREACH, "EHOSTUNREACH", "no route to host" },
    { WSAENETUNREACH, "ENETUNREACH", "network is unreachable" },
    { WSAENETDOWN, "ENETDOWN", "network is down" },
    { WSAEHOSTDOWN, "EHOSTDOWN", "host is down" },
    { WSAENETRESET, "ECONNRESET", "network dropped connection on reset" },
    { WSAEADDRNOTAVAIL, "EADDRNOTAVAIL", "address not available" },
    { WSAEADDRINUSE, "EADDRINUSE", "address already in use" },
    { WSAEAFNOSUPPORT, "EAFNOSUPPORT", "address family not supported" },
    { WSAEACCES, "EACCES", "permission denied" },
    { WSAEMFILE, "EMFILE", "too many open sockets" },
    { WSAENOBUFS, "ENOBUFS", "no buffer space available" },
    { WSA_NOT_ENOUGH_MEMORY, "ENOMEM", "not enough memory" },
    { WSAENOTCONN, "ENOTCONN", "socket is not connected" },
    { WSAEINVAL, "EINVAL", "invalid argument" },
    { WSAENOTSOCK, "EBADF", "not a socket" },
    { WSAEWOULDBLOCK, "EAGAIN", "operation would block" },
    { WSAEINTR, "EINTR", "interrupted call" },
    { WSAESHUTDOWN, "EPIPE", "socket has been shut down" },
    { WSANOTINITIALISED, "EINVAL", "Winsock is not initialised" },
    { WSAEPROTONOSUPPORT, "EPROTONOSUPPORT", "protocol not supported" },
};

const char *sock_error_name(int os_error)
{
    for (size_t i = 0; i < TLS_ARRAY_LEN(wsa_names); i++)
        if (wsa_names[i].code == os_error)
            return wsa_names[i].name;
    return "EUNKNOWN";
}

void sock_error_text(int os_error, char *buf, size_t cap)
{
    if (!cap)
        return;
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                             (DWORD)os_error, MAKELANGID(LANG_ENGLISH, SUBLANG_DEFAULT), buf,
                             (DWORD)cap, NULL);
    if (n == 0)
        n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                           (DWORD)os_error, 0, buf, (DWORD)cap, NULL);
    while (n > 0 && (buf[n - 1] == '\r' || buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '.'))
        buf[--n] = '\0';
    if (n > 0)
        return;
    for (size_t i = 0; i < TLS_ARRAY_LEN(wsa_names); i++)
        if (wsa_names[i].code == os_error) {
            snprintf(buf, cap, "%s", wsa_names[i].text);
            return;
        }
    snprintf(buf, cap, "Winsock error %d", os_error);
}

int sock_error_is_reset(int os_error)
{
    return os_error == WSAECONNRESET || os_error == WSAECONNABORTED || os_error == WSAENETRESET ||
           os_error == WSAENOTCONN || os_error == WSAESHUTDOWN;
}

void sock_address_text(const struct sockaddr *sa, char *addr, size_t cap, int *port)
{
    addr[0] = '\0';
    *port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in4->sin_addr, addr, cap);
        *port = ntohs(in4->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, addr, cap);
        *port = ntohs(in6->sin6_port);
    }
}

int sock_local_address(tls_socket s, char *addr, size_t cap, int *port)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (getsockname(s, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    sock_address_text((struct sockaddr *)&ss, addr, cap, port);
    return 1;
}

int sock_remote_address(tls_socket s, char *addr, size_t cap, int *port)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (getpeername(s, (struct sockaddr *)&ss, &len) != 0)
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
