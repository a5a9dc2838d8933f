/*
 * standin.c — a scripted SSPI: the Schannel entry points c/impl-win calls,
 * linked into the test build in place of secur32.dll (scripts/test-sspi.sh).
 * It replays the contract Microsoft documents for Schannel clients, and the
 * behaviour reported for Windows 11 / Server 2022 where it goes further:
 *
 * - InitializeSecurityContext takes the whole input in one SECBUFFER_TOKEN,
 *   consumes what it can and returns the rest as SECBUFFER_EXTRA in the second
 *   input buffer; SEC_E_INCOMPLETE_MESSAGE when not one record is complete.
 *   phNewContext "should never be NULL" (Schannel's ISC page): a continuation
 *   call without it fails with SEC_E_INVALID_PARAMETER. A failure caused by
 *   the server hands the alert to send in the SECBUFFER_ALERT output buffer
 *   (allocated, ISC_REQ_ALLOCATE_MEMORY), not in the token.
 * - DecryptMessage handles one record: SEC_E_OK with STREAM_HEADER, DATA,
 *   STREAM_TRAILER and EXTRA (the bytes after the record). A TLS 1.3
 *   post-handshake message (every NewSessionTicket on Windows 11) or a TLS 1.2
 *   HelloRequest is SEC_I_RENEGOTIATE; the buffers are decrypted in place as
 *   for SEC_E_OK, so the one typed DATA holds the handshake message, which is
 *   not application data (Microsoft documents DATA for SEC_E_OK only). The
 *   application calls InitializeSecurityContext next with the EXTRA bytes
 *   (or none). A message split across records leaves ISC answering
 *   SEC_E_INCOMPLETE_MESSAGE until it has been given the rest, and
 *   DecryptMessage refuses to go on meanwhile (SEC_E_OUT_OF_SEQUENCE).
 *   close_notify is SEC_I_CONTEXT_EXPIRED.
 * - SEC_I_INCOMPLETE_CREDENTIALS when the server asks for a certificate and
 *   the credentials hold none: the caller calls again with the same input,
 *   with the same credentials (Schannel then goes on without a certificate)
 *   or with new ones that hold one (sent in place of none). Meanwhile
 *   QueryContextAttributesW(SECPKG_ATTR_ISSUER_LIST_EX) gives the CAs the
 *   server named, as DER names in one block (SecPkgContext_IssuerListInfoEx:
 *   aIssuers freed with FreeContextBuffer; cIssuers 0 for an empty list).
 *
 * The wire format is standin.h's toy, not TLS: no cryptography is checked
 * here, only what the engine does with the statuses and buffers.
 */
#define SECURITY_WIN32
#define SCHANNEL_USE_BLACKLISTS
#include "standin.h"

#include <subauth.h>
#include <sspi.h>
#include <security.h>
#include <schannel.h>
#include <stdio.h>
#include <stdlib.h>

struct standin_stats standin_stats;
static PCCERT_CONTEXT certs[2];

void standin_set_cert(int index, PCCERT_CONTEXT cert)
{
    certs[index] = cert;
}

struct cred {
    int has_cert;
    char thumb[41];    /* the certificate's SHA-1 thumbprint, hex ("" none) */
};

struct sctx {
    int established;   /* a (re)negotiation completed and none is under way */
    int version;       /* 2 or 3 (TLS 1.x), 0 before the ServerHello */
    int cert;          /* index into certs[], -1 before the Certificate */
    int pending;       /* post-handshake op handed out by DecryptMessage, not yet given to ISC */
    int creds_told;    /* SEC_I_INCOMPLETE_CREDENTIALS was returned */
    int shutdown;      /* ApplyControlToken(SCHANNEL_SHUTDOWN) */
    int asked;                 /* the server sent a CertificateRequest ('Q') */
    unsigned char *issuers;    /* ... and the CAs it named (2-byte length + DER each) */
    size_t issuers_len;
};

static SecBuffer *find(PSecBufferDesc d, unsigned long type)
{
    if (!d)
        return NULL;
    for (unsigned long i = 0; i < d->cBuffers; i++)
        if ((d->pBuffers[i].BufferType & ~SECBUFFER_ATTRMASK) == type)
            return &d->pBuffers[i];
    return NULL;
}

static void give(SecBuffer *b, const unsigned char *data, size_t len)
{
    if (!b)
        return;
    b->pvBuffer = malloc(len);
    memcpy(b->pvBuffer, data, len);
    b->cbBuffer = (unsigned long)len;
}

static void give_record(PSecBufferDesc out, int type, const char *body)
{
    unsigned char rec[64];
    give(find(out, SECBUFFER_TOKEN), rec, standin_frame(rec, type, body, strlen(body)));
}

static void set_extra(PSecBufferDesc in, size_t left)
{
    if (!in || in->cBuffers < 2 || left == 0)
        return;
    in->pBuffers[1].BufferType = SECBUFFER_EXTRA;
    in->pBuffers[1].cbBuffer = (unsigned long)left;
    in->pBuffers[1].pvBuffer = NULL;
}

/* ------------------------------------------- client certificate requests */

/* The certificate in the credentials (paCred[0]), as the stand-in's client
 * Certificate message will carry it, and for the driver's checks. */
static void cred_note_cert(struct cred *c, const PCCERT_CONTEXT *certs_in, DWORD n)
{
    BYTE sha1[20];
    DWORD size = sizeof sha1;
    c->has_cert = n > 0;
    if (n == 0 || !certs_in || !certs_in[0] ||
        !CertGetCertificateContextProperty(certs_in[0], CERT_SHA1_HASH_PROP_ID, sha1, &size) || size != 20)
        return;
    for (int i = 0; i < 20; i++)
        snprintf(c->thumb + 2 * i, 3, "%02X", sha1[i]);
    standin_stats.creds_with_cert++;
    memcpy(standin_stats.last_cred_cert, c->thumb, sizeof c->thumb);
}

/* A CertificateRequest: keep the CA list that follows 'Q' (or '!'). */
static void note_request(struct sctx *x, const unsigned char *b, size_t len)
{
    size_t skip = len > 1 && b[1] == '!' ? 2 : 1;
    x->asked = 1;
    free(x->issuers);
    x->issuers_len = len - skip;
    x->issuers = malloc(x->issuers_len + 1);
    memcpy(x->issuers, b + skip, x->issuers_len);
}

/* SECPKG_ATTR_ISSUER_LIST_EX: the names in one allocation (the CERT_NAME_BLOB
 * array, then the DER bytes), so FreeContextBuffer(aIssuers) frees it all. */
static SECURITY_STATUS issuer_list(struct sctx *x, SecPkgContext_IssuerListInfoEx *out)
{
    if (!x->asked)
        return SEC_E_UNSUPPORTED_FUNCTION;
    DWORD count = 0;
    for (size_t off = 0; off + 2 <= x->issuers_len; count++)
        off += 2 + (size_t)((x->issuers[off] << 8) | x->issuers[off + 1]);
    CERT_NAME_BLOB *blobs = malloc(count * sizeof *blobs + x->issuers_len + 1);
    BYTE *data = (BYTE *)(blobs + count);
    memcpy(data, x->issuers, x->issuers_len);
    size_t off = 0;
    for (DWORD i = 0; i < count; i++) {
        blobs[i].cbData = (DWORD)((data[off] << 8) | data[off + 1]);
        blobs[i].pbData = data + off + 2;
        off += 2 + blobs[i].cbData;
    }
    out->aIssuers = count ? blobs : NULL;
    out->cIssuers = count;
    if (!count)
        free(blobs);
    standin_stats.issuer_list_queries++;
    return SEC_E_OK;
}

/* The client's last flight: its Certificate when one was asked for, then Finished. */
static void give_client_finished(PSecBufferDesc out, struct sctx *x, const struct cred *cr)
{
    unsigned char recs[128];
    size_t n = 0;
    if (x->asked) {
        char body[48] = "C";
        strcat(body, cr->thumb);
        n += standin_frame(recs, 22, body, strlen(body));
    }
    n += standin_frame(recs + n, 22, "f", 1);
    give(find(out, SECBUFFER_TOKEN), recs, n);
}

/* ------------------------------------------------------------ credentials */

SECURITY_STATUS SEC_ENTRY AcquireCredentialsHandleW(SEC_WCHAR *principal, SEC_WCHAR *package, unsigned long use,
                                                     void *logon_id, void *auth, SEC_GET_KEY_FN get_key,
                                                     void *get_key_arg, PCredHandle cred, PTimeStamp expiry)
{
    (void)principal, (void)package, (void)use, (void)logon_id, (void)get_key, (void)get_key_arg, (void)expiry;
    struct cred *c = calloc(1, sizeof *c);
    const SCH_CREDENTIALS *sc = auth;
    if (sc && sc->dwVersion == SCH_CREDENTIALS_VERSION)
        cred_note_cert(c, sc->paCred, sc->cCreds);
    else if (sc && sc->dwVersion == SCHANNEL_CRED_VERSION)
        cred_note_cert(c, ((const SCHANNEL_CRED *)auth)->paCred, ((const SCHANNEL_CRED *)auth)->cCreds);
    cred->dwLower = (ULONG_PTR)c;
    cred->dwUpper = 0x5353;
    return SEC_E_OK;
}

SECURITY_STATUS SEC_ENTRY FreeCredentialsHandle(PCredHandle cred)
{
    free((void *)cred->dwLower);
    return SEC_E_OK;
}

SECURITY_STATUS SEC_ENTRY QueryCredentialsAttributesW(PCredHandle cred, unsigned long attr, void *buf)
{
    (void)cred;
    if (attr != SECPKG_ATTR_SUPPORTED_PROTOCOLS)
        return SEC_E_UNSUPPORTED_FUNCTION;
    ((SecPkgCred_SupportedProtocols *)buf)->grbitProtocol = SP_PROT_TLS1_2_CLIENT | 0x00002000;
    return SEC_E_OK;
}

/* ---------------------------------------------------------------- context */

/* Post-handshake input (the EXTRA after SEC_I_RENEGOTIATE, or more records). */
static SECURITY_STATUS post_handshake(struct sctx *x, PSecBufferDesc in, unsigned char *p, size_t n)
{
    if (n == 0) {
        int op = x->pending;
        if (op == 'n')
            return SEC_E_INCOMPLETE_MESSAGE;
        x->pending = 0;
        return SEC_E_OK;   /* 'N' processed; 'H' is answered by the caller */
    }
    if (n < 5 || n < 5 + (size_t)((p[3] << 8) | p[4]))
        return SEC_E_INCOMPLETE_MESSAGE;
    size_t len = (size_t)((p[3] << 8) | p[4]);
    if (p[0] != 23 || len < STANDIN_TRAILER)
        return SEC_E_ILLEGAL_MESSAGE;
    int inner = p[5 + len - STANDIN_TRAILER] ^ STANDIN_KEY;
    int op = len > STANDIN_TRAILER ? p[5] ^ STANDIN_KEY : 0;
    if (x->pending == 'n') {
        if (inner != 22 || op != 'm')
            return SEC_E_ILLEGAL_MESSAGE;   /* the rest of the message must come next */
        x->pending = 0;
        set_extra(in, n - 5 - len);
        return SEC_E_OK;
    }
    if (inner == 21)
        return SEC_I_CONTEXT_EXPIRED;
    x->pending = 0;
    set_extra(in, n);   /* application data is DecryptMessage's: hand it all back */
    return SEC_E_OK;
}

SECURITY_STATUS SEC_ENTRY InitializeSecurityContextW(PCredHandle cred, PCtxtHandle ctx, SEC_WCHAR *target,
                                                      unsigned long req, unsigned long r1, unsigned long rep,
                                                      PSecBufferDesc in, unsigned long r2, PCtxtHandle new_ctx,
                                                      PSecBufferDesc out, unsigned long *attrs, PTimeStamp expiry)
{
    (void)target, (void)r1, (void)rep, (void)r2, (void)expiry;
    standin_stats.isc_calls++;
    if (attrs)
        *attrs = req;
    if (!ctx) {
        struct sctx *x = calloc(1, sizeof *x);
        x->cert = -1;
        new_ctx->dwLower = (ULONG_PTR)x;
        new_ctx->dwUpper = 0x5354;
        give_record(out, 22, "c");
        return SEC_I_CONTINUE_NEEDED;
    }
    if (!new_ctx) {
        standin_stats.null_new_context++;
        return SEC_E_INVALID_PARAMETER;
    }
    struct sctx *x = (struct sctx *)ctx->dwLower;
    struct cred *cr = (struct cred *)cred->dwLower;
    if (x->shutdown == 1) {
        unsigned char rec[64], alert[2] = { 1, 0 };
        x->shutdown = 2;
        give(find(out, SECBUFFER_TOKEN), rec, standin_seal(rec, 21, alert, 2));
        return SEC_E_OK;
    }
    SecBuffer *tok = find(in, SECBUFFER_TOKEN);
    unsigned char *p = tok ? tok->pvBuffer : NULL;
    size_t n = tok ? tok->cbBuffer : 0;
    if (x->established) {
        if (n == 0 && x->pending == 'H') {
            x->pending = 0;
            x->established = 0;
            give_record(out, 22, "c");
            return SEC_I_CONTINUE_NEEDED;
        }
        return post_handshake(x, in, p, n);
    }
    size_t off = 0;
    while (off < n) {
        if (n - off < 5 || n - off < 5 + (size_t)((p[off + 3] << 8) | p[off + 4])) {
            if (off == 0)
                return SEC_E_INCOMPLETE_MESSAGE;
            set_extra(in, n - off);
            return SEC_I_CONTINUE_NEEDED;
        }
        size_t len = (size_t)((p[off + 3] << 8) | p[off + 4]);
        const unsigned char *b = p + off + 5;
        if (p[off] != 22 || len == 0)
            return SEC_E_ILLEGAL_MESSAGE;
        switch (b[0]) {
        case 'S':
            x->cert = len > 1 ? b[1] - '0' : 0;
            x->version = len > 2 ? b[2] - '0' : 3;
            break;
        case 'Q':
            note_request(x, b, len);
            if ((len > 1 && b[1] == '!') || (!cr->has_cert && !x->creds_told)) {
                x->creds_told = 1;
                return SEC_I_INCOMPLETE_CREDENTIALS;   /* the caller calls again with the same input */
            }
            break;
        case 'F':
            x->established = 1;
            give_client_finished(out, x, cr);
            set_extra(in, n - off - 5 - len);
            return SEC_E_OK;
        default: {
            SecBuffer *al = find(out, SECBUFFER_ALERT);
            if (al && (req & ISC_REQ_ALLOCATE_MEMORY)) {
                unsigned char rec[16], alert[2] = { 2, 10 };   /* fatal unexpected_message */
                give(al, rec, standin_frame(rec, 21, alert, 2));
                standin_stats.alerts_made++;
            }
            return SEC_E_ILLEGAL_MESSAGE;
        }
        }
        off += 5 + len;
    }
    return SEC_I_CONTINUE_NEEDED;
}

SECURITY_STATUS SEC_ENTRY DecryptMessage(PCtxtHandle ctx, PSecBufferDesc desc, unsigned long seq,
                                          unsigned long *qop)
{
    (void)seq, (void)qop;
    struct sctx *x = (struct sctx *)ctx->dwLower;
    SecBuffer *data = find(desc, SECBUFFER_DATA);
    if (!data || desc->cBuffers < 4)
        return SEC_E_INVALID_TOKEN;
    if (x->pending == 'n')
        return SEC_E_OUT_OF_SEQUENCE;   /* the rest of a handshake message is InitializeSecurityContext's */
    unsigned char *p = data->pvBuffer;
    size_t n = data->cbBuffer;
    if (n < 5 || n < 5 + (size_t)((p[3] << 8) | p[4])) {
        desc->pBuffers[1].BufferType = SECBUFFER_MISSING;
        desc->pBuffers[1].cbBuffer = n < 5 ? (unsigned long)(5 - n) : (unsigned long)(5 + ((p[3] << 8) | p[4]) - n);
        return SEC_E_INCOMPLETE_MESSAGE;
    }
    size_t len = (size_t)((p[3] << 8) | p[4]);
    if (p[0] != 23 || len < STANDIN_TRAILER || p[5 + len - 1] != 'T')
        return SEC_E_DECRYPT_FAILURE;
    size_t plen = len - STANDIN_TRAILER;
    for (size_t i = 0; i < plen + 1; i++)
        p[5 + i] ^= STANDIN_KEY;
    int inner = p[5 + plen];
    SecBuffer *b = desc->pBuffers;
    b[0].BufferType = SECBUFFER_STREAM_HEADER;
    b[0].pvBuffer = p;
    b[0].cbBuffer = 5;
    b[1].BufferType = SECBUFFER_DATA;
    b[1].pvBuffer = p + 5;
    b[1].cbBuffer = (unsigned long)plen;
    b[2].BufferType = SECBUFFER_STREAM_TRAILER;
    b[2].pvBuffer = p + 5 + plen;
    b[2].cbBuffer = STANDIN_TRAILER;
    b[3].BufferType = n > 5 + len ? SECBUFFER_EXTRA : SECBUFFER_EMPTY;
    b[3].pvBuffer = n > 5 + len ? p + 5 + len : NULL;
    b[3].cbBuffer = (unsigned long)(n - 5 - len);
    if (inner == 23)
        return SEC_E_OK;
    if (inner == 21)
        return SEC_I_CONTEXT_EXPIRED;
    x->pending = plen ? p[5] : 'N';
    return SEC_I_RENEGOTIATE;
}

SECURITY_STATUS SEC_ENTRY EncryptMessage(PCtxtHandle ctx, unsigned long qop, PSecBufferDesc desc, unsigned long seq)
{
    (void)qop, (void)seq;
    struct sctx *x = (struct sctx *)ctx->dwLower;
    if (x->shutdown)
        return SEC_E_CONTEXT_EXPIRED;
    SecBuffer *h = find(desc, SECBUFFER_STREAM_HEADER), *d = find(desc, SECBUFFER_DATA),
              *t = find(desc, SECBUFFER_STREAM_TRAILER);
    if (!h || !d || !t || h->cbBuffer < 5 || t->cbBuffer < STANDIN_TRAILER || d->cbBuffer > 16384)
        return SEC_E_INVALID_TOKEN;
    unsigned char *hp = h->pvBuffer, *dp = d->pvBuffer, *tp = t->pvBuffer;
    size_t body = d->cbBuffer + STANDIN_TRAILER;
    hp[0] = 23;
    hp[1] = hp[2] = 3;
    hp[3] = (unsigned char)(body >> 8);
    hp[4] = (unsigned char)body;
    h->cbBuffer = 5;
    for (unsigned long i = 0; i < d->cbBuffer; i++)
        dp[i] ^= STANDIN_KEY;
    tp[0] = 23 ^ STANDIN_KEY;
    memset(tp + 1, 'T', STANDIN_TAG);
    t->cbBuffer = STANDIN_TRAILER;
    return SEC_E_OK;
}

SECURITY_STATUS SEC_ENTRY ApplyControlToken(PCtxtHandle ctx, PSecBufferDesc desc)
{
    struct sctx *x = (struct sctx *)ctx->dwLower;
    SecBuffer *b = find(desc, SECBUFFER_TOKEN);
    if (!b || b->cbBuffer < sizeof(DWORD) || *(DWORD *)b->pvBuffer != SCHANNEL_SHUTDOWN)
        return SEC_E_UNSUPPORTED_FUNCTION;
    x->shutdown = 1;
    return SEC_E_OK;
}

SECURITY_STATUS SEC_ENTRY QueryContextAttributesW(PCtxtHandle ctx, unsigned long attr, void *buf)
{
    struct sctx *x = (struct sctx *)ctx->dwLower;
    switch (attr) {
    case SECPKG_ATTR_STREAM_SIZES: {
        SecPkgContext_StreamSizes *s = buf;
        memset(s, 0, sizeof *s);
        s->cbHeader = 5;
        s->cbTrailer = STANDIN_TRAILER;
        s->cbMaximumMessage = 16384;
        s->cBuffers = 4;
        s->cbBlockSize = 16;
        return SEC_E_OK;
    }
    case SECPKG_ATTR_REMOTE_CERT_CONTEXT:
        if (x->cert < 0 || x->cert > 1 || !certs[x->cert])
            return SEC_E_NO_CREDENTIALS;
        *(PCCERT_CONTEXT *)buf = CertDuplicateCertificateContext(certs[x->cert]);
        return SEC_E_OK;
    case SECPKG_ATTR_CONNECTION_INFO: {
        if (!x->version)
            return SEC_E_INVALID_HANDLE;
        SecPkgContext_ConnectionInfo *ci = buf;
        memset(ci, 0, sizeof *ci);
        ci->dwProtocol = x->version == 3 ? 0x00002000 : SP_PROT_TLS1_2_CLIENT;
        ci->aiCipher = CALG_AES_128;
        ci->dwCipherStrength = 128;
        ci->aiExch = CALG_ECDH_EPHEM;
        return SEC_E_OK;
    }
    case SECPKG_ATTR_ISSUER_LIST_EX:
        return issuer_list(x, buf);
    default:
        return SEC_E_UNSUPPORTED_FUNCTION;
    }
}

SECURITY_STATUS SEC_ENTRY FreeContextBuffer(void *p)
{
    free(p);
    return SEC_E_OK;
}

SECURITY_STATUS SEC_ENTRY DeleteSecurityContext(PCtxtHandle ctx)
{
    free(((struct sctx *)ctx->dwLower)->issuers);
    free((void *)ctx->dwLower);
    return SEC_E_OK;
}
