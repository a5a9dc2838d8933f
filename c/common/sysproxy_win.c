/*
 * sysproxy_win.c — the Windows proxy settings through WinHTTP, as browsers and
 * .NET read them: WinHttpGetIEProxyConfigForCurrentUser gives the user's
 * "Internet Options" / Settings > Proxy configuration. When it asks for
 * automatic detection (WPAD) or a setup script (PAC URL),
 * WinHttpGetProxyForUrl finds, downloads and runs the script for this URL;
 * when that fails the fixed proxy and its bypass list apply, as in browsers.
 * Runs on a worker thread (sysproxy.c): every call here may block.
 */
#include "sysproxy.h"

#include <stdio.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>
#include <winhttp.h>

/* UTF-16 → UTF-8 into out (truncating). */
static void narrow(const wchar_t *in, char *out, size_t cap)
{
    if (!in || WideCharToMultiByte(CP_UTF8, 0, in, -1, out, (int)cap, NULL, NULL) <= 0)
        out[0] = '\0';
    out[cap - 1] = '\0';
}

/* Case-insensitive glob with '*' (the bypass list's only wildcard). */
static int glob_match(const char *pat, size_t plen, const char *text)
{
    if (plen == 0)
        return *text == '\0';
    if (*pat == '*') {
        for (const char *t = text;; t++) {
            if (glob_match(pat + 1, plen - 1, t))
                return 1;
            if (!*t)
                return 0;
        }
    }
    if (!*text)
        return 0;
    char a = *pat >= 'A' && *pat <= 'Z' ? (char)(*pat + 32) : *pat;
    char b = *text >= 'A' && *text <= 'Z' ? (char)(*text + 32) : *text;
    return a == b && glob_match(pat + 1, plen - 1, text + 1);
}

/* The bypass-list entry ("*.corp; <local>; 10.*", ';' or space separated) that
 * exempts host, copied to hit; 0 when none does. <local> means names without
 * a dot. An entry may carry a scheme ("https://") and a port. */
static int bypassed(const char *list, const char *host, int port, char *hit, size_t cap)
{
    char hostport[300];
    snprintf(hostport, sizeof hostport, "%s:%d", host, port);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, "; \t\r\n");
        const char *e = p;
        size_t elen = len;
        const char *scheme = strstr(e, "://");
        int other_scheme = 0;
        if (scheme && scheme < e + elen) {
            other_scheme = !(scheme - e == 5 && _strnicmp(e, "https", 5) == 0);
            elen -= (size_t)(scheme + 3 - e);
            e = scheme + 3;
        }
        int match = 0;
        if (elen == 7 && _strnicmp(e, "<local>", 7) == 0)
            match = !strchr(host, '.') && !strchr(host, ':');
        else if (elen && !other_scheme)
            match = glob_match(e, elen, host) || glob_match(e, elen, hostport);
        if (match) {
            snprintf(hit, cap, "%.*s", (int)len, p);
            return 1;
        }
        p += len;
        while (*p == ';' || *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
    }
    return 0;
}

/* From a proxy list ("host:port", or "http=h:p;https=h2:p2;socks=…"), the
 * one for https: URLs as a URL: an "https=" entry, else the first entry that
 * names no scheme. 0 when the list has none for https (the URL goes direct). */
static int pick_proxy(const char *list, char *url, size_t cap)
{
    const char *plain = NULL;
    size_t plain_len = 0;
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, "; \t\r\n");
        const char *eq = memchr(p, '=', len);
        if (eq && eq - p == 5 && _strnicmp(p, "https", 5) == 0 && len > 6) {
            plain = eq + 1;
            plain_len = len - 6;
            break;
        }
        if (!eq && len && !plain) {
            plain = p;
            plain_len = len;
        }
        p += len;
        while (*p == ';' || *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
    }
    if (!plain)
        return 0;
    int has_scheme = plain_len > 3 && memchr(plain, ':', plain_len) &&
                     strstr(plain, "://") && strstr(plain, "://") < plain + plain_len;
    snprintf(url, cap, "%s%.*s", has_scheme ? "" : "http://", (int)plain_len, plain);
    return 1;
}

/* The fixed proxy and its bypass list. */
static void static_answer(const WINHTTP_CURRENT_USER_IE_PROXY_CONFIG *ie, const char *host, int port,
                          const char *before, struct sysproxy_answer *out)
{
    char list[1024], bypass[1024], hit[256];
    narrow(ie->lpszProxy, list, sizeof list);
    narrow(ie->lpszProxyBypass, bypass, sizeof bypass);
    if (!list[0]) {
        snprintf(out->source, sizeof out->source, "direct");
        snprintf(out->why, sizeof out->why, "%sthe Windows proxy settings name no proxy", before);
        return;
    }
    if (bypassed(bypass, host, port, hit, sizeof hit)) {
        snprintf(out->source, sizeof out->source, "bypass");
        snprintf(out->why, sizeof out->why, "%sWindows proxy bypass list entry %s", before, hit);
        return;
    }
    if (!pick_proxy(list, out->url, sizeof out->url)) {
        snprintf(out->source, sizeof out->source, "direct");
        snprintf(out->why, sizeof out->why, "%sthe Windows proxy settings (%s) name no proxy for https", before, list);
        return;
    }
    snprintf(out->source, sizeof out->source, "static");
    snprintf(out->why, sizeof out->why, "%sWindows proxy settings (%s)", before, list);
}

/* WPAD and/or the PAC URL: 1 with *out filled, 0 when no script answered
 * (why in failed, for the message of what is used instead). */
static int script_answer(const WINHTTP_CURRENT_USER_IE_PROXY_CONFIG *ie, const wchar_t *url, struct sysproxy_answer *out,
                         char *failed, size_t cap)
{
    char pac[512];
    narrow(ie->lpszAutoConfigUrl, pac, sizeof pac);
    HINTERNET session = WinHttpOpen(L"ostls", WINHTTP_ACCESS_TYPE_NO_PROXY, WINHTTP_NO_PROXY_NAME,
                                    WINHTTP_NO_PROXY_BYPASS, 0);
    if (!session) {
        snprintf(failed, cap, "WinHttpOpen failed (error %lu); ", GetLastError());
        return 0;
    }
    /* A script server that never answers must not hold the worker forever. */
    WinHttpSetTimeouts(session, 10000, 10000, 10000, 10000);
    WINHTTP_AUTOPROXY_OPTIONS ao;
    memset(&ao, 0, sizeof ao);
    if (ie->fAutoDetect) {
        ao.dwFlags |= WINHTTP_AUTOPROXY_AUTO_DETECT;
        ao.dwAutoDetectFlags = WINHTTP_AUTO_DETECT_TYPE_DHCP | WINHTTP_AUTO_DETECT_TYPE_DNS_A;
    }
    if (ie->lpszAutoConfigUrl) {
        ao.dwFlags |= WINHTTP_AUTOPROXY_CONFIG_URL;
        ao.lpszAutoConfigUrl = ie->lpszAutoConfigUrl;
    }
    ao.fAutoLogonIfChallenged = TRUE;   /* a script behind Windows sign-in */
    WINHTTP_PROXY_INFO pi;
    memset(&pi, 0, sizeof pi);
    BOOL ok = WinHttpGetProxyForUrl(session, url, &ao, &pi);
    DWORD error = ok ? 0 : GetLastError();
    WinHttpCloseHandle(session);
    const char *from = ie->lpszAutoConfigUrl ? "pac" : "wpad";
    char what[600];
    if (ie->lpszAutoConfigUrl)
        snprintf(what, sizeof what, "PAC script %s%s", pac, ie->fAutoDetect ? " (or one found by auto-detection)" : "");
    else
        snprintf(what, sizeof what, "PAC script found by auto-detection (WPAD)");
    if (!ok) {
        snprintf(failed, cap, "%s: none answered (WinHTTP error %lu); ", what, error);
        return 0;
    }
    char list[1024];
    narrow(pi.lpszProxy, list, sizeof list);
    if (pi.lpszProxy)
        GlobalFree(pi.lpszProxy);
    if (pi.lpszProxyBypass)
        GlobalFree(pi.lpszProxyBypass);
    snprintf(out->source, sizeof out->source, "%s", from);
    if (pi.dwAccessType == WINHTTP_ACCESS_TYPE_NAMED_PROXY && pick_proxy(list, out->url, sizeof out->url))
        snprintf(out->why, sizeof out->why, "%s said %s", what, list);
    else
        snprintf(out->why, sizeof out->why, "%s said DIRECT", what);
    return 1;
}

void sysproxy_os_lookup(const char *host, int port, struct sysproxy_answer *out)
{
    out->url[0] = '\0';
    WINHTTP_CURRENT_USER_IE_PROXY_CONFIG ie;
    memset(&ie, 0, sizeof ie);
    if (!WinHttpGetIEProxyConfigForCurrentUser(&ie)) {
        snprintf(out->source, sizeof out->source, "direct");
        snprintf(out->why, sizeof out->why, "no Windows proxy settings (WinHttpGetIEProxyConfigForCurrentUser: error %lu)",
                 GetLastError());
        return;
    }
    char failed[800] = "";
    int answered = 0;
    if (ie.fAutoDetect || ie.lpszAutoConfigUrl) {
        wchar_t whost[256], url[600];
        if (MultiByteToWideChar(CP_UTF8, 0, host, -1, whost, 256) <= 0)
            whost[0] = L'\0';
        int v6 = strchr(host, ':') != NULL;
        swprintf(url, sizeof url / sizeof url[0], L"https://%ls%ls%ls:%d/", v6 ? L"[" : L"", whost, v6 ? L"]" : L"", port);
        answered = script_answer(&ie, url, out, failed, sizeof failed);
    }
    if (!answered)
        static_answer(&ie, host, port, failed, out);
    if (ie.lpszAutoConfigUrl)
        GlobalFree(ie.lpszAutoConfigUrl);
    if (ie.lpszProxy)
        GlobalFree(ie.lpszProxy);
    if (ie.lpszProxyBypass)
        GlobalFree(ie.lpszProxyBypass);
}
