/* sysproxy_none.c — systems without one OS-wide proxy setting (Linux: each
 * desktop keeps its own, and services read the environment), so option proxy
 * "system" goes direct there; the TypeScript layer reads the environment
 * first (ts/proxy-env.ts). */
#include "sysproxy.h"

#include <stdio.h>

void sysproxy_os_lookup(const char *host, int port, struct sysproxy_answer *out)
{
    (void)host;
    (void)port;
    out->url[0] = '\0';
    snprintf(out->source, sizeof out->source, "none");
    snprintf(out->why, sizeof out->why,
             "this OS has no system-wide proxy setting that ostls reads (only HTTPS_PROXY and the like)");
}
