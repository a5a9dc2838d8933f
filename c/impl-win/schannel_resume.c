/* schannel_resume.c — see schannel_resume.h. */
#include "schannel_resume.h"

#include "../common/session_cache.h"
#include "../common/verify.h"

#include <schannel.h>
#include <stdlib.h>
#include <string.h>

struct sch_cred {
    CredHandle handle;
    int tls13;
    volatile LONG refs;
};

static void *cred_dup(void *blob)
{
    InterlockedIncrement(&((sch_cred *)blob)->refs);
    return blob;
}

void sch_cred_release(sch_cred *ref)
{
    if (ref && InterlockedDecrement(&ref->refs) == 0) {
        FreeCredentialsHandle(&ref->handle);
        free(ref);
    }
}

static void cred_free(void *blob)
{
    sch_cred_release(blob);
}

static const struct session_blob_ops cred_ops = { cred_dup, cred_free };

int sch_cred_lookup(tls_conn *c, CredHandle *cred, int *tls13, sch_cred **ref)
{
    void *blob;
    long code;
    if (!session_cache_get(c, &cred_ops, &blob, &code, NULL))
        return 0;
    *ref = blob;
    *cred = (*ref)->handle;
    *tls13 = (*ref)->tls13;
    return 1;
}

sch_cred *sch_cred_wrap(const CredHandle *cred, int tls13)
{
    sch_cred *ref = calloc(1, sizeof *ref);
    if (ref) {
        ref->handle = *cred;
        ref->tls13 = tls13;
        ref->refs = 1;
    }
    return ref;
}

void sch_cred_store(tls_conn *c, sch_cred *ref)
{
    if (!ref || (c->opts.verify_peer && c->verify_code != VERIFY_OK))
        return;
    /* Schannel's own cache decides how long its sessions last (10 hours for
     * clients by default); the credential is kept at most SESSION_MAX_AGE. */
    session_cache_put(c, &cred_ops, cred_dup(ref), SESSION_MAX_AGE, c->verify_code, conn_verify_message(c));
}

int sch_session_reused(CtxtHandle *ctx)
{
    SecPkgContext_SessionInfo info;
    memset(&info, 0, sizeof info);
    return QueryContextAttributesW(ctx, SECPKG_ATTR_SESSION_INFO, &info) == SEC_E_OK &&
           (info.dwFlags & SSL_SESSION_RECONNECT) != 0;
}
