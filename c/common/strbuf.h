/*
 * strbuf.h — a growable string for values whose size is not known in advance
 * (PEM chains, info values). Allocation failure is remembered rather than
 * reported at each append, so callers build a value and check once.
 */
#ifndef OSTLS_STRBUF_H
#define OSTLS_STRBUF_H

#include <stddef.h>
#include "compat.h"

typedef struct strbuf {
    char *data;   /* always NUL-terminated once anything was appended or reset */
    size_t len;
    size_t cap;
    int failed;   /* an allocation failed since the last reset */
} strbuf;

void strbuf_reset(strbuf *sb);
void strbuf_append(strbuf *sb, const char *text, size_t len);
void strbuf_puts(strbuf *sb, const char *text);
void strbuf_printf(strbuf *sb, const char *fmt, ...) TLS_PRINTF(2, 3);
/* The text, or "" when nothing could be stored. */
const char *strbuf_text(const strbuf *sb);
void strbuf_free(strbuf *sb);

/* snprintf that appends to a fixed buffer and never overflows it. */
void text_append(char *buf, size_t cap, const char *fmt, ...) TLS_PRINTF(3, 4);

#endif
