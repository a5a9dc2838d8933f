/* proxy_cred_none.c — OSes that keep no proxy password ostls reads: Linux
 * (no system-wide store; the proxy URL's user:password is the way) and
 * Windows (a proxy sign-in there is the user's Windows logon, not a stored
 * password). A 407 stays final at once, and no worker is started. */
#include "proxy_cred.h"

#include <stdio.h>

int proxy_cred_os_available(void)
{
    return 0;
}

int proxy_cred_os_lookup(const char *host, int port, char *user, char *pass, char *why, size_t whycap)
{
    (void)host;
    (void)port;
    user[0] = pass[0] = '\0';
    snprintf(why, whycap, "this OS keeps no proxy passwords that ostls reads");
    return 0;
}
