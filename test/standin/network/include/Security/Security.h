/*
 * ostls's Linux stand-in for the part of <Security/Security.h> (SecTrust,
 * SecCertificate, sec_protocol_*) the macOS engines use. Written for ostls
 * from Apple's documented C API; status values are Apple's (SecBase.h).
 */
#ifndef OSTLS_STANDIN_SECURITY_H
#define OSTLS_STANDIN_SECURITY_H
#include <CoreFoundation/CoreFoundation.h>
#include <dispatch/dispatch.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct standin_cf *SecTrustRef;
typedef struct standin_cf *SecPolicyRef;
typedef struct standin_cf *SecCertificateRef;
typedef struct standin_cf *SecIdentityRef;

enum {
    errSecSuccess = 0, errSecParam = -50, errSecAllocate = -108,
    errSecCertificateExpired = -67818, errSecCertificateNotValidYet = -67819,
    errSecHostNameMismatch = -67602, errSecCertificateNameNotAllowed = -67900,
    errSecCertificateRevoked = -67820, errSecInvalidExtendedKeyUsage = -67609,
    errSecCertificatePolicyNotAllowed = -67899, errSecTrustSettingDeny = -67654,
    errSecCertificateIsCA = -67902, errSecNotTrusted = -67843, errSecCreateChainFailed = -25318,
    errSecInvalidRoot = -67612, errSecItemNotFound = -25300, errSecAuthFailed = -25293,
    errSecIncompleteCertRevocationCheck = -67635
};
enum {
    errSSLProtocol = -9800, errSSLNegotiation = -9801, errSSLFatalAlert = -9802, errSSLWouldBlock = -9803,
    errSSLClosedGraceful = -9805, errSSLClosedAbort = -9806, errSSLXCertChainInvalid = -9807,
    errSSLBadCert = -9808, errSSLUnknownRootCert = -9812, errSSLNoRootCert = -9813,
    errSSLCertExpired = -9814, errSSLCertNotYetValid = -9815, errSSLClosedNoNotify = -9816,
    errSSLPeerHandshakeFail = -9824, errSSLPeerCertRevoked = -9827, errSSLPeerProtocolVersion = -9836,
    errSSLHostNameMismatch = -9843, errSSLTransportReset = -9852, errSSLNetworkTimeout = -9853,
    errSSLDecryptionFail = -9845, errSSLBadRecordMac = -9846, errSSLRecordOverflow = -9847,
    errSSLUnexpectedRecord = -9849, errSSLUnexpectedMessage = -9856, errSSLDecodeError = -9859
};

extern const CFStringRef kSecImportExportPassphrase;
extern const CFStringRef kSecImportItemIdentity;
extern const CFStringRef kSecImportItemCertChain;

/* SecItem.h: the keychain search the engines make. */
extern const CFStringRef kSecClass;
extern const CFStringRef kSecClassIdentity;
extern const CFStringRef kSecReturnRef;
extern const CFStringRef kSecMatchLimit;
extern const CFStringRef kSecMatchLimitAll;
extern const CFStringRef kSecAttrLabel;
extern const CFStringRef kSecReturnAttributes;
extern const CFStringRef kSecReturnData;
extern const CFStringRef kSecMatchLimitOne;
extern const CFStringRef kSecValueRef;
extern const CFStringRef kSecValueData;
extern const CFStringRef kSecAttrTokenID;
extern const CFStringRef kSecAttrTokenIDSecureEnclave;
/* SecItem.h: the internet password for a proxy (c/common/proxy_cred_mac.c). */
extern const CFStringRef kSecClassInternetPassword;
extern const CFStringRef kSecAttrServer;
extern const CFStringRef kSecAttrPort;
extern const CFStringRef kSecAttrProtocol;
extern const CFStringRef kSecAttrProtocolHTTPProxy;
extern const CFStringRef kSecAttrProtocolHTTPSProxy;
extern const CFStringRef kSecAttrAccount;
OSStatus SecItemCopyMatching(CFDictionaryRef query, CFTypeRef *result);
OSStatus SecIdentityCopyCertificate(SecIdentityRef identity, SecCertificateRef *certificate);

/* SecCertificate.h, SecCertificateOIDs.h */
extern const CFStringRef kSecPropertyKeyValue;
extern const CFStringRef kSecOIDX509V1SubjectName;
extern const CFStringRef kSecOIDX509V1IssuerName;
CFDictionaryRef SecCertificateCopyValues(SecCertificateRef certificate, CFArrayRef keys, CFErrorRef *error);

/* SecPolicy.h: revocation */
enum {
    kSecRevocationOCSPMethod = (1 << 0), kSecRevocationCRLMethod = (1 << 1), kSecRevocationPreferCRL = (1 << 2),
    kSecRevocationRequirePositiveResponse = (1 << 3), kSecRevocationNetworkAccessDisabled = (1 << 4),
    kSecRevocationUseAnyAvailableMethod = (kSecRevocationOCSPMethod | kSecRevocationCRLMethod)
};
SecPolicyRef SecPolicyCreateRevocation(CFOptionFlags revocationFlags);

SecCertificateRef SecCertificateCreateWithData(CFAllocatorRef alloc, CFDataRef der);
CFDataRef SecCertificateCopyData(SecCertificateRef cert);
CFDataRef SecCertificateCopyNormalizedSubjectSequence(SecCertificateRef cert);
CFDataRef SecCertificateCopyNormalizedIssuerSequence(SecCertificateRef cert);
SecPolicyRef SecPolicyCreateSSL(Boolean server, CFStringRef hostname);
OSStatus SecTrustSetPolicies(SecTrustRef trust, CFTypeRef policies);
OSStatus SecTrustSetAnchorCertificates(SecTrustRef trust, CFArrayRef anchors);
OSStatus SecTrustSetAnchorCertificatesOnly(SecTrustRef trust, Boolean only);
OSStatus SecTrustSetNetworkFetchAllowed(SecTrustRef trust, Boolean allowed);
bool SecTrustEvaluateWithError(SecTrustRef trust, CFErrorRef *error);
typedef void (^SecTrustWithErrorCallback)(SecTrustRef trust, bool result, CFErrorRef error);
OSStatus SecTrustEvaluateAsyncWithError(SecTrustRef trust, dispatch_queue_t queue, SecTrustWithErrorCallback result);
CFIndex SecTrustGetCertificateCount(SecTrustRef trust);
SecCertificateRef SecTrustGetCertificateAtIndex(SecTrustRef trust, CFIndex ix);
CFStringRef SecCopyErrorMessageString(OSStatus status, void *reserved);
OSStatus SecPKCS12Import(CFDataRef data, CFDictionaryRef options, CFArrayRef *items);

/* sec_protocol (SecProtocolTypes.h, SecProtocolOptions.h, SecProtocolMetadata.h) */
typedef struct standin_sec *sec_object_t;
typedef struct standin_sec *sec_trust_t;
typedef struct standin_sec *sec_identity_t;
typedef struct standin_sec *sec_certificate_t;
typedef struct standin_sec *sec_protocol_options_t;
typedef struct standin_sec *sec_protocol_metadata_t;
typedef enum { tls_protocol_version_TLSv12 = 0x0303, tls_protocol_version_TLSv13 = 0x0304 } tls_protocol_version_t;
typedef uint16_t tls_ciphersuite_t;
typedef void (^sec_protocol_verify_complete_t)(bool result);
typedef void (^sec_protocol_verify_t)(sec_protocol_metadata_t metadata, sec_trust_t trust,
                                      sec_protocol_verify_complete_t complete);
void sec_release(void *obj);
SecTrustRef sec_trust_copy_ref(sec_trust_t trust);
SecCertificateRef sec_certificate_copy_ref(sec_certificate_t certificate);
sec_identity_t sec_identity_create_with_certificates(SecIdentityRef identity, CFArrayRef certificates);
void sec_protocol_options_set_min_tls_protocol_version(sec_protocol_options_t o, tls_protocol_version_t v);
void sec_protocol_options_set_max_tls_protocol_version(sec_protocol_options_t o, tls_protocol_version_t v);
void sec_protocol_options_add_tls_application_protocol(sec_protocol_options_t o, const char *protocol);
void sec_protocol_options_set_tls_server_name(sec_protocol_options_t o, const char *name);
void sec_protocol_options_set_local_identity(sec_protocol_options_t o, sec_identity_t identity);
void sec_protocol_options_set_tls_resumption_enabled(sec_protocol_options_t o, bool enabled);
void sec_protocol_options_set_tls_tickets_enabled(sec_protocol_options_t o, bool enabled);
void sec_protocol_options_set_verify_block(sec_protocol_options_t o, sec_protocol_verify_t block,
                                           dispatch_queue_t queue);
tls_protocol_version_t sec_protocol_metadata_get_negotiated_tls_protocol_version(sec_protocol_metadata_t m);
tls_ciphersuite_t sec_protocol_metadata_get_negotiated_tls_ciphersuite(sec_protocol_metadata_t m);
const char *sec_protocol_metadata_get_negotiated_protocol(sec_protocol_metadata_t m);
bool sec_protocol_metadata_access_peer_certificate_chain(sec_protocol_metadata_t m,
                                                         void (^handler)(sec_certificate_t certificate));
#include "SecureTransport.h"
#endif
