#define _POSIX_C_SOURCE 200809L
#include "options.h"

#include "../tls_client.h"
#include "compat.h"
#include "pem.h"
#include "proxy.h"
#include "sock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest keep-alive idle time every supported OS accepts (Linux's cap). */
#define KEEPALIVE_MAX_SECONDS 32767

void options_init(struct tls_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->verify_peer = 1;
    opts->min_version = TLS_VERSION_1_2;
    opts->max_version = TLS_VERSION_DEFAULT;
    opts->nodelay = 1;
    opts->session_cache = 1;
}

static void wipe_free(void *p, size_t len)
{
    if (!p)
        return;
    volatile unsigned char *v = p;
    while (len--)
        *v++ = 0;
    free(p);
}

void options_drop_identity(struct tls_options *opts)
{
    if (opts->cert)
        free(opts->cert);
    if (opts->key)
        wipe_free(opts->key, strlen(opts->key));
    if (opts->passphrase)
        wipe_free(opts->passphrase, strlen(opts->passphrase));
    wipe_free(opts->pfx, opts->pfx_len);
    free(opts->store);
    free(opts->store_thumbprint);
    free(opts->store_subject);
    free(opts->store_issuer);
    free(opts->store_label);
    opts->store = opts->store_thumbprint = opts->store_subject = opts->store_issuer = opts->store_label = NULL;
    opts->cert = opts->key = opts->passphrase = NULL;
    opts->pfx = NULL;
    opts->pfx_len = 0;
}

const char *options_identity_check(const struct tls_options *o, char *msg, size_t cap)
{
    int named = o->store_thumbprint || o->store_subject || o->store_issuer || o->store_label;
    if (o->store_auto && (o->store || o->pfx || o->cert || o->key)) {
        snprintf(msg, cap, "option client_cert_auto and options pfx, cert/key or client_cert_store name two client "
                           "identities: give one");
        return TLS_INVALID_ARGUMENT;
    }
    if (o->store && (o->pfx || o->cert || o->key)) {
        snprintf(msg, cap, "option client_cert_store and options pfx or cert/key name two client identities: give one");
        return TLS_INVALID_ARGUMENT;
    }
    if (!o->store != !named) {
        snprintf(msg, cap, o->store ? "option client_cert_store needs client_cert_thumbprint, _subject, _issuer "
                                      "or _label to name the certificate"
                                    : "options client_cert_thumbprint, _subject, _issuer and _label need "
                                      "client_cert_store");
        return TLS_INVALID_ARGUMENT;
    }
    if (o->pfx && (o->cert || o->key)) {
        snprintf(msg, cap, "options pfx and cert/key name two client identities: give one");
        return TLS_INVALID_ARGUMENT;
    }
    if (!o->pfx && (!o->cert != !o->key)) {
        snprintf(msg, cap, "option %s needs option %s too (a client certificate and its private key)",
                 o->cert ? "cert" : "key", o->cert ? "key" : "cert");
        return TLS_INVALID_ARGUMENT;
    }
    return NULL;
}

void options_free(struct tls_options *opts)
{
    options_drop_identity(opts);
    free(opts->servername);
    free(opts->ca);
    free(opts->alpn);
    free(opts->proxy);
    memset(opts, 0, sizeof *opts);
}

static const char *bad_value(char *msg, size_t cap, const char *key, const char *value,
                             const char *expected)
{
    snprintf(msg, cap, "invalid value \"%.100s\" for option %s: %s", value, key, expected);
    return TLS_INVALID_ARGUMENT;
}

static int parse_version(const char *value)
{
    if (strcmp(value, "TLSv1.2") == 0)
        return TLS_VERSION_1_2;
    if (strcmp(value, "TLSv1.3") == 0)
        return TLS_VERSION_1_3;
    return -1;
}

/* "h2,http/1.1" → "\x02h2\x08http/1.1" */
static const char *parse_alpn(const char *value, unsigned char **wire, size_t *wire_len,
                              char *msg, size_t cap)
{
    size_t len = strlen(value);
    unsigned char *out = malloc(len + 1);
    if (!out) {
        snprintf(msg, cap, "out of memory parsing option alpn");
        return TLS_OUT_OF_MEMORY;
    }
    size_t used = 0;
    const char *p = value;
    for (;;) {
        size_t n = strcspn(p, ",");
        if (n == 0 || n > 255) {
            free(out);
            return bad_value(msg, cap, "alpn", value,
                             n == 0 ? "protocol names must not be empty"
                                    : "a protocol name is longer than 255 bytes");
        }
        out[used++] = (unsigned char)n;
        memcpy(out + used, p, n);
        used += n;
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
    *wire = out;
    *wire_len = used;
    return NULL;
}

static const char *replace_string(char **slot, const char *value, char *msg, size_t cap,
                                  const char *key)
{
    char *copy = strdup(value);
    if (!copy) {
        snprintf(msg, cap, "out of memory storing option %s", key);
        return TLS_OUT_OF_MEMORY;
    }
    free(*slot);
    *slot = copy;
    return NULL;
}

int options_host_valid(const char *text, size_t len, char *why, size_t whycap)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch < 0x21 || ch == 0x7f) {
            snprintf(why, whycap, "byte %zu is a control character or space (0x%02x)", i, ch);
            return 0;
        }
    }
    char literal[80];
    if (len < sizeof literal) {
        memcpy(literal, text, len);
        literal[len] = '\0';
        if (text_is_ip_address(literal))
            return 1;
    }
    size_t name_len = len && text[len - 1] == '.' ? len - 1 : len;
    if (name_len == 0 || name_len > 253) {
        snprintf(why, whycap, "a name must have 1 to 253 bytes, not %zu", name_len);
        return 0;
    }
    size_t label = 0;
    for (size_t i = 0; i <= name_len; i++) {
        unsigned char ch = i < name_len ? (unsigned char)text[i] : '.';
        if (ch == '.') {
            if (label == 0 || label > 63) {
                snprintf(why, whycap, "a label (between dots) must have 1 to 63 bytes, not %zu", label);
                return 0;
            }
            label = 0;
            continue;
        }
        label++;
        if (!(ch >= 0x80 || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '-' || ch == '_')) {
            snprintf(why, whycap, "'%c' (byte %zu) cannot appear in a host name", ch, i);
            return 0;
        }
    }
    return 1;
}

static const char *set_tls_option(struct tls_options *o, const char *key, const char *value,
                                  char *msg, size_t cap)
{
    if (strcmp(key, "servername") == 0) {
        char why[128];
        if (!*value)
            return bad_value(msg, cap, key, value, "must not be empty");
        if (strlen(value) > 255)
            return bad_value(msg, cap, key, "<long text>", "longer than 255 bytes");
        if (!options_host_valid(value, strlen(value), why, sizeof why)) {
            snprintf(msg, cap, "invalid value for option servername: %s", why);
            return TLS_INVALID_ARGUMENT;
        }
        return replace_string(&o->servername, value, msg, cap, key);
    }
    if (strcmp(key, "ca") == 0) {
        /* Only the shape is checked here; the backend parses the certificates
         * when the handshake starts and reports bad ones against this key. */
        if (!strstr(value, "-----BEGIN CERTIFICATE-----"))
            return bad_value(msg, cap, key, "<PEM text>",
                             "expected one or more PEM certificates (-----BEGIN CERTIFICATE-----)");
        return replace_string(&o->ca, value, msg, cap, key);
    }
    if (strcmp(key, "cert") == 0) {
        if (!strstr(value, "-----BEGIN CERTIFICATE-----"))
            return bad_value(msg, cap, key, "<PEM text>",
                             "expected the client certificate chain as PEM (-----BEGIN CERTIFICATE-----)");
        return replace_string(&o->cert, value, msg, cap, key);
    }
    if (strcmp(key, "key") == 0) {
        if (!strstr(value, "-----BEGIN ") || !strstr(value, "PRIVATE KEY-----"))
            return bad_value(msg, cap, key, "<PEM text>",
                             "expected a PEM private key (-----BEGIN ... PRIVATE KEY-----)");
        if (o->key)
            wipe_free(o->key, strlen(o->key));
        o->key = NULL;
        return replace_string(&o->key, value, msg, cap, key);
    }
    if (strcmp(key, "passphrase") == 0) {
        if (o->passphrase)
            wipe_free(o->passphrase, strlen(o->passphrase));
        o->passphrase = NULL;
        return replace_string(&o->passphrase, value, msg, cap, key);
    }
    if (strcmp(key, "pfx") == 0) {
        /* PKCS#12 is binary; it crosses this string interface as base64. */
        size_t len = strlen(value);
        unsigned char *der = malloc(len / 4 * 3 + 3);
        if (!der) {
            snprintf(msg, cap, "out of memory storing option pfx");
            return TLS_OUT_OF_MEMORY;
        }
        long n = pem_base64_decode(value, value + len, der);
        if (n <= 0) {
            free(der);
            return bad_value(msg, cap, key, "<base64 text>", "expected a PKCS#12 file as base64");
        }
        wipe_free(o->pfx, o->pfx_len);
        o->pfx = der;
        o->pfx_len = (size_t)n;
        return NULL;
    }
    if (strcmp(key, "client_cert_store") == 0) {
        const char *name = strchr(value, '\\');
        if (strcmp(value, "keychain") != 0 &&
            (!name || !name[1] || (strncmp(value, "CurrentUser\\", 12) != 0 && strncmp(value, "LocalMachine\\", 13) != 0)))
            return bad_value(msg, cap, key, value, "expected \"CurrentUser\\<store>\" or \"LocalMachine\\<store>\", e.g. CurrentUser\\My (Windows), or \"keychain\" (macOS)");
        return replace_string(&o->store, value, msg, cap, key);
    }
    if (strcmp(key, "client_cert_thumbprint") == 0) {
        size_t n = 0;
        while ((value[n] >= '0' && value[n] <= '9') || ((value[n] | 0x20) >= 'a' && (value[n] | 0x20) <= 'f'))
            n++;
        if (n != 40 || value[n])
            return bad_value(msg, cap, key, value, "expected a SHA-1 thumbprint: 40 hex digits");
        return replace_string(&o->store_thumbprint, value, msg, cap, key);
    }
    if (strcmp(key, "client_cert_auto") == 0) {
        if (strcmp(value, "1") != 0 && strcmp(value, "0") != 0)
            return bad_value(msg, cap, key, value, "expected \"1\" or \"0\"");
        o->store_auto = value[0] == '1';
        return NULL;
    }
    if (strcmp(key, "client_cert_label") == 0) {
        if (!*value)
            return bad_value(msg, cap, key, value, "must not be empty");
        return replace_string(&o->store_label, value, msg, cap, key);
    }
    if (strcmp(key, "client_cert_subject") == 0 || strcmp(key, "client_cert_issuer") == 0) {
        if (!*value)
            return bad_value(msg, cap, key, value, "must not be empty");
        return replace_string(key[12] == 's' ? &o->store_subject : &o->store_issuer, value, msg, cap, key);
    }
    if (strcmp(key, "revocation") == 0) {
        if (strcmp(value, "os") == 0)
            o->revocation = TLS_REVOCATION_OS;
        else if (strcmp(value, "require") == 0)
            o->revocation = TLS_REVOCATION_REQUIRE;
        else if (strcmp(value, "off") == 0)
            o->revocation = TLS_REVOCATION_OFF;
        else
            return bad_value(msg, cap, key, value, "expected \"os\", \"require\" or \"off\"");
        return NULL;
    }
    if (strcmp(key, "verify") == 0) {
        if (strcmp(value, "full") == 0)
            o->verify_peer = 1;
        else if (strcmp(value, "none") == 0)
            o->verify_peer = 0;
        else
            return bad_value(msg, cap, key, value, "expected \"full\" or \"none\"");
        return NULL;
    }
    if (strcmp(key, "alpn") == 0) {
        unsigned char *wire;
        size_t wire_len;
        const char *code = parse_alpn(value, &wire, &wire_len, msg, cap);
        if (code)
            return code;
        free(o->alpn);
        o->alpn = wire;
        o->alpn_len = wire_len;
        return NULL;
    }
    if (strcmp(key, "min_version") == 0 || strcmp(key, "max_version") == 0) {
        int is_min = key[1] == 'i';
        int v = parse_version(value);
        if (v < 0)
            return bad_value(msg, cap, key, value, "expected \"TLSv1.2\" or \"TLSv1.3\"");
        int lo = is_min ? v : o->min_version;
        int hi = is_min ? o->max_version : v;
        if (hi != TLS_VERSION_DEFAULT && lo > hi)
            return bad_value(msg, cap, key, value,
                             "min_version would be newer than max_version");
        *(is_min ? &o->min_version : &o->max_version) = v;
        return NULL;
    }
    if (strcmp(key, "proxy") == 0) {
        char why[200];
        if (!proxy_url_valid(value, why, sizeof why)) {
            /* The URL may hold a password: name the problem, not the value. */
            snprintf(msg, cap, "invalid value for option proxy: %s", why);
            return TLS_INVALID_ARGUMENT;
        }
        return replace_string(&o->proxy, value, msg, cap, key);
    }
    if (strcmp(key, "session_cache") == 0) {
        if (strcmp(value, "1") != 0 && strcmp(value, "0") != 0)
            return bad_value(msg, cap, key, value, "expected \"1\" or \"0\"");
        o->session_cache = value[0] == '1';
        return NULL;
    }
    snprintf(msg, cap, "unknown option \"%.100s\"", key);
    return TLS_INVALID_ARGUMENT;
}

static int parse_int(const char *value, long lo, long hi, int *out)
{
    if (!*value)
        return 0;
    char *end;
    long v = strtol(value, &end, 10);
    if (*end || v < lo || v > hi)
        return 0;
    *out = (int)v;
    return 1;
}

const char *options_set(struct tls_options *opts, const char *key, const char *value,
                        int setup_started, enum option_kind *kind,
                        char *msg, size_t cap)
{
    if (!key || !*key) {
        snprintf(msg, cap, "option key must be a non-empty string");
        return TLS_INVALID_ARGUMENT;
    }
    if (!value) {
        snprintf(msg, cap, "option %.100s needs a value", key);
        return TLS_INVALID_ARGUMENT;
    }
    if (strcmp(key, "nodelay") == 0) {
        if (strcmp(value, "1") != 0 && strcmp(value, "0") != 0)
            return bad_value(msg, cap, key, value, "expected \"1\" or \"0\"");
        opts->nodelay = value[0] == '1';
        *kind = OPTION_SOCKET;
        return NULL;
    }
    if (strcmp(key, "keepalive") == 0) {
        int secs;
        if (!parse_int(value, 0, KEEPALIVE_MAX_SECONDS, &secs))
            return bad_value(msg, cap, key, value, "expected whole seconds from 0 to 32767");
        opts->keepalive_seconds = secs;
        *kind = OPTION_SOCKET;
        return NULL;
    }
    *kind = OPTION_TLS;
    if (setup_started) {
        /* Still name unknown keys as unknown rather than as too late. */
        static const char *const known[] = { "servername", "ca", "verify", "alpn",
                                             "min_version", "max_version", "proxy",
                                             "session_cache", "cert", "key",
                                             "passphrase", "pfx", "revocation", "client_cert_store",
                                             "client_cert_thumbprint", "client_cert_subject",
                                             "client_cert_issuer", "client_cert_auto", "client_cert_label" };
        for (size_t i = 0; i < TLS_ARRAY_LEN(known); i++)
            if (strcmp(key, known[i]) == 0) {
                snprintf(msg, cap, "option %s must be set before the handshake starts", key);
                return TLS_INVALID_ARGUMENT;
            }
        snprintf(msg, cap, "unknown option \"%.100s\"", key);
        return TLS_INVALID_ARGUMENT;
    }
    return set_tls_option(opts, key, value, msg, cap);
}
