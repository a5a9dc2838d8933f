/*
 * securetransport.c — the SecureTransport engine (TLS 1.2; Apple deprecated
 * the API in macOS 10.15 and it never gained TLS 1.3). It fits c/common as is:
 * c/common resolves and connects its own non-blocking socket, and the engine
 * moves bytes only through conn_send / conn_recv (SSLSetIOFuncs).
 *
 * Verification: kSSLSessionOptionBreakOnServerAuth stops the handshake when
 * the server's certificates have arrived; mac_evaluate_trust then evaluates
 * them once with the SSL policy for the peer name, keychains, trust settings
 * and the `ca` anchors. The evaluation runs on the caller's thread, so it is
 * told not to fetch from the network (no tls_* call waits on the network);
 * the chain is read from the trust only after it (check_server).
 *
 * Half-close (tls_shutdown, Node's end()): SecureTransport's only way to send
 * close_notify is SSLClose, which "terminates the current SSL session"
 * (Apple's documentation): every later SSLRead reports the end, so whatever
 * the server still sends (the reply to a request ended with end()) would be
 * lost. So tls_shutdown sends close_notify (SSLClose) only when the server has
 * already finished sending; otherwise it ends the TCP sending side alone (as
 * Wine's Schannel and s2n before TLS 1.3 do), and a peer that insists on
 * close_notify (OpenSSL 3: "unexpected eof while reading") sees a FIN
 * without it. tls_close sends close_notify when the sending side is still
 * open (st_shutdown, st_close_notify).
 */
#include "mac.h"
#include "st_resume.h"
#include "../common/records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* This engine is the deliberate fallback for systems without
 * Network.framework; its deprecation is known. */
#pragma clang diagnostic ignored "-Wdeprecated-declarations"

/* Largest plaintext handed to one SSLWrite: SecureTransport queues the
 * encrypted copy of everything it takes. */
#define ST_WRITE_MAX ((size_t)256 * 1024)

struct st_session {
    SSLContextRef ctx;
    CFArrayRef anchors;          /* the `ca` option, or NULL */
    CFMutableArrayRef sent_chain;  /* certificates as the server sent them */
    int handshake_done;
    int blocked_writing;         /* the last I/O callback that blocked was a send */
    size_t write_held;           /* plaintext SSLWrite took but has not sent yet */
    unsigned char stash[16384];  /* app data taken by st_peek, served first */
    size_t stash_off, stash_len;
    st_peer *peer;               /* resumption (st_resume.h), or NULL when the cache is off */
    int peer_cached;             /* the peer ID came from the cache */
    int server_checked;          /* check_server ran: a full handshake */
    int resumed;
    int close_sent;              /* SSLClose was called (close_notify) */
    unsigned char hello[16];     /* the server's first bytes (its ServerHello's version) */
    size_t hello_len;
};

static struct st_session *session_of(tls_conn *c)
{
    return c->session;
}

/* ------------------------------------------------------- I/O callbacks */

/* SecureTransport asks for exactly *len bytes: a short count must come with
 * errSSLWouldBlock (or the end / error status). */
static OSStatus st_read_cb(SSLConnectionRef ref, void *data, size_t *len)
{
    tls_conn *c = (tls_conn *)ref;
    size_t want = *len, got = 0;
    OSStatus status = noErr;
    while (got < want) {
        size_t n = 0;
        net_status st = conn_recv(c, (char *)data + got, want - got, &n);
        if (st == NET_OK) {
            struct st_session *s = session_of(c);
            for (size_t i = 0; i < n && s->hello_len < sizeof s->hello; i++)
                s->hello[s->hello_len++] = ((unsigned char *)data)[got + i];
            got += n;
            continue;
        }
        if (st == NET_AGAIN) {
            session_of(c)->blocked_writing = 0;
            status = errSSLWouldBlock;
        } else {
            status = st == NET_EOF ? errSSLClosedGraceful : errSSLClosedAbort;
        }
        break;
    }
    *len = got;
    return status;
}

static OSStatus st_write_cb(SSLConnectionRef ref, const void *data, size_t *len)
{
    tls_conn *c = (tls_conn *)ref;
    size_t want = *len, sent = 0;
    OSStatus status = noErr;
    while (sent < want) {
        size_t n = 0;
        net_status st = conn_send(c, (const char *)data + sent, want - sent, &n);
        if (st == NET_OK) {
            sent += n;
            continue;
        }
        if (st == NET_AGAIN) {
            session_of(c)->blocked_writing = 1;
            status = errSSLWouldBlock;
        } else {
            status = errSSLClosedAbort;
        }
        break;
    }
    *len = sent;
    return status;
}

static void clear_for_call(tls_conn *c)
{
    session_of(c)->blocked_writing = 0;
    c->sock_error = 0;
}

static step_result blocked(tls_conn *c)
{
    return session_of(c)->blocked_writing ? STEP_WANT_WRITE : STEP_WANT_READ;
}

/* ---------------------------------------------------------- global init */

static const char *st_global_init(char *msg, size_t msgcap)
{
    (void)msg;
    (void)msgcap;
    return NULL;   /* Security.framework is linked; nothing to load */
}

static int st_library_info(const char *key, char *buf, size_t bufcap, const char **value)
{
    return mac_library_info(key, "Security", "com.apple.security", (const void *)SSLCreateContext,
                            buf, bufcap, value);
}

/* ------------------------------------------------------------- sessions */

/* ALPN wire format (length-prefixed) → CFArray of CFString. */
static CFArrayRef alpn_list(const unsigned char *wire, size_t len)
{
    CFMutableArrayRef list = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
    size_t i = 0;
    while (list && i < len) {
        size_t n = wire[i++];
        if (n == 0 || i + n > len)
            break;
        CFStringRef name = CFStringCreateWithBytes(NULL, wire + i, (CFIndex)n,
                                                   kCFStringEncodingUTF8, false);
        if (!name) {
            CFRelease(list);
            return NULL;
        }
        CFArrayAppendValue(list, name);
        CFRelease(name);
        i += n;
    }
    return list;
}

static int st_session_new(tls_conn *c)
{
    struct st_session *s = calloc(1, sizeof *s);
    if (!s)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory creating the TLS session");
    c->session = s;
    session_key_prepare(c);
    const struct tls_options *o = &c->opts;
    if (o->min_version == TLS_VERSION_1_3)
        return conn_fail(c, TLS_INVALID_ARGUMENT,
                         "option min_version TLSv1.3 cannot be honoured: SecureTransport stops at TLS 1.2 "
                         "(Network.framework, OSTLS_MAC_BACKEND=network, has TLS 1.3)");
    if (o->ca) {
        char msg[256];
        s->anchors = mac_anchors_from_pem(o->ca, msg, sizeof msg);
        if (!s->anchors)
            return conn_fail(c, TLS_INVALID_ARGUMENT, "%s", msg);
    }
    s->ctx = SSLCreateContext(NULL, kSSLClientSide, kSSLStreamType);
    if (!s->ctx)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "SSLCreateContext failed");
    OSStatus st = SSLSetIOFuncs(s->ctx, st_read_cb, st_write_cb);
    if (st == noErr)
        st = SSLSetConnection(s->ctx, c);
    if (st == noErr)
        st = SSLSetProtocolVersionMin(s->ctx, kTLSProtocol12);
    if (st == noErr)
        st = SSLSetProtocolVersionMax(s->ctx, kTLSProtocol12);
    if (st == noErr)
        st = SSLSetSessionOption(s->ctx, kSSLSessionOptionBreakOnServerAuth, true);
    /* IP literals get no SNI (RFC 6066); the trust policy still checks IP SANs. */
    if (st == noErr && !c->peer_name_is_ip)
        st = SSLSetPeerDomainName(s->ctx, c->peer_name, strlen(c->peer_name));
    if (st != noErr) {
        char text[256];
        mac_status_text(st, text, sizeof text);
        return conn_fail(c, TLS_INTERNAL_ERROR, "could not configure SecureTransport: %s", text);
    }
    CFArrayRef identity;
    if (!mac_identity_load(c, &identity))
        return 0;
    if (identity) {
        st = SSLSetCertificate(s->ctx, identity);
        CFRelease(identity);
        if (st != noErr)
            return conn_fail(c, TLS_INVALID_ARGUMENT, "option pfx could not be used (OSStatus %d)", (int)st);
    }
    if (o->alpn) {
        CFArrayRef protocols = alpn_list(o->alpn, o->alpn_len);
        st = protocols ? SSLSetALPNProtocols(s->ctx, protocols) : errSecAllocate;
        if (protocols)
            CFRelease(protocols);
        if (st != noErr)
            return conn_fail(c, TLS_INVALID_ARGUMENT, "option alpn could not be applied (OSStatus %d)",
                             (int)st);
    }
    s->peer = st_peer_begin(c, s->ctx, &s->peer_cached);
    return 1;
}

static void st_session_free(tls_conn *c)
{
    struct st_session *s = c->session;
    if (s->ctx)
        CFRelease(s->ctx);
    if (s->anchors)
        CFRelease(s->anchors);
    if (s->sent_chain)
        CFRelease(s->sent_chain);
    st_peer_release(s->peer);
    free(s);
    c->session = NULL;
}

/* ------------------------------------------------------------ handshake */

/* The server's certificates are in: evaluate them the OS way. 0 after conn_fail. */
static int check_server(tls_conn *c)
{
    struct st_session *s = c->session;
    SecTrustRef trust = NULL;
    s->server_checked = 1;
    OSStatus st = SSLCopyPeerTrust(s->ctx, &trust);
    if (st != noErr || !trust) {
        char text[256];
        mac_status_text(st, text, sizeof text);
        return conn_fail(c, TLS_HANDSHAKE_FAILED, "%s sent no certificate SecureTransport could read: %s",
                         c->peer_name, text);
    }
    /* One evaluation, here on the caller's thread with network fetches off
     * (no tls_* call waits on the network). The chain is read only after it:
     * reading a trust's certificates before evaluating it evaluates it
     * (SecTrustGetCertificateCount's documentation), with fetching still
     * allowed. SecureTransport hands over the server's certificates only
     * inside that trust (SSLCopyPeerCertificates, which Apple deprecated in
     * favour of it, is not used), so peer_chain here is the chain as the
     * evaluation ordered and completed it, leaf first. */
    char message[256];
    long code = mac_evaluate_trust(trust, c->peer_name, c->peer_name_is_ip, s->anchors, 0, c->opts.revocation,
                                   message, sizeof message);
    s->sent_chain = mac_trust_copy_chain(trust);
    CFRelease(trust);
    conn_set_verify_result(c, code, message);
    if (code != VERIFY_OK && c->opts.verify_peer)
        return conn_fail_verify(c);
    return 1;
}

static int fail_handshake(tls_conn *c, OSStatus status)
{
    char text[256];
    mac_status_text(status, text, sizeof text);
    const char *code = mac_handshake_error_code(status);
    /* SecureTransport rejecting the version the server chose (below its
     * minimum, TLS 1.2) need not say so: errSSLPeerProtocolVersion is the
     * server's alert, and the documentation names no status for the client's
     * own refusal. The ServerHello it read says which version was chosen (RFC
     * 5246 7.4.1.3: server_version), whatever status came back. */
    struct st_session *s = c->session;
    int chosen = record_server_hello_version(s->hello, s->hello_len);
    if (chosen > 0 && chosen < 0x0303 && strcmp(code, TLS_CONNECTION_RESET) != 0 && c->verify_code <= VERIFY_OK)
        return conn_fail(c, TLS_PROTOCOL_VERSION,
                         "no TLS version in common with %s: it chose %s (ostls requires TLS 1.2 or newer): %s",
                         c->peer_name, chosen == 0x0300 ? "SSLv3" : chosen == 0x0301 ? "TLS 1.0"
                                       : chosen == 0x0302 ? "TLS 1.1" : "a version before TLS 1.2", text);
    if (strcmp(code, TLS_CONNECTION_RESET) == 0) {
        if (c->sock_error || c->sock_eof)
            return conn_fail_socket(c, "during the TLS handshake");
        return conn_fail(c, code, "%s closed the connection during the TLS handshake: %s",
                         c->peer_name, text);
    }
    if (strcmp(code, TLS_PROTOCOL_VERSION) == 0)
        return conn_fail(c, code,
                         "no TLS version in common with %s (ostls requires TLS 1.2 or newer; "
                         "SecureTransport offers only TLS 1.2): %s", c->peer_name, text);
    if (c->verify_code > VERIFY_OK)
        return conn_fail_verify(c);
    if (strcmp(code, TLS_HANDSHAKE_FAILED) != 0)
        return conn_fail(c, code, "certificate of %s rejected by SecureTransport: %s", c->peer_name, text);
    return conn_fail(c, TLS_HANDSHAKE_FAILED, "TLS handshake with %s failed: %s", c->peer_name, text);
}

static step_result st_handshake(tls_conn *c)
{
    struct st_session *s = c->session;
    for (;;) {
        clear_for_call(c);
        OSStatus st = SSLHandshake(s->ctx);
        if (st == noErr) {
            /* No certificate was checked: SecureTransport resumed the session
             * cached under the peer ID, which only ostls's cache hands out. */
            if (!s->server_checked && !s->peer_cached) {
                conn_fail(c, TLS_HANDSHAKE_FAILED, "SecureTransport resumed a session ostls did not offer");
                return STEP_FAILED;
            }
            if (!s->server_checked) {
                s->resumed = 1;
                s->sent_chain = (CFMutableArrayRef)st_peer_resumed(c, s->peer);
            } else {
                st_peer_store(c, s->peer, s->sent_chain);
            }
            s->handshake_done = 1;
            return STEP_DONE;
        }
        if (st == errSSLWouldBlock)
            return blocked(c);
        if (st == errSSLPeerAuthCompleted) {
            if (!check_server(c))
                return STEP_FAILED;
            continue;
        }
        fail_handshake(c, st);
        return STEP_FAILED;
    }
}

/* ----------------------------------------------------------- read/write */

static step_result io_failure(tls_conn *c, OSStatus st, int writing)
{
    if (st == errSSLWouldBlock)
        return blocked(c);
    if (!writing && (st == errSSLClosedGraceful || st == errSSLClosedNoNotify))
        return STEP_EOF;   /* a FIN without close_notify is a clean end, as in Node */
    if (writing && st == errSSLClosedGraceful) {
        /* The server's close_notify ended the session (SecureTransport
         * cannot send after it): the stream is over, nothing was reset. */
        conn_fail(c, TLS_CLOSED, "%s closed the TLS session (close_notify); SecureTransport cannot send after that",
                  c->peer_name);
        return STEP_FAILED;
    }
    const char *during = writing ? "while sending" : "while receiving";
    if (st == errSSLClosedAbort || st == errSSLClosedGraceful || st == errSSLClosedNoNotify ||
        st == errSSLTransportReset) {
        conn_fail_socket(c, during);
        return STEP_FAILED;
    }
    char text[256];
    mac_status_text(st, text, sizeof text);
    conn_fail(c, TLS_PROTOCOL_ERROR, "TLS protocol error %s %s: %s", during, c->peer_name, text);
    return STEP_FAILED;
}

static step_result ssl_read(tls_conn *c, void *buf, size_t len, size_t *n)
{
    size_t got = 0;
    clear_for_call(c);
    OSStatus st = SSLRead(session_of(c)->ctx, buf, len, &got);
    if (got > 0) {
        *n = got;
        return STEP_DONE;   /* a failure or the end shows again on the next call */
    }
    if (st == noErr)
        return STEP_WANT_READ;
    return io_failure(c, st, 0);
}

static step_result st_read(tls_conn *c, void *buf, size_t len, size_t *n)
{
    struct st_session *s = c->session;
    if (s->stash_len) {
        size_t k = len < s->stash_len ? len : s->stash_len;
        memcpy(buf, s->stash + s->stash_off, k);
        s->stash_off += k;
        s->stash_len -= k;
        if (!s->stash_len)
            s->stash_off = 0;
        *n = k;
        return STEP_DONE;
    }
    return ssl_read(c, buf, len, n);
}

/* SecureTransport has no peek: decrypt into the stash that st_read serves first. */
static step_result st_peek(tls_conn *c)
{
    struct st_session *s = c->session;
    if (s->stash_len)
        return STEP_DONE;
    size_t got = 0;
    step_result step = ssl_read(c, s->stash, sizeof s->stash, &got);
    if (step == STEP_DONE) {
        s->stash_off = 0;
        s->stash_len = got;
    }
    return step;
}

static size_t st_pending(tls_conn *c)
{
    struct st_session *s = c->session;
    if (!s || !s->ctx)
        return 0;
    size_t buffered = 0;
    if (SSLGetBufferedReadSize(s->ctx, &buffered) != noErr)
        buffered = 0;
    return s->stash_len + buffered;
}

static int st_has_buffered_input(tls_conn *c)
{
    return st_pending(c) > 0;
}

/*
 * SSLWrite first sends what is still queued from before, then takes all the
 * new data into its queue, then sends what it can. A would-block from the
 * first step takes nothing; from the last, everything was taken. Flushing
 * separately first (SSLWrite with no data) tells the two apart. Data taken
 * but not yet sent is reported as not accepted (*n = 0, wait for writable):
 * the host calls again with the same bytes, and once the queue has drained
 * they are reported accepted. So the host keeps calling until the bytes are
 * really on the socket, and nothing sits unsent while it only reads.
 */
static step_result st_write(tls_conn *c, const void *buf, size_t len, size_t *n)
{
    struct st_session *s = c->session;
    size_t ignored = 0;
    clear_for_call(c);
    OSStatus st = SSLWrite(s->ctx, NULL, 0, &ignored);
    if (st != noErr)
        return io_failure(c, st, 1);
    if (s->write_held) {
        *n = s->write_held < len ? s->write_held : len;
        s->write_held = 0;
        return STEP_DONE;
    }
    size_t chunk = len < ST_WRITE_MAX ? len : ST_WRITE_MAX;
    size_t taken = 0;
    st = SSLWrite(s->ctx, buf, chunk, &taken);
    if (st == noErr) {
        *n = chunk;
        return STEP_DONE;
    }
    if (st == errSSLWouldBlock) {
        s->write_held = chunk;
        return STEP_WANT_WRITE;
    }
    return io_failure(c, st, 1);
}

static step_result st_shutdown(tls_conn *c)
{
    struct st_session *s = c->session;
    size_t ignored = 0;
    clear_for_call(c);
    /* Send whatever SSLWrite still holds before c/common ends the TCP side.
     * After the server's close_notify SecureTransport sends nothing more
     * (errSSLClosedGraceful): the session is over, which is no failure of
     * the half-close. */
    OSStatus st = SSLWrite(s->ctx, NULL, 0, &ignored);
    if (st == errSSLClosedGraceful && c->peer_finished)
        st = noErr;
    if (st != noErr)
        return io_failure(c, st, 1);
    /* Nothing more can arrive: ending the session loses nothing, so the
     * half-close carries close_notify (see the top of the file). SSLClose
     * queues the alert and writes what the socket takes; it is one short
     * record right after a flush, and best effort as in tls_close. */
    if (c->peer_finished && !s->close_sent) {
        s->close_sent = 1;
        clear_for_call(c);
        SSLClose(s->ctx);
    }
    return STEP_DONE;
}

static void st_close_notify(tls_conn *c)
{
    struct st_session *s = c->session;
    if (s->close_sent)
        return;
    s->close_sent = 1;
    clear_for_call(c);
    SSLClose(s->ctx);
}

/* ----------------------------------------------------------------- info */

static int st_conn_info(tls_conn *c, const char *key, strbuf *out)
{
    struct st_session *s = c->session;
    if (strcmp(key, "protocol") == 0) {
        SSLProtocol p = kSSLProtocolUnknown;
        if (s->handshake_done && SSLGetNegotiatedProtocolVersion(s->ctx, &p) == noErr)
            strbuf_puts(out, p == kTLSProtocol12 ? "TLSv1.2" : p == kTLSProtocol13 ? "TLSv1.3" : "");
    } else if (strcmp(key, "cipher") == 0) {
        SSLCipherSuite suite = 0;
        if (s->handshake_done && SSLGetNegotiatedCipher(s->ctx, &suite) == noErr) {
            const char *name = suite_name((uint16_t)suite);
            if (name)
                strbuf_puts(out, name);
            else
                strbuf_printf(out, "0x%04X", (unsigned)suite);
        }
    } else if (strcmp(key, "alpn") == 0) {
        CFArrayRef chosen = NULL;
        if (s->handshake_done && SSLCopyALPNProtocols(s->ctx, &chosen) == noErr && chosen) {
            if (CFArrayGetCount(chosen) > 0) {
                char name[256];
                mac_cfstring_text((CFStringRef)CFArrayGetValueAtIndex(chosen, 0), name, sizeof name);
                strbuf_puts(out, name);
            }
        }
        if (chosen)
            CFRelease(chosen);
    } else if (strcmp(key, "peer_cert") == 0) {
        if (s->sent_chain && CFArrayGetCount(s->sent_chain) > 0)
            mac_append_pem(out, (SecCertificateRef)CFArrayGetValueAtIndex(s->sent_chain, 0));
    } else if (strcmp(key, "peer_chain") == 0) {
        mac_append_pem_array(out, s->sent_chain);
    } else if (strcmp(key, "session_reused") == 0) {
        if (s->handshake_done)
            strbuf_puts(out, s->resumed ? "1" : "0");
    } else {
        return 0;
    }
    return 1;
}

const struct tls_engine securetransport_engine = {
    .name = "securetransport",
    .global_init = st_global_init,
    .library_info = st_library_info,
    .session_new = st_session_new,
    .session_free = st_session_free,
    .handshake = st_handshake,
    .read = st_read,
    .write = st_write,
    .peek = st_peek,
    .pending = st_pending,
    .has_buffered_input = st_has_buffered_input,
    .shutdown = st_shutdown,
    .close_notify = st_close_notify,
    .conn_info = st_conn_info,
};
