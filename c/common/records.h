/*
 * records.h — where a server's byte stream stands against TLS record
 * boundaries, checked as the bytes arrive, for engines that hand received
 * bytes to an OS library that does not say why it rejects them (or keeps
 * waiting for a record that never ends).
 *
 * Every record header is checked as it completes: content type 20-24
 * (change_cipher_spec .. heartbeat), version 3.x, and a length TLS allows
 * (2^14 + 2048, the TLS 1.2 ciphertext limit, which also covers TLS 1.3's
 * 2^14 + 256), and an alert of at least two bytes. HTTP, SSH or garbage fails at the first five bytes instead of
 * reaching the engine; a FIN with a record unfinished is a truncation.
 */
#ifndef OSTLS_RECORDS_H
#define OSTLS_RECORDS_H

#include <stddef.h>
#include "conn.h"

#define RECORD_BODY_MAX (16384 + 2048)

typedef enum {
    RECORD_OK,
    RECORD_NOT_TLS,     /* a header that no TLS record has */
    RECORD_OVERSIZE     /* a TLS-looking header over RECORD_BODY_MAX */
} record_verdict;

typedef struct record_track {
    unsigned char header[5];
    int header_have;            /* bytes of the next header seen so far */
    size_t body_left;           /* bytes of the current record still due */
    unsigned long records;      /* headers accepted */
    record_verdict verdict;     /* sticky: the first problem found */
    unsigned char sample[24];   /* the offending bytes, from their header on */
    size_t sample_len;
} record_track;

/* Follow n more received bytes. RECORD_OK, or the problem (sticky) found in
 * them; after a problem the bytes must not be used. */
record_verdict record_track_feed(record_track *t, const unsigned char *p, size_t n);

/* 1 when the stream stopped inside a record (header or body). */
int record_track_mid(const record_track *t);

/* conn_fail with TLS_PROTOCOL_ERROR and words for t's problem ("... did not
 * answer with TLS (is port 443 a TLS port?): it sent 'HTTP/1.1 400 ...'").
 * Returns 0. */
int record_track_fail(tls_conn *c, const record_track *t);

/* conn_fail with TLS_CONNECTION_RESET for a FIN inside a record. Returns 0. */
int record_fail_truncated(tls_conn *c);

/* The protocol version a ServerHello at the start of p chooses (0x0300
 * SSLv3, 0x0301 TLS 1.0, ...; TLS 1.3 servers put 0x0303 there too), 0 when p
 * does not start with a ServerHello record, -1 when more bytes are needed. */
int record_server_hello_version(const unsigned char *p, size_t n);

#endif
