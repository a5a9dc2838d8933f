/* identities.c — see identities.h. */
#include "identities.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The registry store itself: the system store (CERT_STORE_PROV_SYSTEM_W) is,
 * under Wine, a collection that also holds LocalMachine\My, and deleting
 * through it removes nothing. */
static HCERTSTORE open_my(DWORD location)
{
    return CertOpenStore(CERT_STORE_PROV_SYSTEM_REGISTRY_W, 0, 0, location, L"My");
}

static unsigned char *read_file(const char *dir, const char *file, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s\\auto\\%s", dir, file);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = malloc(16384);
    *len = fread(buf, 1, 16384, f);
    fclose(f);
    return buf;
}

static void thumb_of(PCCERT_CONTEXT cert, char out[41])
{
    BYTE sha1[20];
    DWORD size = sizeof sha1;
    out[0] = '\0';
    if (CertGetCertificateContextProperty(cert, CERT_SHA1_HASH_PROP_ID, sha1, &size) && size == 20)
        for (int i = 0; i < 20; i++)
            snprintf(out + 2 * i, 3, "%02X", sha1[i]);
}

int sspi_identity_add(const char *dir, const char *file, struct sspi_identity *id, char *why, size_t cap)
{
    size_t len = 0;
    unsigned char *der = read_file(dir, file, &len);
    memset(id, 0, sizeof *id);
    if (!der) {
        snprintf(why, cap, "%s cannot be read", file);
        return 0;
    }
    CRYPT_DATA_BLOB blob = { (DWORD)len, der };
    /* Persisted (no PKCS12_NO_PERSIST_KEY): the store keeps a reference to
     * the key container, as for an identity a user or MDM installed. */
    HCERTSTORE temp = PFXImportCertStore(&blob, L"standin", CRYPT_EXPORTABLE | CRYPT_USER_KEYSET);
    free(der);
    HCERTSTORE my = temp ? open_my(CERT_SYSTEM_STORE_CURRENT_USER) : NULL;
    int ok = 0;
    for (PCCERT_CONTEXT cert = NULL; my && (cert = CertEnumCertificatesInStore(temp, cert)) != NULL;) {
        DWORD size = 0;
        if (!CertGetCertificateContextProperty(cert, CERT_KEY_PROV_INFO_PROP_ID, NULL, &size))
            continue;
        ok = CertAddCertificateContextToStore(my, cert, CERT_STORE_ADD_REPLACE_EXISTING, NULL);
        if (ok) {
            thumb_of(cert, id->thumb);
            id->issuer_len = cert->pCertInfo->Issuer.cbData;
            if (id->issuer_len <= sizeof id->issuer)
                memcpy(id->issuer, cert->pCertInfo->Issuer.pbData, id->issuer_len);
            else
                ok = 0;
        }
        CertFreeCertificateContext(cert);
        break;
    }
    if (!ok)
        snprintf(why, cap, "%s could not be imported into CurrentUser\\My (error 0x%08lx)", file,
                 (unsigned long)GetLastError());
    if (my)
        CertCloseStore(my, 0);
    if (temp)
        CertCloseStore(temp, 0);
    return ok;
}

/* The first test identity in store, or NULL. */
static PCCERT_CONTEXT find_standin(HCERTSTORE store)
{
    char name[256];
    for (PCCERT_CONTEXT cert = NULL; (cert = CertEnumCertificatesInStore(store, cert)) != NULL;) {
        CertGetNameStringA(cert, CERT_NAME_SIMPLE_DISPLAY_TYPE, 0, NULL, name, sizeof name);
        if (strncmp(name, "standin identity", 16) == 0) {
            PCCERT_CONTEXT found = CertDuplicateCertificateContext(cert);
            CertFreeCertificateContext(cert);   /* ends the enumeration */
            return found;
        }
    }
    return NULL;
}

void sspi_identity_sweep(void)
{
    /* LocalMachine\My too: Wine's CurrentUser\My includes it. */
    static const DWORD where[] = { CERT_SYSTEM_STORE_CURRENT_USER, CERT_SYSTEM_STORE_LOCAL_MACHINE };
    for (int i = 0; i < 2; i++) {
        HCERTSTORE my = open_my(where[i]);
        /* One at a time, enumerating afresh (deleting mid-enumeration never
         * ends under Wine's registry store); bounded in case a delete fails. */
        PCCERT_CONTEXT cert;
        for (int n = 0; my && n < 64 && (cert = find_standin(my)) != NULL; n++)
            if (!CertDeleteCertificateFromStore(cert))   /* frees cert */
                break;
        if (my)
            CertCloseStore(my, 0);
    }
}

int sspi_identity_before(const struct sspi_identity *a, const struct sspi_identity *b)
{
    HCERTSTORE my = CertOpenStore(CERT_STORE_PROV_SYSTEM_W, 0, 0,
                                  CERT_SYSTEM_STORE_CURRENT_USER | CERT_STORE_READONLY_FLAG, L"My");
    char thumb[41];
    int found = -1;
    for (PCCERT_CONTEXT cert = NULL; my && found < 0 && (cert = CertEnumCertificatesInStore(my, cert)) != NULL;) {
        thumb_of(cert, thumb);
        if (strcmp(thumb, a->thumb) == 0 || strcmp(thumb, b->thumb) == 0) {
            found = strcmp(thumb, a->thumb) == 0;
            CertFreeCertificateContext(cert);
        }
    }
    if (my)
        CertCloseStore(my, 0);
    return found == 1;
}

int sspi_ca_name(const char *dir, const char *file, BYTE *der, size_t cap, DWORD *len)
{
    size_t n = 0;
    unsigned char *buf = read_file(dir, file, &n);
    PCCERT_CONTEXT cert = buf ? CertCreateCertificateContext(X509_ASN_ENCODING, buf, (DWORD)n) : NULL;
    free(buf);
    int ok = cert && cert->pCertInfo->Subject.cbData <= cap;
    if (ok) {
        *len = cert->pCertInfo->Subject.cbData;
        memcpy(der, cert->pCertInfo->Subject.pbData, *len);
    }
    if (cert)
        CertFreeCertificateContext(cert);
    return ok;
}
