/*
 * mac.h — what the macOS library's two engines share. Each is one struct
 * tls_engine (c/common/engine.h) listed in engines.c:
 *
 *   network.c          network_engine: Network.framework (nw_connection, TLS
 *                      1.2 and 1.3); it owns DNS and TCP (the transport hooks)
 *   securetransport.c  securetransport_engine: SecureTransport (TLS 1.2) over
 *                      c/common's own socket
 *
 * tls_init takes Network.framework when its symbols are present (its
 * global_init fails otherwise), else SecureTransport; OSTLS_BACKEND (or its
 * older name OSTLS_MAC_BACKEND) = network | securetransport forces either.
 * mac_common.c holds what both share: trust evaluation into verify.h codes,
 * `ca` PEM parsing, PEM output, OSStatus words and the library-wide info.
 */
#ifndef OSTLS_MAC_H
#define OSTLS_MAC_H

#include "../common/engine.h"
#include "../common/suites.h"
#include "../common/verify.h"

#include <CoreFoundation/CoreFoundation.h>
#include <Security/Security.h>
#include <stdbool.h>
#include <stdint.h>

/* ------------------------------------------------------ mac_common.c */

/* "TLSv1.2" / "TLSv1.3" for a wire version (0x0303...), else "". */
const char *mac_protocol_name(unsigned version);

/* The `ca` option's PEM text as an array of SecCertificateRef. Returns the
 * array (caller releases) or NULL with msg filled (not PEM, bad DER, memory). */
CFArrayRef mac_anchors_from_pem(const char *pem, char *msg, size_t msgcap);

/* Evaluate a server trust the OS way: SSL server policy for peer_name (a DNS
 * name, or an IP address checked against IP SANs), keychains, trust settings
 * and MDM roots, plus `anchors` for this evaluation only (never replacing the
 * system's: SecTrustSetAnchorCertificatesOnly(false)). network: whether the
 * evaluation may fetch (intermediates, revocation); an engine whose evaluation
 * runs on the caller's thread passes 0 so no tls_* call waits on the network.
 * revocation (enum tls_revocation): "os" leaves Apple's default policy;
 * "require" adds SecPolicyCreateRevocation with
 * kSecRevocationRequirePositiveResponse (an unknown status fails:
 * OCSP_NO_RESPONSE); "off" adds one with kSecRevocationNetworkAccessDisabled
 * (no revocation fetch; Apple has no switch to ignore what it already knows).
 * Returns a verify.h code (VERIFY_OK on success); message gets the OS words.
 * It is mac_trust_prepare, one SecTrustEvaluateWithError, mac_trust_outcome. */
long mac_evaluate_trust(SecTrustRef trust, const char *peer_name, int peer_name_is_ip,
                        CFArrayRef anchors, int network, int revocation, char *message, size_t msgcap);
/* The steps, for an engine that evaluates asynchronously
 * (SecTrustEvaluateAsyncWithError): set the policy, anchors and network
 * permission (1, or 0 with message filled); then name the finished
 * evaluation's result as a verify.h code. */
int mac_trust_prepare(SecTrustRef trust, const char *peer_name, CFArrayRef anchors, int network,
                      int revocation, char *message, size_t msgcap);
long mac_trust_outcome(SecTrustRef trust, bool trusted, CFErrorRef error, int peer_name_is_ip,
                       int revocation, char *message, size_t msgcap);
/* The chain of an EVALUATED trust, leaf first (a new array, or NULL). Reading
 * a trust's certificates before its evaluation evaluates it (Apple's
 * documentation of SecTrustGetCertificateCount), so engines read the sent
 * chain elsewhere or only after their one evaluation. */
CFMutableArrayRef mac_trust_copy_chain(SecTrustRef trust);

/* Append cert as PEM ("-----BEGIN CERTIFICATE-----" ...). */
void mac_append_pem(strbuf *out, SecCertificateRef cert);
/* Append every certificate of a CFArray of SecCertificateRef. */
void mac_append_pem_array(strbuf *out, CFArrayRef certs);

/* The OS words for an OSStatus (SecCopyErrorMessageString), with its number. */
void mac_status_text(OSStatus status, char *buf, size_t cap);

/* The client identity c->opts names (pfx + passphrase) as
 * [SecIdentityRef, intermediate certificates...] in *out (NULL when none;
 * the caller releases it), and drops it from the options. 1, or 0 after
 * conn_fail (TLS_INVALID_ARGUMENT for a bad file or passphrase, or PEM
 * cert/key, not taken yet; clientCertificate 'auto', not done yet). A
 * keychain identity (client_cert_store "keychain": label, subject, issuer)
 * comes from SecItemCopyMatching(kSecClassIdentity). mac_identity.c. */
int mac_identity_load(tls_conn *c, CFArrayRef *out);
/* tls_info(NULL, "identities"): the keychain's identities, per identity a
 * line "identity\t<label>\t<key storage>" ("keychain", "Secure Enclave" or
 * "token <kSecAttrTokenID>") and then its certificate as PEM; a line
 * "error\t<why>" when the search failed; "" when there are none. Valid until
 * this thread's next call. mac_identities.c. */
const char *mac_identities_text(void);
/* "errSSLProtocol" style name for the SecureTransport / TLS codes, or NULL. */
const char *mac_ssl_status_name(OSStatus status);
/* Map a TLS-layer OSStatus seen during the handshake to a TLS_* code. */
const char *mac_handshake_error_code(OSStatus status);

/* CFString → UTF-8 into buf ("" when NULL or not convertible). */
void mac_cfstring_text(CFStringRef s, char *buf, size_t cap);

/* Library-wide info both engines answer the same way: backend_version
 * ("<framework> <bundle version> on macOS <version>"), library_path (the
 * framework binary holding `symbol`), library_tried, trust_store,
 * install_hint. */
int mac_library_info(const char *key, const char *framework, const char *bundle_id,
                     const void *symbol, char *buf, size_t bufcap, const char **value);

#endif
