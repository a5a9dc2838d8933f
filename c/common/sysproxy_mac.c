/*
 * sysproxy_mac.c — the macOS proxy settings (System Settings > Network >
 * Proxies, or an MDM profile) through CFNetwork: CFNetworkCopySystemProxySettings,
 * then CFNetworkCopyProxiesForURL, which applies the exceptions list and
 * "exclude simple host names" and may answer with a PAC script to run; that
 * script runs through CFNetworkExecuteProxyAutoConfigurationURL on this
 * (worker) thread's own run loop, in a private mode, with a time limit.
 * Runs on a worker thread (sysproxy.c): every call here may block.
 */
#include "sysproxy.h"

#include <CFNetwork/CFNetwork.h>
#include <CoreFoundation/CoreFoundation.h>
#include <stdio.h>
#include <string.h>

#define PAC_SECONDS 10.0

static void cf_text(CFStringRef s, char *out, size_t cap)
{
    if (!s || CFGetTypeID(s) != CFStringGetTypeID() || !CFStringGetCString(s, out, (CFIndex)cap, kCFStringEncodingUTF8))
        out[0] = '\0';
}

struct pac_run {
    int done;
    CFArrayRef proxies;   /* retained; NULL on error */
    long error;
};

static void pac_done(void *client, CFArrayRef proxies, CFErrorRef error)
{
    struct pac_run *run = client;
    run->done = 1;
    if (error)
        run->error = (long)CFErrorGetCode(error);
    else if (proxies)
        run->proxies = CFRetain(proxies);
    CFRunLoopStop(CFRunLoopGetCurrent());
}

/* Run the PAC script at pac for url; the proxies it names, or NULL. */
static CFArrayRef run_pac(CFURLRef pac, CFURLRef url, long *error)
{
    struct pac_run run = {0, NULL, 0};
    CFStreamClientContext ctx = {0, &run, NULL, NULL, NULL};
    CFRunLoopSourceRef src = CFNetworkExecuteProxyAutoConfigurationURL(pac, url, pac_done, &ctx);
    if (!src) {
        *error = -1;
        return NULL;
    }
    CFStringRef mode = CFSTR("org.ostls.pac");
    CFRunLoopAddSource(CFRunLoopGetCurrent(), src, mode);
    CFAbsoluteTime until = CFAbsoluteTimeGetCurrent() + PAC_SECONDS;
    while (!run.done && CFAbsoluteTimeGetCurrent() < until)
        CFRunLoopRunInMode(mode, until - CFAbsoluteTimeGetCurrent(), true);
    CFRunLoopRemoveSource(CFRunLoopGetCurrent(), src, mode);
    CFRunLoopSourceInvalidate(src);
    CFRelease(src);
    *error = run.done ? run.error : -2;
    return run.proxies;
}

/* The first usable entry of a CFNetwork proxy list: 1 when it decided
 * (out->url set, or "" for kCFProxyTypeNone), 0 when it names nothing usable
 * (SOCKS only, or a PAC entry: *pac set, retained). */
static int first_proxy(CFArrayRef list, struct sysproxy_answer *out, CFURLRef *pac)
{
    CFIndex n = list ? CFArrayGetCount(list) : 0;
    for (CFIndex i = 0; i < n; i++) {
        CFDictionaryRef p = CFArrayGetValueAtIndex(list, i);
        CFStringRef type = CFDictionaryGetValue(p, kCFProxyTypeKey);
        if (!type)
            continue;
        if (CFEqual(type, kCFProxyTypeNone)) {
            out->url[0] = '\0';
            return 1;
        }
        if (CFEqual(type, kCFProxyTypeAutoConfigurationURL) && pac && !*pac) {
            CFURLRef u = CFDictionaryGetValue(p, kCFProxyAutoConfigurationURLKey);
            if (u)
                *pac = CFRetain(u);
            continue;
        }
        if (CFEqual(type, kCFProxyTypeHTTPS) || CFEqual(type, kCFProxyTypeHTTP)) {
            char host[256];
            int port = 0;
            cf_text(CFDictionaryGetValue(p, kCFProxyHostNameKey), host, sizeof host);
            CFNumberRef num = CFDictionaryGetValue(p, kCFProxyPortNumberKey);
            if (num)
                CFNumberGetValue(num, kCFNumberIntType, &port);
            if (!host[0])
                continue;
            int v6 = strchr(host, ':') != NULL;
            snprintf(out->url, sizeof out->url, "http://%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "",
                     port > 0 ? port : 80);
            return 1;
        }
    }
    return 0;
}

void sysproxy_os_lookup(const char *host, int port, struct sysproxy_answer *out)
{
    out->url[0] = '\0';
    snprintf(out->source, sizeof out->source, "direct");
    snprintf(out->why, sizeof out->why, "the macOS proxy settings name no proxy for https");
    char text[600];
    int v6 = strchr(host, ':') != NULL;
    snprintf(text, sizeof text, "https://%s%s%s:%d/", v6 ? "[" : "", host, v6 ? "]" : "", port);
    CFURLRef url = CFURLCreateWithBytes(NULL, (const UInt8 *)text, (CFIndex)strlen(text), kCFStringEncodingUTF8, NULL);
    CFDictionaryRef settings = CFNetworkCopySystemProxySettings();
    if (!url || !settings) {
        snprintf(out->why, sizeof out->why, "no macOS proxy settings (CFNetworkCopySystemProxySettings failed)");
        goto done;
    }
    CFArrayRef list = CFNetworkCopyProxiesForURL(url, settings);
    CFURLRef pac = NULL;
    int decided = first_proxy(list, out, &pac);
    if (list)
        CFRelease(list);
    if (decided) {
        snprintf(out->source, sizeof out->source, "%s", out->url[0] ? "static" : "direct");
        snprintf(out->why, sizeof out->why, "%s", out->url[0] ? "macOS proxy settings (Secure Web Proxy)"
                                                               : "the macOS proxy settings (or their exceptions list) say direct");
    } else if (pac) {
        char where[512];
        cf_text(CFURLGetString(pac), where, sizeof where);
        long error = 0;
        CFArrayRef said = run_pac(pac, url, &error);
        if (said && first_proxy(said, out, NULL)) {
            snprintf(out->source, sizeof out->source, "pac");
            snprintf(out->why, sizeof out->why, "PAC script %s said %s", where, out->url[0] ? out->url : "DIRECT");
        } else {
            out->url[0] = '\0';
            snprintf(out->why, sizeof out->why, "PAC script %s gave no usable answer (%s %ld): direct", where,
                     error == -2 ? "no answer within 10 s," : "error", error);
        }
        if (said)
            CFRelease(said);
        CFRelease(pac);
    }
done:
    if (settings)
        CFRelease(settings);
    if (url)
        CFRelease(url);
}
