/*
 * schannel_identity.c — the client certificate from a PKCS#12 file for the
 * Schannel engine: imported into a memory store with its key kept in memory
 * only (PKCS12_NO_PERSIST_KEY), never into the user's key containers.
 */
#include "schannel_identity.h"

#include "../tls_client.h"
#include "schannel_verify.h"

#include <schannel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SECPKG_ATTR_ISSUER_LIST_EX
#  define SECPKG_ATTR_ISSUER_LIST_EX 0x59
#endif

#ifndef PKCS12_NO_PERSIST_KEY
#  define PKCS12_NO_PERSIST_KEY 0x00008000
#endif
#ifndef CERT_NCRYPT_KEY_HANDLE_PROP_ID
#  define CERT_NCRYPT_KEY_HANDLE_PROP_ID 78
#endif

static int has_private_key(PCCERT_CONTEXT cert)
{
    static const DWORD props[] = { CERT_KEY_CONTEXT_PROP_ID, CERT_NCRYPT_KEY_HANDLE_PROP_ID,
                                   CERT_KEY_PROV_INFO_PROP_ID };
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++) {
        DWORD size = 0;
        if (CertGetCertificateContextProperty(cert, props[i], NULL, &size))
            return 1;
    }
    return 0;
}


static wchar_t *to_wide(const char *text)
{
    int n = MultiByteToWideChar(CP_UTF8, 0, text, -1, NULL, 0);
    wchar_t *w = n > 0 ? calloc((size_t)n, sizeof *w) : NULL;
    if (w)
        MultiByteToWideChar(CP_UTF8, 0, text, -1, w, n);
    return w;
}

static int load_pfx(tls_conn *c, struct sch_identity *id)
{
    CRYPT_DATA_BLOB blob;
    blob.pbData = c->opts.pfx;
    blob.cbData = (DWORD)c->opts.pfx_len;
    if (!PFXIsPFXBlob(&blob))
        return conn_fail(c, TLS_INVALID_ARGUMENT, "option pfx could not be used: not a PKCS#12 file");
    wchar_t *pass = to_wide(c->opts.passphrase ? c->opts.passphrase : "");
    if (!pass)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory reading option passphrase");
    id->store = PFXImportCertStore(&blob, pass, PKCS12_NO_PERSIST_KEY);
    DWORD error = id->store ? 0 : GetLastError();
    SecureZeroMemory(pass, wcslen(pass) * sizeof *pass);
    free(pass);
    if (!id->store) {
        char text[200] = "the passphrase is wrong or the file is damaged";
        if (error)   /* Wine's PFXImportCertStore sets none */
            sch_status_text(error, text, sizeof text);
        return conn_fail(c, TLS_INVALID_ARGUMENT, "option pfx could not be used%s: %s",
                         error == ERROR_INVALID_PASSWORD ? " (is the passphrase right?)" : "", text);
    }
    /* The identity is the certificate that has its key; the others are its chain. */
    for (PCCERT_CONTEXT cert = NULL; (cert = CertEnumCertificatesInStore(id->store, cert)) != NULL;)
        if (has_private_key(cert)) {
            id->cert = CertDuplicateCertificateContext(cert);
            CertFreeCertificateContext(cert);
            break;
        }
    if (!id->cert)
        return conn_fail(c, TLS_INVALID_ARGUMENT,
                         "option pfx could not be used: it holds no certificate with its private key");
    return 1;
}

/* Does cert match every criterion given (thumbprint, subject and issuer text)? */
static int store_cert_matches(PCCERT_CONTEXT cert, const struct tls_options *o, const BYTE *hash)
{
    if (o->store_thumbprint) {
        BYTE sha1[20];
        DWORD size = sizeof sha1;
        if (!CertGetCertificateContextProperty(cert, CERT_SHA1_HASH_PROP_ID, sha1, &size) || size != 20 ||
            memcmp(sha1, hash, 20) != 0)
            return 0;
    }
    for (int which = 0; which < 2; which++) {
        const char *want = which ? o->store_issuer : o->store_subject;
        if (!want)
            continue;
        char name[512];
        CertGetNameStringA(cert, CERT_NAME_RDN_TYPE, which ? CERT_NAME_ISSUER_FLAG : 0, NULL, name, sizeof name);
        char simple[256];
        CertGetNameStringA(cert, CERT_NAME_SIMPLE_DISPLAY_TYPE, which ? CERT_NAME_ISSUER_FLAG : 0, NULL, simple,
                           sizeof simple);
        if (!strstr(name, want) && !strstr(simple, want))
            return 0;
    }
    return has_private_key(cert);
}

/* The certificate the options name, from a Windows system store, its key
 * used in place (CAPI or CNG, exportable or not, smart cards included). */
static int load_from_store(tls_conn *c, struct sch_identity *id)
{
    const struct tls_options *o = &c->opts;
    int machine = strncmp(o->store, "LocalMachine\\", 13) == 0;
    wchar_t *name = to_wide(strchr(o->store, '\\') + 1);
    if (!name)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory opening the certificate store");
    id->store = CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0,
                              (machine ? CERT_SYSTEM_STORE_LOCAL_MACHINE : CERT_SYSTEM_STORE_CURRENT_USER) |
                                  CERT_STORE_READONLY_FLAG | CERT_STORE_OPEN_EXISTING_FLAG,
                              name);
    DWORD error = id->store ? 0 : GetLastError();
    free(name);
    if (!id->store) {
        char text[200];
        sch_status_text(error, text, sizeof text);
        return conn_fail(c, TLS_INVALID_ARGUMENT, "option client_cert_store: %s cannot be opened: %s", o->store,
                         text);
    }
    BYTE hash[20];
    for (int i = 0; o->store_thumbprint && i < 40; i++) {   /* 40 hex digits: options.c checked */
        char ch = o->store_thumbprint[i];
        int v = ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10;
        hash[i / 2] = (BYTE)(i % 2 ? (hash[i / 2] << 4) | v : v);
    }
    for (PCCERT_CONTEXT cert = NULL; (cert = CertEnumCertificatesInStore(id->store, cert)) != NULL;)
        if (store_cert_matches(cert, o, hash)) {
            id->cert = CertDuplicateCertificateContext(cert);
            CertFreeCertificateContext(cert);
            break;
        }
    if (!id->cert)
        return conn_fail(c, TLS_INVALID_ARGUMENT,
                         "option client_cert_store: no certificate with its private key in %s matches%s%s%s%s%s%s",
                         o->store, o->store_thumbprint ? " thumbprint " : "",
                         o->store_thumbprint ? o->store_thumbprint : "", o->store_subject ? " subject " : "",
                         o->store_subject ? o->store_subject : "", o->store_issuer ? " issuer " : "",
                         o->store_issuer ? o->store_issuer : "");
    return 1;
}

int sch_identity_load(tls_conn *c, struct sch_identity *id)
{
    char msg[200];
    int ok = 1;
    if (options_identity_check(&c->opts, msg, sizeof msg))
        ok = conn_fail(c, TLS_INVALID_ARGUMENT, "%s", msg);
    else if (c->opts.cert)
        ok = conn_fail(c, TLS_INVALID_ARGUMENT,
                       "options cert and key: the Schannel engine takes a client certificate as pfx "
                       "(PKCS#12) or from the Windows store, not as PEM yet");
    else if (c->opts.pfx)
        ok = load_pfx(c, id);
    else if (c->opts.store && strcmp(c->opts.store, "keychain") == 0)
        ok = conn_fail(c, TLS_INVALID_ARGUMENT, "option client_cert_store: \"keychain\" is macOS's; on Windows "
                                                "name CurrentUser\\My or LocalMachine\\My");
    else if (c->opts.store && c->opts.store_label)
        ok = conn_fail(c, TLS_INVALID_ARGUMENT, "option client_cert_label names a macOS keychain item; on Windows "
                                                "choose by thumbprint, subject or issuer");
    else if (c->opts.store)
        ok = load_from_store(c, id);
    options_drop_identity(&c->opts);
    return ok;
}

/* May this store certificate answer a request: its private key is here
 * (whether the key is usable, the handshake finds out), it is within its
 * validity period (an expired one would only be refused), and its extended
 * key usage, if it has one, allows client authentication. */
static int auto_candidate(PCCERT_CONTEXT cert)
{
    if (!has_private_key(cert) || CertVerifyTimeValidity(NULL, cert->pCertInfo) != 0)
        return 0;
    DWORD size = 0;
    if (!CertGetEnhancedKeyUsage(cert, 0, NULL, &size))
        return 0;
    CERT_ENHKEY_USAGE *eku = malloc(size);
    int ok = eku && CertGetEnhancedKeyUsage(cert, 0, eku, &size);
    if (ok && eku->cUsageIdentifier == 0)   /* documented: CRYPT_E_NOT_FOUND for "any usage", 0 for "none" */
        ok = GetLastError() == (DWORD)CRYPT_E_NOT_FOUND;
    else if (ok) {
        ok = 0;
        for (DWORD i = 0; i < eku->cUsageIdentifier; i++)
            ok |= strcmp(eku->rgpszUsageIdentifier[i], szOID_PKIX_KP_CLIENT_AUTH) == 0;
    }
    free(eku);
    return ok;
}

/* Does cert's chain, built from local data only, pass through a CA the
 * server named: is the issuer of one of its certificates in the list? This
 * is what CertFindChainInStore (CERT_CHAIN_FIND_BY_ISSUER) does on the first
 * simple chain; it is not called because Wine's is a stub that finds
 * nothing, which would leave the choice unprovable there. */
static int chain_reaches(HCERTSTORE store, PCCERT_CONTEXT cert, const SecPkgContext_IssuerListInfoEx *list)
{
    CERT_CHAIN_PARA para;
    memset(&para, 0, sizeof para);
    para.cbSize = sizeof para;
    PCCERT_CHAIN_CONTEXT chain = NULL;
    if (!CertGetCertificateChain(NULL, cert, NULL, store, &para, CERT_CHAIN_CACHE_ONLY_URL_RETRIEVAL, NULL, &chain))
        return 0;
    int found = 0;
    const CERT_SIMPLE_CHAIN *simple = chain->cChain > 0 ? chain->rgpChain[0] : NULL;
    for (DWORD e = 0; simple && e < simple->cElement && !found; e++) {
        CERT_NAME_BLOB *issuer = &simple->rgpElement[e]->pCertContext->pCertInfo->Issuer;
        for (DWORD i = 0; i < list->cIssuers && !found; i++)
            found = CertCompareCertificateName(X509_ASN_ENCODING, issuer, &list->aIssuers[i]);
    }
    CertFreeCertificateChain(chain);
    return found;
}

int sch_identity_auto(CtxtHandle *ctx, struct sch_identity *id, char *why, size_t cap)
{
    SecPkgContext_IssuerListInfoEx list;
    memset(&list, 0, sizeof list);
    SECURITY_STATUS st = QueryContextAttributesW(ctx, SECPKG_ATTR_ISSUER_LIST_EX, &list);
    if (st != SEC_E_OK) {
        char text[160];
        sch_status_text((DWORD)st, text, sizeof text);
        snprintf(why, cap, "Schannel did not say which CAs the server accepts (SECPKG_ATTR_ISSUER_LIST_EX: %s, 0x%08lx)",
                 text[0] ? text : "refused", (unsigned long)st);
        return 0;
    }
    if (list.cIssuers == 0) {
        /* TLS lets the client then send any certificate; browsers ask the
         * user (Chromium auto-selects only by an administrator's policy),
         * so 'auto', with no one to ask, offers only what the server named. */
        snprintf(why, cap, "the server named no CA it accepts, so 'auto' has nothing to choose by");
        if (list.aIssuers)
            FreeContextBuffer(list.aIssuers);
        return 0;
    }
    static const DWORD where[] = { CERT_SYSTEM_STORE_CURRENT_USER, CERT_SYSTEM_STORE_LOCAL_MACHINE };
    for (size_t i = 0; i < TLS_ARRAY_LEN(where) && !id->cert; i++) {
        HCERTSTORE store = CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0,
                                         where[i] | CERT_STORE_READONLY_FLAG | CERT_STORE_OPEN_EXISTING_FLAG, L"My");
        if (!store)
            continue;
        /* The first in the store's order; local data only, as this runs on
         * the thread that drives the handshake. */
        for (PCCERT_CONTEXT cert = NULL; (cert = CertEnumCertificatesInStore(store, cert)) != NULL;)
            if (auto_candidate(cert) && chain_reaches(store, cert, &list)) {
                id->cert = CertDuplicateCertificateContext(cert);
                CertFreeCertificateContext(cert);
                break;
            }
        if (id->cert)
            id->store = store;
        else
            CertCloseStore(store, 0);
    }
    FreeContextBuffer(list.aIssuers);
    if (!id->cert)
        snprintf(why, cap, "no identity in CurrentUser\\My or LocalMachine\\My is issued by a CA the server accepts "
                           "(%lu named)", (unsigned long)list.cIssuers);
    return id->cert != NULL;
}

void sch_identity_free(struct sch_identity *id)
{
    if (id->cert)
        CertFreeCertificateContext(id->cert);
    if (id->store)
        CertCloseStore(id->store, 0);
    id->cert = NULL;
    id->store = NULL;
}
