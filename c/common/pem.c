/* pem.c — see pem.h. */
#include "pem.h"

#include <stdlib.h>
#include <string.h>

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char pem_begin[] = "-----BEGIN CERTIFICATE-----";
static const char pem_end[] = "-----END CERTIFICATE-----";

void pem_append_cert(strbuf *out, const unsigned char *der, size_t len)
{
    strbuf_puts(out, "-----BEGIN CERTIFICATE-----\n");
    char line[65];
    size_t col = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)der[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)der[i + 1] << 8;
        if (i + 2 < len)
            v |= der[i + 2];
        line[col++] = b64_alphabet[(v >> 18) & 63];
        line[col++] = b64_alphabet[(v >> 12) & 63];
        line[col++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
        line[col++] = i + 2 < len ? b64_alphabet[v & 63] : '=';
        if (col == 64 || i + 3 >= len) {
            line[col++] = '\n';
            strbuf_append(out, line, col);
            col = 0;
        }
    }
    strbuf_puts(out, "-----END CERTIFICATE-----\n");
}

static int b64_value(int ch)
{
    const char *p = ch ? strchr(b64_alphabet, ch) : NULL;
    return p ? (int)(p - b64_alphabet) : -1;
}

/* Decodes [text, end), skipping white space; the length, or -1 on bad input. */
long pem_base64_decode(const char *text, const char *end, unsigned char *out)
{
    long n = 0;
    unsigned acc = 0;
    int bits = 0, padding = 0;
    for (const char *p = text; p < end; p++) {
        int ch = (unsigned char)*p;
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
            continue;
        if (ch == '=') {
            padding++;
            continue;
        }
        int v = b64_value(ch);
        if (v < 0 || padding)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return n;
}

int pem_next_cert(const char **cursor, unsigned char **der, size_t *len)
{
    const char *p = strstr(*cursor, pem_begin);
    if (!p)
        return 0;
    const char *body = p + sizeof pem_begin - 1;
    const char *stop = strstr(body, pem_end);
    if (!stop)
        return PEM_NO_END;
    unsigned char *out = malloc((size_t)(stop - body) / 4 * 3 + 3);
    if (!out)
        return PEM_NO_MEMORY;
    long n = pem_base64_decode(body, stop, out);
    if (n <= 0) {
        free(out);
        return PEM_BAD_BASE64;
    }
    *der = out;
    *len = (size_t)n;
    *cursor = stop + sizeof pem_end - 1;
    return 1;
}
