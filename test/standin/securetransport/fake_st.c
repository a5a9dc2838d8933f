/*
 * fake_st.c — ostls's SecureTransport stand-in: the SSL* calls
 * c/impl-mac/securetransport.c makes, for Linux, over the engine's own I/O
 * callbacks (so over c/common's real loopback socket). Written for ostls
 * from Apple's documented behaviour; it is not TLS. What it models:
 *   - the handshake reads the server's first 11 bytes, a ServerHello's start
 *     (record header, handshake header, server_version); a version below
 *     TLS 1.2 is refused with errSSLProtocol, a generic status (not
 *     errSSLPeerProtocolVersion, which is the server's alert);
 *   - with kSSLSessionOptionBreakOnServerAuth the handshake stops with
 *     errSSLPeerAuthCompleted; SSLCopyPeerTrust then gives a trust (fake.c)
 *     holding the certificates as sent; the next SSLHandshake completes;
 *   - after it, the stand-in's own framing: 'D' len16 data for application
 *     data, 'A' 0 0 for close_notify. SSLWrite queues what it takes and sends
 *     what the socket takes (errSSLWouldBlock with the rest queued);
 *   - SSLClose sends close_notify and ends the session: every later SSLRead
 *     reports errSSLClosedGraceful ("terminates the current SSL session");
 *   - after the server's close_notify, SSLRead and SSLWrite both report
 *     errSSLClosedGraceful; a FIN without it, errSSLClosedNoNotify. The
 *     reply close_notify is left to SSLClose (whether SecureTransport sends
 *     one by itself is not documented).
 */
#define _GNU_SOURCE
#include "../network/standin.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct standin_ssl {
    struct { atomic_int refs; void (*destroy)(void *); } h;   /* fake.c's object header: CFRelease frees it */
    SSLReadFunc read;
    SSLWriteFunc write;
    SSLConnectionRef conn;
    int break_on_auth;
    int stage;                 /* 0 hello, 1 auth break given, 2 done */
    int closed_by_us, closed_by_peer;
    unsigned char in[70000];
    size_t in_len;
    unsigned char out[1 << 20];
    size_t out_len;
    unsigned char plain[70000];   /* decrypted, not yet read */
    size_t plain_off, plain_len;
};

int st_sc_trust_ok = 1;
int st_sc_close_calls;

SSLContextRef SSLCreateContext(CFAllocatorRef alloc, SSLProtocolSide side, SSLConnectionType type)
{
    (void)alloc;
    (void)side;
    (void)type;
    SSLContextRef ctx = calloc(1, sizeof *ctx);
    atomic_init(&ctx->h.refs, 1);
    return ctx;
}

OSStatus SSLSetIOFuncs(SSLContextRef ctx, SSLReadFunc read, SSLWriteFunc write)
{
    ctx->read = read;
    ctx->write = write;
    return 0;
}

OSStatus SSLSetConnection(SSLContextRef ctx, SSLConnectionRef connection) { ctx->conn = connection; return 0; }
OSStatus SSLSetProtocolVersionMin(SSLContextRef ctx, SSLProtocol v) { (void)ctx; (void)v; return 0; }
OSStatus SSLSetProtocolVersionMax(SSLContextRef ctx, SSLProtocol v) { (void)ctx; (void)v; return 0; }
OSStatus SSLSetSessionOption(SSLContextRef ctx, SSLSessionOption o, Boolean v) { (void)o; ctx->break_on_auth = v; return 0; }
OSStatus SSLSetPeerDomainName(SSLContextRef ctx, const char *n, size_t l) { (void)ctx; (void)n; (void)l; return 0; }
OSStatus SSLSetPeerID(SSLContextRef ctx, const void *id, size_t len) { (void)ctx; (void)id; (void)len; return 0; }
OSStatus SSLSetCertificate(SSLContextRef ctx, CFArrayRef certs) { (void)ctx; (void)certs; return 0; }
OSStatus SSLSetALPNProtocols(SSLContextRef ctx, CFArrayRef p) { (void)ctx; (void)p; return 0; }
OSStatus SSLCopyALPNProtocols(SSLContextRef ctx, CFArrayRef *p) { (void)ctx; *p = NULL; return 0; }
OSStatus SSLCopyPeerCertificates(SSLContextRef ctx, CFArrayRef *certs) { (void)ctx; *certs = NULL; return -50; }
OSStatus SSLGetNegotiatedProtocolVersion(SSLContextRef ctx, SSLProtocol *v) { (void)ctx; *v = kTLSProtocol12; return 0; }
OSStatus SSLGetNegotiatedCipher(SSLContextRef ctx, SSLCipherSuite *s) { (void)ctx; *s = 0xC02F; return 0; }

/* Have n bytes in ctx->in: 0, or the read callback's status. */
static OSStatus need(SSLContextRef ctx, size_t n)
{
    while (ctx->in_len < n) {
        size_t len = n - ctx->in_len;
        OSStatus st = ctx->read(ctx->conn, ctx->in + ctx->in_len, &len);
        ctx->in_len += len;
        if (st == errSSLClosedGraceful && ctx->in_len < n)
            return errSSLClosedNoNotify;   /* the TCP stream ended */
        if (st != 0 && ctx->in_len < n)
            return st;
    }
    return 0;
}

static void consume(SSLContextRef ctx, size_t n)
{
    memmove(ctx->in, ctx->in + n, ctx->in_len - n);
    ctx->in_len -= n;
}

static OSStatus flush(SSLContextRef ctx)
{
    while (ctx->out_len) {
        size_t len = ctx->out_len;
        OSStatus st = ctx->write(ctx->conn, ctx->out, &len);
        memmove(ctx->out, ctx->out + len, ctx->out_len - len);
        ctx->out_len -= len;
        if (st != 0)
            return st;
    }
    return 0;
}

static void queue_out(SSLContextRef ctx, char type, const void *data, size_t len)
{
    ctx->out[ctx->out_len++] = (unsigned char)type;
    ctx->out[ctx->out_len++] = (unsigned char)(len >> 8);
    ctx->out[ctx->out_len++] = (unsigned char)len;
    memcpy(ctx->out + ctx->out_len, data, len);
    ctx->out_len += len;
}

OSStatus SSLHandshake(SSLContextRef ctx)
{
    if (ctx->stage == 0) {
        OSStatus st = need(ctx, 11);
        if (st)
            return st;
        int version = (ctx->in[9] << 8) | ctx->in[10];
        consume(ctx, 11);
        if (version < 0x0303)
            return errSSLProtocol;
        ctx->stage = 1;
        if (ctx->break_on_auth)
            return errSSLPeerAuthCompleted;
    }
    ctx->stage = 2;
    return 0;
}

OSStatus SSLCopyPeerTrust(SSLContextRef ctx, SecTrustRef *trust)
{
    (void)ctx;
    *trust = sc_trust_new(2, st_sc_trust_ok, st_sc_trust_ok ? 0 : errSecNotTrusted);
    return 0;
}

OSStatus SSLRead(SSLContextRef ctx, void *data, size_t len, size_t *processed)
{
    *processed = 0;
    if (ctx->closed_by_us || ctx->closed_by_peer)
        return errSSLClosedGraceful;
    while (!ctx->plain_len) {
        OSStatus st = need(ctx, 3);
        if (st)
            return st;
        size_t body = ((size_t)ctx->in[1] << 8) | ctx->in[2];
        if (ctx->in[0] == 'A') {
            consume(ctx, 3);
            ctx->closed_by_peer = 1;
            return errSSLClosedGraceful;
        }
        if ((st = need(ctx, 3 + body)) != 0)
            return st;
        memcpy(ctx->plain, ctx->in + 3, body);
        ctx->plain_off = 0;
        ctx->plain_len = body;
        consume(ctx, 3 + body);
    }
    size_t k = len < ctx->plain_len ? len : ctx->plain_len;
    memcpy(data, ctx->plain + ctx->plain_off, k);
    ctx->plain_off += k;
    ctx->plain_len -= k;
    *processed = k;
    return 0;
}

OSStatus SSLWrite(SSLContextRef ctx, const void *data, size_t len, size_t *processed)
{
    *processed = 0;
    if (ctx->closed_by_peer || ctx->closed_by_us)
        return errSSLClosedGraceful;
    OSStatus st = flush(ctx);
    if (st)
        return st;
    for (size_t at = 0; at < len;) {
        size_t k = len - at < 16384 ? len - at : 16384;
        queue_out(ctx, 'D', (const char *)data + at, k);
        at += k;
    }
    *processed = len;
    return flush(ctx);
}

OSStatus SSLClose(SSLContextRef ctx)
{
    st_sc_close_calls++;
    if (!ctx->closed_by_us)
        queue_out(ctx, 'A', "", 0);
    ctx->closed_by_us = 1;
    return flush(ctx);
}

OSStatus SSLGetBufferedReadSize(SSLContextRef ctx, size_t *size)
{
    *size = ctx->plain_len;
    return 0;
}
