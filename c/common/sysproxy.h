/*
 * sysproxy.h — the OS's own proxy settings for an https: origin (option
 * proxy "system"), looked up off the caller's thread.
 *
 * The per-OS part (sysproxy_os_lookup) may block for as long as the OS takes:
 * Windows downloads and runs a PAC script or searches for one (WPAD), macOS
 * runs a PAC script on a run loop. It therefore runs on the same kind of
 * worker thread as name resolution (resolve_start_work), and the connection
 * waits on that job's handle like on any other set-up phase. Answers are
 * cached per process for SYSPROXY_TTL_SECONDS, so most connections get theirs
 * without a thread.
 */
#ifndef OSTLS_SYSPROXY_H
#define OSTLS_SYSPROXY_H

#include <stdint.h>

#define SYSPROXY_TTL_SECONDS 30
#define SYSPROXY_URL_MAX 600
#define SYSPROXY_WHY_MAX 400

struct sysproxy_answer {
    /* "http://host:port" (or another scheme the OS named), "" to go direct. */
    char url[SYSPROXY_URL_MAX];
    /* Where the answer came from: "static" (the OS's fixed proxy), "pac" (a
     * PAC script from a configured URL), "wpad" (a PAC script found by
     * auto-detection), "bypass" (the OS's bypass list exempts the host),
     * "direct" (the OS names no proxy), "none" (this OS has no setting ostls
     * reads). */
    char source[16];
    /* The same in words, for messages and `ostls doctor`. */
    char why[SYSPROXY_WHY_MAX];
};

/* Per OS (sysproxy_win.c, sysproxy_mac.c, sysproxy_none.c); may block. */
void sysproxy_os_lookup(const char *host, int port, struct sysproxy_answer *out);

typedef struct sysproxy_query sysproxy_query;

/* Start looking up host:port; answered at once when the cache has it.
 * 0 on failure with *os_error set: 0 out of memory, else why no thread. */
int sysproxy_start(const char *host, int port, sysproxy_query **out, int *os_error);

/* The handle that becomes readable once answered; -1 when already answered. */
int64_t sysproxy_handle(const sysproxy_query *q);

/* 1 once answered, with *out filled; 0 while the lookup runs. */
int sysproxy_finished(sysproxy_query *q, struct sysproxy_answer *out);

/* Let go; safe while the lookup is still running. */
void sysproxy_release(sysproxy_query *q);

#endif
