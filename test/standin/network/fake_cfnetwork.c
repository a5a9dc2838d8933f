/*
 * fake_cfnetwork.c — the stand-in's CFNetwork proxy calls and the CFURL,
 * CFNumber, CFRunLoop and CFSTR pieces c/common/sysproxy_mac.c uses (the
 * drivers link it; they do not ask for the OS proxy). Written for ostls
 * from Apple's documented behaviour (CFNumber, an int in a record, serves
 * fake_keychain.c's port attributes too). What it models: a Mac whose proxy
 * settings name no proxy (empty settings; no proxy entries for any URL) unless
 * a driver scripts a Secure Web Proxy (fcn_script_proxy: then every URL gets
 * one kCFProxyTypeHTTPS entry with its host and port),
 * and which runs no PAC scripts (CFNetworkExecuteProxyAutoConfigurationURL
 * answers NULL, as it does when it cannot start).
 */
#include "fake_cf.h"

#include <CFNetwork/CFNetwork.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct standin_cf proxy_constants[] = {
    STANDIN_CONST_STRING("kCFProxyTypeKey"),
    STANDIN_CONST_STRING("kCFProxyHostNameKey"),
    STANDIN_CONST_STRING("kCFProxyPortNumberKey"),
    STANDIN_CONST_STRING("kCFProxyAutoConfigurationURLKey"),
    STANDIN_CONST_STRING("kCFProxyTypeNone"),
    STANDIN_CONST_STRING("kCFProxyTypeHTTP"),
    STANDIN_CONST_STRING("kCFProxyTypeHTTPS"),
    STANDIN_CONST_STRING("kCFProxyTypeAutoConfigurationURL"),
};
const CFStringRef kCFProxyTypeKey = &proxy_constants[0];
const CFStringRef kCFProxyHostNameKey = &proxy_constants[1];
const CFStringRef kCFProxyPortNumberKey = &proxy_constants[2];
const CFStringRef kCFProxyAutoConfigurationURLKey = &proxy_constants[3];
const CFStringRef kCFProxyTypeNone = &proxy_constants[4];
const CFStringRef kCFProxyTypeHTTP = &proxy_constants[5];
const CFStringRef kCFProxyTypeHTTPS = &proxy_constants[6];
const CFStringRef kCFProxyTypeAutoConfigurationURL = &proxy_constants[7];

CFDictionaryRef CFNetworkCopySystemProxySettings(void)
{
    return CFDictionaryCreate(NULL, NULL, NULL, 0, &kCFTypeDictionaryKeyCallBacks, &kCFTypeDictionaryValueCallBacks);
}

static char scripted_host[256];
static int scripted_port;

void fcn_script_proxy(const char *host, int port)
{
    snprintf(scripted_host, sizeof scripted_host, "%s", host ? host : "");
    scripted_port = port;
}

/* No entries (direct), or the scripted Secure Web Proxy entry. */
CFArrayRef CFNetworkCopyProxiesForURL(CFURLRef url, CFDictionaryRef proxySettings)
{
    (void)url;
    (void)proxySettings;
    CFMutableArrayRef list = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
    if (scripted_host[0]) {
        CFStringRef host = CFStringCreateWithCString(NULL, scripted_host, kCFStringEncodingUTF8);
        CFNumberRef port = CFNumberCreate(NULL, kCFNumberIntType, &scripted_port);
        const void *keys[] = { kCFProxyTypeKey, kCFProxyHostNameKey, kCFProxyPortNumberKey };
        const void *values[] = { kCFProxyTypeHTTPS, host, port };
        CFDictionaryRef entry = CFDictionaryCreate(NULL, keys, values, 3, &kCFTypeDictionaryKeyCallBacks,
                                                   &kCFTypeDictionaryValueCallBacks);
        CFArrayAppendValue(list, entry);
        CFRelease(entry);
        CFRelease(port);
        CFRelease(host);
    }
    return list;
}

CFRunLoopSourceRef CFNetworkExecuteProxyAutoConfigurationURL(CFURLRef proxyAutoConfigURL, CFURLRef targetURL,
                                                             CFProxyAutoConfigurationResultCallback cb,
                                                             CFStreamClientContext *clientContext)
{
    (void)proxyAutoConfigURL;
    (void)targetURL;
    (void)cb;
    (void)clientContext;
    return NULL;
}

/* A URL is its text, kept as a string record: CFURLGetString answers it. */
CFURLRef CFURLCreateWithBytes(CFAllocatorRef alloc, const UInt8 *bytes, CFIndex n, CFStringEncoding enc,
                              CFURLRef base)
{
    (void)base;
    return CFStringCreateWithBytes(alloc, bytes, n, enc, 0);
}

CFStringRef CFURLGetString(CFURLRef url) { return url; }

/* A number is a data record of the int's bytes, marked CF_NUMBER (fake.c
 * frees it like any data). Only kCFNumberIntType is asked for. */
CFTypeID CFNumberGetTypeID(void) { return CF_NUMBER; }

CFNumberRef CFNumberCreate(CFAllocatorRef alloc, CFNumberType type, const void *value)
{
    (void)type;
    struct standin_cf *n = (struct standin_cf *)CFDataCreate(alloc, value, (CFIndex)sizeof(int));
    n->kind = CF_NUMBER;
    return n;
}

Boolean CFNumberGetValue(CFNumberRef number, CFNumberType type, void *value)
{
    (void)type;
    if (!number || number->kind != CF_NUMBER)
        return 0;
    memcpy(value, number->bytes, sizeof(int));
    return 1;
}

CFAbsoluteTime CFAbsoluteTimeGetCurrent(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9 - 978307200.0;   /* since 2001-01-01, as Apple counts */
}

/* One run loop record for every thread: it has no sources to run. */
static struct standin_cf run_loop = { .h = { .refs = 1 << 30 }, .kind = CF_RUNLOOP };
CFRunLoopRef CFRunLoopGetCurrent(void) { return &run_loop; }

CFRunLoopRunResult CFRunLoopRunInMode(CFRunLoopMode mode, CFTimeInterval seconds, Boolean returnAfterSourceHandled)
{
    (void)mode;
    (void)seconds;
    (void)returnAfterSourceHandled;
    return kCFRunLoopRunFinished;
}

void CFRunLoopStop(CFRunLoopRef rl) { (void)rl; }
void CFRunLoopAddSource(CFRunLoopRef rl, CFRunLoopSourceRef source, CFRunLoopMode mode)
{
    (void)rl;
    (void)source;
    (void)mode;
}
void CFRunLoopRemoveSource(CFRunLoopRef rl, CFRunLoopSourceRef source, CFRunLoopMode mode)
{
    (void)rl;
    (void)source;
    (void)mode;
}
void CFRunLoopSourceInvalidate(CFRunLoopSourceRef source) { (void)source; }

/* CFSTR: one string per text for the life of the process, as Apple's. */
struct interned {
    struct interned *next;
    CFStringRef s;
};
static struct interned *interned;
static pthread_mutex_t interned_lock = PTHREAD_MUTEX_INITIALIZER;

CFStringRef __CFStringMakeConstantString(const char *cStr)
{
    pthread_mutex_lock(&interned_lock);
    struct interned *i = interned;
    while (i && strcmp(i->s->str, cStr) != 0)
        i = i->next;
    if (!i) {
        i = malloc(sizeof *i);
        if (!i)
            abort();
        i->s = CFStringCreateWithCString(NULL, cStr, kCFStringEncodingUTF8);
        i->next = interned;
        interned = i;
    }
    pthread_mutex_unlock(&interned_lock);
    return i->s;
}
