/*
 * fake_keychain.c — more of the stand-in's CoreFoundation and Security
 * (beside fake.c): immutable arrays, mutable dictionaries, the keychain
 * search (SecItemCopyMatching), certificate values and the revocation
 * policy mac_common.c and mac_identity.c use. Written for ostls from Apple's
 * documented behaviour. What it models:
 *   - the stand-in keychain holds no identities: every search answers
 *     errSecItemNotFound, as an empty keychain does;
 *   - a dictionary, as in fake.c, keeps no entries (CFDictionaryGetValue
 *     answers NULL), so certificate values read as empty;
 *   - a revocation policy is one more policy object; the fake SecTrust
 *     takes any policies array (fake.c).
 */
#include "fake_cf.h"

#include <stddef.h>

static struct standin_cf keychain_constants[] = {
    STANDIN_CONST_STRING("class"),     STANDIN_CONST_STRING("idnt"),   STANDIN_CONST_STRING("r_Ref"),
    STANDIN_CONST_STRING("m_Limit"),   STANDIN_CONST_STRING("m_LimitAll"), STANDIN_CONST_STRING("labl"),
    STANDIN_CONST_STRING("value"),     STANDIN_CONST_STRING("2.16.840.1.113741.2.1.1.1.8"),
    STANDIN_CONST_STRING("2.16.840.1.113741.2.1.1.1.5"),
};
const CFStringRef kSecClass = &keychain_constants[0];
const CFStringRef kSecClassIdentity = &keychain_constants[1];
const CFStringRef kSecReturnRef = &keychain_constants[2];
const CFStringRef kSecMatchLimit = &keychain_constants[3];
const CFStringRef kSecMatchLimitAll = &keychain_constants[4];
const CFStringRef kSecAttrLabel = &keychain_constants[5];
const CFStringRef kSecPropertyKeyValue = &keychain_constants[6];
const CFStringRef kSecOIDX509V1SubjectName = &keychain_constants[7];
const CFStringRef kSecOIDX509V1IssuerName = &keychain_constants[8];

/* kCFBooleanTrue: a constant; nothing in the stand-in reads its value. */
static struct standin_cf boolean_true = STANDIN_CONST_STRING("true");
const CFBooleanRef kCFBooleanTrue = &boolean_true;

CFTypeID CFArrayGetTypeID(void) { return CF_ARRAY; }
CFTypeID CFDictionaryGetTypeID(void) { return CF_DICT; }

CFArrayRef CFArrayCreate(CFAllocatorRef alloc, const void **values, CFIndex n, const CFArrayCallBacks *cb)
{
    CFMutableArrayRef a = CFArrayCreateMutable(alloc, n, cb);
    for (CFIndex i = 0; i < n; i++)
        CFArrayAppendValue(a, values[i]);
    return a;
}

CFMutableDictionaryRef CFDictionaryCreateMutable(CFAllocatorRef alloc, CFIndex cap,
                                                 const CFDictionaryKeyCallBacks *kcb,
                                                 const CFDictionaryValueCallBacks *vcb)
{
    (void)cap;
    /* The same (entry-less) record CFDictionaryCreate makes, on the heap. */
    return (CFMutableDictionaryRef)CFDictionaryCreate(alloc, NULL, NULL, 0, kcb, vcb);
}

void CFDictionarySetValue(CFMutableDictionaryRef d, const void *key, const void *value)
{
    (void)d;
    (void)key;
    (void)value;
}

OSStatus SecItemCopyMatching(CFDictionaryRef query, CFTypeRef *result)
{
    (void)query;
    if (result)
        *result = NULL;
    return errSecItemNotFound;
}

OSStatus SecIdentityCopyCertificate(SecIdentityRef identity, SecCertificateRef *certificate)
{
    /* No stand-in call makes a SecIdentity, so none can be asked. */
    (void)identity;
    *certificate = NULL;
    return errSecParam;
}

CFDictionaryRef SecCertificateCopyValues(SecCertificateRef certificate, CFArrayRef keys, CFErrorRef *error)
{
    (void)certificate;
    (void)keys;
    if (error)
        *error = NULL;
    return CFDictionaryCreate(NULL, NULL, NULL, 0, &kCFTypeDictionaryKeyCallBacks, &kCFTypeDictionaryValueCallBacks);
}

SecPolicyRef SecPolicyCreateRevocation(CFOptionFlags revocationFlags)
{
    (void)revocationFlags;
    return SecPolicyCreateSSL(0, NULL);
}
