/*
 * live_trust.c — the live stand-in's SecTrust: a real evaluation with
 * OpenSSL of the chain the server sent. The SSL policy's name is checked
 * (X509_check_host / _ip through the verify parameters), anchors come from
 * SecTrustSetAnchorCertificates (only those, unless
 * SecTrustSetAnchorCertificatesOnly(false) adds the system's, as Apple
 * documents) or else the system store (SSL_CERT_FILE / SSL_CERT_DIR /
 * OpenSSL's default paths), and a failure is a CFError whose code is the
 * OSStatus macOS reports (SecBase.h). Reading the certificates of an
 * unevaluated trust evaluates it first, as SecTrustGetCertificateCount's
 * documentation says; afterwards they are the chain the evaluation built.
 */
#include "live.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct live_trust {
    struct standin_cf cf;       /* kind CF_TRUST; cf.sent: as sent; cf.str: the SSL policy's name */
    CFArrayRef anchors;
    int anchors_only;
    CFMutableArrayRef chain;    /* as built by the evaluation */
    char message[256];
};

static void trust_destroy(void *self)
{
    struct live_trust *t = self;
    if (t->cf.sent)
        CFRelease(t->cf.sent);
    if (t->anchors)
        CFRelease(t->anchors);
    if (t->chain)
        CFRelease(t->chain);
    free(t->cf.str);
}

SecTrustRef live_trust_new(CFArrayRef sent)
{
    struct live_trust *t = live_new(sizeof *t, trust_destroy);
    t->cf.kind = CF_TRUST;
    t->cf.sent = CFRetain(sent);
    return &t->cf;
}

X509 *live_x509(SecCertificateRef cert)
{
    const unsigned char *p = cert->bytes;
    return d2i_X509(NULL, &p, cert->len);
}

static CFDataRef name_der(SecCertificateRef cert, int issuer)
{
    X509 *x = live_x509(cert);
    if (!x)
        return NULL;
    unsigned char *der = NULL;
    int len = i2d_X509_NAME(issuer ? X509_get_issuer_name(x) : X509_get_subject_name(x), &der);
    CFDataRef out = len > 0 ? CFDataCreate(NULL, der, len) : NULL;
    OPENSSL_free(der);
    X509_free(x);
    return out;
}

CFDataRef SecCertificateCopyNormalizedSubjectSequence(SecCertificateRef cert) { return name_der(cert, 0); }
CFDataRef SecCertificateCopyNormalizedIssuerSequence(SecCertificateRef cert) { return name_der(cert, 1); }

/* --------------------------------------------------------------- policy */

static void policy_destroy(void *self) { free(((struct standin_cf *)self)->str); }

SecPolicyRef SecPolicyCreateSSL(Boolean server, CFStringRef hostname)
{
    struct standin_cf *p = live_new(sizeof *p, policy_destroy);
    p->kind = CF_POLICY;
    p->code = server;
    p->str = hostname ? strdup(hostname->str) : NULL;
    return p;
}

static void take_policy(struct live_trust *t, const struct standin_cf *p)
{
    if (p->kind == CF_POLICY && p->str) {
        free(t->cf.str);
        t->cf.str = strdup(p->str);
    }
}

OSStatus SecTrustSetPolicies(SecTrustRef trust, CFTypeRef policies)
{
    struct live_trust *t = (struct live_trust *)trust;
    const struct standin_cf *p = policies;
    if (p->kind == CF_ARRAY)
        for (CFIndex i = 0; i < p->n; i++)
            take_policy(t, p->items[i]);
    else
        take_policy(t, p);
    t->cf.evaluated = 0;
    return errSecSuccess;
}

OSStatus SecTrustSetAnchorCertificates(SecTrustRef trust, CFArrayRef anchors)
{
    struct live_trust *t = (struct live_trust *)trust;
    if (t->anchors)
        CFRelease(t->anchors);
    t->anchors = anchors ? CFRetain(anchors) : NULL;
    t->anchors_only = 1;   /* Apple: setting anchors disables the system's, until ...Only(false) */
    t->cf.evaluated = 0;
    return errSecSuccess;
}

OSStatus SecTrustSetAnchorCertificatesOnly(SecTrustRef trust, Boolean only)
{
    ((struct live_trust *)trust)->anchors_only = only;
    return errSecSuccess;
}

OSStatus SecTrustSetNetworkFetchAllowed(SecTrustRef trust, Boolean allowed)
{
    (void)trust;
    (void)allowed;   /* the stand-in never fetches */
    return errSecSuccess;
}

/* ----------------------------------------------------------- evaluation */

static OSStatus status_for(int err)
{
    switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return errSecCertificateExpired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return errSecCertificateNotValidYet;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return errSecHostNameMismatch;
    case X509_V_ERR_INVALID_PURPOSE:
        return errSecInvalidExtendedKeyUsage;
    case X509_V_ERR_CERT_REVOKED:
        return errSecCertificateRevoked;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        return errSecCreateChainFailed;
    default:
        return errSecNotTrusted;
    }
}

static void describe(struct live_trust *t, X509 *leaf, OSStatus status, int err)
{
    char cn[128] = "";
    if (leaf)
        X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof cn);
    const char *what = status == errSecCertificateExpired       ? "has expired"
                       : status == errSecCertificateNotValidYet ? "is not yet valid"
                       : status == errSecHostNameMismatch       ? "is not valid for the requested name"
                       : status == errSecCreateChainFailed      ? "has no issuer the evaluation could find"
                                                                : "is not trusted";
    snprintf(t->message, sizeof t->message, "\u201c%s\u201d certificate %s (%s)", cn, what,
             X509_verify_cert_error_string(err));
}

static void add_chain(struct live_trust *t, STACK_OF(X509) *built)
{
    t->chain = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
    for (int i = 0; built && i < sk_X509_num(built); i++) {
        unsigned char *der = NULL;
        int len = i2d_X509(sk_X509_value(built, i), &der);
        if (len <= 0)
            continue;
        CFDataRef data = CFDataCreate(NULL, der, len);
        OPENSSL_free(der);
        SecCertificateRef cert = SecCertificateCreateWithData(NULL, data);
        CFRelease(data);
        CFArrayAppendValue(t->chain, cert);
        CFRelease(cert);
    }
    if (CFArrayGetCount(t->chain) == 0 && t->cf.sent && CFArrayGetCount(t->cf.sent) > 0)
        CFArrayAppendValue(t->chain, CFArrayGetValueAtIndex(t->cf.sent, 0));
}

/* The system's anchors, read once per process (as the OS keeps its trust
 * store loaded), on the first evaluation's thread. */
static X509_STORE *system_store;
static pthread_once_t system_once = PTHREAD_ONCE_INIT;
static void load_system_store(void)
{
    system_store = X509_STORE_new();
    X509_STORE_set_default_paths(system_store);
}

/* The system's anchors beside the `ca` ones: the file's, copied, and the
 * directory's (SSL_CERT_DIR), looked up certificate by certificate. */
static void add_system_anchors(X509_STORE *store)
{
    pthread_once(&system_once, load_system_store);
    X509_LOOKUP *dir = X509_STORE_add_lookup(store, X509_LOOKUP_hash_dir());
    if (dir)
        X509_LOOKUP_add_dir(dir, NULL, X509_FILETYPE_DEFAULT);
    STACK_OF(X509_OBJECT) *objects = X509_STORE_get0_objects(system_store);
    for (int i = 0; i < sk_X509_OBJECT_num(objects); i++) {
        X509 *x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i));
        if (x)
            X509_STORE_add_cert(store, x);
    }
}

static void evaluate(struct live_trust *t)
{
    if (t->chain) {
        CFRelease(t->chain);
        t->chain = NULL;
    }
    t->cf.evaluated = 1;
    t->cf.ok = 0;
    CFArrayRef sent = t->cf.sent;
    X509 *leaf = sent && CFArrayGetCount(sent) > 0 ? live_x509((SecCertificateRef)CFArrayGetValueAtIndex(sent, 0)) : NULL;
    X509_STORE *store;
    if (t->anchors) {
        store = X509_STORE_new();
    } else {   /* the system's alone: its store, shared (read-only here) */
        pthread_once(&system_once, load_system_store);
        X509_STORE_up_ref(system_store);
        store = system_store;
    }
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    for (CFIndex i = 1; sent && i < CFArrayGetCount(sent); i++) {
        X509 *x = live_x509((SecCertificateRef)CFArrayGetValueAtIndex(sent, i));
        if (x)
            sk_X509_push(untrusted, x);
    }
    for (CFIndex i = 0; t->anchors && i < CFArrayGetCount(t->anchors); i++) {
        X509 *x = live_x509((SecCertificateRef)CFArrayGetValueAtIndex(t->anchors, i));
        if (x) {
            X509_STORE_add_cert(store, x);
            X509_free(x);
        }
    }
    if (t->anchors && !t->anchors_only)
        add_system_anchors(store);
    int err = X509_V_ERR_UNSPECIFIED;
    if (leaf && X509_STORE_CTX_init(ctx, store, leaf, untrusted) == 1) {
        X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
        X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
        /* Apple trusts a custom anchor wherever it sits in the chain. */
        if (t->anchors)
            X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
        if (t->cf.str) {
            unsigned char ip[16];
            if (inet_pton(AF_INET, t->cf.str, ip) == 1 || inet_pton(AF_INET6, t->cf.str, ip) == 1)
                X509_VERIFY_PARAM_set1_ip_asc(param, t->cf.str);
            else   /* a name in the subject alternative names only, never the CN (as Apple since macOS 10.15) */
                X509_VERIFY_PARAM_set1_host(param, t->cf.str, 0),
                    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
        }
        t->cf.ok = X509_verify_cert(ctx) == 1;
        err = X509_STORE_CTX_get_error(ctx);
        STACK_OF(X509) *built = X509_STORE_CTX_get1_chain(ctx);
        add_chain(t, built);
        if (built)
            sk_X509_pop_free(built, X509_free);
    } else {
        add_chain(t, NULL);
    }
    t->cf.status = t->cf.ok ? errSecSuccess : status_for(err);
    if (!t->cf.ok)
        describe(t, leaf, t->cf.status, err);
    X509_STORE_CTX_free(ctx);
    sk_X509_pop_free(untrusted, X509_free);
    X509_STORE_free(store);
    X509_free(leaf);
}

static CFErrorRef trust_error(struct live_trust *t)
{
    return live_cf_error(t->cf.status, t->message);
}

bool SecTrustEvaluateWithError(SecTrustRef trust, CFErrorRef *error)
{
    struct live_trust *t = (struct live_trust *)trust;
    evaluate(t);
    if (!t->cf.ok && error)
        *error = trust_error(t);
    return t->cf.ok;
}

OSStatus SecTrustEvaluateAsyncWithError(SecTrustRef trust, dispatch_queue_t queue, SecTrustWithErrorCallback result)
{
    struct live_trust *t = (struct live_trust *)CFRetain(trust);
    dispatch_async(queue, ^{   /* answered later, on that queue */
        evaluate(t);
        CFErrorRef error = t->cf.ok ? NULL : trust_error(t);
        result(&t->cf, t->cf.ok, error);
        if (error)
            CFRelease(error);
        CFRelease(&t->cf);
    });
    return errSecSuccess;
}

CFIndex SecTrustGetCertificateCount(SecTrustRef trust)
{
    struct live_trust *t = (struct live_trust *)trust;
    if (!t->cf.evaluated)
        evaluate(t);
    return CFArrayGetCount(t->chain);
}

SecCertificateRef SecTrustGetCertificateAtIndex(SecTrustRef trust, CFIndex ix)
{
    struct live_trust *t = (struct live_trust *)trust;
    if (!t->cf.evaluated)
        evaluate(t);
    return ix < CFArrayGetCount(t->chain) ? (SecCertificateRef)CFArrayGetValueAtIndex(t->chain, ix) : NULL;
}
