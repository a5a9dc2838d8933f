/*
 * schannel.c — the Windows engine: SSPI Schannel, one struct tls_engine
 * (c/common/engine.h), schannel_engine, at the end of this file.
 *
 * Schannel never touches the socket: c/common's conn_send / conn_recv move
 * the bytes, this file turns them into TLS records and back with
 * InitializeSecurityContext / EncryptMessage / DecryptMessage.
 *
 * Verification is manual (SCH_CRED_MANUAL_CRED_VALIDATION), by the OS chain
 * engine (schannel_verify.c). It runs as soon as the server's certificate is
 * known, before the client's Finished is sent, so a rejected server never
 * sees a completed handshake; a renegotiation may not change the certificate.
 */
#define SECURITY_WIN32
#define SCHANNEL_USE_BLACKLISTS
#include "../common/engine.h"
#include "../common/pem.h"
#include "../common/records.h"
#include "../common/suites.h"
#include "../common/verify.h"
#include "schannel_identity.h"
#include "schannel_os.h"
#include "schannel_verify.h"
#include "schannel_resume.h"   /* session resumption: a credential shared per session key */

#include <windows.h>
#include <wincrypt.h>
#include <subauth.h>
#include <sspi.h>
#include <security.h>
#include <schannel.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IN_CAP_INITIAL  (32 * 1024)
#define IN_CAP_MAX      (1024 * 1024)
#define HANDSHAKE_RETRIES 8

#ifndef SP_PROT_TLS1_3_CLIENT
#  define SP_PROT_TLS1_3_CLIENT 0x00002000
#endif
#ifndef SEC_E_NO_AUTHENTICATING_AUTHORITY
#  define SEC_E_NO_AUTHENTICATING_AUTHORITY ((HRESULT)0x80090311L)
#endif

struct sch_session {
    CredHandle cred;
    int have_cred;
    CtxtHandle ctx;
    int have_ctx;
    int hs_complete;        /* the current (re)negotiation returned SEC_E_OK */
    int handshake_done;     /* the initial handshake has completed */
    int renegotiating;      /* post-handshake messages / renegotiation in progress */
    int reneg_kick;         /* call InitializeSecurityContext even with no new bytes */
    int verified;           /* chain verification started (vjob) or ran */
    sch_verify_job *vjob;   /* the chain being verified on a worker (schannel_verify.h) */
    int cred_tls13;         /* the credentials allow TLS 1.3 */
    sch_cred *shared;       /* the credential's shared reference (schannel_resume.h), or NULL */
    SecPkgContext_StreamSizes sizes;

    unsigned char *in;      /* raw bytes from the socket not yet consumed */
    size_t in_len, in_cap;
    int need_more;          /* in holds an incomplete record */
    record_track rx;        /* every received byte, against record boundaries */
    int hello_checked;      /* the ServerHello's version was looked at */
    int peer_closed;        /* the server's close_notify came during post-handshake processing */

    unsigned char *out;     /* bytes to hand to the socket */
    size_t out_len, out_off, out_cap;
    size_t out_plain;       /* app bytes in a queued record: reported once, by the next schannel_write */

    unsigned char *plain;   /* decrypted bytes not yet read */
    size_t plain_len, plain_off, plain_cap;

    int shutdown_made;      /* close_notify (or our fallback) is queued */

    PCCERT_CONTEXT peer;    /* the server's certificate, with the store of what it sent */
    PCCERT_CONTEXT anchor;  /* the root its verified chain ended at, or NULL */
    int auto_tried;         /* clientCertificate 'auto' looked for an identity */
    sch_cred *prev_shared;  /* ... and the credentials it replaced, kept to the end */
    CredHandle prev_cred;
    int have_prev_cred;
    char auto_why[200];     /* ... and why it chose none */
    HCERTSTORE ca_store;    /* the ca option's anchors, or NULL */
    struct sch_identity identity;   /* the client certificate, if any (schannel_identity.c) */
    wchar_t *target;        /* SNI / target name, NULL for IP literals */
    unsigned char *alpn;    /* SEC_APPLICATION_PROTOCOLS, or NULL */
    unsigned long alpn_size;
};

static struct sch_session *sess(tls_conn *c)
{
    return c->session;
}

/* ---------------------------------------------------------------- globals */

static char lib_path[MAX_PATH * 3];
static char lib_version[128];
static DWORD win_build;   /* Windows build number (RtlGetVersion), 0 if unknown */
static int under_wine;     /* Wine's Schannel: its quirks are worked around only there */

/* Windows 10 builds before 20348 (Server 2022) have a TLS 1.3 that is off by
 * default and incomplete when switched on in the registry: offer TLS 1.3 from
 * 20348 on only (as curl). */
#define TLS13_FIRST_BUILD 20348

static void module_path(const char *name, char *buf, size_t cap)
{
    HMODULE m = GetModuleHandleA(name);
    wchar_t wide[MAX_PATH];
    buf[0] = '\0';
    if (!m)
        return;
    DWORD n = GetModuleFileNameW(m, wide, MAX_PATH);
    if (n == 0 || n >= MAX_PATH)
        return;
    wide[n] = 0;
    WideCharToMultiByte(CP_UTF8, 0, wide, -1, buf, (int)cap, NULL, NULL);
}

static const char *schannel_global_init(char *msg, size_t msgcap)
{
    /* Prove Schannel is there: acquire (and drop) a client credential. */
    SCHANNEL_CRED sc;
    memset(&sc, 0, sizeof sc);
    sc.dwVersion = SCHANNEL_CRED_VERSION;
    sc.grbitEnabledProtocols = SP_PROT_TLS1_2_CLIENT;
    sc.dwFlags = SCH_CRED_MANUAL_CRED_VALIDATION | SCH_CRED_NO_DEFAULT_CREDS;
    CredHandle cred;
    TimeStamp expiry;
    SECURITY_STATUS st = AcquireCredentialsHandleW(NULL, (SEC_WCHAR *)UNISP_NAME_W, SECPKG_CRED_OUTBOUND,
                                                   NULL, &sc, NULL, NULL, &cred, &expiry);
    if (st != SEC_E_OK) {
        snprintf(msg, msgcap,
                 "the Schannel security package (secur32.dll, \"%s\") could not give TLS 1.2 client "
                 "credentials: SSPI status 0x%08lx",
                 "Microsoft Unified Security Protocol Provider", (unsigned long)st);
        return TLS_LIBRARY_NOT_FOUND;
    }
    FreeCredentialsHandle(&cred);

    module_path("schannel.dll", lib_path, sizeof lib_path);
    if (!lib_path[0])
        module_path("secur32.dll", lib_path, sizeof lib_path);

    struct sch_os os;
    sch_os_probe(&os);
    win_build = os.build;
    under_wine = os.wine;
    if (os.build)
        snprintf(lib_version, sizeof lib_version, "Schannel (Windows %lu.%lu.%lu)", (unsigned long)os.major,
                 (unsigned long)os.minor, (unsigned long)os.build);
    else
        snprintf(lib_version, sizeof lib_version, "Schannel");
    if (os.wine)
        text_append(lib_version, sizeof lib_version, " under Wine");
    return NULL;
}

static int schannel_library_info(const char *key, char *buf, size_t cap, const char **value)
{
    (void)buf;
    (void)cap;
    if (strcmp(key, "backend_version") == 0)
        *value = lib_version;
    else if (strcmp(key, "library_path") == 0)
        *value = lib_path;
    else if (strcmp(key, "library_tried") == 0)
        *value = "secur32.dll (Schannel SSP, linked at build time)";
    else if (strcmp(key, "trust_store") == 0)
        *value = "Windows certificate store (CurrentUser + LocalMachine ROOT, enterprise and group-policy roots)";
    else if (strcmp(key, "install_hint") == 0)
        *value = "*\tSchannel is part of Windows and cannot be installed separately: check that this Windows version is supported (Windows 10 or newer; see README, Backends)";
    else
        return 0;
    return 1;
}

/* ------------------------------------------------------------------ text */

static const struct { DWORD code; const char *name; const char *text; } sspi_names[] = {
    { (DWORD)SEC_E_UNSUPPORTED_FUNCTION, "SEC_E_UNSUPPORTED_FUNCTION", "the function requested is not supported" },
    { (DWORD)SEC_E_ALGORITHM_MISMATCH, "SEC_E_ALGORITHM_MISMATCH", "the client and server cannot communicate, because they do not possess a common algorithm" },
    { (DWORD)SEC_E_INVALID_TOKEN, "SEC_E_INVALID_TOKEN", "the token supplied to the function is invalid" },
    { (DWORD)SEC_E_ILLEGAL_MESSAGE, "SEC_E_ILLEGAL_MESSAGE", "the message received was unexpected or badly formatted" },
    { (DWORD)SEC_E_INTERNAL_ERROR, "SEC_E_INTERNAL_ERROR", "the Local Security Authority cannot be contacted" },
    { (DWORD)SEC_E_DECRYPT_FAILURE, "SEC_E_DECRYPT_FAILURE", "the specified data could not be decrypted" },
    { (DWORD)SEC_E_MESSAGE_ALTERED, "SEC_E_MESSAGE_ALTERED", "the message or signature supplied for verification has been altered" },
    { (DWORD)SEC_E_NO_AUTHENTICATING_AUTHORITY, "SEC_E_NO_AUTHENTICATING_AUTHORITY", "no authority could be contacted for authentication (no enabled protocol)" },
    { (DWORD)SEC_E_INSUFFICIENT_MEMORY, "SEC_E_INSUFFICIENT_MEMORY", "not enough memory" },
    { (DWORD)SEC_E_CONTEXT_EXPIRED, "SEC_E_CONTEXT_EXPIRED", "the context has expired and can no longer be used" },
    { (DWORD)SEC_E_UNKNOWN_CREDENTIALS, "SEC_E_UNKNOWN_CREDENTIALS", "the credentials supplied to the package were not recognized" },
    { (DWORD)SEC_E_NO_CREDENTIALS, "SEC_E_NO_CREDENTIALS", "no credentials are available in the security package" },
    { (DWORD)SEC_E_INVALID_HANDLE, "SEC_E_INVALID_HANDLE", "the handle specified is invalid" },
};

/* "<OS words> (SEC_E_NAME, 0x...)" */
static void sspi_text(SECURITY_STATUS st, char *buf, size_t cap)
{
    const char *name = NULL, *fallback = NULL;
    for (size_t i = 0; i < TLS_ARRAY_LEN(sspi_names); i++)
        if (sspi_names[i].code == (DWORD)st) {
            name = sspi_names[i].name;
            fallback = sspi_names[i].text;
        }
    char os[256];
    sch_status_text((DWORD)st, os, sizeof os);
    snprintf(buf, cap, "%s (%s0x%08lx)", os[0] ? os : fallback ? fallback : "Schannel error",
             name ? name : "", (unsigned long)(DWORD)st);
    if (name) {
        /* "(SEC_E_X0x...)" reads badly: put a comma in. */
        char *p = strstr(buf, name);
        if (p) {
            size_t off = (size_t)(p - buf) + strlen(name);
            char rest[64];
            snprintf(rest, sizeof rest, ", 0x%08lx)", (unsigned long)(DWORD)st);
            buf[off] = '\0';
            text_append(buf, cap, "%s", rest);
        }
    }
}

/* ------------------------------------------------------------- buffers */

static int reserve(unsigned char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 1;
    size_t ncap = *cap ? *cap : 4096;
    while (ncap < need)
        ncap *= 2;
    unsigned char *p = realloc(*buf, ncap);
    if (!p)
        return 0;
    *buf = p;
    *cap = ncap;
    return 1;
}

static int queue_out(tls_conn *c, const void *data, size_t len)
{
    struct sch_session *s = sess(c);
    if (s->out_off > 0 && s->out_off == s->out_len)
        s->out_off = s->out_len = 0;
    if (!reserve(&s->out, &s->out_cap, s->out_len + len))
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory queueing TLS data");
    memcpy(s->out + s->out_len, data, len);
    s->out_len += len;
    return 1;
}

/* STEP_DONE when everything queued has been handed to the socket. */
static step_result flush_out(tls_conn *c, const char *during)
{
    struct sch_session *s = sess(c);
    while (s->out_off < s->out_len) {
        size_t sent = 0;
        net_status st = conn_send(c, s->out + s->out_off, s->out_len - s->out_off, &sent);
        if (st == NET_AGAIN)
            return STEP_WANT_WRITE;
        if (st != NET_OK) {
            conn_fail_socket(c, during);
            return STEP_FAILED;
        }
        s->out_off += sent;
    }
    s->out_off = s->out_len = 0;
    return STEP_DONE;
}

/* Read more raw bytes into s->in. STEP_DONE: got some; STEP_EOF: the peer's
 * TCP stream ended; STEP_WANT_READ; STEP_FAILED after conn_fail_socket. */
static step_result fill_in(tls_conn *c, const char *during)
{
    struct sch_session *s = sess(c);
    if (s->in_len == s->in_cap) {
        if (s->in_cap >= IN_CAP_MAX) {
            conn_fail(c, TLS_PROTOCOL_ERROR, "TLS record from %s is larger than %d bytes", c->peer_name,
                      IN_CAP_MAX);
            return STEP_FAILED;
        }
        if (!reserve(&s->in, &s->in_cap, s->in_cap ? s->in_cap * 2 : IN_CAP_INITIAL)) {
            conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory receiving TLS data");
            return STEP_FAILED;
        }
    }
    size_t got = 0;
    net_status st = conn_recv(c, s->in + s->in_len, s->in_cap - s->in_len, &got);
    if (st == NET_AGAIN)
        return STEP_WANT_READ;
    if (st == NET_EOF)
        return STEP_EOF;
    if (st != NET_OK) {
        conn_fail_socket(c, during);
        return STEP_FAILED;
    }
    /* Schannel answers bytes that are not TLS records with an unspecific
     * error or, worse, waits for the rest of a "record" that never ends:
     * check every header here, before it sees them. */
    if (record_track_feed(&s->rx, s->in + s->in_len, got) != RECORD_OK) {
        record_track_fail(c, &s->rx);
        return STEP_FAILED;
    }
    s->in_len += got;
    s->need_more = 0;
    return STEP_DONE;
}

static void keep_extra(struct sch_session *s, const SecBuffer *extra)
{
    if (extra && extra->BufferType == SECBUFFER_EXTRA && extra->cbBuffer > 0 && extra->cbBuffer <= s->in_len) {
        memmove(s->in, s->in + s->in_len - extra->cbBuffer, extra->cbBuffer);
        s->in_len = extra->cbBuffer;
    } else {
        s->in_len = 0;
    }
}

/* Starts verifying the server's certificate once it is known: 1 when
 * verification has started (now or earlier), 0 when the certificate is not
 * known yet, -1 after conn_fail. */
static int verify_peer(tls_conn *c)
{
    struct sch_session *s = sess(c);
    if (s->verified)
        return 1;
    PCCERT_CONTEXT leaf = NULL;
    if (QueryContextAttributesW(&s->ctx, SECPKG_ATTR_REMOTE_CERT_CONTEXT, &leaf) != SEC_E_OK || !leaf)
        return 0;
    s->verified = 1;
    if (s->peer)
        CertFreeCertificateContext(s->peer);
    s->peer = leaf;
    return sch_verify_start(c, leaf, s->ca_store, s->target, &s->vjob, &s->anchor) ? 1 : -1;
}

/* STEP_DONE once the chain's verdict is in (recorded) and does not reject
 * the server; STEP_WANT_READ while the worker runs (the host waits on
 * c->engine_job); STEP_FAILED for a rejected server, whose Finished is
 * never sent. */
static step_result await_verification(tls_conn *c)
{
    struct sch_session *s = sess(c);
    if (!s->vjob)
        return STEP_DONE;
    if (!sch_verify_collect(c, &s->vjob, &s->anchor))
        return STEP_WANT_READ;
    if (c->opts.verify_peer && c->verify_code != VERIFY_OK) {
        s->out_len = s->out_off = 0;   /* never send our Finished to a rejected server */
        conn_fail_verify(c);
        return STEP_FAILED;
    }
    return STEP_DONE;
}

/* -------------------------------------------------------- credentials */

static SECURITY_STATUS acquire_credentials(tls_conn *c, struct sch_session *s)
{
    int min = c->opts.min_version ? c->opts.min_version : TLS_VERSION_1_2;
    int max = c->opts.max_version ? c->opts.max_version : TLS_VERSION_1_3;
    DWORD enabled = 0;
    if (min <= TLS_VERSION_1_2 && max >= TLS_VERSION_1_2)
        enabled |= SP_PROT_TLS1_2_CLIENT;
    if (max >= TLS_VERSION_1_3 && win_build >= TLS13_FIRST_BUILD)
        enabled |= SP_PROT_TLS1_3_CLIENT;
    if (!enabled)
        return SEC_E_NO_AUTHENTICATING_AUTHORITY;   /* reported as TLS_PROTOCOL_VERSION */
    /* The revocation flags describe the check schannel_verify.c makes (end
     * certificate, local data only, unknown status not fatal); with them
     * Schannel asks the server for its stapled OCSP status and attaches the
     * response to the certificate context it returns (CERT_OCSP_RESPONSE_PROP_ID),
     * where the chain engine finds it. With revocation "off" there are none,
     * so no status is asked for. */
    DWORD flags = SCH_CRED_MANUAL_CRED_VALIDATION | SCH_CRED_NO_DEFAULT_CREDS;
    if (c->opts.revocation != TLS_REVOCATION_OFF)
        flags |= SCH_CRED_REVOCATION_CHECK_END_CERT | SCH_CRED_REVOCATION_CHECK_CACHE_ONLY |
                 SCH_CRED_IGNORE_NO_REVOCATION_CHECK | SCH_CRED_IGNORE_REVOCATION_OFFLINE;
    /* No RC4, no SSL 3, no weak suites whatever the registry says (curl, .NET
     * and schannel-rs set it too). */
    flags |= SCH_USE_STRONG_CRYPTO;
    TimeStamp expiry;
    SECURITY_STATUS st;

    /* Newer Windows: SCH_CREDENTIALS, protocols given as the disabled set. */
    const DWORD all = SP_PROT_SSL2_CLIENT | SP_PROT_SSL3_CLIENT | SP_PROT_TLS1_0_CLIENT | SP_PROT_TLS1_1_CLIENT |
                      SP_PROT_TLS1_2_CLIENT | SP_PROT_TLS1_3_CLIENT;
    /* No finite-field DHE (as browsers): its groups are the server's
     * choice, and weak, composite or small-subgroup ones cannot be refused
     * afterwards. "DH" is CNG's finite-field Diffie-Hellman (BCRYPT_DH_ALGORITHM);
     * ECDH stays. */
    static wchar_t dh_name[] = L"DH";
    CRYPTO_SETTINGS no_dhe;
    memset(&no_dhe, 0, sizeof no_dhe);
    no_dhe.eAlgorithmUsage = TlsParametersCngAlgUsageKeyExchange;
    no_dhe.strCngAlgId.Buffer = dh_name;
    no_dhe.strCngAlgId.Length = (USHORT)(wcslen(dh_name) * sizeof(wchar_t));
    no_dhe.strCngAlgId.MaximumLength = (USHORT)sizeof dh_name;
    TLS_PARAMETERS tp;
    memset(&tp, 0, sizeof tp);
    tp.grbitDisabledProtocols = all & ~enabled;
    tp.cDisabledCrypto = 1;
    tp.pDisabledCrypto = &no_dhe;
    SCH_CREDENTIALS sc;
    memset(&sc, 0, sizeof sc);
    sc.dwVersion = SCH_CREDENTIALS_VERSION;
    sc.dwFlags = flags;
    sc.cTlsParameters = 1;
    sc.pTlsParameters = &tp;
    if (s->identity.cert) {
        sc.cCreds = 1;
        sc.paCred = &s->identity.cert;
    }
    st = AcquireCredentialsHandleW(NULL, (SEC_WCHAR *)UNISP_NAME_W, SECPKG_CRED_OUTBOUND, NULL, &sc, NULL, NULL,
                                   &s->cred, &expiry);
    if (st == SEC_E_OK) {
        s->cred_tls13 = (enabled & SP_PROT_TLS1_3_CLIENT) != 0;
        return st;
    }

    /* Older Windows (and Wine): SCHANNEL_CRED with the enabled set. TLS 1.3
     * through SCHANNEL_CRED is refused by some versions: retry without it. */
    SCHANNEL_CRED old;
    memset(&old, 0, sizeof old);
    old.dwVersion = SCHANNEL_CRED_VERSION;
    old.grbitEnabledProtocols = enabled;
    old.dwFlags = flags;
    /* The same rule for SCHANNEL_CRED, which can only list what is allowed:
     * every algorithm of the suites ostls offers, without CALG_DH_EPHEM. */
    static ALG_ID algs[] = { CALG_ECDH_EPHEM, CALG_ECDH, CALG_RSA_KEYX, CALG_ECDSA, CALG_RSA_SIGN,
                             CALG_AES_128, CALG_AES_256, CALG_SHA1, CALG_SHA_256, CALG_SHA_384 };
    old.cSupportedAlgs = TLS_ARRAY_LEN(algs);
    old.palgSupportedAlgs = algs;
    if (s->identity.cert) {
        old.cCreds = 1;
        old.paCred = &s->identity.cert;
    }
    st = AcquireCredentialsHandleW(NULL, (SEC_WCHAR *)UNISP_NAME_W, SECPKG_CRED_OUTBOUND, NULL, &old, NULL, NULL,
                                   &s->cred, &expiry);
    if (st != SEC_E_OK && (enabled & SP_PROT_TLS1_3_CLIENT) && (enabled & SP_PROT_TLS1_2_CLIENT)) {
        old.grbitEnabledProtocols = SP_PROT_TLS1_2_CLIENT;
        st = AcquireCredentialsHandleW(NULL, (SEC_WCHAR *)UNISP_NAME_W, SECPKG_CRED_OUTBOUND, NULL, &old, NULL,
                                       NULL, &s->cred, &expiry);
        enabled = SP_PROT_TLS1_2_CLIENT;
    }
    s->cred_tls13 = (enabled & SP_PROT_TLS1_3_CLIENT) != 0;
    return st;
}

/* ---------------------------------------------------------- sessions */

static wchar_t *utf8_to_wide(const char *text)
{
    int n = MultiByteToWideChar(CP_UTF8, 0, text, -1, NULL, 0);
    if (n <= 0)
        return NULL;
    wchar_t *w = malloc((size_t)n * sizeof *w);
    if (w)
        MultiByteToWideChar(CP_UTF8, 0, text, -1, w, n);
    return w;
}

static int build_alpn(tls_conn *c, struct sch_session *s)
{
    size_t len = c->opts.alpn_len;
    size_t list_off = offsetof(SEC_APPLICATION_PROTOCOLS, ProtocolLists);
    size_t proto_off = offsetof(SEC_APPLICATION_PROTOCOL_LIST, ProtocolList);
    size_t total = list_off + proto_off + len;
    if (len > 0xffff)
        return conn_fail(c, TLS_INVALID_ARGUMENT, "option alpn is too long");
    s->alpn = calloc(1, total);
    if (!s->alpn)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory building the ALPN list");
    SEC_APPLICATION_PROTOCOLS *protos = (SEC_APPLICATION_PROTOCOLS *)s->alpn;
    protos->ProtocolListsSize = (unsigned long)(proto_off + len);
    SEC_APPLICATION_PROTOCOL_LIST *list = &protos->ProtocolLists[0];
    list->ProtoNegoExt = SecApplicationProtocolNegotiationExt_ALPN;
    list->ProtocolListSize = (unsigned short)len;
    memcpy(list->ProtocolList, c->opts.alpn, len);
    s->alpn_size = (unsigned long)total;
    return 1;
}

static int schannel_session_new(tls_conn *c)
{
    struct sch_session *s = calloc(1, sizeof *s);
    if (!s)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory creating the TLS session");
    c->session = s;
    session_key_prepare(c);
    if (!c->peer_name_is_ip) {
        s->target = utf8_to_wide(c->peer_name);
        if (!s->target)
            return conn_fail(c, TLS_INVALID_ARGUMENT, "%s cannot be used as a server name", c->peer_name);
    }
    if (c->opts.ca && !sch_load_anchors(c, &s->ca_store))
        return 0;
    if (c->opts.alpn && !build_alpn(c, s))
        return 0;
    if (c->opts.min_version >= TLS_VERSION_1_3 && win_build < TLS13_FIRST_BUILD)
        return conn_fail(c, TLS_PROTOCOL_VERSION,
                         "minVersion TLS 1.3 asked for, but Schannel on this system does not offer TLS 1.3 "
                         "(ostls uses it from Windows build %d on; this is build %lu%s)",
                         TLS13_FIRST_BUILD, (unsigned long)win_build,
                         under_wine ? ", and Wine's Schannel implements TLS 1.2 at most" : "");
    if (!sch_identity_load(c, &s->identity))
        return 0;
    SECURITY_STATUS st = sch_cred_lookup(c, &s->cred, &s->cred_tls13, &s->shared) ? SEC_E_OK
                                                                                   : acquire_credentials(c, s);
    if (st != SEC_E_OK) {
        char text[300];
        sspi_text(st, text, sizeof text);
        int min = c->opts.min_version ? c->opts.min_version : TLS_VERSION_1_2;
        if (min >= TLS_VERSION_1_3 || st == SEC_E_NO_AUTHENTICATING_AUTHORITY || st == SEC_E_ALGORITHM_MISMATCH)
            return conn_fail(c, TLS_PROTOCOL_VERSION,
                             "Schannel on this Windows does not offer the TLS versions asked for (%s%s): %s",
                             min >= TLS_VERSION_1_3 ? "TLS 1.3 only" : "TLS 1.2",
                             c->opts.max_version == TLS_VERSION_1_2 ? "" : " or newer", text);
        return conn_fail(c, TLS_INTERNAL_ERROR, "Schannel refused client credentials: %s", text);
    }
    s->have_cred = 1;
    if (!s->shared)
        s->shared = sch_cred_wrap(&s->cred, s->cred_tls13);
    /* What these credentials really allow (Wine, for one, drops TLS 1.3). */
    SecPkgCred_SupportedProtocols sp;
    memset(&sp, 0, sizeof sp);
    if (QueryCredentialsAttributesW(&s->cred, SECPKG_ATTR_SUPPORTED_PROTOCOLS, &sp) == SEC_E_OK &&
        sp.grbitProtocol != 0)
        s->cred_tls13 = (sp.grbitProtocol & SP_PROT_TLS1_3_CLIENT) != 0;
    if (c->opts.min_version == TLS_VERSION_1_3 && !s->cred_tls13)
        return conn_fail(c, TLS_PROTOCOL_VERSION,
                         "minVersion TLS 1.3 asked for, but Schannel on this system does not offer TLS 1.3%s",
                         under_wine ? " (Wine's Schannel implements TLS 1.2 at most)" : "");
    return 1;
}

static void schannel_session_free(tls_conn *c)
{
    struct sch_session *s = c->session;
    sch_verify_drop(c, &s->vjob);
    if (s->have_ctx)
        DeleteSecurityContext(&s->ctx);
    if (s->shared)
        sch_cred_release(s->shared);   /* the handle goes with its last reference */
    else if (s->have_cred)
        FreeCredentialsHandle(&s->cred);
    if (s->prev_shared)
        sch_cred_release(s->prev_shared);
    else if (s->have_prev_cred)
        FreeCredentialsHandle(&s->prev_cred);
    if (s->peer)
        CertFreeCertificateContext(s->peer);
    if (s->anchor)
        CertFreeCertificateContext(s->anchor);
    if (s->ca_store)
        CertCloseStore(s->ca_store, 0);
    sch_identity_free(&s->identity);
    free(s->target);
    free(s->alpn);
    free(s->in);
    free(s->out);
    free(s->plain);
    free(s);
    c->session = NULL;
}

/* ------------------------------------------------------------ handshake */

#define ISC_FLAGS (ISC_REQ_SEQUENCE_DETECT | ISC_REQ_REPLAY_DETECT | ISC_REQ_CONFIDENTIALITY | \
                   ISC_REQ_ALLOCATE_MEMORY | ISC_REQ_STREAM | ISC_REQ_EXTENDED_ERROR | \
                   ISC_REQ_MANUAL_CRED_VALIDATION | ISC_REQ_USE_SUPPLIED_CREDS)

static int fail_handshake_status(tls_conn *c, SECURITY_STATUS st)
{
    struct sch_session *s = sess(c);
    char text[300];
    sspi_text(st, text, sizeof text);
    if (c->sock_error)
        return conn_fail_socket(c, "during the TLS handshake");
    switch (st) {
    case SEC_E_UNSUPPORTED_FUNCTION:
    case SEC_E_NO_AUTHENTICATING_AUTHORITY:
        return conn_fail(c, TLS_PROTOCOL_VERSION,
                         "no TLS version in common with %s (ostls requires TLS 1.2 or newer%s): %s",
                         c->peer_name, s->cred_tls13 ? "" : "; TLS 1.3 is not offered by this Schannel", text);
    case SEC_E_INSUFFICIENT_MEMORY:
        return conn_fail(c, TLS_OUT_OF_MEMORY, "TLS handshake with %s: %s", c->peer_name, text);
    default:
        break;
    }
    /* An alert from the server saying it only speaks older versions. */
    if (s->in_len >= 7 && s->in[0] == 0x15 && s->in[6] == 70)
        return conn_fail(c, TLS_PROTOCOL_VERSION,
                         "no TLS version in common with %s (ostls requires TLS 1.2 or newer): %s",
                         c->peer_name, text);
    if (c->identity_requested && s->auto_why[0])
        return conn_fail(c, TLS_HANDSHAKE_FAILED,
                         "%s requires a client certificate and clientCertificate 'auto' chose none (%s): %s",
                         c->peer_name, s->auto_why, text);
    if (c->identity_requested)
        return conn_fail(c, TLS_HANDSHAKE_FAILED,
                         "%s requires a client certificate and none was given (option pfx): %s",
                         c->peer_name, text);
    return conn_fail(c, TLS_HANDSHAKE_FAILED, "TLS handshake with %s failed: %s", c->peer_name, text);
}

/* Credentials that hold s->identity.cert (chosen by 'auto' mid-handshake)
 * replace those the handshake began with, which stay alive beside them
 * until the session ends (the context was made with them). */
static int renew_credentials(tls_conn *c, struct sch_session *s)
{
    s->prev_shared = s->shared;
    s->prev_cred = s->cred;
    s->have_prev_cred = s->have_cred && !s->shared;
    s->shared = NULL;
    s->have_cred = 0;
    SECURITY_STATUS st = acquire_credentials(c, s);
    if (st != SEC_E_OK) {
        char text[300];
        sspi_text(st, text, sizeof text);
        return conn_fail(c, TLS_INVALID_ARGUMENT,
                         "Schannel refused the client certificate clientCertificate 'auto' chose: %s", text);
    }
    s->have_cred = 1;
    return 1;
}

/* One InitializeSecurityContext call over what is in s->in (nothing for the first). */
static step_result isc_step(tls_conn *c, int first)
{
    struct sch_session *s = sess(c);
    SecBuffer inbufs[2];
    SecBufferDesc indesc = { SECBUFFER_VERSION, 2, inbufs };
    if (first) {
        inbufs[0].BufferType = SECBUFFER_APPLICATION_PROTOCOLS;
        inbufs[0].pvBuffer = s->alpn;
        inbufs[0].cbBuffer = s->alpn_size;
        indesc.cBuffers = 1;
    } else {
        inbufs[0].BufferType = SECBUFFER_TOKEN;
        inbufs[0].pvBuffer = s->in;
        inbufs[0].cbBuffer = (unsigned long)s->in_len;
        inbufs[1].BufferType = SECBUFFER_EMPTY;
        inbufs[1].pvBuffer = NULL;
        inbufs[1].cbBuffer = 0;
    }
    SecBuffer outbufs[2];
    outbufs[0].BufferType = SECBUFFER_TOKEN;
    outbufs[0].pvBuffer = NULL;
    outbufs[0].cbBuffer = 0;
    outbufs[1].BufferType = SECBUFFER_ALERT;
    outbufs[1].pvBuffer = NULL;
    outbufs[1].cbBuffer = 0;
    SecBufferDesc outdesc = { SECBUFFER_VERSION, 2, outbufs };
    ULONG attrs = 0;
    TimeStamp expiry;
    /* phNewContext is &s->ctx on every call: Schannel's documentation says
     * it "should never be NULL", also when it is the same as phContext. */
    SECURITY_STATUS st = InitializeSecurityContextW(
        &s->cred, first ? NULL : &s->ctx, s->target, ISC_FLAGS, 0, 0,
        (first && !s->alpn) ? NULL : &indesc, 0, &s->ctx, &outdesc, &attrs, &expiry);
    if (first && !FAILED(st))
        s->have_ctx = 1;

    int queued = 1;
    if (outbufs[0].pvBuffer) {
        if (outbufs[0].cbBuffer > 0 && (st == SEC_E_OK || st == SEC_I_CONTINUE_NEEDED || FAILED(st)))
            queued = queue_out(c, outbufs[0].pvBuffer, outbufs[0].cbBuffer);
        FreeContextBuffer(outbufs[0].pvBuffer);
    }
    if (outbufs[1].pvBuffer) {
        /* With ISC_REQ_EXTENDED_ERROR a failure's alert comes in the
         * SECBUFFER_ALERT buffer, not in the token: send it too, so the
         * server learns why (flushed, best effort, by the failure path). */
        if (queued && FAILED(st) && outbufs[1].BufferType == SECBUFFER_ALERT && outbufs[1].cbBuffer > 0)
            queued = queue_out(c, outbufs[1].pvBuffer, outbufs[1].cbBuffer);
        FreeContextBuffer(outbufs[1].pvBuffer);
    }
    if (!queued)
        return STEP_FAILED;

    switch (st) {
    case SEC_E_OK:
        if (!first)
            keep_extra(s, &inbufs[1]);
        s->hs_complete = 1;
        return STEP_DONE;
    case SEC_I_CONTINUE_NEEDED:
        if (!first)
            keep_extra(s, &inbufs[1]);
        return STEP_DONE;
    case SEC_E_INCOMPLETE_MESSAGE:
        s->need_more = 1;
        return STEP_DONE;
    case SEC_I_INCOMPLETE_CREDENTIALS:
        /* clientCertificate 'auto': now that the server has asked, the first
         * OS identity it accepts, in fresh credentials (never shared through
         * the session cache: another server may name other CAs); the same
         * input is then given to InitializeSecurityContext again. */
        if (c->opts.store_auto && !s->auto_tried) {
            s->auto_tried = 1;
            if (sch_identity_auto(&s->ctx, &s->identity, s->auto_why, sizeof s->auto_why)) {
                if (!renew_credentials(c, s))
                    return STEP_FAILED;
                return STEP_DONE;
            }
        }
        /* The server asked for a client certificate and the credentials hold
         * none: say so once and call again, when Schannel goes on without
         * one (the server decides). Should it answer the same again, the
         * handshake would only spin to the round guard: fail clearly. */
        if (!c->identity_requested) {
            c->identity_requested = 1;
            return STEP_DONE;
        }
        s->out_len = s->out_off = 0;
        if (s->auto_why[0])
            conn_fail(c, TLS_HANDSHAKE_FAILED, "%s asked for a client certificate and clientCertificate 'auto' "
                      "chose none: %s", c->peer_name, s->auto_why);
        else
            conn_fail(c, TLS_HANDSHAKE_FAILED,
                      "%s asked for a client certificate and none was given (options pfx or clientCertificate)",
                      c->peer_name);
        return STEP_FAILED;
    case SEC_I_CONTEXT_EXPIRED:
        if (s->handshake_done) {
            /* The server's close_notify arrived among post-handshake
             * messages: the end of its stream, cleanly. */
            s->in_len = 0;
            s->hs_complete = 1;
            s->peer_closed = 1;
            return STEP_DONE;
        }
        /* Before the handshake ends it is a failure. */
        /* fall through */
    default:
        if (first)
            s->have_ctx = 0;
        fail_handshake_status(c, st);
        /* Best effort: let the alert Schannel produced reach the server. */
        flush_out(c, "while sending an alert");
        return STEP_FAILED;
    }
}

static int version_of(DWORD proto)
{
    if (proto & SP_PROT_TLS1_3_CLIENT)
        return TLS_VERSION_1_3;
    if (proto & SP_PROT_TLS1_2_CLIENT)
        return TLS_VERSION_1_2;
    return proto ? 0x0301 : -1;   /* older than TLS 1.2; -1: not known yet */
}

/* The negotiated version must lie within min/max even where Schannel does
 * not enforce the credential's protocol set (Wine). */
static step_result check_version(tls_conn *c)
{
    struct sch_session *s = sess(c);
    SecPkgContext_ConnectionInfo info;
    memset(&info, 0, sizeof info);
    if (QueryContextAttributesW(&s->ctx, SECPKG_ATTR_CONNECTION_INFO, &info) != SEC_E_OK)
        return STEP_DONE;
    int v = version_of(info.dwProtocol);
    if (v < 0)
        return STEP_DONE;
    int min = c->opts.min_version ? c->opts.min_version : TLS_VERSION_1_2;
    int max = c->opts.max_version ? c->opts.max_version : TLS_VERSION_1_3;
    if (v >= min && v <= max)
        return STEP_DONE;
    s->out_len = s->out_off = 0;
    conn_fail(c, TLS_PROTOCOL_VERSION,
              "%s negotiated %s, outside the versions allowed (%s to %s)%s", c->peer_name,
              v == TLS_VERSION_1_3 ? "TLS 1.3" : v == TLS_VERSION_1_2 ? "TLS 1.2" : "a version older than TLS 1.2",
              min == TLS_VERSION_1_3 ? "TLS 1.3" : "TLS 1.2", max == TLS_VERSION_1_3 ? "TLS 1.3" : "TLS 1.2",
              min == TLS_VERSION_1_3 && !s->cred_tls13 ? "; this Schannel does not offer TLS 1.3" : "");
    return STEP_FAILED;
}

/* In a renegotiation the server must present the certificate it was
 * verified with. A different one is refused rather than re-verified: the
 * verification result, getPeerCertificate() and whatever the application
 * decided at secureConnect all describe the first one (browsers refuse the
 * change too, since the triple-handshake attacks). Checked whenever Schannel
 * has something to send, so a changed certificate is refused before our
 * Finished leaves. */
static step_result check_same_peer(tls_conn *c)
{
    struct sch_session *s = sess(c);
    PCCERT_CONTEXT leaf = NULL;
    if (QueryContextAttributesW(&s->ctx, SECPKG_ATTR_REMOTE_CERT_CONTEXT, &leaf) != SEC_E_OK || !leaf)
        return STEP_DONE;   /* not known yet: the verified one stands */
    int same = s->peer && leaf->cbCertEncoded == s->peer->cbCertEncoded &&
               memcmp(leaf->pbCertEncoded, s->peer->pbCertEncoded, leaf->cbCertEncoded) == 0;
    CertFreeCertificateContext(leaf);
    if (same)
        return STEP_DONE;
    s->out_len = s->out_off = 0;   /* never finish the renegotiation */
    s->out_plain = 0;
    conn_fail(c, TLS_HANDSHAKE_FAILED,
              "%s presented a different certificate in a TLS renegotiation; ostls refuses a change of "
              "server certificate within a connection", c->peer_name);
    return STEP_FAILED;
}

/* After the server's certificate arrives (and before our Finished leaves). */
static step_result check_peer(tls_conn *c)
{
    struct sch_session *s = sess(c);
    if (s->handshake_done)
        return check_same_peer(c);
    if (s->verified)
        return STEP_DONE;
    int started = verify_peer(c);
    if (started < 0)
        return STEP_FAILED;
    if (!started) {
        if (!s->hs_complete)
            return STEP_DONE;   /* not known yet */
        conn_fail(c, TLS_HANDSHAKE_FAILED, "%s sent no certificate", c->peer_name);
        return STEP_FAILED;
    }
    /* The server's hello has been processed: the version is known. */
    if (check_version(c) != STEP_DONE)
        return STEP_FAILED;
    /* When the verdict decides, nothing more is sent until it is in (see
     * run_handshake); otherwise the handshake goes on meanwhile. */
    return c->opts.verify_peer ? await_verification(c) : STEP_DONE;
}

/* The server's first record, before Schannel sees it: Schannel reports an
 * old-version ServerHello, or a record that cannot start a handshake, as an
 * unspecific failure (or waits for more). */
static step_result check_hello(tls_conn *c)
{
    struct sch_session *s = sess(c);
    if (s->handshake_done || s->in_len < 5) {
        s->hello_checked = s->handshake_done;
        return STEP_DONE;
    }
    if (s->in[0] != 22 && s->in[0] != 21) {
        conn_fail(c, TLS_PROTOCOL_ERROR, "%s broke the TLS protocol: its first record is of type %d, not a handshake",
                  c->peer_name, s->in[0]);
        return STEP_FAILED;
    }
    int v = record_server_hello_version(s->in, s->in_len);
    if (v < 0)
        return STEP_DONE;   /* look again when more has arrived */
    s->hello_checked = 1;
    if (v > 0 && v < 0x0303) {
        conn_fail(c, TLS_PROTOCOL_VERSION,
                  "no TLS version in common with %s: it chose %s (ostls requires TLS 1.2 or newer)", c->peer_name,
                  v == 0x0300 ? "SSLv3" : v == 0x0301 ? "TLS 1.0" : v == 0x0302 ? "TLS 1.1" : "a version before TLS 1.2");
        return STEP_FAILED;
    }
    return STEP_DONE;
}

/* Drives the initial handshake or a renegotiation to completion. */
static step_result run_handshake(tls_conn *c)
{
    struct sch_session *s = sess(c);
    for (int rounds = 0;; rounds++) {
        if (rounds > 10000) {
            conn_fail(c, TLS_INTERNAL_ERROR, "Schannel made no progress in the handshake with %s", c->peer_name);
            return STEP_FAILED;
        }
        step_result st = STEP_DONE;
        if (c->opts.verify_peer && (st = await_verification(c)) != STEP_DONE)
            return st;   /* our Finished waits for the verdict */
        st = flush_out(c, "during the TLS handshake");
        if (st != STEP_DONE)
            return st;
        if (s->hs_complete)
            return STEP_DONE;
        if (!s->have_ctx) {
            st = isc_step(c, 1);
        } else if ((s->in_len == 0 && !s->reneg_kick) || s->need_more) {
            st = fill_in(c, "during the TLS handshake");
            if (st == STEP_EOF) {
                conn_fail_socket(c, "during the TLS handshake");
                return STEP_FAILED;
            }
            if (st != STEP_DONE)
                return st;
            continue;
        } else if (!s->hello_checked && (st = check_hello(c)) != STEP_DONE) {
            return st;
        } else {
            int probing = s->reneg_kick && s->in_len == 0;
            s->reneg_kick = 0;
            st = isc_step(c, 0);
            if (under_wine && st == STEP_DONE && probing && s->need_more && s->out_len == 0) {
                /* A HelloRequest that Wine's InitializeSecurityContext cannot
                 * answer without input: decline the renegotiation, as TLS lets
                 * a client do, and carry on with the session. Only there: on
                 * Windows the same answer means that a post-handshake message
                 * goes on in the next record, which must reach
                 * InitializeSecurityContext (the stand-in's split ticket). */
                s->need_more = 0;
                s->hs_complete = 1;
                return STEP_DONE;
            }
        }
        if (st != STEP_DONE)
            return st;
        if (s->out_len > 0 || s->hs_complete) {
            st = check_peer(c);
            if (st != STEP_DONE)
                return st;
        }
    }
}

static void finish_handshake(tls_conn *c)
{
    struct sch_session *s = sess(c);
    if (QueryContextAttributesW(&s->ctx, SECPKG_ATTR_STREAM_SIZES, &s->sizes) != SEC_E_OK) {
        s->sizes.cbHeader = 5;
        s->sizes.cbTrailer = 2048;
        s->sizes.cbMaximumMessage = 16384;
    }
    if (s->sizes.cbMaximumMessage == 0 || s->sizes.cbMaximumMessage > 16384)
        s->sizes.cbMaximumMessage = 16384;
}

static step_result schannel_handshake(tls_conn *c)
{
    struct sch_session *s = sess(c);
    c->sock_error = 0;
    step_result st = run_handshake(c);
    if (st != STEP_DONE)
        return st;
    st = check_peer(c);
    if (st == STEP_DONE)
        st = check_version(c);
    if (st == STEP_DONE)
        st = await_verification(c);   /* the result is reported with the connection */
    if (st != STEP_DONE)
        return st;
    finish_handshake(c);
    s->handshake_done = 1;
    sch_cred_store(c, s->shared);
    return STEP_DONE;
}

/* ---------------------------------------------------------------- read */

static int keep_plain(tls_conn *c, const void *data, size_t len)
{
    struct sch_session *s = sess(c);
    if (s->plain_off > 0 && s->plain_off == s->plain_len)
        s->plain_off = s->plain_len = 0;
    if (s->plain_off > 0) {
        memmove(s->plain, s->plain + s->plain_off, s->plain_len - s->plain_off);
        s->plain_len -= s->plain_off;
        s->plain_off = 0;
    }
    if (!reserve(&s->plain, &s->plain_cap, s->plain_len + len))
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory holding decrypted data");
    memcpy(s->plain + s->plain_len, data, len);
    s->plain_len += len;
    return 1;
}

/* Decrypt until there is plaintext (STEP_DONE), the peer ended (STEP_EOF),
 * the socket has nothing more (STEP_WANT_*), or a failure. */
static step_result fill_plain(tls_conn *c)
{
    struct sch_session *s = sess(c);
    c->sock_error = 0;
    for (;;) {
        if (s->plain_len > s->plain_off)
            return STEP_DONE;
        if (s->renegotiating) {
            step_result st = run_handshake(c);
            if (st != STEP_DONE)
                return st;
            s->renegotiating = 0;
            continue;
        }
        if (s->peer_closed)
            return STEP_EOF;
        if (s->in_len < 5 || s->need_more) {
            step_result st = fill_in(c, "while receiving");
            if (st == STEP_EOF && record_track_mid(&s->rx)) {
                /* Schannel would just keep asking for the rest: a cut
                 * stream must not pass for a whole one. */
                record_fail_truncated(c);
                return STEP_FAILED;
            }
            if (st == STEP_EOF)
                return STEP_EOF;   /* a FIN between records, without close_notify: a clean end, as in Node */
            if (st != STEP_DONE)
                return st;
            continue;
        }
        SecBuffer bufs[4];
        bufs[0].BufferType = SECBUFFER_DATA;
        bufs[0].pvBuffer = s->in;
        bufs[0].cbBuffer = (unsigned long)s->in_len;
        for (int i = 1; i < 4; i++) {
            bufs[i].BufferType = SECBUFFER_EMPTY;
            bufs[i].pvBuffer = NULL;
            bufs[i].cbBuffer = 0;
        }
        SecBufferDesc desc = { SECBUFFER_VERSION, 4, bufs };
        SECURITY_STATUS st = DecryptMessage(&s->ctx, &desc, 0, NULL);
        if (st == SEC_E_INCOMPLETE_MESSAGE) {
            s->need_more = 1;
            continue;
        }
        if (st == SEC_I_CONTEXT_EXPIRED) {
            s->in_len = 0;
            return STEP_EOF;   /* close_notify */
        }
        if (st != SEC_E_OK && st != SEC_I_RENEGOTIATE) {
            char text[300];
            sspi_text(st, text, sizeof text);
            conn_fail(c, TLS_PROTOCOL_ERROR, "TLS protocol error while receiving from %s: %s", c->peer_name, text);
            return STEP_FAILED;
        }
        /* Application data only for SEC_E_OK, the one status Microsoft
         * documents a DATA buffer for: under SEC_I_RENEGOTIATE (every TLS 1.3
         * NewSessionTicket on Windows 11) the record was decrypted in place
         * and what a DATA buffer holds is a handshake message. */
        SecBuffer *data = NULL, *extra = NULL;
        for (int i = 0; i < 4; i++) {
            if (bufs[i].BufferType == SECBUFFER_DATA && !data && st == SEC_E_OK)
                data = &bufs[i];
            else if (bufs[i].BufferType == SECBUFFER_EXTRA && !extra)
                extra = &bufs[i];
        }
        if (data && data->cbBuffer > 0 && !keep_plain(c, data->pvBuffer, data->cbBuffer))
            return STEP_FAILED;
        keep_extra(s, extra);
        if (st == SEC_I_RENEGOTIATE) {
            /* TLS 1.3 post-handshake messages or a TLS 1.2 renegotiation: the
             * bytes left in s->in go to InitializeSecurityContext. */
            s->renegotiating = 1;
            s->reneg_kick = 1;
            s->hs_complete = 0;
            s->need_more = 0;
        }
    }
}

static step_result schannel_read(tls_conn *c, void *buf, size_t len, size_t *n)
{
    struct sch_session *s = sess(c);
    *n = 0;
    step_result st = fill_plain(c);
    if (st != STEP_DONE)
        return st;
    size_t avail = s->plain_len - s->plain_off;
    size_t take = avail < len ? avail : len;
    memcpy(buf, s->plain + s->plain_off, take);
    s->plain_off += take;
    if (s->plain_off == s->plain_len)
        s->plain_off = s->plain_len = 0;
    *n = take;
    return STEP_DONE;
}

static step_result schannel_peek(tls_conn *c)
{
    return fill_plain(c);
}

static size_t schannel_pending(tls_conn *c)
{
    struct sch_session *s = sess(c);
    return s ? s->plain_len - s->plain_off : 0;
}

static int schannel_has_buffered_input(tls_conn *c)
{
    struct sch_session *s = sess(c);
    if (!s)
        return 0;
    return s->plain_len > s->plain_off || (s->in_len >= 5 && !s->need_more) || s->reneg_kick;
}

/* --------------------------------------------------------------- write */

static step_result schannel_write(tls_conn *c, const void *buf, size_t len, size_t *n)
{
    struct sch_session *s = sess(c);
    *n = 0;
    c->sock_error = 0;
    if (s->out_plain > 0) {
        /* An earlier call encrypted the first out_plain bytes of buf into a
         * record that is still (or was, until a handshake flush) queued.
         * Those bytes are reported once that record is on the wire, whoever
         * flushed it, and never encrypted a second time. */
        step_result st = flush_out(c, "while sending");
        if (st != STEP_DONE)
            return st;
        *n = s->out_plain <= len ? s->out_plain : len;
        s->out_plain = 0;
        return STEP_DONE;
    }
    if (s->renegotiating) {
        /* App data waits until the renegotiation is done; drive it from here
         * too, so a writer that never reads still makes progress. */
        step_result st = run_handshake(c);
        if (st != STEP_DONE)
            return st;
        s->renegotiating = 0;
    }
    if (s->out_off < s->out_len) {
        step_result st = flush_out(c, "while sending");
        if (st != STEP_DONE)
            return st;
    }
    size_t chunk = len < s->sizes.cbMaximumMessage ? len : s->sizes.cbMaximumMessage;
    size_t need = s->sizes.cbHeader + chunk + s->sizes.cbTrailer;
    if (!reserve(&s->out, &s->out_cap, need)) {
        conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory encrypting data");
        return STEP_FAILED;
    }
    unsigned char *rec = s->out;
    memcpy(rec + s->sizes.cbHeader, buf, chunk);
    SecBuffer bufs[4];
    bufs[0].BufferType = SECBUFFER_STREAM_HEADER;
    bufs[0].pvBuffer = rec;
    bufs[0].cbBuffer = s->sizes.cbHeader;
    bufs[1].BufferType = SECBUFFER_DATA;
    bufs[1].pvBuffer = rec + s->sizes.cbHeader;
    bufs[1].cbBuffer = (unsigned long)chunk;
    bufs[2].BufferType = SECBUFFER_STREAM_TRAILER;
    bufs[2].pvBuffer = rec + s->sizes.cbHeader + chunk;
    bufs[2].cbBuffer = s->sizes.cbTrailer;
    bufs[3].BufferType = SECBUFFER_EMPTY;
    bufs[3].pvBuffer = NULL;
    bufs[3].cbBuffer = 0;
    SecBufferDesc desc = { SECBUFFER_VERSION, 4, bufs };
    SECURITY_STATUS st = EncryptMessage(&s->ctx, 0, &desc, 0);
    if (st != SEC_E_OK) {
        char text[300];
        sspi_text(st, text, sizeof text);
        conn_fail(c, st == SEC_E_CONTEXT_EXPIRED ? TLS_CLOSED : TLS_PROTOCOL_ERROR,
                  "TLS protocol error while sending to %s: %s", c->peer_name, text);
        return STEP_FAILED;
    }
    s->out_off = 0;
    s->out_len = bufs[0].cbBuffer + bufs[1].cbBuffer + bufs[2].cbBuffer;
    s->out_plain = chunk;
    step_result fl = flush_out(c, "while sending");
    if (fl != STEP_DONE)
        return fl;   /* retried with the same bytes: out_plain is reported then */
    s->out_plain = 0;
    *n = chunk;
    return STEP_DONE;
}

/* ------------------------------------------------------------ shutdown */

/* Queue close_notify. 0 when Schannel cannot make one (Wine has no
 * ApplyControlToken): the caller then ends with the TCP FIN alone. */
static int make_close_notify(tls_conn *c)
{
    struct sch_session *s = sess(c);
    DWORD type = SCHANNEL_SHUTDOWN;
    SecBuffer tok = { sizeof type, SECBUFFER_TOKEN, &type };
    SecBufferDesc tokdesc = { SECBUFFER_VERSION, 1, &tok };
    if (ApplyControlToken(&s->ctx, &tokdesc) != SEC_E_OK)
        return 0;
    SecBuffer out = { 0, SECBUFFER_TOKEN, NULL };
    SecBufferDesc outdesc = { SECBUFFER_VERSION, 1, &out };
    ULONG attrs = 0;
    TimeStamp expiry;
    SECURITY_STATUS st = InitializeSecurityContextW(&s->cred, &s->ctx, s->target, ISC_FLAGS, 0, 0, NULL, 0,
                                                    &s->ctx, &outdesc, &attrs, &expiry);
    int ok = 0;
    if ((st == SEC_E_OK || st == SEC_I_CONTEXT_EXPIRED || st == SEC_I_CONTINUE_NEEDED) && out.pvBuffer &&
        out.cbBuffer > 0)
        ok = queue_out(c, out.pvBuffer, out.cbBuffer);
    if (out.pvBuffer)
        FreeContextBuffer(out.pvBuffer);
    return ok;
}

static step_result schannel_shutdown(tls_conn *c)
{
    struct sch_session *s = sess(c);
    c->sock_error = 0;
    if (!s->shutdown_made) {
        /* App data still queued goes first. */
        step_result st = flush_out(c, "while shutting down");
        if (st != STEP_DONE)
            return st;
        s->out_plain = 0;
        s->shutdown_made = 1;
        make_close_notify(c);
    }
    return flush_out(c, "while shutting down");
}

static void schannel_close_notify(tls_conn *c)
{
    struct sch_session *s = sess(c);
    if (!s || !s->handshake_done || s->shutdown_made)
        return;
    c->sock_error = 0;
    if (flush_out(c, "while closing") != STEP_DONE)
        return;   /* a record is half sent: adding an alert would garble it */
    s->shutdown_made = 1;
    if (make_close_notify(c))
        flush_out(c, "while closing");
    c->sock_error = 0;
}

/* ----------------------------------------------------------------- info */

static const char *protocol_name(DWORD proto)
{
    if (proto & SP_PROT_TLS1_3_CLIENT)
        return "TLSv1.3";
    if (proto & SP_PROT_TLS1_2_CLIENT)
        return "TLSv1.2";
    if (proto & SP_PROT_TLS1_1_CLIENT)
        return "TLSv1.1";
    if (proto & SP_PROT_TLS1_0_CLIENT)
        return "TLSv1";
    return "";
}

static int iana_like(const char *name)
{
    if (strncmp(name, "TLS_", 4) != 0)
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    return 1;
}

static void cipher_name(struct sch_session *s, strbuf *out)
{
    SecPkgContext_CipherInfo ci;
    memset(&ci, 0, sizeof ci);
    ci.dwVersion = SECPKGCONTEXT_CIPHERINFO_V1;
    if (QueryContextAttributesW(&s->ctx, SECPKG_ATTR_CIPHER_INFO, &ci) == SEC_E_OK) {
        char name[128];
        WideCharToMultiByte(CP_UTF8, 0, ci.szCipherSuite, -1, name, sizeof name, NULL, NULL);
        if (iana_like(name)) {
            strbuf_puts(out, name);
            return;
        }
        const char *iana = suite_name(ci.dwCipherSuite);
        if (iana) {
            strbuf_puts(out, iana);
            return;
        }
    }
    /* Older Schannel (and Wine) only give algorithm ids: compose the IANA
     * name of the AEAD suite they stand for. */
    SecPkgContext_ConnectionInfo info;
    if (QueryContextAttributesW(&s->ctx, SECPKG_ATTR_CONNECTION_INFO, &info) != SEC_E_OK)
        return;
    const char *bulk = info.aiCipher == CALG_AES_256 ? "AES_256_GCM_SHA384"
                     : info.aiCipher == CALG_AES_128 ? "AES_128_GCM_SHA256"
                                                     : "CHACHA20_POLY1305_SHA256";
    if (info.dwProtocol & SP_PROT_TLS1_3_CLIENT) {
        strbuf_printf(out, "TLS_%s", bulk);
        return;
    }
    if (info.aiCipher != CALG_AES_256 && info.aiCipher != CALG_AES_128 && info.aiCipher != 0) {
        strbuf_printf(out, "TLS_ALG_0x%04x", (unsigned)info.aiCipher);
        return;
    }
    const char *kx = (info.aiExch == CALG_RSA_KEYX) ? "RSA" : (info.aiExch == CALG_DH_EPHEM) ? "DHE" : "ECDHE";
    const char *auth = "RSA";
    if (s->peer) {
        const char *oid = s->peer->pCertInfo->SubjectPublicKeyInfo.Algorithm.pszObjId;
        if (oid && strcmp(oid, szOID_ECC_PUBLIC_KEY) == 0)
            auth = "ECDSA";
    }
    if (strcmp(kx, "RSA") == 0)
        strbuf_printf(out, "TLS_RSA_WITH_%s", bulk);
    else
        strbuf_printf(out, "TLS_%s_%s_WITH_%s", kx, auth, bulk);
}

/* The chain as sent: the leaf, then each issuer found among the sent certificates. */
static void peer_chain(struct sch_session *s, strbuf *out)
{
    PCCERT_CONTEXT cur = s->peer;
    pem_append_cert(out, cur->pbCertEncoded, cur->cbCertEncoded);
    HCERTSTORE store = cur->hCertStore;
    if (!store)
        return;
    PCCERT_CONTEXT seen[16];
    int nseen = 0;
    for (int depth = 0; depth < 15; depth++) {
        if (CertCompareCertificateName(X509_ASN_ENCODING, &cur->pCertInfo->Subject, &cur->pCertInfo->Issuer))
            break;   /* self-issued: the end */
        PCCERT_CONTEXT next = NULL, it = NULL;
        while ((it = CertEnumCertificatesInStore(store, it)) != NULL) {
            if (CertCompareCertificateName(X509_ASN_ENCODING, &it->pCertInfo->Subject, &cur->pCertInfo->Issuer) &&
                !CertCompareCertificate(X509_ASN_ENCODING, it->pCertInfo, cur->pCertInfo)) {
                int dup = 0;
                for (int k = 0; k < nseen; k++)
                    dup |= CertCompareCertificate(X509_ASN_ENCODING, it->pCertInfo, seen[k]->pCertInfo);
                if (!dup) {
                    next = CertDuplicateCertificateContext(it);
                    CertFreeCertificateContext(it);
                    break;
                }
            }
        }
        if (!next)
            break;
        pem_append_cert(out, next->pbCertEncoded, next->cbCertEncoded);
        seen[nseen++] = next;
        cur = next;
    }
    for (int k = 0; k < nseen; k++)
        CertFreeCertificateContext(seen[k]);
}

static int schannel_conn_info(tls_conn *c, const char *key, strbuf *out)
{
    struct sch_session *s = sess(c);
    int ready = s->handshake_done && s->have_ctx;
    if (strcmp(key, "protocol") == 0) {
        SecPkgContext_ConnectionInfo info;
        if (ready && QueryContextAttributesW(&s->ctx, SECPKG_ATTR_CONNECTION_INFO, &info) == SEC_E_OK)
            strbuf_puts(out, protocol_name(info.dwProtocol));
    } else if (strcmp(key, "cipher") == 0) {
        if (ready)
            cipher_name(s, out);
    } else if (strcmp(key, "alpn") == 0) {
        SecPkgContext_ApplicationProtocol ap;
        memset(&ap, 0, sizeof ap);
        if (ready && s->alpn &&
            QueryContextAttributesW(&s->ctx, SECPKG_ATTR_APPLICATION_PROTOCOL, &ap) == SEC_E_OK &&
            ap.ProtoNegoStatus == SecApplicationProtocolNegotiationStatus_Success && ap.ProtocolIdSize > 0)
            strbuf_append(out, (const char *)ap.ProtocolId, ap.ProtocolIdSize);
    } else if (strcmp(key, "peer_cert") == 0) {
        if (s->peer)
            pem_append_cert(out, s->peer->pbCertEncoded, s->peer->cbCertEncoded);
    } else if (strcmp(key, "trust_anchor") == 0) {
        if (s->anchor)
            pem_append_cert(out, s->anchor->pbCertEncoded, s->anchor->cbCertEncoded);
    } else if (strcmp(key, "peer_chain") == 0) {
        if (s->peer)
            peer_chain(s, out);
    } else if (strcmp(key, "session_reused") == 0) {
        if (ready)
            strbuf_puts(out, sch_session_reused(&s->ctx) ? "1" : "0");
    } else {
        return 0;
    }
    return 1;
}

/* ----------------------------------------------------------------- table */

const struct tls_engine schannel_engine = {
    .name = "schannel",
    .global_init = schannel_global_init,
    .library_info = schannel_library_info,
    .session_new = schannel_session_new,
    .session_free = schannel_session_free,
    .handshake = schannel_handshake,
    .read = schannel_read,
    .write = schannel_write,
    .peek = schannel_peek,
    .pending = schannel_pending,
    .has_buffered_input = schannel_has_buffered_input,
    .shutdown = schannel_shutdown,
    .close_notify = schannel_close_notify,
    .conn_info = schannel_conn_info,
};
