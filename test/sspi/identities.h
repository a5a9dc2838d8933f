/*
 * identities.h — client identities for the SSPI stand-in's clientCertificate
 * 'auto' tests (identities.c): PKCS#12 files that scripts/test-sspi.sh made,
 * imported with their keys into the Wine prefix's CurrentUser\My store, where
 * the engine's 'auto' search (c/impl-win/schannel_identity.c) looks, through
 * Wine's real crypt32; and taken out again.
 */
#ifndef OSTLS_SSPI_IDENTITIES_H
#define OSTLS_SSPI_IDENTITIES_H

#include <stddef.h>
#include <windows.h>
#include <wincrypt.h>

struct sspi_identity {
    char thumb[41];            /* SHA-1 thumbprint, hex upper case */
    BYTE issuer[512];          /* its issuer's DER name, as a server's CA list names it */
    DWORD issuer_len;
};

/* Imports <dir>\auto\<file> (passphrase "standin") into CurrentUser\My with
 * its key in a persisted user key container. 1, or 0 with why. */
int sspi_identity_add(const char *dir, const char *file, struct sspi_identity *id, char *why, size_t cap);

/* Takes every certificate whose subject begins "standin identity" out of
 * CurrentUser\My (and LocalMachine\My): this run's, and those an
 * interrupted run left. */
void sspi_identity_sweep(void);

/* 1 when CurrentUser\My, opened as the engine opens it, enumerates a before b. */
int sspi_identity_before(const struct sspi_identity *a, const struct sspi_identity *b);

/* The subject DER name of the certificate <dir>\auto\<file> (a CA that
 * issued no stored identity). 1, or 0 when it cannot be read. */
int sspi_ca_name(const char *dir, const char *file, BYTE *der, size_t cap, DWORD *len);

#endif
