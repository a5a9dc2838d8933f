/*
 * schannel_verify.c — certificate verification for the Schannel engine
 * (c/impl-win/schannel.c), kept apart from the record layer as curl does.
 *
 * Verification is manual (SCH_CRED_MANUAL_CRED_VALIDATION) and done by the OS
 * chain engine: CertGetCertificateChain with the certificates the server sent
 * (plus the `ca` option's anchors, in memory, for this connection only) and
 * CertVerifyCertificateChainPolicy(CERT_CHAIN_POLICY_SSL) with the server
 * name, so CurrentUser / LocalMachine / enterprise roots decide trust. Results
 * are translated into the OpenSSL numbering of c/common/verify.h.
 *
 * The chain is built on a worker thread (resolve_start_work, as DNS), never
 * on the host's: the chain engine reads the stores and, when the result
 * decides the connection (rejectUnauthorized), may fetch a missing
 * intermediate (AIA) or a root Windows has not downloaded yet, within
 * SCH_URL_TIMEOUT_MS; with verification off it uses local data only
 * (CERT_CHAIN_CACHE_ONLY_URL_RETRIEVAL). Revocation uses only what is cached
 * locally (CERT_CHAIN_REVOCATION_CHECK_CACHE_ONLY) and the server's stapled
 * OCSP response, which Schannel attaches to the certificate context it
 * returns (CERT_OCSP_RESPONSE_PROP_ID) and the revocation check of the end
 * certificate uses: a verified "revoked" is CERT_REVOKED, an unknown status
 * is not a failure.
 *
 * The revocation option (c->opts.revocation) decides what an unknown status
 * means: "os" (default) checks every certificate but the root and lets an
 * unknown or offline status pass, as Windows' own SSL policy does; "require"
 * makes the same check and fails when any status is unknown or offline
 * (OCSP_NO_RESPONSE, or OCSP_VERIFY_FAILED when the server stapled a response
 * that did not settle it); "off" asks the chain engine for no revocation
 * check at all.
 */
#define CERT_CHAIN_PARA_HAS_EXTRA_FIELDS   /* dwUrlRetrievalTimeout */
#include "schannel_verify.h"
#include "../common/pem.h"
#include "../common/verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* fdwChecks of SSL_EXTRA_CERT_CHAIN_POLICY_PARA (declared in wininet.h). */
#ifndef SECURITY_FLAG_IGNORE_REVOCATION
#  define SECURITY_FLAG_IGNORE_REVOCATION        0x00000080
#  define SECURITY_FLAG_IGNORE_UNKNOWN_CA        0x00000100
#  define SECURITY_FLAG_IGNORE_WRONG_USAGE       0x00000200
#  define SECURITY_FLAG_IGNORE_CERT_CN_INVALID   0x00001000
#  define SECURITY_FLAG_IGNORE_CERT_DATE_INVALID 0x00002000
#endif

/* The system's words for a Win32 / SSPI / crypt32 status, without the final period. */
void sch_status_text(DWORD code, char *buf, size_t cap)
{
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, code,
                             MAKELANGID(LANG_ENGLISH, SUBLANG_DEFAULT), buf, (DWORD)cap, NULL);
    if (n == 0)
        n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, code, 0, buf,
                           (DWORD)cap, NULL);
    while (n > 0 && (buf[n - 1] == '\r' || buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '.'))
        buf[--n] = '\0';
    if (n == 0 && cap)
        buf[0] = '\0';
}

/* Every certificate of the ca option into a fresh memory store (*store,
 * which the caller closes, also after a failure). 1, or 0 after conn_fail. */
int sch_load_anchors(tls_conn *c, HCERTSTORE *store)
{
    *store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, 0, CERT_STORE_CREATE_NEW_FLAG, NULL);
    if (!*store)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "could not create a certificate store for option ca");
    const char *p = c->opts.ca;
    int count = 0;
    unsigned char *der;
    size_t len;
    int got;
    while ((got = pem_next_cert(&p, &der, &len)) != 0) {
        if (got == PEM_NO_END)
            return conn_fail(c, TLS_INVALID_ARGUMENT, "option ca: certificate %d has no END line", count + 1);
        if (got == PEM_NO_MEMORY)
            return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory reading option ca");
        BOOL ok = got == 1 && CertAddEncodedCertificateToStore(*store, X509_ASN_ENCODING, der, (DWORD)len,
                                                               CERT_STORE_ADD_USE_EXISTING, NULL);
        DWORD why = ok ? 0 : GetLastError();
        if (got == 1)
            free(der);
        if (!ok) {
            char text[256];
            sch_status_text(why, text, sizeof text);
            return conn_fail(c, TLS_INVALID_ARGUMENT, "option ca: certificate %d could not be used: %s",
                             count + 1, got != 1 ? "bad base64" : text[0] ? text : "not a certificate");
        }
        count++;
    }
    if (count == 0)
        return conn_fail(c, TLS_INVALID_ARGUMENT, "option ca: no certificate found");
    return 1;
}

static int cert_in_store(HCERTSTORE store, PCCERT_CONTEXT cert)
{
    PCCERT_CONTEXT it = NULL;
    while ((it = CertEnumCertificatesInStore(store, it)) != NULL) {
        if (it->cbCertEncoded == cert->cbCertEncoded &&
            memcmp(it->pbCertEncoded, cert->pbCertEncoded, cert->cbCertEncoded) == 0) {
            CertFreeCertificateContext(it);
            return 1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------- verification */

static void verify_text(DWORD hr, const char *fallback, char *buf, size_t cap)
{
    char os[256];
    sch_status_text(hr, os, sizeof os);
    snprintf(buf, cap, "%s (0x%08lx)", os[0] ? os : fallback, (unsigned long)hr);
}

/* Does the certificate carry a subjectAltName extension at all? Browsers match
 * names against it only; the SSL chain policy would fall back to the subject
 * CN for a certificate without one. */
static int has_alt_names(PCCERT_CONTEXT cert)
{
    return CertFindExtension(szOID_SUBJECT_ALT_NAME2, cert->pCertInfo->cExtension,
                             cert->pCertInfo->rgExtension) != NULL;
}

/* Is the IP literal `name` among the certificate's IP address SANs? */
static int ip_in_cert(PCCERT_CONTEXT cert, const char *name)
{
    unsigned char want[16];
    DWORD want_len;
    char ip[64];
    snprintf(ip, sizeof ip, "%.*s", (int)strcspn(name, "%"), name);
    if (inet_pton(AF_INET, ip, want) == 1)
        want_len = 4;
    else if (inet_pton(AF_INET6, ip, want) == 1)
        want_len = 16;
    else
        return 0;
    PCERT_EXTENSION ext = CertFindExtension(szOID_SUBJECT_ALT_NAME2, cert->pCertInfo->cExtension,
                                            cert->pCertInfo->rgExtension);
    if (!ext)
        return 0;
    CERT_ALT_NAME_INFO *info = NULL;
    DWORD size = 0;
    if (!CryptDecodeObjectEx(X509_ASN_ENCODING, X509_ALTERNATE_NAME, ext->Value.pbData, ext->Value.cbData,
                             CRYPT_DECODE_ALLOC_FLAG, NULL, &info, &size))
        return 0;
    int found = 0;
    for (DWORD i = 0; i < info->cAltEntry && !found; i++) {
        CERT_ALT_NAME_ENTRY *e = &info->rgAltEntry[i];
        if (e->dwAltNameChoice == CERT_ALT_NAME_IP_ADDRESS && e->IPAddress.cbData == want_len &&
            memcmp(e->IPAddress.pbData, want, want_len) == 0)
            found = 1;
    }
    LocalFree(info);
    return found;
}

/* Did Schannel attach the server's stapled OCSP response to its certificate? */
static int has_staple(PCCERT_CONTEXT cert)
{
    DWORD size = 0;
    return CertGetCertificateContextProperty(cert, CERT_OCSP_RESPONSE_PROP_ID, NULL, &size) && size > 0;
}

static DWORD ssl_policy(PCCERT_CHAIN_CONTEXT chain, const wchar_t *name, DWORD checks, DWORD flags)
{
    SSL_EXTRA_CERT_CHAIN_POLICY_PARA ssl;
    memset(&ssl, 0, sizeof ssl);
    ssl.cbSize = sizeof ssl;
    ssl.dwAuthType = AUTHTYPE_SERVER;
    ssl.fdwChecks = checks;
    ssl.pwszServerName = (wchar_t *)name;
    CERT_CHAIN_POLICY_PARA para;
    memset(&para, 0, sizeof para);
    para.cbSize = sizeof para;
    para.dwFlags = flags;
    para.pvExtraPolicyPara = &ssl;
    CERT_CHAIN_POLICY_STATUS ps;
    memset(&ps, 0, sizeof ps);
    ps.cbSize = sizeof ps;
    if (!CertVerifyCertificateChainPolicy(CERT_CHAIN_POLICY_SSL, chain, &para, &ps))
        return GetLastError() ? GetLastError() : (DWORD)TRUST_E_FAIL;
    return ps.dwError;
}

static long map_policy_error(DWORD hr, DWORD elements)
{
    switch (hr) {
    case (DWORD)CERT_E_UNTRUSTEDROOT:
    case (DWORD)CERT_E_UNTRUSTEDTESTROOT:
        return elements <= 1 ? VERIFY_DEPTH_ZERO_SELF_SIGNED_CERT : VERIFY_SELF_SIGNED_CERT_IN_CHAIN;
    case (DWORD)CERT_E_CHAINING:
        return verify_unknown_issuer((int)elements);
    case (DWORD)CERT_E_EXPIRED:
        return VERIFY_CERT_HAS_EXPIRED;
    case (DWORD)CERT_E_CN_NO_MATCH:
        return VERIFY_HOSTNAME_MISMATCH;
    case (DWORD)CRYPT_E_REVOKED:
        return VERIFY_CERT_REVOKED;
    case (DWORD)CERT_E_WRONG_USAGE:
        return VERIFY_INVALID_PURPOSE;
    case (DWORD)TRUST_E_CERT_SIGNATURE:
        return VERIFY_CERT_SIGNATURE_FAILURE;
    case (DWORD)CERT_E_ROLE:
        return VERIFY_INVALID_CA;
    default:
        return VERIFY_CERT_REJECTED;
    }
}

/* What one check found: a verify.h code, the OS status behind it and words
 * for it when the system has none. */
typedef struct {
    long code;
    DWORD hr;
    const char *fallback;
} verdict;

static void judge(verdict *v, long code, DWORD hr, const char *fallback)
{
    v->code = code;
    v->hr = hr;
    v->fallback = fallback;
}

/* Chain statuses that are not failures: validity periods that do not nest
 * (allowed by RFC 5280; curl masks it too) and, unless revocation is
 * "require", revocation that could not be checked (nothing cached, no
 * staple: as for OpenSSL). */
#define REVOCATION_UNKNOWN (CERT_TRUST_REVOCATION_STATUS_UNKNOWN | CERT_TRUST_IS_OFFLINE_REVOCATION)

static DWORD trust_ignored(int revocation)
{
    return CERT_TRUST_IS_NOT_TIME_NESTED | (revocation == TLS_REVOCATION_REQUIRE ? 0 : REVOCATION_UNKNOWN);
}

/* The chain of `leaf` from what the server sent (its store), the `ca`
 * anchors and the OS stores, with the end certificate's revocation checked
 * from local data and the stapled OCSP response. NULL after recording why. */
static PCCERT_CHAIN_CONTEXT build_chain(struct sch_verify_request *r, PCCERT_CONTEXT leaf, HCERTSTORE ca_store)
{
    HCERTSTORE extra = CertOpenStore(CERT_STORE_PROV_COLLECTION, 0, 0, 0, NULL);
    if (extra) {
        if (leaf->hCertStore)
            CertAddStoreToCollection(extra, leaf->hCertStore, 0, 0);
        if (ca_store)
            CertAddStoreToCollection(extra, ca_store, 0, 0);
    }
    LPSTR usage[] = { (LPSTR)szOID_PKIX_KP_SERVER_AUTH };
    CERT_CHAIN_PARA cp;
    memset(&cp, 0, sizeof cp);
    cp.cbSize = sizeof cp;
    cp.RequestedUsage.dwType = USAGE_MATCH_TYPE_AND;
    cp.RequestedUsage.Usage.cUsageIdentifier = 1;
    cp.RequestedUsage.Usage.rgpszUsageIdentifier = usage;
    /* On a worker the chain engine may fetch what it lacks, as Windows
     * intends (a missing intermediate by AIA, a root not yet downloaded by
     * automatic root update), within SCH_URL_TIMEOUT_MS per retrieval.
     * Revocation stays with local data and the staple (see README). */
    cp.dwUrlRetrievalTimeout = r->network ? SCH_URL_TIMEOUT_MS : 0;
    DWORD flags = r->network ? 0 : CERT_CHAIN_CACHE_ONLY_URL_RETRIEVAL;
    if (r->revocation != TLS_REVOCATION_OFF)
        flags |= CERT_CHAIN_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT | CERT_CHAIN_REVOCATION_CHECK_CACHE_ONLY;
    PCCERT_CHAIN_CONTEXT chain = NULL;
    BOOL built = CertGetCertificateChain(NULL, leaf, NULL, extra, &cp, flags, NULL, &chain);
    DWORD why = built ? 0 : GetLastError();
    if (extra)
        CertCloseStore(extra, 0);
    if (built && chain && chain->cChain > 0 && chain->rgpChain[0]->cElement > 0)
        return chain;
    verify_text(why, "the certificate chain could not be built", r->message, sizeof r->message);
    r->code = VERIFY_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
    if (chain)
        CertFreeCertificateChain(chain);
    return NULL;
}

/* Does the chain reach a trusted root, with valid signatures? */
static void check_path(verdict *v, DWORD err, DWORD n)
{
    if (err & CERT_TRUST_IS_PARTIAL_CHAIN)
        judge(v, verify_unknown_issuer((int)n), (DWORD)CERT_E_CHAINING,
              n <= 1 ? "unable to verify the first certificate: its issuer is neither among the certificates "
                       "the server sent nor in the trust store"
                     : "unable to get local issuer certificate: the chain does not reach a trusted root");
    else if (err & CERT_TRUST_IS_UNTRUSTED_ROOT)
        judge(v, n <= 1 ? VERIFY_DEPTH_ZERO_SELF_SIGNED_CERT : VERIFY_SELF_SIGNED_CERT_IN_CHAIN,
              (DWORD)CERT_E_UNTRUSTEDROOT, "the certificate chain ends in a root certificate that is not trusted");
    else if (err & (CERT_TRUST_IS_NOT_SIGNATURE_VALID | CERT_TRUST_IS_CYCLIC))
        judge(v, VERIFY_CERT_SIGNATURE_FAILURE, (DWORD)TRUST_E_CERT_SIGNATURE,
              "a certificate signature could not be verified");
}

/* Is the certificate for the peer's name, by subjectAltName only? */
static void check_name(verdict *v, const struct sch_verify_request *r, PCCERT_CHAIN_CONTEXT chain,
                       PCCERT_CONTEXT leaf, const wchar_t *target)
{
    DWORD name_hr;
    if (r->peer_name_is_ip) {
        name_hr = ip_in_cert(leaf, r->peer_name) ? 0 : (DWORD)CERT_E_CN_NO_MATCH;
    } else {
        /* Only the name: everything else is judged from the chain. */
        DWORD checks = SECURITY_FLAG_IGNORE_UNKNOWN_CA | SECURITY_FLAG_IGNORE_CERT_DATE_INVALID |
                       SECURITY_FLAG_IGNORE_WRONG_USAGE | SECURITY_FLAG_IGNORE_REVOCATION;
        name_hr = ssl_policy(chain, target, checks,
                             CERT_CHAIN_POLICY_IGNORE_ALL_REV_UNKNOWN_FLAGS | CERT_CHAIN_POLICY_ALLOW_UNKNOWN_CA_FLAG |
                                 CERT_CHAIN_POLICY_IGNORE_ALL_NOT_TIME_VALID_FLAGS);
        if (name_hr != (DWORD)CERT_E_CN_NO_MATCH)
            name_hr = 0;
        if (!name_hr && !has_alt_names(leaf))
            name_hr = (DWORD)CERT_E_CN_NO_MATCH;   /* no CN fallback */
    }
    if (name_hr)
        judge(v, r->peer_name_is_ip ? VERIFY_IP_ADDRESS_MISMATCH : VERIFY_HOSTNAME_MISMATCH, name_hr,
              "the certificate is not valid for the requested name");
}

/* Revocation, validity periods, usage, a status that could not be checked
 * (only counted under "require": otherwise masked out of err), and any other
 * chain status. */
static void check_status(verdict *v, DWORD err, PCERT_SIMPLE_CHAIN simple, PCCERT_CONTEXT leaf)
{
    DWORD n = simple->cElement;
    if (err & CERT_TRUST_IS_REVOKED) {
        int stapled = (simple->rgpElement[0]->TrustStatus.dwErrorStatus & CERT_TRUST_IS_REVOKED) && has_staple(leaf);
        judge(v, VERIFY_CERT_REVOKED, (DWORD)CRYPT_E_REVOKED,
              stapled ? "certificate revoked (the server's stapled OCSP response says so)"
                      : "a certificate in the chain has been revoked");
    } else if (err & CERT_TRUST_IS_NOT_TIME_VALID) {
        long code = VERIFY_CERT_HAS_EXPIRED;
        for (DWORD i = 0; i < n; i++)
            if ((simple->rgpElement[i]->TrustStatus.dwErrorStatus & CERT_TRUST_IS_NOT_TIME_VALID) &&
                CertVerifyTimeValidity(NULL, simple->rgpElement[i]->pCertContext->pCertInfo) < 0) {
                code = VERIFY_CERT_NOT_YET_VALID;
                break;
            }
        judge(v, code, (DWORD)CERT_E_EXPIRED,
              code == VERIFY_CERT_HAS_EXPIRED ? "certificate has expired" : "certificate is not yet valid");
    } else if (err & CERT_TRUST_IS_NOT_VALID_FOR_USAGE) {
        judge(v, VERIFY_INVALID_PURPOSE, (DWORD)CERT_E_WRONG_USAGE,
              "the certificate is not valid for server authentication");
    } else if (err & REVOCATION_UNKNOWN) {
        int stapled = has_staple(leaf);
        judge(v, stapled ? VERIFY_OCSP_VERIFY_FAILED : VERIFY_OCSP_NO_RESPONSE,
              (err & CERT_TRUST_IS_OFFLINE_REVOCATION) ? (DWORD)CRYPT_E_REVOCATION_OFFLINE : (DWORD)CRYPT_E_NO_REVOCATION_CHECK,
              stapled ? "the certificate's revocation status is unknown: the server's stapled OCSP response did not "
                        "settle it (revocation \"require\")"
                      : "the certificate's revocation status is unknown: no stapled OCSP response and nothing in the "
                        "local revocation cache (revocation \"require\")");
    } else if (err) {
        judge(v, VERIFY_CERT_REJECTED, (DWORD)TRUST_E_FAIL, "the Windows chain engine rejected the certificate chain");
    }
}

/* The OS's SSL policy has the last word. */
static void check_policy(verdict *v, const struct sch_verify_request *r, PCCERT_CHAIN_CONTEXT chain,
                         const wchar_t *target, int root_is_anchor, DWORD n)
{
    DWORD checks = (root_is_anchor ? SECURITY_FLAG_IGNORE_UNKNOWN_CA : 0) |
                   (r->peer_name_is_ip ? SECURITY_FLAG_IGNORE_CERT_CN_INVALID : 0) |
                   (r->revocation == TLS_REVOCATION_OFF ? SECURITY_FLAG_IGNORE_REVOCATION : 0);
    DWORD pflags = CERT_CHAIN_POLICY_IGNORE_ALL_REV_UNKNOWN_FLAGS |
                   (root_is_anchor ? CERT_CHAIN_POLICY_ALLOW_UNKNOWN_CA_FLAG : 0);
    DWORD policy = ssl_policy(chain, r->peer_name_is_ip ? NULL : target, checks, pflags);
    /* Revocation that could not be checked was judged from the chain status
     * (a failure only under "require", caught there). Not every policy
     * provider honours CERT_CHAIN_POLICY_IGNORE_ALL_REV_UNKNOWN_FLAGS (Wine's does not). */
    if (policy == (DWORD)CERT_E_REVOCATION_FAILURE || policy == (DWORD)CRYPT_E_NO_REVOCATION_CHECK ||
        policy == (DWORD)CRYPT_E_REVOCATION_OFFLINE)
        policy = 0;
    if (policy)
        judge(v, map_policy_error(policy, n), policy, "the Windows SSL policy rejected the certificate chain");
}

/* Builds and checks the chain of r->leaf (with the certificates the server
 * sent, in its store, and the `ca` anchors) for r->peer_name into r->code and
 * r->message. The order follows OpenSSL's: the chain, then the name, then
 * revocation, validity and usage, then the OS policy. Touches no connection:
 * it runs on a worker. */
static void verify_run(struct sch_verify_request *r)
{
    PCCERT_CONTEXT leaf = r->leaf;
    HCERTSTORE ca_store = r->ca_store;
    const wchar_t *target = r->target;
    PCCERT_CHAIN_CONTEXT chain = build_chain(r, leaf, ca_store);
    if (!chain)
        return;
    PCERT_SIMPLE_CHAIN simple = chain->rgpChain[0];
    DWORD n = simple->cElement;
    PCCERT_CONTEXT root = simple->rgpElement[n - 1]->pCertContext;
    int root_is_anchor = ca_store && cert_in_store(ca_store, root);
    DWORD ignore = trust_ignored(r->revocation) | (root_is_anchor ? CERT_TRUST_IS_UNTRUSTED_ROOT : 0);
    DWORD err = chain->TrustStatus.dwErrorStatus & ~ignore;

    verdict v = { VERIFY_OK, 0, "ok" };
    check_path(&v, err, n);
    if (v.code == VERIFY_OK)
        check_name(&v, r, chain, leaf, target);
    if (v.code == VERIFY_OK)
        check_status(&v, err, simple, leaf);
    if (v.code == VERIFY_OK)
        check_policy(&v, r, chain, target, root_is_anchor, n);

    char *msg = r->message;
    size_t cap = sizeof r->message;
    if (v.code == VERIFY_OK) {
        snprintf(msg, cap, "ok");
        /* Kept for tls_info "trust_anchor" (doctor exports it for Node). */
        r->anchor = CertDuplicateCertificateContext(root);
    } else {
        verify_text(v.hr, v.fallback, msg, cap);
        /* Which certificate the chain engine objected to, for diagnosis. */
        for (DWORD i = 0; i < n; i++) {
            DWORD e = simple->rgpElement[i]->TrustStatus.dwErrorStatus & ~ignore;
            if (e) {
                text_append(msg, cap, "; chain element %lu of %lu: trust error 0x%lx",
                            (unsigned long)i, (unsigned long)n, (unsigned long)e);
                break;
            }
        }
    }
    CertFreeCertificateChain(chain);
    r->code = v.code;
}

/* ------------------------------------------------------- on a worker */

struct sch_verify_job {
    volatile LONG refs;               /* the worker + the session */
    struct sch_verify_request r;
};

static void job_unref(sch_verify_job *j)
{
    if (InterlockedDecrement(&j->refs) != 0)
        return;
    CertFreeCertificateContext(j->r.leaf);
    if (j->r.ca_store)
        CertCloseStore(j->r.ca_store, 0);
    free(j->r.target);
    free(j->r.peer_name);
    if (j->r.anchor)
        CertFreeCertificateContext(j->r.anchor);
    free(j);
}

static void job_work(void *arg)
{
    sch_verify_job *j = arg;
    verify_run(&j->r);
    job_unref(j);
}

static wchar_t *wide_dup(const wchar_t *w)
{
    if (!w)
        return NULL;
    size_t n = (wcslen(w) + 1) * sizeof *w;
    wchar_t *d = malloc(n);
    if (d)
        memcpy(d, w, n);
    return d;
}

/* Hands a verified chain's root to the session (tls_info trust_anchor). */
static void take_anchor(struct sch_verify_request *r, PCCERT_CONTEXT *anchor)
{
    if (!r->anchor)
        return;
    if (*anchor)
        CertFreeCertificateContext(*anchor);
    *anchor = r->anchor;
    r->anchor = NULL;
}

int sch_verify_start(tls_conn *c, PCCERT_CONTEXT leaf, HCERTSTORE ca_store, const wchar_t *target,
                     sch_verify_job **job, PCCERT_CONTEXT *anchor)
{
    *job = NULL;
    sch_verify_job *j = calloc(1, sizeof *j);
    if (!j)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory verifying the certificate");
    j->refs = 2;
    j->r.leaf = CertDuplicateCertificateContext(leaf);
    j->r.ca_store = ca_store ? CertDuplicateStore(ca_store) : NULL;
    j->r.target = wide_dup(target);
    j->r.peer_name = strdup(c->peer_name);
    j->r.peer_name_is_ip = c->peer_name_is_ip;
    /* Fetching is worth its wait only when the result decides (rejectUnauthorized). */
    j->r.network = c->opts.verify_peer;
    j->r.revocation = c->opts.revocation;
    j->r.code = VERIFY_CERT_REJECTED;
    snprintf(j->r.message, sizeof j->r.message, "the certificate chain could not be verified");
    int os_error = 0;
    if (!j->r.peer_name || (target && !j->r.target) ||
        !resolve_start_work(job_work, j, &c->engine_job, &os_error)) {
        /* No worker: verify here, from local data only. */
        j->r.network = 0;
        verify_run(&j->r);
        conn_set_verify_result(c, j->r.code, j->r.message);
        take_anchor(&j->r, anchor);
        j->refs = 1;
        job_unref(j);
        c->engine_job = NULL;
        return 1;
    }
    *job = j;
    return 1;
}

int sch_verify_collect(tls_conn *c, sch_verify_job **job, PCCERT_CONTEXT *anchor)
{
    if (!*job)
        return 1;
    struct addrinfo *none = NULL;
    int gai_error, os_error;
    if (!c->engine_job || !resolve_finished(c->engine_job, &none, &gai_error, &os_error))
        return 0;
    resolve_release(c->engine_job);
    c->engine_job = NULL;
    conn_set_verify_result(c, (*job)->r.code, (*job)->r.message);
    take_anchor(&(*job)->r, anchor);
    job_unref(*job);
    *job = NULL;
    return 1;
}

void sch_verify_drop(tls_conn *c, sch_verify_job **job)
{
    if (!*job)
        return;
    resolve_release(c->engine_job);
    c->engine_job = NULL;
    job_unref(*job);
    *job = NULL;
}
