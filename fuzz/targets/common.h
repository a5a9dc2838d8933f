/*
 * common.h — small helpers shared by the fuzz targets in fuzz/targets.
 * Targets link the library's own sources (fuzz/gyp-sources.py) with
 * libFuzzer, ASan and UBSan; see scripts/fuzz.sh.
 */
#ifndef OSTLS_FUZZ_COMMON_H
#define OSTLS_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_client.h"

/* A NUL-terminated copy of the fuzzer's bytes (they may hold NULs too). */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

/* A property the library promises was broken: report it as a crash. */
#define FUZZ_ASSERT(cond, ...)                                                       \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "fuzz: %s:%d: %s: ", __FILE__, __LINE__, #cond);         \
            fprintf(stderr, __VA_ARGS__);                                            \
            fputc('\n', stderr);                                                     \
            abort();                                                                 \
        }                                                                            \
    } while (0)

/* Every failing tls_* call must name a code and a message. */
#define FUZZ_CHECK_ERROR(ok, err, msg)                                               \
    FUZZ_ASSERT((ok) || ((err) && *(err) && (msg) && strncmp((err), "TLS_", 4) == 0), \
                "a failure without a TLS_* code and message")

/* Asks every per-connection tls_info key: each must answer, on a connection in
 * any state (issue 11, defect 6). */
static inline void fuzz_all_info(tls_conn *c)
{
    static const char *const keys[] = { "state", "protocol", "cipher", "alpn", "peer_cert",
                                        "peer_chain", "verify_result", "verify_message",
                                        "os_error", "remote_address", "remote_port",
                                        "local_address", "local_port" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *value = NULL, *err = NULL, *msg = NULL;
        int ok = tls_info(c, keys[i], &value, &err, &msg);
        FUZZ_CHECK_ERROR(ok, err, msg);
        FUZZ_ASSERT(!ok || value, "tls_info %s succeeded without a value", keys[i]);
        if (ok)
            (void)strlen(value);
    }
}

#endif
