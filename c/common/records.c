/* records.c — see records.h. */
#define _POSIX_C_SOURCE 200809L   /* struct addrinfo, through conn.h */
#include "records.h"

#include <stdio.h>
#include <string.h>

static record_verdict judge(const unsigned char h[5])
{
    if (h[0] < 20 || h[0] > 24 || h[1] != 3)
        return RECORD_NOT_TLS;
    if ((((size_t)h[3] << 8) | h[4]) > RECORD_BODY_MAX)
        return RECORD_OVERSIZE;
    /* An alert is two bytes, more when encrypted: a shorter one is no TLS
     * peer's, and a library given it would wait for the second byte. */
    if (h[0] == 21 && (((size_t)h[3] << 8) | h[4]) < 2)
        return RECORD_NOT_TLS;
    return RECORD_OK;
}

record_verdict record_track_feed(record_track *t, const unsigned char *p, size_t n)
{
    while (n > 0 && t->verdict == RECORD_OK) {
        if (t->body_left > 0) {
            size_t k = n < t->body_left ? n : t->body_left;
            t->body_left -= k;
            p += k;
            n -= k;
            continue;
        }
        t->header[t->header_have++] = *p++;
        n--;
        if (t->header_have < 5)
            continue;
        t->header_have = 0;
        t->verdict = judge(t->header);
        if (t->verdict != RECORD_OK) {
            /* Keep what the peer sent, for the message. */
            memcpy(t->sample, t->header, 5);
            size_t more = n < sizeof t->sample - 5 ? n : sizeof t->sample - 5;
            memcpy(t->sample + 5, p, more);
            t->sample_len = 5 + more;
            break;
        }
        t->records++;
        t->body_left = ((size_t)t->header[3] << 8) | t->header[4];
    }
    return t->verdict;
}

int record_track_mid(const record_track *t)
{
    return t->header_have > 0 || t->body_left > 0;
}

/* 'HTTP/1.1 400 Bad Reque...' when the bytes are text, else hex. */
static void describe(const record_track *t, char *buf, size_t cap)
{
    int text = 1;
    for (size_t i = 0; i < t->sample_len; i++) {
        unsigned char ch = t->sample[i];
        if (!(ch >= 0x20 && ch < 0x7f) && ch != '\r' && ch != '\n' && ch != '\t')
            text = 0;
    }
    buf[0] = '\0';
    if (text) {
        text_append(buf, cap, "'");
        for (size_t i = 0; i < t->sample_len; i++) {
            unsigned char ch = t->sample[i];
            if (ch == '\r' || ch == '\n' || ch == '\t')
                text_append(buf, cap, "\\%c", ch == '\r' ? 'r' : ch == '\n' ? 'n' : 't');
            else
                text_append(buf, cap, "%c", ch);
        }
        text_append(buf, cap, "%s'", t->sample_len == sizeof t->sample ? "..." : "");
    } else {
        text_append(buf, cap, "bytes");
        for (size_t i = 0; i < t->sample_len && i < 12; i++)
            text_append(buf, cap, " %02x", t->sample[i]);
        if (t->sample_len > 12)
            text_append(buf, cap, " ...");
    }
}

int record_track_fail(tls_conn *c, const record_track *t)
{
    char what[128];
    describe(t, what, sizeof what);
    if (t->verdict == RECORD_OVERSIZE)
        return conn_fail(c, TLS_PROTOCOL_ERROR,
                         "%s sent a TLS record of %u bytes, more than the %d TLS allows (%s)", c->peer_name,
                         ((unsigned)t->sample[3] << 8) | t->sample[4], RECORD_BODY_MAX, what);
    if (t->records == 0)
        return conn_fail(c, TLS_PROTOCOL_ERROR, "%s did not answer with TLS (is port %d a TLS port?): it sent %s",
                         c->peer_name, c->remote_port, what);
    return conn_fail(c, TLS_PROTOCOL_ERROR, "%s sent something that is not a TLS record after %lu records: %s",
                     c->peer_name, t->records, what);
}

int record_fail_truncated(tls_conn *c)
{
    return conn_fail(c, TLS_CONNECTION_RESET,
                     "%s closed the connection in the middle of a TLS record: the data is truncated", c->peer_name);
}

int record_server_hello_version(const unsigned char *p, size_t n)
{
    /* record header (5), handshake type (1), length (3), version (2) */
    if (n >= 1 && p[0] != 22)
        return 0;
    if (n >= 6 && p[5] != 2)
        return 0;
    if (n < 11)
        return -1;
    return (p[9] << 8) | p[10];
}
