/*
 * proxy_cred_mac.c — the keychain's password for a proxy: the internet
 * password item macOS keeps for it (System Settings > Network > Proxies,
 * "Proxy server requires password", or `networksetup -setsecurewebproxy …
 * on user password`, or one a user saved from a browser's proxy prompt).
 * SecItemCopyMatching, kSecClassInternetPassword, kSecAttrServer = the
 * proxy's host, kSecAttrPort = its port, kSecAttrProtocol = HTTPS proxy
 * (what the "Secure Web Proxy" setting saves: it is the proxy for https
 * origins), then HTTP proxy; the account name and the password data.
 * Runs on a worker thread (proxy_cred.c): the keychain may ask the user
 * whether this app may read the item, and waits for the answer.
 */
#include "proxy_cred.h"

#include <CoreFoundation/CoreFoundation.h>
#include <Security/Security.h>
#include <stdio.h>
#include <string.h>

/* One search for protocol. 1 found (user, pass filled), 0 none, -1 the
 * keychain refused (why filled). */
static int search(CFStringRef server, CFNumberRef port, CFStringRef protocol, char *user, char *pass, char *why,
                  size_t whycap)
{
    CFMutableDictionaryRef query = CFDictionaryCreateMutable(NULL, 0, &kCFTypeDictionaryKeyCallBacks,
                                                             &kCFTypeDictionaryValueCallBacks);
    if (!query) {
        snprintf(why, whycap, "out of memory searching the keychain");
        return -1;
    }
    CFDictionarySetValue(query, kSecClass, kSecClassInternetPassword);
    CFDictionarySetValue(query, kSecAttrServer, server);
    CFDictionarySetValue(query, kSecAttrPort, port);
    CFDictionarySetValue(query, kSecAttrProtocol, protocol);
    CFDictionarySetValue(query, kSecReturnAttributes, kCFBooleanTrue);
    CFDictionarySetValue(query, kSecReturnData, kCFBooleanTrue);
    CFDictionarySetValue(query, kSecMatchLimit, kSecMatchLimitOne);
    CFTypeRef found = NULL;
    OSStatus st = SecItemCopyMatching(query, &found);
    CFRelease(query);
    int result = 0;
    if (st == errSecSuccess && found && CFGetTypeID(found) == CFDictionaryGetTypeID()) {
        CFTypeRef account = CFDictionaryGetValue(found, kSecAttrAccount);
        CFTypeRef data = CFDictionaryGetValue(found, kSecValueData);
        CFIndex len = data && CFGetTypeID(data) == CFDataGetTypeID() ? CFDataGetLength(data) : -1;
        if (account && CFGetTypeID(account) == CFStringGetTypeID() &&
            CFStringGetCString(account, user, PROXY_CRED_MAX, kCFStringEncodingUTF8) && user[0] && len >= 0 &&
            len < PROXY_CRED_MAX && !memchr(CFDataGetBytePtr(data), 0, (size_t)len)) {
            memcpy(pass, CFDataGetBytePtr(data), (size_t)len);
            pass[len] = '\0';
            result = 1;
        } else {
            user[0] = '\0';
            snprintf(why, whycap, "the keychain item for it has no usable account name and password");
            result = -1;
        }
    } else if (st != errSecSuccess && st != errSecItemNotFound) {
        CFStringRef words = SecCopyErrorMessageString(st, NULL);
        char text[200] = "";
        if (!words || !CFStringGetCString(words, text, sizeof text, kCFStringEncodingUTF8))
            text[0] = '\0';
        if (words)
            CFRelease(words);
        snprintf(why, whycap, "the keychain refused its password item: %s (OSStatus %d)", text[0] ? text : "no words",
                 (int)st);
        result = -1;
    }
    if (found)
        CFRelease(found);
    return result;
}

int proxy_cred_os_available(void)
{
    return 1;
}

int proxy_cred_os_lookup(const char *host, int port, char *user, char *pass, char *why, size_t whycap)
{
    user[0] = pass[0] = '\0';
    CFStringRef server = CFStringCreateWithCString(NULL, host, kCFStringEncodingUTF8);
    CFNumberRef number = CFNumberCreate(NULL, kCFNumberIntType, &port);
    int result = -1;
    if (!server || !number) {
        snprintf(why, whycap, "out of memory searching the keychain");
    } else {
        result = search(server, number, kSecAttrProtocolHTTPSProxy, user, pass, why, whycap);
        if (result == 0)
            result = search(server, number, kSecAttrProtocolHTTPProxy, user, pass, why, whycap);
        if (result == 0)
            snprintf(why, whycap, "the keychain has no password for proxy %s port %d", host, port);
    }
    if (number)
        CFRelease(number);
    if (server)
        CFRelease(server);
    return result == 1;
}
