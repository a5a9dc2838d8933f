/* resolve_posix.c — POSIX implementation (pthread + pipe). The Windows build
 * uses a thread + a loopback UDP socket behind the same API (resolve_win.c). */
#define _GNU_SOURCE
#include "resolve.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct resolve_job {
    atomic_int refs;        /* connection + thread */
    atomic_int finished;    /* written last by the thread (release) */
    int wake_read;
    int wake_write;
    char service[8];
    struct addrinfo *result;
    int gai_error;
    int os_error;
    void (*work)(void *);   /* resolve_start_work: run this instead of a lookup */
    void *work_arg;
    char host[];            /* flexible: the name being looked up */
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
    fill_hints(&hints, AI_NUMERICHOST | AI_NUMERICSERV);
    int rc = getaddrinfo(host, service, &hints, out);
    if (rc != 0) {
        *gai_error = rc;
        return -1;
    }
    return 1;
}

static void job_unref(resolve_job *job)
{
    if (atomic_fetch_sub_explicit(&job->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (job->result)
        freeaddrinfo(job->result);
    close(job->wake_read);
    if (job->wake_write >= 0)
        close(job->wake_write);
    free(job);
}

static void *lookup_thread(void *arg)
{
    resolve_job *job = arg;
    if (job->work) {
        job->work(job->work_arg);
    } else {
        struct addrinfo hints;
        fill_hints(&hints, AI_NUMERICSERV);
        int rc = getaddrinfo(job->host, job->service, &hints, &job->result);
        job->gai_error = rc;
        job->os_error = rc == EAI_SYSTEM ? errno : 0;
        if (rc != 0)
            job->result = NULL;
    }
    atomic_store_explicit(&job->finished, 1, memory_order_release);
    /* The connection holds its reference until it has seen the result or let
     * go, so the read end is still open here and this write cannot SIGPIPE. */
    char byte = 1;
    ssize_t ignored = write(job->wake_write, &byte, 1);
    (void)ignored;
    close(job->wake_write);
    job->wake_write = -1;
    job_unref(job);
    return NULL;
}

static int make_wake_pipe(int fds[2])
{
#if defined(__linux__)
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0)
        return 0;
    if (errno != ENOSYS)
        return -1;
#endif
    if (pipe(fds) < 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
    }
    return 0;
}

/* A job thread runs this library's code for as long as its work takes (a
 * lookup, a trust store), and the host may unload the library meanwhile:
 * koffi closes it when Node's environment ends, with the thread still in
 * it. Loaded once more with RTLD_NODELETE, it stays mapped until the
 * process is gone. */
static void pin_library(void)
{
    Dl_info self;
    if (dladdr((void *)pin_library, &self) && self.dli_fname)
        (void)dlopen(self.dli_fname, RTLD_NOW | RTLD_NODELETE);   /* never closed */
}

static pthread_once_t pin_once = PTHREAD_ONCE_INIT;

/* Starts the thread for a job filled by the caller; frees it on failure. */
static int start_job(resolve_job *job, int *os_error)
{
    pthread_once(&pin_once, pin_library);
    int fds[2];
    if (make_wake_pipe(fds) < 0) {
        *os_error = errno;
        free(job);
        return 0;
    }
    job->wake_read = fds[0];
    job->wake_write = fds[1];
    atomic_init(&job->refs, 2);
    atomic_init(&job->finished, 0);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* The job thread must never take the host's signals (Node relies on its
     * own threads handling them), so it starts with all blocked. */
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    pthread_t thread;
    int rc = pthread_create(&thread, &attr, lookup_thread, job);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        *os_error = rc;
        close(fds[0]);
        close(fds[1]);
        free(job);
        return 0;
    }
    return 1;
}

int resolve_start(const char *host, int port, resolve_job **out, int *os_error)
{
    size_t hostlen = strlen(host);
    resolve_job *job = calloc(1, sizeof *job + hostlen + 1);
    if (!job) {
        *os_error = ENOMEM;
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
        *os_error = ENOMEM;
        return 0;
    }
    job->work = work;
    job->work_arg = arg;
    if (!start_job(job, os_error))
        return 0;
    *out = job;
    return 1;
}

int resolve_recheck_ms(void)
{
    return -1;   /* the worker closes the pipe's write end: readable (EOF) even if its write failed */
}

int64_t resolve_handle(const resolve_job *job)
{
    return job->wake_read;
}

int resolve_finished(resolve_job *job, struct addrinfo **result, int *gai_error, int *os_error)
{
    if (!atomic_load_explicit(&job->finished, memory_order_acquire))
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
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
        return "ENOTFOUND";
    case EAI_AGAIN: return "EAI_AGAIN";
    case EAI_FAIL: return "EAI_FAIL";
    case EAI_MEMORY: return "EAI_MEMORY";
    case EAI_SERVICE: return "EAI_SERVICE";
    case EAI_FAMILY: return "EAI_FAMILY";
    case EAI_SYSTEM: return "EAI_SYSTEM";
    default: return "EAI_FAIL";
    }
}

const char *resolve_error_text(int gai_error)
{
    return gai_strerror(gai_error);
}

