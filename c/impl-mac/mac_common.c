/*
 * mac_common.c — what the Network.framework and SecureTransport engines
 * share: SecTrust evaluation named in verify.h's (OpenSSL / Node) words, the
 * `ca` option parsed into SecCertificateRefs, PEM output, cipher suite names,
 * OSStatus words and the library-wide tls_info answers.
 */
#include "mac.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysctl.h>

/* ------------------------------------------------------- cipher suites */

/* The suites SecureTransport and Network.framework negotiate for a client
 * (TLS 1.3, ECDHE/DHE and plain RSA for TLS 1.2), by IANA number. */
static const struct { uint16_t id; const char *name; } cipher_names[] = {
    { 0x1301, "TLS_AES_128_GCM_SHA256" },
    { 0x1302, "TLS_AES_256_GCM_SHA384" },
    { 0x1303, "TLS_CHACHA20_POLY1305_SHA256" },
    { 0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" },
    { 0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" },
    { 0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" },
    { 0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256" },
    { 0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384" },
    { 0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA" },
    { 0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA" },
    { 0xC008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA" },
    { 0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" },
    { 0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" },
    { 0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" },
    { 0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256" },
    { 0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384" },
    { 0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA" },
    { 0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA" },
    { 0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA" },
    { 0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256" },
    { 0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384" },
    { 0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256" },
    { 0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256" },
    { 0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA" },
    { 0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA" },
    { 0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256" },
    { 0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384" },
    { 0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256" },
    { 0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256" },
    { 0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA" },
    { 0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA" },
    { 0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA" },
};

const char *mac_cipher_name(uint16_t suite)
{
    for (size_t i = 0; i < TLS_ARRAY_LEN(cipher_names); i++)
        if (cipher_names[i].id == suite)
            return cipher_names[i].name;
    return NULL;
}

const char *mac_protocol_name(unsigned version)
{
    switch (version) {
    case 0x0303: return "TLSv1.2";
    case 0x0304: return "TLSv1.3";
    default: return "";
    }
}

/* -------------------------------------------------------------- base64 */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(int ch)
{
    const char *p = ch ? strchr(b64_alphabet, ch) : NULL;
    return p ? (int)(p - b64_alphabet) : -1;
}

/* Decode base64 text [text, end) skipping whitespace; NULL on bad input. */
static CFDataRef b64_decode(const char *text, const char *end)
{
    size_t cap = (size_t)(end - text) / 4 * 3 + 3;
    unsigned char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0, padding = 0;
    for (const char *p = text; p < end; p++) {
        int ch = (unsigned char)*p;
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
            continue;
        if (ch == '=') {
            padding++;
            continue;
        }
        int v = b64_value(ch);
        if (v < 0 || padding) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    CFDataRef data = n ? CFDataCreate(NULL, out, (CFIndex)n) : NULL;
    free(out);
    return data;
}

static void b64_append_lines(strbuf *out, const unsigned char *data, size_t len)
{
    char line[65];
    size_t col = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)data[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)data[i + 1] << 8;
        if (i + 2 < len)
            v |= data[i + 2];
        line[col++] = b64_alphabet[(v >> 18) & 63];
        line[col++] = b64_alphabet[(v >> 12) & 63];
        line[col++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
        line[col++] = i + 2 < len ? b64_alphabet[v & 63] : '=';
        if (col == 64 || i + 3 >= len) {
            line[col++] = '\n';
            strbuf_append(out, line, col);
            col = 0;
        }
    }
}

void mac_append_pem(strbuf *out, SecCertificateRef cert)
{
    CFDataRef der = cert ? SecCertificateCopyData(cert) : NULL;
    if (!der)
        return;
    strbuf_puts(out, "-----BEGIN CERTIFICATE-----\n");
    b64_append_lines(out, CFDataGetBytePtr(der), (size_t)CFDataGetLength(der));
    strbuf_puts(out, "-----END CERTIFICATE-----\n");
    CFRelease(der);
}

void mac_append_pem_array(strbuf *out, CFArrayRef certs)
{
    CFIndex count = certs ? CFArrayGetCount(certs) : 0;
    for (CFIndex i = 0; i < count; i++)
        mac_append_pem(out, (SecCertificateRef)CFArrayGetValueAtIndex(certs, i));
}

/* ------------------------------------------------------------- anchors */

CFArrayRef mac_anchors_from_pem(const char *pem, char *msg, size_t msgcap)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    static const char end[] = "-----END CERTIFICATE-----";
    CFMutableArrayRef certs = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
    if (!certs) {
        snprintf(msg, msgcap, "out of memory reading option ca");
        return NULL;
    }
    const char *p = pem;
    int index = 0;
    while ((p = strstr(p, begin)) != NULL) {
        index++;
        const char *body = p + sizeof begin - 1;
        const char *stop = strstr(body, end);
        CFDataRef der = stop ? b64_decode(body, stop) : NULL;
        SecCertificateRef cert = der ? SecCertificateCreateWithData(NULL, der) : NULL;
        if (der)
            CFRelease(der);
        if (!cert) {
            snprintf(msg, msgcap, "option ca: certificate %d is not a valid PEM certificate", index);
            CFRelease(certs);
            return NULL;
        }
        CFArrayAppendValue(certs, cert);
        CFRelease(cert);
        p = stop + sizeof end - 1;
    }
    if (index == 0) {
        snprintf(msg, msgcap, "option ca: no PEM certificate (-----BEGIN CERTIFICATE-----) found");
        CFRelease(certs);
        return NULL;
    }
    return certs;
}

/* --------------------------------------------------------------- trust */

void mac_cfstring_text(CFStringRef s, char *buf, size_t cap)
{
    if (cap == 0)
        return;
    buf[0] = '\0';
    if (s && !CFStringGetCString(s, buf, (CFIndex)cap, kCFStringEncodingUTF8))
        buf[0] = '\0';
}

static int self_issued(SecCertificateRef cert)
{
    CFDataRef subject = SecCertificateCopyNormalizedSubjectSequence(cert);
    CFDataRef issuer = SecCertificateCopyNormalizedIssuerSequence(cert);
    int same = subject && issuer && CFEqual(subject, issuer);
    if (subject)
        CFRelease(subject);
    if (issuer)
        CFRelease(issuer);
    return same;
}

/* An untrusted chain, named as OpenSSL would: which end did it stop at? */
static long untrusted_chain_code(SecTrustRef trust)
{
    CFIndex count = SecTrustGetCertificateCount(trust);
    if (count <= 0)
        return VERIFY_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
    SecCertificateRef last = SecTrustGetCertificateAtIndex(trust, count - 1);
    if (!last || !self_issued(last))
        return VERIFY_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
    return count == 1 ? VERIFY_DEPTH_ZERO_SELF_SIGNED_CERT : VERIFY_SELF_SIGNED_CERT_IN_CHAIN;
}

static long verify_code_for(OSStatus code, SecTrustRef trust, int peer_name_is_ip)
{
    switch (code) {
    case errSecCertificateExpired:
        return VERIFY_CERT_HAS_EXPIRED;
    case errSecCertificateNotValidYet:
        return VERIFY_CERT_NOT_YET_VALID;
    case errSecHostNameMismatch:
    case errSecCertificateNameNotAllowed:
        return peer_name_is_ip ? VERIFY_IP_ADDRESS_MISMATCH : VERIFY_HOSTNAME_MISMATCH;
    case errSecCertificateRevoked:
        return VERIFY_CERT_REVOKED;
    case errSecInvalidExtendedKeyUsage:
    case errSecCertificatePolicyNotAllowed:
        return VERIFY_INVALID_PURPOSE;
    case errSecTrustSettingDeny:
        return VERIFY_CERT_REJECTED;
    case errSecCertificateIsCA:
        return VERIFY_INVALID_CA;
    case errSecNotTrusted:
    case errSecCreateChainFailed:
    case errSecInvalidRoot:
    default:
        return untrusted_chain_code(trust);
    }
}

long mac_evaluate_trust(SecTrustRef trust, const char *peer_name, int peer_name_is_ip,
                        CFArrayRef anchors, int network, char *message, size_t msgcap)
{
    char name[256];
    /* An IPv6 scope (%en0) is not part of what a certificate can name. */
    snprintf(name, sizeof name, "%.*s", (int)strcspn(peer_name, "%"), peer_name);
    CFStringRef host = CFStringCreateWithCString(NULL, name, kCFStringEncodingUTF8);
    SecPolicyRef policy = host ? SecPolicyCreateSSL(true, host) : NULL;
    if (host)
        CFRelease(host);
    if (!policy) {
        snprintf(message, msgcap, "could not create the SSL trust policy for %s", name);
        return VERIFY_CERT_UNTRUSTED;
    }
    OSStatus st = SecTrustSetPolicies(trust, policy);
    CFRelease(policy);
    if (st == errSecSuccess && anchors) {
        st = SecTrustSetAnchorCertificates(trust, anchors);
        if (st == errSecSuccess)
            st = SecTrustSetAnchorCertificatesOnly(trust, false);
    }
    if (st == errSecSuccess && !network)
        st = SecTrustSetNetworkFetchAllowed(trust, false);
    if (st != errSecSuccess) {
        char text[256];
        mac_status_text(st, text, sizeof text);
        snprintf(message, msgcap, "could not prepare the trust evaluation: %s", text);
        return VERIFY_CERT_UNTRUSTED;
    }
    CFErrorRef error = NULL;
    if (SecTrustEvaluateWithError(trust, &error)) {
        snprintf(message, msgcap, "ok");
        if (error)
            CFRelease(error);
        return VERIFY_OK;
    }
    OSStatus code = error ? (OSStatus)CFErrorGetCode(error) : errSecNotTrusted;
    CFStringRef words = error ? CFErrorCopyDescription(error) : NULL;
    mac_cfstring_text(words, message, msgcap);
    if (!message[0])
        mac_status_text(code, message, msgcap);
    if (words)
        CFRelease(words);
    if (error)
        CFRelease(error);
    return verify_code_for(code, trust, peer_name_is_ip);
}

/* ------------------------------------------------------------ OSStatus */

void mac_status_text(OSStatus status, char *buf, size_t cap)
{
    char words[200] = "";
    CFStringRef s = SecCopyErrorMessageString(status, NULL);
    mac_cfstring_text(s, words, sizeof words);
    if (s)
        CFRelease(s);
    const char *name = mac_ssl_status_name(status);
    snprintf(buf, cap, "%s%s(OSStatus %d%s%s)", words, words[0] ? " " : "", (int)status,
             name ? " " : "", name ? name : "");
}

static const struct { OSStatus code; const char *name; } ssl_status_names[] = {
    { -9800, "errSSLProtocol" },          { -9801, "errSSLNegotiation" },
    { -9802, "errSSLFatalAlert" },        { -9803, "errSSLWouldBlock" },
    { -9805, "errSSLClosedGraceful" },    { -9806, "errSSLClosedAbort" },
    { -9807, "errSSLXCertChainInvalid" }, { -9808, "errSSLBadCert" },
    { -9809, "errSSLCrypto" },            { -9810, "errSSLInternal" },
    { -9812, "errSSLUnknownRootCert" },   { -9813, "errSSLNoRootCert" },
    { -9814, "errSSLCertExpired" },       { -9815, "errSSLCertNotYetValid" },
    { -9816, "errSSLClosedNoNotify" },    { -9817, "errSSLBufferOverflow" },
    { -9818, "errSSLBadCipherSuite" },    { -9819, "errSSLPeerUnexpectedMsg" },
    { -9820, "errSSLPeerBadRecordMac" },  { -9821, "errSSLPeerDecryptionFail" },
    { -9822, "errSSLPeerRecordOverflow" },{ -9823, "errSSLPeerDecompressFail" },
    { -9824, "errSSLPeerHandshakeFail" }, { -9825, "errSSLPeerBadCert" },
    { -9826, "errSSLPeerUnsupportedCert" },{ -9827, "errSSLPeerCertRevoked" },
    { -9828, "errSSLPeerCertExpired" },   { -9829, "errSSLPeerCertUnknown" },
    { -9830, "errSSLIllegalParam" },      { -9831, "errSSLPeerUnknownCA" },
    { -9832, "errSSLPeerAccessDenied" },  { -9833, "errSSLPeerDecodeError" },
    { -9834, "errSSLPeerDecryptError" },  { -9835, "errSSLPeerExportRestriction" },
    { -9836, "errSSLPeerProtocolVersion" },{ -9837, "errSSLPeerInsufficientSecurity" },
    { -9838, "errSSLPeerInternalError" }, { -9839, "errSSLPeerUserCancelled" },
    { -9840, "errSSLPeerNoRenegotiation" },{ -9841, "errSSLPeerAuthCompleted" },
    { -9843, "errSSLHostNameMismatch" },  { -9844, "errSSLConnectionRefused" },
    { -9845, "errSSLDecryptionFail" },    { -9846, "errSSLBadRecordMac" },
    { -9847, "errSSLRecordOverflow" },    { -9848, "errSSLBadConfiguration" },
    { -9849, "errSSLUnexpectedRecord" },  { -9850, "errSSLWeakPeerEphemeralDHKey" },
    { -9851, "errSSLClientHelloReceived" },{ -9852, "errSSLTransportReset" },
    { -9853, "errSSLNetworkTimeout" },    { -9854, "errSSLConfigurationFailed" },
    { -9855, "errSSLUnsupportedExtension" },{ -9856, "errSSLUnexpectedMessage" },
    { -9857, "errSSLDecompressFail" },    { -9858, "errSSLHandshakeFail" },
    { -9859, "errSSLDecodeError" },       { -9860, "errSSLInappropriateFallback" },
    { -9861, "errSSLMissingExtension" },  { -9862, "errSSLBadCertificateStatusResponse" },
    { -9863, "errSSLCertificateRequired" },{ -9864, "errSSLUnknownPSKIdentity" },
    { -9865, "errSSLUnrecognizedName" },  { -9866, "errSSLATSViolation" },
};

const char *mac_ssl_status_name(OSStatus status)
{
    for (size_t i = 0; i < TLS_ARRAY_LEN(ssl_status_names); i++)
        if (ssl_status_names[i].code == status)
            return ssl_status_names[i].name;
    return NULL;
}

const char *mac_handshake_error_code(OSStatus status)
{
    switch (status) {
    case errSSLPeerProtocolVersion:
        return TLS_PROTOCOL_VERSION;
    case errSSLClosedAbort:
    case errSSLClosedGraceful:
    case errSSLClosedNoNotify:
    case errSSLTransportReset:
        return TLS_CONNECTION_RESET;
    case errSSLXCertChainInvalid:
    case errSSLBadCert:
    case errSSLUnknownRootCert:
    case errSSLNoRootCert:
        return TLS_CERT_UNTRUSTED;
    case errSSLCertExpired:
    case errSSLCertNotYetValid:
        return TLS_CERT_EXPIRED;
    case errSSLHostNameMismatch:
        return TLS_CERT_HOSTNAME_MISMATCH;
    case errSSLPeerCertRevoked:
        return TLS_CERT_REVOKED;
    case errSSLNetworkTimeout:
        return TLS_CONNECTION_RESET;
    default:
        return TLS_HANDSHAKE_FAILED;
    }
}

/* -------------------------------------------------------- library info */

static void os_version(char *buf, size_t cap)
{
    size_t len = cap;
    if (sysctlbyname("kern.osproductversion", buf, &len, NULL, 0) != 0 || len == 0)
        snprintf(buf, cap, "unknown");
}

int mac_library_info(const char *key, const char *framework, const char *bundle_id,
                     const void *symbol, char *buf, size_t bufcap, const char **value)
{
    if (strcmp(key, "backend_version") == 0) {
        char version[64] = "", os[32];
        CFStringRef id = CFStringCreateWithCString(NULL, bundle_id, kCFStringEncodingUTF8);
        CFBundleRef bundle = id ? CFBundleGetBundleWithIdentifier(id) : NULL;
        if (id)
            CFRelease(id);
        CFTypeRef v = bundle ? CFBundleGetValueForInfoDictionaryKey(bundle, kCFBundleVersionKey) : NULL;
        if (v && CFGetTypeID(v) == CFStringGetTypeID())
            mac_cfstring_text((CFStringRef)v, version, sizeof version);
        os_version(os, sizeof os);
        snprintf(buf, bufcap, "%s.framework%s%s on macOS %s", framework, version[0] ? " " : "", version, os);
        *value = buf;
    } else if (strcmp(key, "library_path") == 0) {
        Dl_info info;
        if (symbol && dladdr(symbol, &info) && info.dli_fname)
            snprintf(buf, bufcap, "%s", info.dli_fname);
        else
            snprintf(buf, bufcap, "/System/Library/Frameworks/%s.framework", framework);
        *value = buf;
    } else if (strcmp(key, "library_tried") == 0) {
        *value = mac_selection_note();
    } else if (strcmp(key, "trust_store") == 0) {
        *value = "macOS keychains (System, login) and trust settings";
    } else {
        return 0;
    }
    return 1;
}
