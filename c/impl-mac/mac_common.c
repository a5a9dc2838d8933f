/*
 * mac_common.c — what the Network.framework and SecureTransport engines
 * share: SecTrust evaluation named in verify.h's (OpenSSL / Node) words, the
 * `ca` option parsed into SecCertificateRefs and certificates written as PEM
 * (both through c/common/pem.h), OSStatus words and the library-wide tls_info
 * answers. Cipher suite names come from c/common/suites.h.
 */
#include "mac.h"
#include "../common/pem.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysctl.h>

/* ----------------------------------------------------------- protocol */

const char *mac_protocol_name(unsigned version)
{
    switch (version) {
    case 0x0303: return "TLSv1.2";
    case 0x0304: return "TLSv1.3";
    default: return "";
    }
}

/* ----------------------------------------------------------------- PEM */

void mac_append_pem(strbuf *out, SecCertificateRef cert)
{
    CFDataRef der = cert ? SecCertificateCopyData(cert) : NULL;
    if (!der)
        return;
    pem_append_cert(out, CFDataGetBytePtr(der), (size_t)CFDataGetLength(der));
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
    CFMutableArrayRef certs = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
    if (!certs) {
        snprintf(msg, msgcap, "out of memory reading option ca");
        return NULL;
    }
    const char *p = pem;
    int index = 0;
    unsigned char *der;
    size_t len;
    int got;
    while ((got = pem_next_cert(&p, &der, &len)) != 0) {
        index++;
        CFDataRef data = got == 1 ? CFDataCreate(NULL, der, (CFIndex)len) : NULL;
        if (got == 1)
            free(der);
        SecCertificateRef cert = data ? SecCertificateCreateWithData(NULL, data) : NULL;
        if (data)
            CFRelease(data);
        if (!cert) {
            snprintf(msg, msgcap, "option ca: certificate %d is not a valid PEM certificate", index);
            CFRelease(certs);
            return NULL;
        }
        CFArrayAppendValue(certs, cert);
        CFRelease(cert);
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

/* An untrusted chain, named as OpenSSL would: which end did it stop at?
 * Called on an evaluated trust only (see mac_trust_copy_chain). */
static long untrusted_chain_code(SecTrustRef trust)
{
    CFIndex count = SecTrustGetCertificateCount(trust);
    if (count <= 0)
        return VERIFY_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
    SecCertificateRef last = SecTrustGetCertificateAtIndex(trust, count - 1);
    /* The chain stops below a root: with the leaf alone (its issuer neither
     * sent nor known) Node names the leaf's signature it could not check. */
    if (!last || !self_issued(last))
        return verify_unknown_issuer((int)count);
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

/* The revocation policy to add beside the SSL one, or NULL for Apple's default. */
static SecPolicyRef revocation_policy(int revocation, int network)
{
    if (revocation == TLS_REVOCATION_REQUIRE)
        return SecPolicyCreateRevocation(kSecRevocationUseAnyAvailableMethod | kSecRevocationRequirePositiveResponse |
                                         (network ? 0 : kSecRevocationNetworkAccessDisabled));
    if (revocation == TLS_REVOCATION_OFF)
        return SecPolicyCreateRevocation(kSecRevocationNetworkAccessDisabled);
    return NULL;
}

int mac_trust_prepare(SecTrustRef trust, const char *peer_name, CFArrayRef anchors, int network,
                      int revocation, char *message, size_t msgcap)
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
        return 0;
    }
    SecPolicyRef rev = revocation_policy(revocation, network);
    const void *list[] = { policy, rev };
    CFArrayRef policies = CFArrayCreate(NULL, list, rev ? 2 : 1, &kCFTypeArrayCallBacks);
    OSStatus st = policies ? SecTrustSetPolicies(trust, policies) : errSecAllocate;
    if (policies)
        CFRelease(policies);
    if (rev)
        CFRelease(rev);
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
        return 0;
    }
    return 1;
}

long mac_trust_outcome(SecTrustRef trust, bool trusted, CFErrorRef error, int peer_name_is_ip,
                       int revocation, char *message, size_t msgcap)
{
    if (trusted) {
        snprintf(message, msgcap, "ok");
        return VERIFY_OK;
    }
    OSStatus code = error ? (OSStatus)CFErrorGetCode(error) : errSecNotTrusted;
    /* "require": a status the evaluation could not establish. */
    if (revocation == TLS_REVOCATION_REQUIRE && code == errSecIncompleteCertRevocationCheck) {
        snprintf(message, msgcap, "the certificate's revocation status is unknown (revocation \"require\")");
        return VERIFY_OCSP_NO_RESPONSE;
    }
    char apple[200];
    CFStringRef words = error ? CFErrorCopyDescription(error) : NULL;
    mac_cfstring_text(words, apple, sizeof apple);
    if (!apple[0])
        mac_status_text(code, apple, sizeof apple);
    if (words)
        CFRelease(words);
    long result = verify_code_for(code, trust, peer_name_is_ip);
    /* An issuer nowhere to be found: said in Node's words first (as the
     * other engines), then Apple's. */
    if (result == VERIFY_UNABLE_TO_VERIFY_LEAF_SIGNATURE || result == VERIFY_UNABLE_TO_GET_ISSUER_CERT_LOCALLY)
        snprintf(message, msgcap, "%s: %s",
                 verify_unknown_issuer_text(result == VERIFY_UNABLE_TO_VERIFY_LEAF_SIGNATURE ? 1 : 2), apple);
    else
        snprintf(message, msgcap, "%s", apple);
    return result;
}

long mac_evaluate_trust(SecTrustRef trust, const char *peer_name, int peer_name_is_ip,
                        CFArrayRef anchors, int network, int revocation, char *message, size_t msgcap)
{
    if (!mac_trust_prepare(trust, peer_name, anchors, network, revocation, message, msgcap))
        return VERIFY_CERT_UNTRUSTED;
    CFErrorRef error = NULL;
    bool trusted = SecTrustEvaluateWithError(trust, &error);
    long code = mac_trust_outcome(trust, trusted, error, peer_name_is_ip, revocation, message, msgcap);
    if (error)
        CFRelease(error);
    return code;
}

CFMutableArrayRef mac_trust_copy_chain(SecTrustRef trust)
{
    /* Only after the evaluation: before it, SecTrustGetCertificateCount
     * evaluates (its documentation), a second, hidden evaluation. */
    CFIndex count = SecTrustGetCertificateCount(trust);
    CFMutableArrayRef chain = CFArrayCreateMutable(NULL, count, &kCFTypeArrayCallBacks);
    for (CFIndex i = 0; chain && i < count; i++) {
        SecCertificateRef cert = SecTrustGetCertificateAtIndex(trust, i);
        if (cert)
            CFArrayAppendValue(chain, cert);
    }
    return chain;
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
    /* What the peer sent is not TLS, or is broken TLS (an HTTP reply, a
     * malformed record or message): a protocol error, as the other engines
     * say, not a handshake that was negotiated and refused. */
    case errSSLProtocol:
    case errSSLDecryptionFail:
    case errSSLBadRecordMac:
    case errSSLRecordOverflow:
    case errSSLUnexpectedRecord:
    case errSSLUnexpectedMessage:
    case errSSLDecodeError:
        return TLS_PROTOCOL_ERROR;
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
        snprintf(buf, bufcap, "%s.framework (linked at build time%s)", framework,
                 strcmp(framework, "Network") == 0 ? ", weak: present from macOS 10.15" : "");
        *value = buf;
    } else if (strcmp(key, "install_hint") == 0) {
        *value = "*\tNetwork.framework and SecureTransport are part of macOS and cannot be installed separately: "
                 "Network.framework needs macOS 10.15 or newer (OSTLS_BACKEND=securetransport uses SecureTransport instead)";
    } else if (strcmp(key, "identities") == 0) {
        *value = mac_identities_text();
    } else if (strcmp(key, "trust_store") == 0) {
        *value = "macOS keychains (System, login) and trust settings";
    } else {
        return 0;
    }
    return 1;
}
