/*
 * mac_identity.c — the client certificate from a PKCS#12 file for the Apple
 * engines: SecPKCS12Import gives the SecIdentity and its chain, which
 * SecureTransport takes as SSLSetCertificate's array and Network.framework
 * as a sec_identity.
 */
#include "mac.h"

#include <stdio.h>

int mac_identity_load(tls_conn *c, CFArrayRef *out)
{
    *out = NULL;
    struct tls_options *o = &c->opts;
    char msg[200];
    int ok = 1;
    if (o->revocation != TLS_REVOCATION_OS) {
        /* SecTrust's default SSL policy is all these engines apply yet. */
        ok = conn_fail(c, TLS_INVALID_ARGUMENT,
                       "option revocation \"%s\" is not honoured by the Apple engines yet (only \"os\")",
                       o->revocation == TLS_REVOCATION_OFF ? "off" : "require");
    } else if (options_identity_check(o, msg, sizeof msg)) {
        ok = conn_fail(c, TLS_INVALID_ARGUMENT, "%s", msg);
    } else if (o->store) {
        ok = conn_fail(c, TLS_INVALID_ARGUMENT,
                       "option client_cert_store names a Windows store; the Apple engines take pfx");
    } else if (o->cert) {
        ok = conn_fail(c, TLS_INVALID_ARGUMENT,
                       "options cert and key: the Apple engines take a client certificate as pfx "
                       "(PKCS#12), not as PEM yet");
    } else if (o->pfx) {
        CFDataRef data = CFDataCreate(NULL, o->pfx, (CFIndex)o->pfx_len);
        CFStringRef pass = CFStringCreateWithCString(NULL, o->passphrase ? o->passphrase : "",
                                                     kCFStringEncodingUTF8);
        const void *keys[] = { kSecImportExportPassphrase };
        const void *values[] = { pass };
        CFDictionaryRef opts = pass ? CFDictionaryCreate(NULL, keys, values, 1, &kCFTypeDictionaryKeyCallBacks,
                                                         &kCFTypeDictionaryValueCallBacks)
                                    : NULL;
        CFArrayRef items = NULL;
        OSStatus st = data && opts ? SecPKCS12Import(data, opts, &items) : errSecAllocate;
        CFDictionaryRef first = st == errSecSuccess && items && CFArrayGetCount(items) > 0
                                    ? CFArrayGetValueAtIndex(items, 0) : NULL;
        SecIdentityRef identity = first ? (SecIdentityRef)CFDictionaryGetValue(first, kSecImportItemIdentity) : NULL;
        CFArrayRef chain = first ? CFDictionaryGetValue(first, kSecImportItemCertChain) : NULL;
        if (identity) {
            /* [identity, intermediates...]: the chain's first entry is the leaf itself. */
            CFMutableArrayRef list = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
            if (list) {
                CFArrayAppendValue(list, identity);
                for (CFIndex i = 1; chain && i < CFArrayGetCount(chain); i++)
                    CFArrayAppendValue(list, CFArrayGetValueAtIndex(chain, i));
            }
            *out = list;
            if (!list)
                ok = conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory reading option pfx");
        } else {
            char text[256];
            mac_status_text(st == errSecSuccess ? errSecItemNotFound : st, text, sizeof text);
            ok = conn_fail(c, TLS_INVALID_ARGUMENT, "option pfx could not be used%s: %s",
                           st == errSecAuthFailed ? " (is the passphrase right?)" : "", text);
        }
        if (items)
            CFRelease(items);
        if (opts)
            CFRelease(opts);
        if (pass)
            CFRelease(pass);
        if (data)
            CFRelease(data);
    }
    options_drop_identity(o);
    return ok;
}
