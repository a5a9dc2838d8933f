/*
 * resolve_win.c — background name resolution on Windows (the Windows build
 * picks this file instead of resolve_posix.c; resolve.h is the one API).
 *
 * The lookup runs getaddrinfo on a short-lived thread. The handle the host
 * waits on must be a SOCKET (libuv's uv_poll only accepts sockets on Windows),
 * so completion is signalled through a pair of loopback UDP sockets connected
 * to each other: the thread sends one datagram from `signal`, which makes
 * `wake` readable. Connected, with SO_EXCLUSIVEADDRUSE, `wake` accepts
 * datagrams from `signal`'s address only, so no other local process can make
 * it readable; and the host drains it before looking at the result, so even a
 * stray datagram (one queued before connect()) wakes it once, never in a loop.
 * The job is shared by the thread and the connection and freed by whichever
 * lets go last.
 */
#include "resolve.h"
#include "compat.h"

#include <process.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

struct resolve_job {
    volatile LONG refs;       /* connection + thread */
    volatile LONG finished;   /* set last by the thread */
    SOCKET wake;              /* UDP, connected to signal; readable once finished */
    SOCKET signal;            /* UDP, connected to wake; the thread sends from it */
    char service[8];
    struct addrinfo *result;
    int gai_error;
    int os_error;
    void (*work)(void *);     /* resolve_start_work: run this instead of a lookup */
    void *work_arg;
    char host[];              /* the name being looked up */
};

static void fill_hints(struct addrinfo *hints, int flags)
{
    memset(hints, 0, sizeof *hints);
    hints->ai_family = AF_UNSPEC;
    hints->ai_socktype = SOCK_STREAM;
    hints->ai_protocol = IPPROTO_TCP;
    hints->ai_flags = flags;
}

int resolve_numeric(const char *host, int port, struct addrinfo **out, int *gai_error)
{
    if (!text_is_ip_address(host))
        return 0;
    char service[8];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints;
    fill_hints(&hints, AI_NUMERICHOST);
    int rc = getaddrinfo(host, service, &hints, out);
    if (rc != 0) {
        *gai_error = rc;
        return -1;
    }
    return 1;
}

static void job_unref(resolve_job *job)
{
    if (InterlockedDecrement(&job->refs) != 0)
        return;
    if (job->result)
        freeaddrinfo(job->result);
    closesocket(job->wake);
    closesocket(job->signal);
    free(job);
}

/* Test hook: OSTLS_TEST_DROP_WAKE=1 makes every wake send "fail for good",
 * so that the suite can check that the host still sees the job finish
 * (resolve_recheck_ms). Read from the process environment, not the CRT's
 * copy, which misses what the host set after start-up. */
static int wake_dropped_for_test(void)
{
    char v[4];
    DWORD n = GetEnvironmentVariableA("OSTLS_TEST_DROP_WAKE", v, sizeof v);
    return n == 1 && v[0] == '1';
}

/* The one datagram that wakes the host. A send that fails for lack of buffer
 * space (the socket is non-blocking: WSAEWOULDBLOCK, WSAENOBUFS) is tried
 * again, on this worker thread, for up to about ten seconds; one that fails
 * for good (the network stack gone, the socket broken) leaves the host to
 * find `finished` on its next re-check (resolve_recheck_ms), so the wait
 * ends either way. */
static void signal_finished(resolve_job *job)
{
    char byte = 1;
    if (wake_dropped_for_test())
        return;
    for (int attempt = 0; attempt < 1000; attempt++) {
        if (send(job->signal, &byte, 1, 0) == 1)
            return;
        int err = WSAGetLastError();
        if (err != WSAEWOULDBLOCK && err != WSAENOBUFS && err != WSAEINTR && err != WSAEINPROGRESS)
            return;   /* not transient: nothing a retry would change */
        Sleep(10);
    }
}

static unsigned __stdcall lookup_thread(void *arg)
{
    resolve_job *job = arg;
    if (job->work) {
        job->work(job->work_arg);
    } else {
        struct addrinfo hints;
        fill_hints(&hints, 0);
        int rc = getaddrinfo(job->host, job->service, &hints, &job->result);
        job->gai_error = rc;
        job->os_error = 0;
        if (rc != 0)
            job->result = NULL;
    }
    InterlockedExchange(&job->finished, 1);
    /* The connection holds its reference until it has seen the result or let
     * go, so the socket is still open here. */
    signal_finished(job);
    job_unref(job);
    return 0;
}

/* A UDP socket bound to 127.0.0.1 on a port nobody else may bind
 * (SO_EXCLUSIVEADDRUSE), non-blocking; its address in *addr. */
static SOCKET loopback_udp(struct sockaddr_in *addr, int *os_error)
{
    SOCKET s = WSASocketW(AF_INET, SOCK_DGRAM, IPPROTO_UDP, NULL, 0,
                          WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET && WSAGetLastError() == WSAEINVAL)
        s = WSASocketW(AF_INET, SOCK_DGRAM, IPPROTO_UDP, NULL, 0, WSA_FLAG_OVERLAPPED);
    if (s == INVALID_SOCKET) {
        *os_error = WSAGetLastError();
        return INVALID_SOCKET;
    }
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr->sin_port = 0;
    int len = sizeof *addr;
    BOOL exclusive = TRUE;
    u_long on = 1;
    if (setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&exclusive, sizeof exclusive) != 0 ||
        bind(s, (struct sockaddr *)addr, sizeof *addr) != 0 ||
        getsockname(s, (struct sockaddr *)addr, &len) != 0 || ioctlsocket(s, FIONBIO, &on) != 0) {
        *os_error = WSAGetLastError();
        closesocket(s);
        return INVALID_SOCKET;
    }
    return s;
}

/* wake and signal, each connected to the other: a connected UDP socket
 * drops datagrams from any other address. */
static int make_wake_pair(resolve_job *job, int *os_error)
{
    struct sockaddr_in wake_addr, signal_addr;
    job->wake = loopback_udp(&wake_addr, os_error);
    if (job->wake == INVALID_SOCKET)
        return 0;
    job->signal = loopback_udp(&signal_addr, os_error);
    if (job->signal == INVALID_SOCKET) {
        closesocket(job->wake);
        return 0;
    }
    if (connect(job->wake, (struct sockaddr *)&signal_addr, sizeof signal_addr) != 0 ||
        connect(job->signal, (struct sockaddr *)&wake_addr, sizeof wake_addr) != 0) {
        *os_error = WSAGetLastError();
        closesocket(job->wake);
        closesocket(job->signal);
        return 0;
    }
    return 1;
}

/* Empties wake, so that a datagram already seen cannot wake the host again. */
static void drain_wake(resolve_job *job)
{
    char buf[64];
    for (int i = 0; i < 64; i++) {
        int n = recv(job->wake, buf, sizeof buf, 0);
        /* WSAECONNRESET / WSAEMSGSIZE report one event each: read on. */
        if (n < 0 && WSAGetLastError() != WSAECONNRESET && WSAGetLastError() != WSAEMSGSIZE)
            return;
    }
}

/* A job thread runs this DLL's code for as long as its work takes, and the
 * host may unload the DLL meanwhile (koffi frees it when Node's environment
 * ends): pinned, it stays loaded until the process is gone. */
static void pin_library(void)
{
    static volatile LONG pinned;
    HMODULE self;
    if (InterlockedExchange(&pinned, 1) == 0)
        GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_PIN,
                           (LPCWSTR)(void *)pin_library, &self);
}

/* Starts the thread for a job filled by the caller; frees it on failure. */
static int start_job(resolve_job *job, int *os_error)
{
    pin_library();
    if (!make_wake_pair(job, os_error)) {
        free(job);
        return 0;
    }
    job->refs = 2;
    job->finished = 0;
    uintptr_t thread = _beginthreadex(NULL, 0, lookup_thread, job, 0, NULL);
    if (thread == 0) {
        *os_error = (int)GetLastError();
        closesocket(job->wake);
        closesocket(job->signal);
        free(job);
        return 0;
    }
    CloseHandle((HANDLE)thread);   /* detached */
    return 1;
}

int resolve_start(const char *host, int port, resolve_job **out, int *os_error)
{
    size_t hostlen = strlen(host);
    resolve_job *job = calloc(1, sizeof *job + hostlen + 1);
    if (!job) {
        *os_error = WSA_NOT_ENOUGH_MEMORY;
        return 0;
    }
    memcpy(job->host, host, hostlen + 1);
    snprintf(job->service, sizeof job->service, "%d", port);
    if (!start_job(job, os_error))
        return 0;
    *out = job;
    return 1;
}

int resolve_start_work(void (*work)(void *), void *arg, resolve_job **out, int *os_error)
{
    resolve_job *job = calloc(1, sizeof *job + 1);
    if (!job) {
        *os_error = WSA_NOT_ENOUGH_MEMORY;
        return 0;
    }
    job->work = work;
    job->work_arg = arg;
    if (!start_job(job, os_error))
        return 0;
    *out = job;
    return 1;
}

/* Without it a wake datagram that could not be sent (signal_finished) would
 * leave the host waiting on `wake` forever; once a second is a cheap bound. */
int resolve_recheck_ms(void)
{
    return 1000;
}

int64_t resolve_handle(const resolve_job *job)
{
    return (int64_t)job->wake;
}

int resolve_finished(resolve_job *job, struct addrinfo **result, int *gai_error, int *os_error)
{
    /* Drain before looking: the thread sets `finished` before it sends, so
     * when `finished` is still 0 below, the datagram that will announce it
     * has not been drained and will wake the host. */
    drain_wake(job);
    if (InterlockedCompareExchange(&job->finished, 0, 0) == 0)
        return 0;
    *result = job->result;
    job->result = NULL;
    *gai_error = job->gai_error;
    *os_error = job->os_error;
    return 1;
}

void resolve_release(resolve_job *job)
{
    if (job)
        job_unref(job);
}

const char *resolve_error_name(int gai_error)
{
    switch (gai_error) {
    case WSAHOST_NOT_FOUND:   /* EAI_NONAME */
    case WSANO_DATA:          /* EAI_NODATA */
        return "ENOTFOUND";
    case WSATRY_AGAIN: return "EAI_AGAIN";
    case WSANO_RECOVERY: return "EAI_FAIL";
    case WSA_NOT_ENOUGH_MEMORY: return "EAI_MEMORY";
    case WSATYPE_NOT_FOUND: return "EAI_SERVICE";
    case WSAEAFNOSUPPORT: return "EAI_FAMILY";
    default: return "EAI_FAIL";
    }
}

const char *resolve_error_text(int gai_error)
{
    switch (gai_error) {
    case WSAHOST_NOT_FOUND:
    case WSANO_DATA:
        return "no such host is known";
    case WSATRY_AGAIN:
        return "temporary failure in name resolution";
    case WSANO_RECOVERY:
        return "non-recoverable failure in name resolution";
    case WSA_NOT_ENOUGH_MEMORY:
        return "out of memory";
    case WSATYPE_NOT_FOUND:
        return "service not supported";
    case WSAEAFNOSUPPORT:
        return "address family not supported";
    default:
        return "name resolution failed";
    }
}
