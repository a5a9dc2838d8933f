/*
 * standin.h — the SSPI stand-in's wire format, shared by the scripted SSPI
 * (standin.c, linked into the test build of the Schannel engine in place of
 * secur32) and the scripted server of the driver (driver.c).
 *
 * Every byte on the wire is framed as a TLS record (type, 03 03, length), so
 * c/common's record checks pass. The "crypto" is a toy that only has to make
 * ciphertext differ from plaintext and carry an inner content type, as TLS
 * 1.3 does:
 *   handshake records (type 22, clear, during a handshake): body[0] is an op:
 *     'c' ClientHello, 'f' client Finished (sent by the stand-in);
 *     'C' client Certificate, sent before 'f' when the server sent 'Q': 'C'
 *       and the SHA-1 thumbprint (40 hex digits) of the certificate in the
 *       credentials InitializeSecurityContext was given, or 'C' alone (none);
 *     'S' ServerHello+Certificate, body[1] certificate '0'/'1', body[2] '2'/'3' TLS 1.x;
 *     'Q' CertificateRequest ('Q!' : a Schannel that asks again and again);
 *       after 'Q' the CAs the server accepts, each a 2-byte length and a DER
 *       Name (none: an empty list, "any CA");
 *     'F' server Finished; 'Z' malformed (Schannel fails with an alert).
 *   sealed records (type 23): XOR 0x5A over plaintext || inner type, then a
 *     16-byte tag of 'T'. Inner 23 application data, 21 alert (close_notify),
 *     22 a post-handshake message: 'N' NewSessionTicket, 'n' the first half
 *     of one and 'm' its second half, 'H' HelloRequest (TLS 1.2).
 */
#ifndef OSTLS_SSPI_STANDIN_H
#define OSTLS_SSPI_STANDIN_H

#include <stddef.h>
#include <string.h>
#include <windows.h>
#include <wincrypt.h>

#define STANDIN_KEY 0x5A
#define STANDIN_TAG 16
#define STANDIN_TRAILER (1 + STANDIN_TAG)

static inline size_t standin_frame(unsigned char *out, int type, const void *body, size_t len)
{
    out[0] = (unsigned char)type;
    out[1] = 3;
    out[2] = 3;
    out[3] = (unsigned char)(len >> 8);
    out[4] = (unsigned char)len;
    memcpy(out + 5, body, len);
    return 5 + len;
}

/* A sealed record of `len` plaintext bytes into out (len + 5 + 17 bytes). */
static inline size_t standin_seal(unsigned char *out, int inner, const void *data, size_t len)
{
    size_t body = len + STANDIN_TRAILER;
    out[0] = 23;
    out[1] = 3;
    out[2] = 3;
    out[3] = (unsigned char)(body >> 8);
    out[4] = (unsigned char)body;
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        out[5 + i] = p[i] ^ STANDIN_KEY;
    out[5 + len] = (unsigned char)(inner ^ STANDIN_KEY);
    memset(out + 6 + len, 'T', STANDIN_TAG);
    return 5 + body;
}

/* What the scripted SSPI did, for the driver's checks. */
struct standin_stats {
    int isc_calls;
    int null_new_context;   /* continuation calls with phNewContext NULL (documented as never NULL) */
    int alerts_made;        /* SECBUFFER_ALERT buffers handed out */
    /* client certificates (clientCertificate 'auto') */
    int issuer_list_queries;   /* QueryContextAttributesW(SECPKG_ATTR_ISSUER_LIST_EX) answered */
    int creds_with_cert;       /* AcquireCredentialsHandle calls whose paCred held a certificate */
    char last_cred_cert[41];   /* ... the last one's SHA-1 thumbprint, hex */
};
extern struct standin_stats standin_stats;

/* The server certificates the script presents ('0' and '1'). */
void standin_set_cert(int index, PCCERT_CONTEXT cert);

#endif
