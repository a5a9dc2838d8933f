/*
 * mac_identities.c — tls_info(NULL, "identities") on macOS: every identity
 * (a certificate with its private key) the keychain search list offers,
 * which is what `ostls identities` lists and what clientCertificate
 * ({ label | subject | issuer }) can name. One SecItemCopyMatching
 * (kSecClassIdentity, every match, the reference and the attributes): the
 * label is the item's kSecAttrLabel, and where the key lives comes from
 * kSecAttrTokenID, which only a key on a CryptoTokenKit token carries (the
 * Secure Enclave, a smart card). The certificate goes out as PEM, so the host
 * reads subject, issuer, expiry and fingerprints with its own X.509 parser,
 * the same way for every OS.
 *
 * Reading certificates and attributes does not use the private key, so it
 * does not ask the user; it runs where tls_info is called (the CLI).
 */
#include "mac.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The value last returned, per thread (tls_info's lifetime rule for tls == NULL). */
static TLS_THREAD_LOCAL char *listing;

/* Text for one line field: control characters (a tab, a newline) become spaces. */
static void field_text(CFTypeRef s, char *buf, size_t cap)
{
    mac_cfstring_text(s && CFGetTypeID(s) == CFStringGetTypeID() ? (CFStringRef)s : NULL, buf, cap);
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
}

/* Where the private key lives: "keychain" (a software key in a keychain
 * file or the data protection keychain), "Secure Enclave", or "token <id>"
 * (a smart card or other CryptoTokenKit token, e.g. com.apple.pivtoken:…). */
static void key_storage(CFTypeRef token, char *buf, size_t cap)
{
    if (!token || CFGetTypeID(token) != CFStringGetTypeID()) {
        snprintf(buf, cap, "keychain");
        return;
    }
    if (CFEqual(token, kSecAttrTokenIDSecureEnclave)) {
        snprintf(buf, cap, "Secure Enclave");
        return;
    }
    char id[200];
    field_text(token, id, sizeof id);
    snprintf(buf, cap, "token %s", id);
}

static void append_identity(strbuf *out, CFDictionaryRef item)
{
    CFTypeRef ref = CFDictionaryGetValue(item, kSecValueRef);
    SecCertificateRef cert = NULL;
    if (!ref || SecIdentityCopyCertificate((SecIdentityRef)ref, &cert) != errSecSuccess || !cert)
        return;
    char label[300], storage[260];
    field_text(CFDictionaryGetValue(item, kSecAttrLabel), label, sizeof label);
    key_storage(CFDictionaryGetValue(item, kSecAttrTokenID), storage, sizeof storage);
    strbuf_printf(out, "identity\t%s\t%s\n", label, storage);
    mac_append_pem(out, cert);
    CFRelease(cert);
}

const char *mac_identities_text(void)
{
    strbuf out = {0};
    CFMutableDictionaryRef query = CFDictionaryCreateMutable(NULL, 0, &kCFTypeDictionaryKeyCallBacks,
                                                             &kCFTypeDictionaryValueCallBacks);
    CFTypeRef found = NULL;
    OSStatus st = errSecAllocate;
    if (query) {
        CFDictionarySetValue(query, kSecClass, kSecClassIdentity);
        CFDictionarySetValue(query, kSecReturnRef, kCFBooleanTrue);
        CFDictionarySetValue(query, kSecReturnAttributes, kCFBooleanTrue);
        CFDictionarySetValue(query, kSecMatchLimit, kSecMatchLimitAll);
        st = SecItemCopyMatching(query, &found);
        CFRelease(query);
    }
    if (st == errSecSuccess && found && CFGetTypeID(found) == CFArrayGetTypeID()) {
        for (CFIndex i = 0; i < CFArrayGetCount(found); i++) {
            CFTypeRef item = CFArrayGetValueAtIndex(found, i);
            if (item && CFGetTypeID(item) == CFDictionaryGetTypeID())
                append_identity(&out, item);
        }
    } else if (st != errSecSuccess && st != errSecItemNotFound) {
        char text[256];
        mac_status_text(st, text, sizeof text);
        strbuf_printf(&out, "error\tthe keychain search failed: %s\n", text);
    }
    if (found)
        CFRelease(found);
    free(listing);
    listing = NULL;
    if (out.failed) {
        strbuf_free(&out);
        return "error\tout of memory listing the keychain identities\n";
    }
    listing = out.data;   /* kept until this thread's next call; NULL: none */
    return listing ? listing : "";
}
