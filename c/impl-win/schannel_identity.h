/*
 * schannel_identity.h — the client certificate for the Schannel engine
 * (schannel_identity.c), handed to AcquireCredentialsHandle in paCred.
 */
#ifndef OSTLS_SCHANNEL_IDENTITY_H
#define OSTLS_SCHANNEL_IDENTITY_H

#include "../common/conn.h"

#include <windows.h>
#include <wincrypt.h>
#ifndef SECURITY_WIN32
#  define SECURITY_WIN32
#endif
#include <security.h>

struct sch_identity {
    PCCERT_CONTEXT cert;    /* the certificate with its private key, or NULL */
    HCERTSTORE store;       /* the in-memory store it lives in (pfx), or NULL */
};

/* Loads the identity c->opts names (pfx + passphrase) and drops it from the
 * options. 1 on success, with id->cert NULL when there is none; 0 after
 * conn_fail (TLS_INVALID_ARGUMENT: a bad PKCS#12, a wrong passphrase, no
 * private key; or PEM cert/key, which this engine does not take yet). The
 * key is imported without persisting it (PKCS12_NO_PERSIST_KEY). */
int sch_identity_load(tls_conn *c, struct sch_identity *id);

/* clientCertificate 'auto', once the server has asked for a certificate
 * (SEC_I_INCOMPLETE_CREDENTIALS): the CAs it named (SECPKG_ATTR_ISSUER_LIST_EX)
 * and the first identity in CurrentUser\\My, then LocalMachine\\My, whose chain
 * reaches one of them (the issuer of a certificate in its chain is named;
 * the identity has its key, is valid now and allows client authentication),
 * into *id. 1 when one was found; 0 when none fits, with why in why[] (the
 * server named no CA, Schannel could not say which, no identity matches). */
int sch_identity_auto(CtxtHandle *ctx, struct sch_identity *id, char *why, size_t cap);
void sch_identity_free(struct sch_identity *id);

#endif
