/* proxy_auth_none.c — OSes where ostls has no single sign-in to offer a proxy
 * (Linux, macOS): Negotiate and NTLM are not done (there is no SSPI; GSSAPI's
 * Kerberos tickets and NTLM through Samba's ntlm_auth are not wired up), so a
 * proxy that asks only for them is TLS_PROXY_AUTH_REQUIRED saying so. */
#include "proxy_auth.h"

#include <stdio.h>

int proxy_auth_os_available(const char *scheme, char *why, size_t cap)
{
    snprintf(why, cap,
             "ostls signs in to proxies with %s only on Windows (SSPI, the user's Windows sign-in); on this OS it "
             "sends only Basic with the proxy URL's user:password",
             scheme);
    return 0;
}

proxy_auth_os *proxy_auth_os_start(const char *scheme, const char *host, const char *user, const char *pass,
                                   char *why, size_t cap)
{
    (void)host;
    (void)user;
    (void)pass;
    proxy_auth_os_available(scheme, why, cap);
    return NULL;
}

int proxy_auth_os_step(proxy_auth_os *a, const unsigned char *in, size_t inlen, unsigned char **out,
                       size_t *outlen, char *why, size_t cap)
{
    (void)a;
    (void)in;
    (void)inlen;
    *out = NULL;
    *outlen = 0;
    snprintf(why, cap, "not available on this OS");
    return 0;
}

void proxy_auth_os_free(proxy_auth_os *a)
{
    (void)a;
}
