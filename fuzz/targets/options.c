/*
 * options.c — fuzz target for option parsing (c/common/options.c) and
 * tls_set_option.
 *
 * Input: a flags byte, then NUL-separated strings taken as key, value, key,
 * value ... A string that is exactly "\xff" stands for NULL.
 *   flags bit 0: options_set is told set-up has started (only socket options)
 *   flags bit 1: also drive the public connection once half-way through, so
 *                tls_set_option meets a started (and failed) connection
 * Checked: every failure names a code and a message that fits its buffer;
 * after a success the parsed state is consistent (versions ordered, ALPN
 * wire format well formed); nothing leaks (LeakSanitizer).
 */
#include "common.h"

#include "common/options.h"

static const char *next_string(const char **p, const char *end)
{
    if (*p >= end)
        return NULL;
    const char *s = *p;
    *p += strlen(s) + 1;
    return s;
}

static void check_consistent(const struct tls_options *o)
{
    FUZZ_ASSERT(o->verify_peer == 0 || o->verify_peer == 1, "verify_peer %d", o->verify_peer);
    FUZZ_ASSERT(o->min_version == TLS_VERSION_1_2 || o->min_version == TLS_VERSION_1_3,
                "min_version %#x", o->min_version);
    FUZZ_ASSERT(o->max_version == TLS_VERSION_DEFAULT || o->max_version >= o->min_version,
                "max_version %#x below min_version %#x", o->max_version, o->min_version);
    FUZZ_ASSERT(o->nodelay == 0 || o->nodelay == 1, "nodelay %d", o->nodelay);
    FUZZ_ASSERT(!o->proxy || strncmp(o->proxy, "http://", 7) == 0 || strncmp(o->proxy, "https://", 8) == 0 ||
                    strcmp(o->proxy, "system") == 0,
                "proxy %.40s accepted", o->proxy);
    FUZZ_ASSERT(o->keepalive_seconds >= 0, "keepalive %d", o->keepalive_seconds);
    FUZZ_ASSERT(!o->servername || (*o->servername && strlen(o->servername) <= 255),
                "servername of length %zu", o->servername ? strlen(o->servername) : 0);
    FUZZ_ASSERT(!o->ca || strstr(o->ca, "-----BEGIN CERTIFICATE-----"), "ca without a PEM block");
    FUZZ_ASSERT(!o->alpn == !o->alpn_len, "alpn and its length disagree");
    for (size_t i = 0; o->alpn && i < o->alpn_len; i += 1 + o->alpn[i])
        FUZZ_ASSERT(o->alpn[i] > 0 && i + 1 + o->alpn[i] <= o->alpn_len, "bad ALPN wire format");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int flags = data[0];
    char *text = fuzz_text(data + 1, size - 1);
    const char *p = text, *end = text + size - 1;

    struct tls_options opts;
    options_init(&opts);
    tls_conn *c = NULL;
    const char *err = NULL, *msg = NULL;
    FUZZ_ASSERT(tls_connect("127.0.0.1", 1, &c, &err, &msg), "tls_connect: %s", msg);
    int pairs = 0;
    for (;;) {
        const char *key = next_string(&p, end);
        const char *value = next_string(&p, end);
        if (!key)
            break;
        if (strcmp(key, "\xff") == 0)
            key = NULL;
        if (value && strcmp(value, "\xff") == 0)
            value = NULL;

        char buf[256];
        memset(buf, 'x', sizeof buf);
        enum option_kind kind = OPTION_TLS;
        const char *code = options_set(&opts, key, value, flags & 1, &kind, buf, sizeof buf);
        if (code) {
            FUZZ_ASSERT(strncmp(code, "TLS_", 4) == 0, "code %s", code);
            FUZZ_ASSERT(memchr(buf, '\0', sizeof buf) && buf[0], "no message for %s", code);
        } else {
            FUZZ_ASSERT(!(flags & 1) || kind == OPTION_SOCKET, "a TLS option changed after set-up");
        }
        check_consistent(&opts);

        int ok = tls_set_option(c, key, value, &err, &msg);
        FUZZ_CHECK_ERROR(ok, err, msg);
        if ((flags & 2) && ++pairs == 2) {
            int done = 0;
            ok = tls_handshake(c, &done, &err, &msg);
            FUZZ_CHECK_ERROR(ok, err, msg);
        }
    }
    fuzz_all_info(c);
    tls_free(c);
    options_free(&opts);
    free(text);
    return 0;
}
