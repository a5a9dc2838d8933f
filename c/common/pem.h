/*
 * pem.h — certificate PEM in and out, for engines whose OS library has no
 * PEM codec of its own; an engine whose library has one uses that.
 */
#ifndef OSTLS_PEM_H
#define OSTLS_PEM_H

#include <stddef.h>
#include "strbuf.h"

/* Appends one -----BEGIN CERTIFICATE----- block for the DER bytes. */
void pem_append_cert(strbuf *out, const unsigned char *der, size_t len);

enum {
    PEM_NO_END = -1,       /* a BEGIN line without its END line */
    PEM_BAD_BASE64 = -2,   /* the body is not base64, or is empty */
    PEM_NO_MEMORY = -3
};

/* The next certificate block at or after *cursor: 1 with *der (malloc'd, the
 * caller frees) and *len set and *cursor moved past the block; 0 when no block
 * is left; else one of the PEM_* failures. */
int pem_next_cert(const char **cursor, unsigned char **der, size_t *len);

/* Decodes the base64 in [text, end), skipping white space, into out (room
 * for (end - text) / 4 * 3 + 3 bytes): the length, or -1 on bad input. */
long pem_base64_decode(const char *text, const char *end, unsigned char *out);

#endif
