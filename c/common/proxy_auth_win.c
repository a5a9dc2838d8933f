/* proxy_auth_win.c — proxy sign-in through SSPI, as browsers do on Windows:
 * the Negotiate or NTLM package with the signed-in user's credentials (or the
 * proxy URL's user:password), InitializeSecurityContextW with the target
 * "HTTP/<proxy host>". Kerberos through Negotiate (a domain member) may
 * first ask the domain controller for a service ticket for HTTP/<proxy host>
 * (then cached by the OS for its lifetime), so InitializeSecurityContextW can
 * wait on the network: every call here runs on proxy_auth.c's worker thread,
 * never in a tls_* call. */
#define SECURITY_WIN32
#include "proxy_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>
#include <sspi.h>
#include <security.h>

/* Big enough for any Negotiate / Kerberos token (Windows' cbMaxToken is
 * 48 KiB at most), so no QuerySecurityPackageInfo and no SSPI-allocated
 * buffer to free. */
#define TOKEN_MAX 65536

struct proxy_auth_os {
    char scheme[16];
    CredHandle cred;
    CtxtHandle ctx;
    int have_ctx;
    wchar_t target[300];
};

static const struct {
    SECURITY_STATUS status;
    const char *name;
} names[] = {
    {SEC_E_INSUFFICIENT_MEMORY, "SEC_E_INSUFFICIENT_MEMORY"},
    {SEC_E_INVALID_HANDLE, "SEC_E_INVALID_HANDLE"},
    {SEC_E_UNSUPPORTED_FUNCTION, "SEC_E_UNSUPPORTED_FUNCTION"},
    {SEC_E_TARGET_UNKNOWN, "SEC_E_TARGET_UNKNOWN"},
    {SEC_E_INTERNAL_ERROR, "SEC_E_INTERNAL_ERROR"},
    {SEC_E_SECPKG_NOT_FOUND, "SEC_E_SECPKG_NOT_FOUND"},
    {SEC_E_INVALID_TOKEN, "SEC_E_INVALID_TOKEN"},
    {SEC_E_LOGON_DENIED, "SEC_E_LOGON_DENIED"},
    {SEC_E_NO_CREDENTIALS, "SEC_E_NO_CREDENTIALS"},
    {SEC_E_NO_AUTHENTICATING_AUTHORITY, "SEC_E_NO_AUTHENTICATING_AUTHORITY"},
    {SEC_E_WRONG_PRINCIPAL, "SEC_E_WRONG_PRINCIPAL"},
    {SEC_E_UNKNOWN_CREDENTIALS, "SEC_E_UNKNOWN_CREDENTIALS"},
    {SEC_E_NOT_OWNER, "SEC_E_NOT_OWNER"},
    {SEC_E_BUFFER_TOO_SMALL, "SEC_E_BUFFER_TOO_SMALL"},
    {SEC_I_COMPLETE_NEEDED, "SEC_I_COMPLETE_NEEDED"},
    {SEC_I_COMPLETE_AND_CONTINUE, "SEC_I_COMPLETE_AND_CONTINUE"},
};

static void status_text(const char *call, SECURITY_STATUS st, char *why, size_t cap)
{
    const char *name = "an SSPI error";
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].status == st)
            name = names[i].name;
    snprintf(why, cap, "%s returned %s (0x%08lx)", call, name, (unsigned long)st);
}

/* UTF-8 text[0..len) into a malloc'd UTF-16 string (*wlen characters). */
static wchar_t *widen(const char *text, int len, unsigned long *wlen)
{
    int n = len ? MultiByteToWideChar(CP_UTF8, 0, text, len, NULL, 0) : 0;
    wchar_t *w = calloc((size_t)n + 1, sizeof *w);
    if (w && n)
        MultiByteToWideChar(CP_UTF8, 0, text, len, w, n);
    *wlen = (unsigned long)n;
    return w;
}

int proxy_auth_os_available(const char *scheme, char *why, size_t cap)
{
    (void)scheme;
    (void)why;
    (void)cap;
    return 1;
}

proxy_auth_os *proxy_auth_os_start(const char *scheme, const char *host, const char *user, const char *pass,
                                   char *why, size_t cap)
{
    proxy_auth_os *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(why, cap, "out of memory");
        return NULL;
    }
    snprintf(a->scheme, sizeof a->scheme, "%s", scheme);
    _snwprintf(a->target, sizeof a->target / sizeof a->target[0] - 1, L"HTTP/%hs", host);
    wchar_t package[16];
    _snwprintf(package, sizeof package / sizeof package[0] - 1, L"%hs", scheme);
    /* Explicit credentials: "DOMAIN\user" splits; "user@domain" (a UPN) and a
     * bare user go as the user name with no domain, as SSPI takes them. */
    SEC_WINNT_AUTH_IDENTITY_W id;
    memset(&id, 0, sizeof id);
    wchar_t *wuser = NULL, *wdomain = NULL, *wpass = NULL;
    if (user) {
        const char *slash = strchr(user, '\\');
        const char *name = slash ? slash + 1 : user;
        wuser = widen(name, (int)strlen(name), &id.UserLength);
        wdomain = widen(user, slash ? (int)(slash - user) : 0, &id.DomainLength);
        wpass = widen(pass ? pass : "", (int)strlen(pass ? pass : ""), &id.PasswordLength);
        id.User = (unsigned short *)wuser;
        id.Domain = (unsigned short *)wdomain;
        id.Password = (unsigned short *)wpass;
        id.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE;
    }
    TimeStamp expiry;
    SECURITY_STATUS st = (user && (!wuser || !wdomain || !wpass))
                             ? SEC_E_INSUFFICIENT_MEMORY
                             : AcquireCredentialsHandleW(NULL, package, SECPKG_CRED_OUTBOUND, NULL, user ? &id : NULL,
                                                         NULL, NULL, &a->cred, &expiry);
    if (wpass)
        SecureZeroMemory(wpass, (id.PasswordLength + 1) * sizeof *wpass);
    free(wuser);
    free(wdomain);
    free(wpass);
    if (st != SEC_E_OK) {
        status_text(user ? "AcquireCredentialsHandleW (the proxy URL's user)"
                         : "AcquireCredentialsHandleW (the signed-in user's credentials)",
                    st, why, cap);
        free(a);
        return NULL;
    }
    return a;
}

/* Test hook: OSTLS_TEST_SSPI_DELAY_MS=<ms> makes every step sleep first, as a
 * step that waits on the domain controller would (test/proxy-ntlm.ts checks
 * that the host's event loop runs meanwhile). Read from the process
 * environment, which Node's process.env writes on Windows. */
static void test_delay(void)
{
    char v[16];
    DWORD n = GetEnvironmentVariableA("OSTLS_TEST_SSPI_DELAY_MS", v, sizeof v);
    if (n > 0 && n < sizeof v) {
        long ms = strtol(v, NULL, 10);
        if (ms > 0 && ms <= 60000)
            Sleep((DWORD)ms);
    }
}

int proxy_auth_os_step(proxy_auth_os *a, const unsigned char *in, size_t inlen, unsigned char **out,
                       size_t *outlen, char *why, size_t cap)
{
    test_delay();
    *out = NULL;
    *outlen = 0;
    why[0] = '\0';
    unsigned char *buf = malloc(TOKEN_MAX);
    if (!buf) {
        snprintf(why, cap, "out of memory");
        return 0;
    }
    SecBuffer inb = {(unsigned long)inlen, SECBUFFER_TOKEN, (void *)in};
    SecBufferDesc indesc = {SECBUFFER_VERSION, 1, &inb};
    SecBuffer outb = {TOKEN_MAX, SECBUFFER_TOKEN, buf};
    SecBufferDesc outdesc = {SECBUFFER_VERSION, 1, &outb};
    unsigned long attrs = 0;
    TimeStamp expiry;
    SECURITY_STATUS st = InitializeSecurityContextW(&a->cred, a->have_ctx ? &a->ctx : NULL, a->target, 0, 0,
                                                    SECURITY_NATIVE_DREP, in ? &indesc : NULL, 0, &a->ctx,
                                                    &outdesc, &attrs, &expiry);
    if (st != SEC_E_OK && st != SEC_I_CONTINUE_NEEDED) {
        /* COMPLETE_NEEDED is Digest's, never Negotiate's or NTLM's. */
        status_text("InitializeSecurityContextW", st, why, cap);
        free(buf);
        return 0;
    }
    a->have_ctx = 1;
    if (outb.cbBuffer == 0) {
        free(buf);
        return 1;
    }
    *out = buf;
    *outlen = outb.cbBuffer;
    return 1;
}

void proxy_auth_os_free(proxy_auth_os *a)
{
    if (!a)
        return;
    if (a->have_ctx)
        DeleteSecurityContext(&a->ctx);
    FreeCredentialsHandle(&a->cred);
    free(a);
}
