/*
 * ostls's Linux stand-in for the part of <CFNetwork/CFNetwork.h>
 * (CFProxySupport.h) that c/common/sysproxy_mac.c uses. Written for ostls
 * from Apple's documented C API; implemented in fake_cfnetwork.c.
 */
#ifndef OSTLS_STANDIN_CFNETWORK_H
#define OSTLS_STANDIN_CFNETWORK_H
#include <CoreFoundation/CoreFoundation.h>

extern const CFStringRef kCFProxyTypeKey;
extern const CFStringRef kCFProxyHostNameKey;
extern const CFStringRef kCFProxyPortNumberKey;
extern const CFStringRef kCFProxyAutoConfigurationURLKey;
extern const CFStringRef kCFProxyTypeNone;
extern const CFStringRef kCFProxyTypeHTTP;
extern const CFStringRef kCFProxyTypeHTTPS;
extern const CFStringRef kCFProxyTypeAutoConfigurationURL;

CFDictionaryRef CFNetworkCopySystemProxySettings(void);
CFArrayRef CFNetworkCopyProxiesForURL(CFURLRef url, CFDictionaryRef proxySettings);
typedef void (*CFProxyAutoConfigurationResultCallback)(void *client, CFArrayRef proxyList, CFErrorRef error);
CFRunLoopSourceRef CFNetworkExecuteProxyAutoConfigurationURL(CFURLRef proxyAutoConfigURL, CFURLRef targetURL,
                                                             CFProxyAutoConfigurationResultCallback cb,
                                                             CFStreamClientContext *clientContext);
#endif
