/*
 * sock.h — the TCP and readiness primitives c/common needs, behind one small
 * API so that the state machine never sees errno, WSAGetLastError, fd or SOCKET
 * directly. sock_posix.c holds the POSIX implementation and sock_win.c the
 * Winsock one (WSAPoll, closesocket, WSAE* names); the build picks one.
 *
 * OS error values are passed around as plain ints (errno on POSIX, WSA codes on
 * Windows); sock_error_name / sock_error_text turn them into words.
 */
#ifndef OSTLS_SOCK_H
#define OSTLS_SOCK_H

#include <stddef.h>
#include <stdint.h>

#ifdef _WIN32
#  include <winsock2.h>
#  include <ws2tcpip.h>
typedef SOCKET tls_socket;
#  define TLS_NO_SOCKET INVALID_SOCKET
#else
#  include <sys/socket.h>
#  include <netdb.h>
typedef int tls_socket;
#  define TLS_NO_SOCKET (-1)
#endif

typedef enum {
    NET_OK,      /* done (connected, or bytes moved) */
    NET_AGAIN,   /* would block */
    NET_EOF,     /* orderly end of the peer's stream (recv only) */
    NET_ERROR    /* *os_error says why */
} net_status;

/* Once per process, before any socket exists (tls_init): Winsock's start-up;
 * nothing on POSIX. 1 on success, else 0 with msg filled. */
int sock_global_init(char *msg, size_t cap);

/* Non-blocking, close-on-exec TCP socket to sa. NET_OK: connected at once;
 * NET_AGAIN: in progress, poll for writable then sock_finish_connect. */
net_status sock_start_connect(const struct sockaddr *sa, socklen_t salen,
                              tls_socket *out, int *os_error);
/* NET_AGAIN while the connection attempt is still going on. */
net_status sock_finish_connect(tls_socket s, int *os_error);

net_status sock_send(tls_socket s, const void *buf, size_t len, size_t *sent, int *os_error);
net_status sock_recv(tls_socket s, void *buf, size_t len, size_t *got, int *os_error);
/* After a sock_recv that returned st with *got of len bytes: 1 when that
 * proves the socket's receive queue was empty at that moment (fewer bytes than
 * asked, or would block), so that a reader may wait for readable instead of
 * asking again: the host's poll is level-triggered (libuv on epoll/kqueue), so
 * bytes that arrive later make it fire at once. POSIX only; Winsock answers 0
 * (sock_win.c says why: there a reader asks until would-block, as before). */
int sock_recv_drained(net_status st, size_t got, size_t len);
/* As sock_recv, but the bytes stay queued (MSG_PEEK): a reader that must not
 * consume past a boundary it has not found yet (the proxy's header end) looks
 * first, then takes exactly what is its own with sock_recv. */
net_status sock_peek(tls_socket s, void *buf, size_t len, size_t *got, int *os_error);
int sock_shutdown_write(tls_socket s, int *os_error);
void sock_close(tls_socket s);

int sock_set_nodelay(tls_socket s, int on, int *os_error);
/* idle_seconds == 0 turns keep-alive off. */
int sock_set_keepalive(tls_socket s, int idle_seconds, int *os_error);

/* Wait until handle is ready for events (TLS_WANT_READ/WRITE bits).
 * timeout_ms < 0: no limit; 0: just look. Signals do not shorten the wait.
 * Returns 1 ready (also on error/hang-up: the next I/O call reports it),
 * 0 timed out, -1 failed (*os_error). */
int sock_wait(int64_t handle, int events, int timeout_ms, int *os_error);

/* "ECONNREFUSED"-style name; never NULL. */
const char *sock_error_name(int os_error);
/* The OS's words for os_error. */
void sock_error_text(int os_error, char *buf, size_t cap);
/* Did the peer reset or abort an established connection (ECONNRESET, EPIPE,
 * ECONNABORTED, ENOTCONN)? Unreachable or timed-out addresses are not resets. */
int sock_error_is_reset(int os_error);

/* Numeric address text (no brackets) and port of a socket address. */
void sock_address_text(const struct sockaddr *sa, char *addr, size_t cap, int *port);
/* Local / remote address of a connected socket; 0 if unavailable. */
int sock_local_address(tls_socket s, char *addr, size_t cap, int *port);
int sock_remote_address(tls_socket s, char *addr, size_t cap, int *port);

/* Is text an IPv4 or IPv6 literal (IPv6 may carry a %scope)? */
int text_is_ip_address(const char *text);

#endif
