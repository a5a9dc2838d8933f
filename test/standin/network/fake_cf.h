/*
 * fake_cf.h — the record behind every stand-in CoreFoundation/Security
 * object (fake.c), shared with the stand-in files that add more of Apple's
 * calls (fake_keychain.c, fake_cfnetwork.c) so they make the same objects.
 */
#ifndef OSTLS_STANDIN_FAKE_CF_H
#define OSTLS_STANDIN_FAKE_CF_H
#include <Security/Security.h>
#include <stdatomic.h>
#include <stdint.h>

struct hdr {
    atomic_int refs;
    void (*destroy)(void *self);
};

enum cf_kind { CF_STRING, CF_ARRAY, CF_DATA, CF_DICT, CF_ERROR, CF_POLICY, CF_CERT, CF_TRUST, CF_URL, CF_RUNLOOP,
               CF_NUMBER, CF_IDENTITY };

struct standin_cf {
    struct hdr h;
    enum cf_kind kind;
    char *str;                  /* string; error description */
    const void **items;         /* array */
    CFIndex n, cap;
    uint8_t *bytes;             /* data; certificate DER */
    CFIndex len;
    long code;                  /* error */
    /* trust */
    CFArrayRef sent;            /* the certificates the server sent */
    SecCertificateRef root;     /* what the "OS" adds when it evaluates */
    int evaluated, ok, status;
};

/* A constant string object (static storage, never freed), as the
 * kSec and kCF string constants are. */
#define STANDIN_CONST_STRING(text) { .h = { .refs = 1 << 30 }, .kind = CF_STRING, .str = (char *)(text) }
#endif
