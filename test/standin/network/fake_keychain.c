/*
 * fake_keychain.c — more of the stand-in's CoreFoundation and Security
 * (beside fake.c): immutable arrays, dictionaries, the keychain search
 * (SecItemCopyMatching), certificate values and the revocation policy
 * mac_common.c, mac_identity.c, mac_identities.c and c/common/proxy_cred_mac.c
 * use. Written for ostls from Apple's documented behaviour. What it models:
 *   - the stand-in keychain is empty unless a driver scripts it
 *     (fake_keychain.h): then a kSecClassIdentity search answers every
 *     identity (with kSecAttrLabel, only those with that label): the
 *     SecIdentityRefs, or with kSecReturnAttributes a dictionary per identity
 *     holding kSecValueRef, kSecAttrLabel and, for a key on a token,
 *     kSecAttrTokenID, as SecItem.h documents; a kSecClassInternetPassword
 *     search matches kSecAttrServer, kSecAttrPort and kSecAttrProtocol and,
 *     with kSecReturnAttributes + kSecReturnData and kSecMatchLimitOne,
 *     answers one dictionary with kSecAttrAccount and kSecValueData. No
 *     match is errSecItemNotFound;
 *   - dictionaries keep their entries (keys compared with CFEqual);
 *   - certificate values (SecCertificateCopyValues) read as empty;
 *   - a revocation policy is one more policy object; the fake SecTrust
 *     takes any policies array (fake.c).
 */
#include "fake_cf.h"
#include "fake_keychain.h"

#include <CoreFoundation/CoreFoundation.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct standin_cf keychain_constants[] = {
    STANDIN_CONST_STRING("class"),     STANDIN_CONST_STRING("idnt"),   STANDIN_CONST_STRING("r_Ref"),
    STANDIN_CONST_STRING("m_Limit"),   STANDIN_CONST_STRING("m_LimitAll"), STANDIN_CONST_STRING("labl"),
    STANDIN_CONST_STRING("value"),     STANDIN_CONST_STRING("2.16.840.1.113741.2.1.1.1.8"),
    STANDIN_CONST_STRING("2.16.840.1.113741.2.1.1.1.5"),
    STANDIN_CONST_STRING("r_Attributes"), STANDIN_CONST_STRING("r_Data"), STANDIN_CONST_STRING("m_LimitOne"),
    STANDIN_CONST_STRING("v_Ref"),     STANDIN_CONST_STRING("v_Data"), STANDIN_CONST_STRING("tkid"),
    STANDIN_CONST_STRING("com.apple.setoken"), STANDIN_CONST_STRING("inet"), STANDIN_CONST_STRING("srvr"),
    STANDIN_CONST_STRING("port"),      STANDIN_CONST_STRING("ptcl"),   STANDIN_CONST_STRING("htpx"),
    STANDIN_CONST_STRING("htsx"),      STANDIN_CONST_STRING("acct"),
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
const CFStringRef kSecReturnAttributes = &keychain_constants[9];
const CFStringRef kSecReturnData = &keychain_constants[10];
const CFStringRef kSecMatchLimitOne = &keychain_constants[11];
const CFStringRef kSecValueRef = &keychain_constants[12];
const CFStringRef kSecValueData = &keychain_constants[13];
const CFStringRef kSecAttrTokenID = &keychain_constants[14];
const CFStringRef kSecAttrTokenIDSecureEnclave = &keychain_constants[15];
const CFStringRef kSecClassInternetPassword = &keychain_constants[16];
const CFStringRef kSecAttrServer = &keychain_constants[17];
const CFStringRef kSecAttrPort = &keychain_constants[18];
const CFStringRef kSecAttrProtocol = &keychain_constants[19];
const CFStringRef kSecAttrProtocolHTTPProxy = &keychain_constants[20];
const CFStringRef kSecAttrProtocolHTTPSProxy = &keychain_constants[21];
const CFStringRef kSecAttrAccount = &keychain_constants[22];

/* kCFBooleanTrue: a constant; nothing in the stand-in reads its value. */
static struct standin_cf boolean_true = STANDIN_CONST_STRING("true");
const CFBooleanRef kCFBooleanTrue = &boolean_true;

CFTypeID CFArrayGetTypeID(void) { return CF_ARRAY; }
CFTypeID CFDictionaryGetTypeID(void) { return CF_DICT; }
CFTypeID CFDataGetTypeID(void) { return CF_DATA; }

/* ------------------------------------------------------------ records */

/* This file's own records, released by fake.c's CFRelease like any other:
 * it calls destroy, then frees the record. */
static void record_destroy(void *self)
{
    struct standin_cf *o = self;
    for (CFIndex i = 0; i < o->n; i++)
        CFRelease(o->items[i]);
    free(o->items);
    free(o->str);
    free(o->bytes);
    if (o->root)
        CFRelease(o->root);
}

static struct standin_cf *record(enum cf_kind kind)
{
    struct standin_cf *o = calloc(1, sizeof *o);
    if (!o)
        abort();
    atomic_init(&o->h.refs, 1);
    o->h.destroy = record_destroy;
    o->kind = kind;
    return o;
}

static void push(struct standin_cf *o, const void *v)
{
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 8;
        o->items = realloc(o->items, (size_t)o->cap * sizeof *o->items);
        if (!o->items)
            abort();
    }
    o->items[o->n++] = CFRetain(v);
}

CFArrayRef CFArrayCreate(CFAllocatorRef alloc, const void **values, CFIndex n, const CFArrayCallBacks *cb)
{
    CFMutableArrayRef a = CFArrayCreateMutable(alloc, n, cb);
    for (CFIndex i = 0; i < n; i++)
        CFArrayAppendValue(a, values[i]);
    return a;
}

/* ------------------------------------------------------- dictionaries */

/* Entries are items[2i] (key) and items[2i + 1] (value), both retained. */
CFDictionaryRef CFDictionaryCreate(CFAllocatorRef alloc, const void **keys, const void **values, CFIndex n,
                                   const CFDictionaryKeyCallBacks *kcb, const CFDictionaryValueCallBacks *vcb)
{
    (void)alloc;
    (void)kcb;
    (void)vcb;
    struct standin_cf *d = record(CF_DICT);
    for (CFIndex i = 0; i < n; i++)
        CFDictionarySetValue(d, keys[i], values[i]);
    return d;
}

CFMutableDictionaryRef CFDictionaryCreateMutable(CFAllocatorRef alloc, CFIndex cap,
                                                 const CFDictionaryKeyCallBacks *kcb,
                                                 const CFDictionaryValueCallBacks *vcb)
{
    (void)cap;
    return (CFMutableDictionaryRef)CFDictionaryCreate(alloc, NULL, NULL, 0, kcb, vcb);
}

const void *CFDictionaryGetValue(CFDictionaryRef d, const void *key)
{
    for (CFIndex i = 0; i + 1 < d->n; i += 2)
        if (CFEqual(d->items[i], key))
            return d->items[i + 1];
    return NULL;
}

void CFDictionarySetValue(CFMutableDictionaryRef d, const void *key, const void *value)
{
    for (CFIndex i = 0; i + 1 < d->n; i += 2) {
        if (CFEqual(d->items[i], key)) {
            CFRetain(value);
            CFRelease(d->items[i + 1]);
            d->items[i + 1] = value;
            return;
        }
    }
    push(d, key);
    push(d, value);
}

/* ------------------------------------------------------ the keychain */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct standin_cf *identities;   /* array of dictionaries: v_Ref, labl, tkid */
static struct standin_cf *passwords;    /* array of dictionaries: srvr, port, ptcl, acct, v_Data */
static int fail_status;
static char search_log[4096];
pthread_t fk_host_thread;

static CFStringRef text(const char *s) { return CFStringCreateWithCString(NULL, s, kCFStringEncodingUTF8); }

static void put(struct standin_cf *d, CFStringRef key, CFTypeRef value)
{
    CFDictionarySetValue(d, key, value);
    CFRelease(value);
}

void fk_add_identity(const char *label, const char *token_id, const unsigned char *der, size_t len)
{
    CFDataRef data = CFDataCreate(NULL, der, (CFIndex)len);
    struct standin_cf *identity = record(CF_IDENTITY);
    identity->root = SecCertificateCreateWithData(NULL, data);
    CFRelease(data);
    struct standin_cf *item = record(CF_DICT);
    put(item, kSecValueRef, identity);
    put(item, kSecAttrLabel, text(label));
    if (token_id)
        put(item, kSecAttrTokenID, text(token_id));
    pthread_mutex_lock(&lock);
    if (!identities)
        identities = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
    CFArrayAppendValue(identities, item);
    pthread_mutex_unlock(&lock);
    CFRelease(item);
}

void fk_add_password(const char *server, int port, const char *protocol, const char *account, const char *password)
{
    struct standin_cf *item = record(CF_DICT);
    put(item, kSecAttrServer, text(server));
    put(item, kSecAttrPort, CFNumberCreate(NULL, kCFNumberIntType, &port));
    put(item, kSecAttrProtocol, text(protocol));
    put(item, kSecAttrAccount, text(account));
    put(item, kSecValueData, CFDataCreate(NULL, (const uint8_t *)password, (CFIndex)strlen(password)));
    pthread_mutex_lock(&lock);
    if (!passwords)
        passwords = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
    CFArrayAppendValue(passwords, item);
    pthread_mutex_unlock(&lock);
    CFRelease(item);
}

void fk_fail_with(int status) { fail_status = status; }

void fk_reset(void)
{
    pthread_mutex_lock(&lock);
    if (identities)
        CFRelease(identities);
    if (passwords)
        CFRelease(passwords);
    identities = passwords = NULL;
    fail_status = 0;
    search_log[0] = '\0';
    pthread_mutex_unlock(&lock);
}

const char *fk_password_searches(void) { return search_log; }

static int wants(CFDictionaryRef query, CFStringRef key)
{
    return CFDictionaryGetValue(query, key) != NULL;
}

static int int_of(CFTypeRef n)
{
    int v = -1;
    if (!n || CFGetTypeID(n) != CFNumberGetTypeID() || !CFNumberGetValue(n, kCFNumberIntType, &v))
        return -1;
    return v;
}

static const char *str_of(CFTypeRef s)
{
    return s && CFGetTypeID(s) == CFStringGetTypeID() ? ((const struct standin_cf *)s)->str : "";
}

/* Under the lock. */
static OSStatus find_identities(CFDictionaryRef query, CFTypeRef *result)
{
    CFTypeRef label = CFDictionaryGetValue(query, kSecAttrLabel);
    CFMutableArrayRef out = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
    for (CFIndex i = 0; identities && i < identities->n; i++) {
        CFDictionaryRef item = identities->items[i];
        if (label && !CFEqual(label, CFDictionaryGetValue(item, kSecAttrLabel)))
            continue;
        if (wants(query, kSecReturnAttributes))
            CFArrayAppendValue(out, item);
        else
            CFArrayAppendValue(out, CFDictionaryGetValue(item, kSecValueRef));
    }
    if (out->n == 0) {
        CFRelease(out);
        return errSecItemNotFound;
    }
    *result = out;
    return errSecSuccess;
}

/* Under the lock. */
static OSStatus find_password(CFDictionaryRef query, CFTypeRef *result)
{
    CFTypeRef server = CFDictionaryGetValue(query, kSecAttrServer);
    CFTypeRef protocol = CFDictionaryGetValue(query, kSecAttrProtocol);
    int port = int_of(CFDictionaryGetValue(query, kSecAttrPort));
    size_t used = strlen(search_log);
    snprintf(search_log + used, sizeof search_log - used, "%s %s:%d %s\n", str_of(protocol), str_of(server), port,
             pthread_equal(pthread_self(), fk_host_thread) ? "host" : "worker");
    if (fail_status)
        return fail_status;
    for (CFIndex i = 0; passwords && i < passwords->n; i++) {
        CFDictionaryRef item = passwords->items[i];
        if (!server || !CFEqual(server, CFDictionaryGetValue(item, kSecAttrServer)) || !protocol ||
            !CFEqual(protocol, CFDictionaryGetValue(item, kSecAttrProtocol)) ||
            port != int_of(CFDictionaryGetValue(item, kSecAttrPort)))
            continue;
        /* One item, its attributes and its data: what the query asked for. */
        if (!wants(query, kSecReturnAttributes) || !wants(query, kSecReturnData) ||
            CFDictionaryGetValue(query, kSecMatchLimit) != kSecMatchLimitOne)
            return errSecParam;
        *result = CFRetain(item);
        return errSecSuccess;
    }
    return errSecItemNotFound;
}

OSStatus SecItemCopyMatching(CFDictionaryRef query, CFTypeRef *result)
{
    if (result)
        *result = NULL;
    CFTypeRef cls = CFDictionaryGetValue(query, kSecClass);
    OSStatus st = errSecItemNotFound;
    pthread_mutex_lock(&lock);
    if (cls && CFEqual(cls, kSecClassInternetPassword))
        st = find_password(query, result);
    else if (cls && CFEqual(cls, kSecClassIdentity))
        st = fail_status ? fail_status : find_identities(query, result);
    pthread_mutex_unlock(&lock);
    return st;
}

OSStatus SecIdentityCopyCertificate(SecIdentityRef identity, SecCertificateRef *certificate)
{
    *certificate = NULL;
    if (!identity || identity->kind != CF_IDENTITY || !identity->root)
        return errSecParam;
    *certificate = (SecCertificateRef)CFRetain(identity->root);
    return errSecSuccess;
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
