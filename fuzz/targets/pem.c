/*
 * pem.c — fuzz target for the `ca` option's parsers.
 *
 * 1. c/common/pem.c (the Schannel and Apple engines' codec): every block
 *    pem_next_cert accepts must come back unchanged through pem_append_cert.
 * 2. The OpenSSL engine's ca path, through the public API: the text becomes
 *    option "ca" of a connection to an address literal (no DNS), the first
 *    tls_handshake parses it (the engine's session_new), then every tls_info key is
 *    asked on the connection whatever state it is in, and it is freed.
 *    The connection goes to a loopback port nobody listens on: it fails at
 *    once, never waits.
 */
#include "common.h"

#include "common/pem.h"
#include "common/strbuf.h"

static void codec_round_trip(const char *text)
{
    const char *cursor = text;
    for (int i = 0; i < 64; i++) {
        unsigned char *der = NULL;
        size_t len = 0;
        const char *before = cursor;
        int rc = pem_next_cert(&cursor, &der, &len);
        FUZZ_ASSERT(rc <= 1 && rc >= PEM_NO_MEMORY, "unknown result %d", rc);
        if (rc <= 0)
            return;
        FUZZ_ASSERT(len > 0 && cursor > before, "accepted an empty block or did not advance");
        strbuf sb = { 0 };
        pem_append_cert(&sb, der, len);
        FUZZ_ASSERT(!sb.failed, "pem_append_cert ran out of memory");
        const char *again = strbuf_text(&sb);
        unsigned char *der2 = NULL;
        size_t len2 = 0;
        int rc2 = pem_next_cert(&again, &der2, &len2);
        FUZZ_ASSERT(rc2 == 1 && len2 == len && memcmp(der, der2, len) == 0,
                    "block %d does not survive encode + decode (%zu bytes)", i, len);
        FUZZ_ASSERT(*again == '\n' && again[1] == '\0', "the encoder wrote more than one block");
        free(der2);
        strbuf_free(&sb);
        free(der);
    }
}

static void engine_ca(const char *text)
{
    tls_conn *c = NULL;
    const char *err = NULL, *msg = NULL;
    int ok = tls_connect("127.0.0.1", 1, &c, &err, &msg);
    FUZZ_ASSERT(ok && c, "tls_connect to an address literal failed: %s", msg ? msg : "");
    ok = tls_set_option(c, "ca", text, &err, &msg);
    FUZZ_CHECK_ERROR(ok, err, msg);
    if (ok) {
        int done = 0;
        ok = tls_handshake(c, &done, &err, &msg);
        FUZZ_CHECK_ERROR(ok, err, msg);
        FUZZ_ASSERT(!done, "a handshake completed against a closed port");
    }
    fuzz_all_info(c);
    FUZZ_ASSERT(tls_close(c, &err, &msg), "tls_close failed: %s", msg);
    fuzz_all_info(c);
    tls_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    codec_round_trip(text);
    engine_ca(text);
    free(text);
    return 0;
}
