/*
 * mac_identity.c — the client certificate for the Apple engines: from a
 * PKCS#12 file (SecPKCS12Import gives the SecIdentity and its chain) or from
 * the keychain (SecItemCopyMatching, kSecClassIdentity, by label, subject or
 * issuer text). SecureTransport takes it as SSLSetCertificate's array and
 * Network.framework as a sec_identity.
 */
#include "mac.h"

#include <stdio.h>
#include <string.h>

/* The values of one name (subject or issuer) as "a, b, c" text, from
 * SecCertificateCopyValues: what `want` is looked for in. */
static void name_text(SecCertificateRef cert, CFStringRef oid, char *buf, size_t cap)
{
    buf[0] = '\0';
    const void *keys[] = { oid };
    CFArrayRef wanted = CFArrayCreate(NULL, keys, 1, &kCFTypeArrayCallBacks);
    CFDictionaryRef values = wanted ? SecCertificateCopyValues(cert, wanted, NULL) : NULL;
    CFDictionaryRef entry = values ? CFDictionaryGetValue(values, oid) : NULL;
    CFTypeRef parts = entry ? CFDictionaryGetValue(entry, kSecPropertyKeyValue) : NULL;
    size_t used = 0;
    for (CFIndex i = 0; parts && CFGetTypeID(parts) == CFArrayGetTypeID() && i < CFArrayGetCount(parts); i++) {
        CFDictionaryRef part = CFArrayGetValueAtIndex(parts, i);
        CFTypeRef v = CFGetTypeID(part) == CFDictionaryGetTypeID() ? CFDictionaryGetValue(part, kSecPropertyKeyValue)
                                                                    : NULL;
        char text[256];
        mac_cfstring_text(v && CFGetTypeID(v) == CFStringGetTypeID() ? v : NULL, text, sizeof text);
        if (text[0] && used + 2 < cap)
            used += (size_t)snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", text);
        if (used >= cap)
            used = cap - 1;
    }
    if (values)
        CFRelease(values);
    if (wanted)
        CFRelease(wanted);
}

/* The first keychain identity with label o->store_label (when given) whose
 * subject and issuer contain the texts given, as [identity] in *out. */
static int load_from_keychain(tls_conn *c, CFArrayRef *out)
{
    const struct tls_options *o = &c->opts;
    CFMutableDictionaryRef query = CFDictionaryCreateMutable(NULL, 0, &kCFTypeDictionaryKeyCallBacks,
                                                             &kCFTypeDictionaryValueCallBacks);
    CFStringRef label = o->store_label ? CFStringCreateWithCString(NULL, o->store_label, kCFStringEncodingUTF8)
                                       : NULL;
    if (!query || (o->store_label && !label)) {
        if (query)
            CFRelease(query);
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory searching the keychain");
    }
    CFDictionarySetValue(query, kSecClass, kSecClassIdentity);
    CFDictionarySetValue(query, kSecReturnRef, kCFBooleanTrue);
    CFDictionarySetValue(query, kSecMatchLimit, kSecMatchLimitAll);
    if (label)
        CFDictionarySetValue(query, kSecAttrLabel, label);
    CFTypeRef found = NULL;
    OSStatus st = SecItemCopyMatching(query, &found);
    CFRelease(query);
    if (label)
        CFRelease(label);
    SecIdentityRef chosen = NULL;
    for (CFIndex i = 0; st == errSecSuccess && found && CFGetTypeID(found) == CFArrayGetTypeID() &&
                        i < CFArrayGetCount(found) && !chosen; i++) {
        SecIdentityRef identity = (SecIdentityRef)CFArrayGetValueAtIndex(found, i);
        SecCertificateRef cert = NULL;
        if (SecIdentityCopyCertificate(identity, &cert) != errSecSuccess || !cert)
            continue;
        int fits = 1;
        for (int which = 0; which < 2 && fits; which++) {
            const char *want = which ? o->store_issuer : o->store_subject;
            if (!want)
                continue;
            char text[1024];
            name_text(cert, which ? kSecOIDX509V1IssuerName : kSecOIDX509V1SubjectName, text, sizeof text);
            fits = strstr(text, want) != NULL;
        }
        CFRelease(cert);
        if (fits)
            chosen = identity;
    }
    if (chosen) {
        const void *item[] = { chosen };
        *out = CFArrayCreate(NULL, item, 1, &kCFTypeArrayCallBacks);
    }
    if (found)
        CFRelease(found);
    if (chosen && !*out)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory reading the keychain identity");
    if (chosen)
        return 1;
    char text[256] = "";
    if (st != errSecSuccess && st != errSecItemNotFound)
        mac_status_text(st, text, sizeof text);
    return conn_fail(c, TLS_INVALID_ARGUMENT, "option client_cert_store: no keychain identity matches%s%s%s%s%s%s%s%s",
                     o->store_label ? " label " : "", o->store_label ? o->store_label : "",
                     o->store_subject ? " subject " : "", o->store_subject ? o->store_subject : "",
                     o->store_issuer ? " issuer " : "", o->store_issuer ? o->store_issuer : "",
                     text[0] ? ": " : "", text);
}

int mac_identity_load(tls_conn *c, CFArrayRef *out)
{
    *out = NULL;
    struct tls_options *o = &c->opts;
    char msg[200];
    int ok = 1;
    if (options_identity_check(o, msg, sizeof msg)) {
        ok = conn_fail(c, TLS_INVALID_ARGUMENT, "%s", msg);
    } else if (o->store_auto) {
        ok = conn_fail(c, TLS_INVALID_ARGUMENT,
                       "clientCertificate 'auto' is not done on the Apple engines yet: name the keychain identity "
                       "(label, subject or issuer)");
    } else if (o->store && strcmp(o->store, "keychain") == 0) {
        ok = load_from_keychain(c, out);
    } else if (o->store) {
        ok = conn_fail(c, TLS_INVALID_ARGUMENT,
                       "option client_cert_store names a Windows store; the Apple engines take the keychain "
                       "(clientCertificate: { label, subject or issuer }) or pfx");
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
