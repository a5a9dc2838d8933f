/*
 * options.h — tls_set_option keys parsed and validated once, for every
 * backend. Backends read the parsed struct; they never see option strings.
 */
#ifndef OSTLS_OPTIONS_H
#define OSTLS_OPTIONS_H

#include <stddef.h>

enum tls_version { TLS_VERSION_DEFAULT = 0, TLS_VERSION_1_2 = 0x0303, TLS_VERSION_1_3 = 0x0304 };

struct tls_options {
    char *servername;          /* NULL: use the host */
    char *ca;                  /* extra PEM anchors, or NULL */
    int verify_peer;           /* 1 "full", 0 "none" */
    unsigned char *alpn;       /* ALPN wire format (length-prefixed), or NULL */
    size_t alpn_len;
    int min_version;           /* enum tls_version; TLS 1.2 unless set */
    int max_version;           /* TLS_VERSION_DEFAULT: newest available */
    int nodelay;
    int keepalive_seconds;     /* 0: off */
    char *proxy;               /* HTTP CONNECT proxy URL (proxy.h), or NULL */
    int session_cache;         /* 1 (default): resume and store sessions (session_cache.h) */
    /* The client identity: cert + key (PEM), or pfx (PKCS#12 DER), each with
     * an optional passphrase. Engines read them once, in session_new, and
     * then call options_drop_identity. */
    char *cert;                /* PEM chain, leaf first, or NULL */
    char *key;                 /* PEM private key (PKCS#8, traditional, or encrypted), or NULL */
    char *passphrase;          /* NULL: none given */
    unsigned char *pfx;        /* PKCS#12 DER, or NULL */
    size_t pfx_len;
    int revocation;            /* enum tls_revocation */
    /* Or an identity from the OS certificate store: the store ("CurrentUser\\My"
     * or "LocalMachine\\My" on Windows, "keychain" on macOS) and what names it. */
    char *store;
    char *store_label;         /* the keychain item's label (macOS) */
    char *store_thumbprint;    /* SHA-1 hash, 40 hex digits */
    char *store_subject;       /* text in the subject */
    char *store_issuer;        /* text in the issuer */
    /* Or "auto": when the server asks for a certificate, the first OS store
     * identity whose issuer is among the CAs it names (Windows); never sent
     * unasked. Not a secret: options_drop_identity leaves it. */
    int store_auto;
};

/* "os": what the OS library does by default; "require": a certificate whose
 * status is unknown fails; "off": no revocation checking at all. */
enum tls_revocation { TLS_REVOCATION_OS = 0, TLS_REVOCATION_REQUIRE, TLS_REVOCATION_OFF };

/* Wipes and frees the identity fields (keys and passphrases do not stay in
 * memory for the life of the connection). */
void options_drop_identity(struct tls_options *opts);

/* The identity the options name, checked for shape: NULL when consistent,
 * else TLS_INVALID_ARGUMENT with msg naming the options. Engines call it
 * from session_new. */
const char *options_identity_check(const struct tls_options *opts, char *msg, size_t msgcap);

void options_init(struct tls_options *opts);
void options_free(struct tls_options *opts);

enum option_kind { OPTION_TLS, OPTION_SOCKET };

/* Parse key=value into opts. Returns NULL on success (with *kind set), or a
 * TLS_* code with a message naming the key in msg. setup_started: the
 * connection has been driven, so only socket options may change. */
const char *options_set(struct tls_options *opts, const char *key, const char *value,
                        int setup_started, enum option_kind *kind,
                        char *msg, size_t msgcap);

/* Is text (len bytes, not NUL-terminated necessarily) an IP address or a
 * plausible DNS name: no control characters, spaces or punctuation other
 * than '-', '_' and '.', no empty label but a final one, labels of at most 63
 * and names of at most 253 bytes? Bytes >= 0x80 (UTF-8 names) are left to
 * the resolver. 0 with *why filled otherwise. Used for host and servername. */
int options_host_valid(const char *text, size_t len, char *why, size_t whycap);

#endif
