/*
 * network.c — the Network.framework engine (macOS 10.15+; TLS 1.2 and 1.3).
 *
 * nw_connection owns DNS, TCP and TLS, so this engine fills c/common's
 * transport hooks of struct tls_engine instead of its resolver and sockets.
 * Network.framework calls back on a serial dispatch queue of the connection's
 * own; those callbacks only update `struct nw_shared` (received bytes, bytes
 * still being sent, state, verification result) under a mutex that is held for
 * pointer and counter updates only, never across a network call. The host's
 * handle is the read end of a pipe: a callback writes one byte when anything
 * changed, and every host-side step drains it before looking at the state, so
 * "readable" means "call again" in both directions (tls_pollhandle always
 * answers TLS_WANT_READ on it, or TLS_POLL_NOW when progress is already
 * possible).
 *
 * Verification: sec_protocol_options_set_verify_block; the sent chain is read
 * from the handshake's metadata and the trust evaluated once, asynchronously
 * (SecTrustEvaluateAsyncWithError; SSL policy for the peer name, keychains,
 * trust settings, the `ca` anchors) on the connection's queue, so it may
 * fetch from the network without blocking any tls_* call (on_verify).
 *
 * Lifetime: the shared record is reference counted: one reference for the
 * tls_conn, one held by the state handler until nw_connection_state_cancelled
 * (its last event), one per outstanding receive or send. The pipe is closed
 * by tls_close / tls_free under the mutex, and callbacks never write to it
 * afterwards.
 */
#include "mac.h"
#include "../common/proxy.h"

#include <Network/Network.h>
#include <dispatch/dispatch.h>
#include <dlfcn.h>
#include <dns_sd.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RX_CHUNK (64u * 1024u)          /* one nw_connection_receive */
#define RX_HIGH ((size_t)256 * 1024)    /* stop receiving above this */
#define TX_LIMIT ((size_t)256 * 1024)   /* bytes in flight before writes wait */

struct nw_shared {
    atomic_int refs;
    pthread_mutex_t lock;

    /* set up before start, read-only afterwards */
    nw_connection_t conn;
    dispatch_queue_t queue;
    char *peer_name;
    int peer_name_is_ip;
    int verify_peer;
    int revocation;             /* enum tls_revocation */
    CFArrayRef anchors;
    sec_identity_t identity;  /* the client certificate, or NULL */

    /* guarded by lock */
    int rfd, wfd;            /* the host's handle; our signalling end */
    int signalled;           /* a byte is waiting in the pipe */
    int pipe_closed;
    int tls_started;         /* the verify block ran: TCP is up */
    int ready;
    int cancelled;
    int setup_failed;        /* the connection failed before it was ready */
    nw_error_domain_t err_domain;
    int err_code;
    char err_text[256];
    int io_failed;           /* a receive or send failed after ready */
    long verify_code;        /* -1 until the verify block ran */
    char verify_message[256];
    CFMutableArrayRef sent_chain;
    SecCertificateRef anchor;  /* the root the verified chain ended at (tls_info trust_anchor) */

    unsigned char *rx;
    size_t rx_off, rx_len, rx_cap;
    int rx_armed;            /* a receive is outstanding */
    int rx_eof;              /* the peer finished sending */
    size_t tx_pending;       /* bytes handed to nw_connection_send, not completed */
    int fin_done;            /* the final send's completion came */
    int cancel_requested;    /* nw_connection_cancel or _force_cancel was called */

    /* captured when ready (then read-only) */
    unsigned protocol;
    uint16_t cipher;
    char alpn[256];
    char remote_address[64], local_address[64];
    int remote_port, local_port;
};

struct nw_session {
    struct nw_shared *sh;
    int started;
    int write_shut;          /* tls_shutdown began: no more data after this */
    int fin_sent;            /* the final send (close_notify, FIN) is queued */
};

static struct nw_shared *shared_of(tls_conn *c)
{
    return ((struct nw_session *)c->session)->sh;
}

/* ------------------------------------------------------------- lifetime */

static struct nw_shared *retain_shared(struct nw_shared *sh)
{
    atomic_fetch_add(&sh->refs, 1);
    return sh;
}

static void close_pipe_locked(struct nw_shared *sh)
{
    if (sh->pipe_closed)
        return;
    sh->pipe_closed = 1;
    if (sh->rfd >= 0)
        close(sh->rfd);
    if (sh->wfd >= 0)
        close(sh->wfd);
    sh->rfd = sh->wfd = -1;
}

static void release_shared(struct nw_shared *sh)
{
    if (atomic_fetch_sub(&sh->refs, 1) != 1)
        return;
    pthread_mutex_lock(&sh->lock);
    close_pipe_locked(sh);
    pthread_mutex_unlock(&sh->lock);
    if (sh->conn)
        nw_release(sh->conn);
    if (sh->queue)
        dispatch_release(sh->queue);
    if (sh->anchors)
        CFRelease(sh->anchors);
    if (sh->identity)
        sec_release(sh->identity);
    if (sh->sent_chain)
        CFRelease(sh->sent_chain);
    if (sh->anchor)
        CFRelease(sh->anchor);
    pthread_mutex_destroy(&sh->lock);
    free(sh->rx);
    free(sh->peer_name);
    free(sh);
}

/* Wake the host: the pipe becomes readable. Called with the lock held. */
static void signal_locked(struct nw_shared *sh)
{
    if (sh->pipe_closed || sh->signalled)
        return;
    char byte = 1;
    if (write(sh->wfd, &byte, 1) == 1)
        sh->signalled = 1;
}

/* Host side, lock held: consume the wake-up before looking at the state, so
 * a change after this point leaves the pipe readable again. */
static void drain_locked(struct nw_shared *sh)
{
    if (!sh->signalled || sh->pipe_closed)
        return;
    char buf[64];
    while (read(sh->rfd, buf, sizeof buf) > 0)
        ;
    sh->signalled = 0;
}

static void error_text(nw_error_t error, char *buf, size_t cap)
{
    buf[0] = '\0';
    CFErrorRef cf = error ? nw_error_copy_cf_error(error) : NULL;
    CFStringRef words = cf ? CFErrorCopyDescription(cf) : NULL;
    mac_cfstring_text(words, buf, cap);
    if (words)
        CFRelease(words);
    if (cf)
        CFRelease(cf);
}

static void record_error_locked(struct nw_shared *sh, nw_error_t error, const char *text)
{
    sh->err_domain = error ? nw_error_get_error_domain(error) : nw_error_domain_invalid;
    sh->err_code = error ? nw_error_get_error_code(error) : 0;
    snprintf(sh->err_text, sizeof sh->err_text, "%s", text);
}

/* ------------------------------------------------------------ callbacks */

static void arm_receive(struct nw_shared *sh);

static int append_rx_locked(struct nw_shared *sh, dispatch_data_t content)
{
    size_t add = dispatch_data_get_size(content);
    if (sh->rx_off && sh->rx_off + sh->rx_len + add > sh->rx_cap) {
        memmove(sh->rx, sh->rx + sh->rx_off, sh->rx_len);
        sh->rx_off = 0;
    }
    if (sh->rx_off + sh->rx_len + add > sh->rx_cap) {
        size_t cap = sh->rx_cap ? sh->rx_cap : RX_CHUNK;
        while (cap < sh->rx_len + add)
            cap *= 2;
        unsigned char *grown = realloc(sh->rx, cap);
        if (!grown)
            return 0;
        sh->rx = grown;
        sh->rx_cap = cap;
    }
    __block size_t at = sh->rx_off + sh->rx_len;
    unsigned char *dst = sh->rx;
    dispatch_data_apply(content, ^bool(dispatch_data_t region, size_t offset, const void *buffer, size_t size) {
        (void)region;
        (void)offset;
        memcpy(dst + at, buffer, size);
        at += size;
        return true;
    });
    sh->rx_len += add;
    return 1;
}

/* A TLS end without close_notify is a clean end, as Node treats it. */
static int is_clean_end(nw_error_t error)
{
    if (nw_error_get_error_domain(error) == nw_error_domain_tls) {
        int code = nw_error_get_error_code(error);
        return code == errSSLClosedGraceful || code == errSSLClosedNoNotify;
    }
    return nw_error_get_error_domain(error) == nw_error_domain_posix &&
           nw_error_get_error_code(error) == ENODATA;
}

static void on_receive(struct nw_shared *sh, dispatch_data_t content, bool is_complete, nw_error_t error)
{
    char text[256] = "";
    if (error)
        error_text(error, text, sizeof text);
    int again = 0;
    pthread_mutex_lock(&sh->lock);
    sh->rx_armed = 0;
    if (content && !append_rx_locked(sh, content)) {
        sh->io_failed = 1;
        sh->err_domain = nw_error_domain_posix;
        sh->err_code = ENOMEM;
        snprintf(sh->err_text, sizeof sh->err_text, "out of memory buffering received data");
    }
    if (is_complete)
        sh->rx_eof = 1;
    else if (error && !sh->cancelled && !sh->io_failed) {
        if (is_clean_end(error))
            sh->rx_eof = 1;
        else {
            sh->io_failed = 1;
            record_error_locked(sh, error, text);
        }
    }
    if (!sh->rx_eof && !sh->io_failed && !error && sh->rx_len < RX_HIGH) {
        sh->rx_armed = 1;
        again = 1;
    }
    signal_locked(sh);
    pthread_mutex_unlock(&sh->lock);
    if (again)
        arm_receive(sh);
}

static void arm_receive(struct nw_shared *sh)
{
    retain_shared(sh);
    nw_connection_receive(sh->conn, 1, RX_CHUNK,
                          ^(dispatch_data_t content, nw_content_context_t context, bool is_complete,
                            nw_error_t error) {
        (void)context;
        on_receive(sh, content, is_complete, error);
        release_shared(sh);
    });
}

static void capture_ready(struct nw_shared *sh)
{
    unsigned protocol = 0;
    uint16_t cipher = 0;
    char alpn[256] = "";
    nw_protocol_definition_t tls = nw_protocol_copy_tls_definition();
    nw_protocol_metadata_t md = tls ? nw_connection_copy_protocol_metadata(sh->conn, tls) : NULL;
    sec_protocol_metadata_t smd = md ? nw_tls_copy_sec_protocol_metadata(md) : NULL;
    if (smd) {
        protocol = (unsigned)sec_protocol_metadata_get_negotiated_tls_protocol_version(smd);
        cipher = (uint16_t)sec_protocol_metadata_get_negotiated_tls_ciphersuite(smd);
        const char *chosen = sec_protocol_metadata_get_negotiated_protocol(smd);
        if (chosen)
            snprintf(alpn, sizeof alpn, "%s", chosen);
        sec_release(smd);
    }
    if (md)
        nw_release(md);
    if (tls)
        nw_release(tls);

    char remote[64] = "", local[64] = "";
    int rport = 0, lport = 0;
    nw_path_t path = nw_connection_copy_current_path(sh->conn);
    nw_endpoint_t r = path ? nw_path_copy_effective_remote_endpoint(path) : NULL;
    nw_endpoint_t l = path ? nw_path_copy_effective_local_endpoint(path) : NULL;
    if (r && nw_endpoint_get_type(r) == nw_endpoint_type_address && nw_endpoint_get_address(r))
        sock_address_text(nw_endpoint_get_address(r), remote, sizeof remote, &rport);
    if (l && nw_endpoint_get_type(l) == nw_endpoint_type_address && nw_endpoint_get_address(l))
        sock_address_text(nw_endpoint_get_address(l), local, sizeof local, &lport);
    if (r)
        nw_release(r);
    if (l)
        nw_release(l);
    if (path)
        nw_release(path);

    pthread_mutex_lock(&sh->lock);
    sh->protocol = protocol;
    sh->cipher = cipher;
    memcpy(sh->alpn, alpn, sizeof alpn);
    memcpy(sh->remote_address, remote, sizeof remote);
    memcpy(sh->local_address, local, sizeof local);
    sh->remote_port = rport;
    sh->local_port = lport;
    sh->ready = 1;
    sh->rx_armed = 1;
    signal_locked(sh);
    pthread_mutex_unlock(&sh->lock);
    arm_receive(sh);
}

static void on_state(struct nw_shared *sh, nw_connection_state_t state, nw_error_t error)
{
    char text[256] = "";
    if (error)
        error_text(error, text, sizeof text);
    switch (state) {
    case nw_connection_state_ready:
        capture_ready(sh);
        return;
    case nw_connection_state_waiting:
        /* Network.framework would wait for a better network and retry for
         * ever; a client library reports the failure instead. */
        if (!error)
            return;
        /* fall through */
    case nw_connection_state_failed:
        pthread_mutex_lock(&sh->lock);
        if (!sh->ready && !sh->setup_failed) {
            sh->setup_failed = 1;
            record_error_locked(sh, error, text);
        } else if (sh->ready && !sh->io_failed && !sh->rx_eof && error) {
            sh->io_failed = 1;
            record_error_locked(sh, error, text);
        }
        signal_locked(sh);
        pthread_mutex_unlock(&sh->lock);
        if (state == nw_connection_state_waiting) {
            pthread_mutex_lock(&sh->lock);
            int cancel = !sh->cancel_requested;
            sh->cancel_requested = 1;
            pthread_mutex_unlock(&sh->lock);
            if (cancel)
                nw_connection_cancel(sh->conn);
        }
        return;
    case nw_connection_state_cancelled:
        pthread_mutex_lock(&sh->lock);
        sh->cancelled = 1;
        signal_locked(sh);
        pthread_mutex_unlock(&sh->lock);
        release_shared(sh);   /* the state handler's reference: this is its last event */
        return;
    default:
        return;
    }
}

/* The verify block's result: recorded for the host, then handed to
 * Network.framework. Takes sent (the chain as the server sent it) and anchor
 * (the verified chain's root, or NULL). */
static void finish_verify(struct nw_shared *sh, long code, const char *message, CFMutableArrayRef sent,
                          SecCertificateRef anchor, sec_protocol_verify_complete_t complete)
{
    pthread_mutex_lock(&sh->lock);
    sh->verify_code = code;
    snprintf(sh->verify_message, sizeof sh->verify_message, "%s", message);
    if (sh->sent_chain)
        CFRelease(sh->sent_chain);
    sh->sent_chain = sent;
    if (sh->anchor)
        CFRelease(sh->anchor);
    sh->anchor = anchor;
    sh->tls_started = 1;
    signal_locked(sh);
    pthread_mutex_unlock(&sh->lock);
    complete(code == VERIFY_OK || !sh->verify_peer);
}

/*
 * The certificates come from the handshake's metadata
 * (sec_protocol_metadata_access_peer_certificate_chain: the chain as the
 * server sent it). Reading them from the trust object instead would evaluate
 * it there and then (SecTrustGetCertificateCount's documentation) before the
 * policy below is set, and report the chain the OS built. The one evaluation
 * is SecTrustEvaluateAsyncWithError, called from the connection's queue and
 * answering on it (as its documentation requires), so a slow intermediate or
 * revocation fetch waits without holding a GCD worker. The block may run
 * more than once per connection (sec_protocol_verify_t): each run replaces
 * the recorded result.
 */
static void on_verify(struct nw_shared *sh, sec_protocol_metadata_t metadata, sec_trust_t trust_ref,
                      sec_protocol_verify_complete_t complete)
{
    CFMutableArrayRef sent = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
    if (sent && metadata)
        sec_protocol_metadata_access_peer_certificate_chain(metadata, ^(sec_certificate_t certificate) {
            SecCertificateRef cert = sec_certificate_copy_ref(certificate);
            if (cert) {
                CFArrayAppendValue(sent, cert);
                CFRelease(cert);
            }
        });
    SecTrustRef trust = trust_ref ? sec_trust_copy_ref(trust_ref) : NULL;
    char message[256];
    if (!trust) {
        finish_verify(sh, VERIFY_CERT_UNTRUSTED, "no server certificate to evaluate", sent, NULL, complete);
        return;
    }
    if (!mac_trust_prepare(trust, sh->peer_name, sh->anchors, 1, sh->revocation, message, sizeof message)) {
        CFRelease(trust);
        finish_verify(sh, VERIFY_CERT_UNTRUSTED, message, sent, NULL, complete);
        return;
    }
    retain_shared(sh);   /* the evaluation's, until its answer */
    OSStatus st = SecTrustEvaluateAsyncWithError(trust, sh->queue, ^(SecTrustRef evaluated, bool trusted,
                                                                     CFErrorRef error) {
        char words[256];
        long code = mac_trust_outcome(evaluated, trusted, error, sh->peer_name_is_ip, sh->revocation, words, sizeof words);
        /* Read once evaluated (no hidden evaluation): the chain it built ends at the root. */
        CFIndex built = code == VERIFY_OK ? SecTrustGetCertificateCount(evaluated) : 0;
        SecCertificateRef anchor = built > 0 ? SecTrustGetCertificateAtIndex(evaluated, built - 1) : NULL;
        if (anchor)
            CFRetain(anchor);
        CFRelease(trust);
        finish_verify(sh, code, words, sent, anchor, complete);
        release_shared(sh);
    });
    if (st != errSecSuccess) {
        /* Documented: the answer block is then never called. */
        char text[200];
        mac_status_text(st, text, sizeof text);
        snprintf(message, sizeof message, "the trust evaluation could not start: %s", text);
        CFRelease(trust);
        finish_verify(sh, VERIFY_CERT_UNTRUSTED, message, sent, NULL, complete);
        release_shared(sh);
    }
}

/* ---------------------------------------------------------- global init */

/* Network.framework is weak-linked: on a system without it (or without the
 * sec_protocol TLS-version setters, before macOS 10.15) these resolve to
 * NULL, and this engine does not load (tls_init then takes the next one). */
static const char *nw_global_init(char *msg, size_t msgcap)
{
    if (dlsym(RTLD_DEFAULT, "nw_connection_create") != NULL &&
        dlsym(RTLD_DEFAULT, "sec_protocol_options_set_min_tls_protocol_version") != NULL)
        return NULL;
    snprintf(msg, msgcap, "Network.framework (macOS 10.15 or newer) is not available");
    return TLS_LIBRARY_NOT_FOUND;
}

static int nw_library_info(const char *key, char *buf, size_t bufcap, const char **value)
{
    return mac_library_info(key, "Network", "com.apple.Network", (const void *)nw_connection_create,
                            buf, bufcap, value);
}

/* ------------------------------------------------------------- sessions */

static int make_pipe(struct nw_shared *sh)
{
    int fds[2];
    if (pipe(fds) != 0)
        return 0;
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
    }
    sh->rfd = fds[0];
    sh->wfd = fds[1];
    return 1;
}

/* Option proxy given as a URL: Network.framework makes the connection, so
 * it also makes the tunnel (macOS 14+: an HTTP CONNECT proxy configuration
 * in a privacy context of the connection's own; no failover to a direct
 * connection). An https:// proxy gets the default TLS options, so the OS
 * verifies the proxy's certificate. 1, or 0 after conn_fail.
 * Network is weak-linked (as in nw_global_init): the macOS 14 calls are made
 * only once dlsym finds them, which is the availability check here (no
 * __builtin_available: its compiler-rt helper is not in every toolchain
 * that builds this), hence the pragmas. */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunguarded-availability"
#pragma clang diagnostic ignored "-Wunguarded-availability-new"
static int use_proxy(tls_conn *c, nw_parameters_t parameters)
{
    if (!c->opts.proxy || strcmp(c->opts.proxy, "system") == 0)
        return 1;
    struct proxy_url u;
    char why[200];
    if (!proxy_url_parse(c->opts.proxy, &u, why, sizeof why))
        return conn_fail(c, TLS_INVALID_ARGUMENT, "invalid value for option proxy: %s", why);
    int ok = 0;
    if (dlsym(RTLD_DEFAULT, "nw_proxy_config_create_http_connect") != NULL &&
        dlsym(RTLD_DEFAULT, "nw_privacy_context_add_proxy") != NULL) {
        char port[16];
        snprintf(port, sizeof port, "%d", u.port);
        nw_endpoint_t endpoint = nw_endpoint_create_host(u.host, port);
        nw_protocol_options_t tls = endpoint && u.tls ? nw_tls_create_options() : NULL;
        nw_proxy_config_t config = endpoint && (tls || !u.tls) ? nw_proxy_config_create_http_connect(endpoint, tls)
                                                                : NULL;
        if (config && u.has_credentials)
            nw_proxy_config_set_username_and_password(config, u.user, u.pass);
        nw_privacy_context_t context = config ? nw_privacy_context_create("ostls proxy") : NULL;
        if (context) {
            nw_privacy_context_add_proxy(context, config);
            nw_parameters_set_privacy_context(parameters, context);
            nw_release(context);
            ok = 1;
        }
        if (config)
            nw_release(config);
        if (tls)
            nw_release(tls);
        if (endpoint)
            nw_release(endpoint);
    } else {
        memset(&u, 0, sizeof u);
        return conn_fail(c, TLS_INVALID_ARGUMENT,
                         "option proxy needs macOS 14 or newer on the Network.framework engine "
                         "(nw_proxy_config_create_http_connect)");
    }
    memset(&u, 0, sizeof u);   /* no credentials left on the stack */
    if (!ok)
        return conn_fail(c, TLS_INTERNAL_ERROR, "Network.framework could not set up the proxy configuration");
    return 1;
}
#pragma clang diagnostic pop

static int nw_session_new(tls_conn *c)
{
    struct nw_session *s = calloc(1, sizeof *s);
    struct nw_shared *sh = calloc(1, sizeof *sh);
    if (!s || !sh) {
        free(s);
        free(sh);
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory creating the TLS session");
    }
    c->session = s;
    s->sh = sh;
    atomic_init(&sh->refs, 1);
    pthread_mutex_init(&sh->lock, NULL);
    sh->rfd = sh->wfd = -1;
    sh->verify_code = -1;
    sh->verify_peer = c->opts.verify_peer;
    sh->revocation = c->opts.revocation;
    sh->peer_name_is_ip = c->peer_name_is_ip;
    sh->peer_name = strdup(c->peer_name);
    if (!sh->peer_name)
        return conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory creating the TLS session");
    if (!make_pipe(sh)) {
        int e = errno;
        conn_set_os_error(c, sock_error_name(e));
        return conn_fail(c, TLS_INTERNAL_ERROR, "could not create the connection's wake-up pipe: %s",
                         strerror(e));
    }
    if (c->opts.ca) {
        char msg[256];
        sh->anchors = mac_anchors_from_pem(c->opts.ca, msg, sizeof msg);
        if (!sh->anchors)
            return conn_fail(c, TLS_INVALID_ARGUMENT, "%s", msg);
    }
    CFArrayRef identity;
    if (!mac_identity_load(c, &identity))
        return 0;
    if (identity) {
        CFMutableArrayRef chain = CFArrayCreateMutableCopy(NULL, 0, identity);
        if (chain)
            CFArrayRemoveValueAtIndex(chain, 0);
        sh->identity = chain ? sec_identity_create_with_certificates(
                                   (SecIdentityRef)CFArrayGetValueAtIndex(identity, 0), chain)
                             : NULL;
        if (chain)
            CFRelease(chain);
        CFRelease(identity);
        if (!sh->identity)
            return conn_fail(c, TLS_INVALID_ARGUMENT, "option pfx could not be used as a TLS identity");
    }
    return 1;
}

/* Stop the connection: gracefully (tls_close: close_notify and FIN after
 * what was already handed over, as nw_connection_cancel documents) or, for
 * tls_free on a connection still open, abortively
 * (nw_connection_force_cancel: "immediately disconnects"), as the header
 * promises for tls_free. Either only once. */
static void stop_connection(tls_conn *c, int force)
{
    struct nw_session *s = c->session;
    struct nw_shared *sh = s->sh;
    pthread_mutex_lock(&sh->lock);
    close_pipe_locked(sh);
    int cancel = sh->conn && !sh->cancelled && !sh->cancel_requested;
    if (cancel)
        sh->cancel_requested = 1;
    pthread_mutex_unlock(&sh->lock);
    if (cancel && force)
        nw_connection_force_cancel(sh->conn);
    else if (cancel)
        nw_connection_cancel(sh->conn);
}

static void nw_transport_close(tls_conn *c)
{
    stop_connection(c, 0);
}

static void nw_session_free(tls_conn *c)
{
    struct nw_session *s = c->session;
    stop_connection(c, 1);
    release_shared(s->sh);
    free(s);
    c->session = NULL;
}

/* Create and start the nw_connection: 1, or 0 after conn_fail. */
static int start_connection(tls_conn *c)
{
    struct nw_shared *sh = shared_of(c);
    const struct tls_options *o = &c->opts;
    char port[16];
    snprintf(port, sizeof port, "%d", c->port);
    nw_endpoint_t endpoint = nw_endpoint_create_host(c->host, port);
    if (!endpoint)
        return conn_fail(c, TLS_INVALID_ARGUMENT, "Network.framework cannot connect to %s port %s",
                         c->host, port);
    int min = o->min_version ? o->min_version : TLS_VERSION_1_2;
    int max = o->max_version;
    int nodelay = o->nodelay, keepalive = o->keepalive_seconds;
    const unsigned char *alpn = o->alpn;
    size_t alpn_len = o->alpn_len;
    int host_is_ip = text_is_ip_address(c->host);
    nw_parameters_configure_protocol_block_t configure_tls = ^(nw_protocol_options_t options) {
        sec_protocol_options_t sec = nw_tls_copy_sec_protocol_options(options);
        sec_protocol_options_set_min_tls_protocol_version(sec, (tls_protocol_version_t)min);
        if (max)
            sec_protocol_options_set_max_tls_protocol_version(sec, (tls_protocol_version_t)max);
        for (size_t i = 0; alpn && i < alpn_len;) {
            size_t n = alpn[i++];
            char name[256];
            if (n == 0 || i + n > alpn_len)
                break;
            memcpy(name, alpn + i, n);
            name[n] = '\0';
            sec_protocol_options_add_tls_application_protocol(sec, name);
            i += n;
        }
        /* The name to send and check is the peer name (servername, else the
         * host), never another: without this call Network.framework takes
         * the endpoint's host (sec_protocol_options_set_tls_server_name
         * "will override the server name obtained from the endpoint"). An IP
         * literal is left out of SNI (RFC 6066) when the host is one too (the
         * endpoint gives no name); a name host with an IP servername still
         * needs the override, or the host's name would be sent while the
         * certificate is checked against the address. */
        if (!sh->peer_name_is_ip || !host_is_ip)
            sec_protocol_options_set_tls_server_name(sec, sh->peer_name);
        if (sh->identity)
            sec_protocol_options_set_local_identity(sec, sh->identity);
        /* No session resumption. Network.framework's session cache is the
         * process's, keyed by server, not by ostls's verification settings,
         * and a resumed handshake carries no certificate, so the verify block
         * does not run: a session made with rejectUnauthorized:false or
         * another `ca` would let a later verifying connection through
         * unverified. Every connection is a full, verified handshake.
         * (Issue 16: it stays off. The only way to key it would be a
         * separate options object per session key, and Network.framework
         * documents no guarantee that its cache is per options object.) */
        sec_protocol_options_set_tls_resumption_enabled(sec, false);
        sec_protocol_options_set_tls_tickets_enabled(sec, false);
        sec_protocol_options_set_verify_block(sec, ^(sec_protocol_metadata_t metadata, sec_trust_t trust,
                                                     sec_protocol_verify_complete_t complete) {
            on_verify(sh, metadata, trust, complete);
        }, sh->queue);
        sec_release(sec);
    };
    nw_parameters_configure_protocol_block_t configure_tcp = ^(nw_protocol_options_t options) {
        nw_tcp_options_set_no_delay(options, nodelay != 0);
        if (keepalive > 0) {
            nw_tcp_options_set_enable_keepalive(options, true);
            nw_tcp_options_set_keepalive_idle_time(options, (uint32_t)keepalive);
        }
    };
    sh->queue = dispatch_queue_create("ostls.network", DISPATCH_QUEUE_SERIAL);
    nw_parameters_t parameters = sh->queue ? nw_parameters_create_secure_tcp(configure_tls, configure_tcp)
                                           : NULL;
    if (parameters && !use_proxy(c, parameters)) {
        nw_release(parameters);
        nw_release(endpoint);
        return 0;
    }
    sh->conn = parameters ? nw_connection_create(endpoint, parameters) : NULL;
    if (parameters)
        nw_release(parameters);
    nw_release(endpoint);
    if (!sh->conn)
        return conn_fail(c, TLS_INTERNAL_ERROR, "Network.framework could not create a connection to %s",
                         c->host);
    nw_connection_set_queue(sh->conn, sh->queue);
    retain_shared(sh);   /* the state handler's, until cancelled */
    nw_connection_set_state_changed_handler(sh->conn, ^(nw_connection_state_t state, nw_error_t error) {
        on_state(sh, state, error);
    });
    nw_connection_start(sh->conn);
    return 1;
}

/* " through proxy HOST port N" when use_proxy tunnels c, else "": a failed
 * connection names the proxy, as c/common's tunnel does (Network.framework
 * reports a refused tunnel like any failed connection: no proxy status). */
static void proxy_note(tls_conn *c, char *buf, size_t cap)
{
    struct proxy_url u;
    char why[8];
    buf[0] = '\0';
    if (c->opts.proxy && strcmp(c->opts.proxy, "system") != 0 && proxy_url_parse(c->opts.proxy, &u, why, sizeof why))
        snprintf(buf, cap, " through proxy %s port %d", u.host, u.port);
    memset(&u, 0, sizeof u);
}

/* The recorded set-up failure, named with the header's codes. Returns 0. */
static int fail_setup(tls_conn *c)
{
    struct nw_shared *sh = shared_of(c);
    const char *text = sh->err_text[0] ? sh->err_text : "no reason given";
    /* The verify block rejected the certificate: that is why the handshake
     * ended, whichever domain Network.framework reports the abort in (a TLS
     * alert code, or the POSIX error of the closed transport). */
    if (sh->verify_code > VERIFY_OK && sh->verify_peer)
        return conn_fail_verify(c);
    switch (sh->err_domain) {
    case nw_error_domain_dns:
        conn_set_os_error(c, sh->err_code == kDNSServiceErr_Timeout ? "EAI_AGAIN" : "ENOTFOUND");
        return conn_fail(c, TLS_DNS_FAILED, "could not resolve %s: %s (DNSServiceErrorType %d)", c->host,
                         text, sh->err_code);
    case nw_error_domain_posix: {
        char via[300];
        proxy_note(c, via, sizeof via);
        conn_set_os_error(c, sock_error_name(sh->err_code));
        if (sh->tls_started || sock_error_is_reset(sh->err_code) || sh->err_code == ENODATA)
            return conn_fail(c, TLS_CONNECTION_RESET, "connection to %s port %d%s lost during the TLS handshake: %s (%s)",
                             c->host, c->port, via, text, sock_error_name(sh->err_code));
        return conn_fail(c, TLS_CONNECT_FAILED, "could not connect to %s port %d%s: %s (%s)", c->host, c->port, via,
                         text, sock_error_name(sh->err_code));
    }
    case nw_error_domain_tls: {
        char status[256];
        mac_status_text(sh->err_code, status, sizeof status);
        const char *code = mac_handshake_error_code(sh->err_code);
        if (strcmp(code, TLS_PROTOCOL_VERSION) == 0)
            return conn_fail(c, code, "no TLS version in common with %s (ostls requires TLS 1.2 or newer): %s",
                             c->peer_name, status);
        return conn_fail(c, code, "TLS handshake with %s failed: %s", c->peer_name, status);
    }
    default:
        return conn_fail(c, TLS_CONNECT_FAILED, "could not connect to %s port %d: %s", c->host, c->port, text);
    }
}

static void copy_verify_result(tls_conn *c)
{
    struct nw_shared *sh = shared_of(c);
    if (sh->verify_code >= 0 && c->verify_code != sh->verify_code)
        conn_set_verify_result(c, sh->verify_code, sh->verify_message);
}

static int nw_transport_connect(tls_conn *c)
{
    struct nw_session *s = c->session;
    struct nw_shared *sh = s->sh;
    if (!s->started) {
        s->started = 1;
        if (!start_connection(c))
            return 0;
    }
    pthread_mutex_lock(&sh->lock);
    drain_locked(sh);
    int failed = sh->setup_failed || sh->cancelled, up = sh->tls_started || sh->ready;
    copy_verify_result(c);
    pthread_mutex_unlock(&sh->lock);
    if (failed)
        return fail_setup(c);
    if (!up)
        c->setup_wants = TLS_WANT_READ;
    return up;
}

static step_result nw_handshake(tls_conn *c)
{
    struct nw_shared *sh = shared_of(c);
    pthread_mutex_lock(&sh->lock);
    drain_locked(sh);
    int failed = sh->setup_failed || (sh->cancelled && !sh->ready), ready = sh->ready;
    copy_verify_result(c);
    if (ready) {
        snprintf(c->remote_address, sizeof c->remote_address, "%s", sh->remote_address);
        snprintf(c->local_address, sizeof c->local_address, "%s", sh->local_address);
        c->remote_port = sh->remote_port;
        c->local_port = sh->local_port;
    }
    pthread_mutex_unlock(&sh->lock);
    if (failed) {
        fail_setup(c);
        return STEP_FAILED;
    }
    if (ready && c->verify_code < 0) {
        /* Up without the verify block having run (a resumed session, should
         * the framework resume despite the options above): nothing vouches
         * for this server, and the connection says so. */
        conn_set_verify_result(c, VERIFY_CERT_UNTRUSTED,
                               "the handshake completed without the server's certificate being evaluated "
                               "(a resumed TLS session?)");
        if (c->opts.verify_peer) {
            conn_fail_verify(c);
            return STEP_FAILED;
        }
    }
    return ready ? STEP_DONE : STEP_WANT_READ;
}

/* ----------------------------------------------------------- read/write */

static int fail_io(tls_conn *c, const char *during)
{
    struct nw_shared *sh = shared_of(c);
    const char *text = sh->err_text[0] ? sh->err_text : "the connection was cancelled";
    if (sh->err_domain == nw_error_domain_tls) {
        char status[256];
        mac_status_text(sh->err_code, status, sizeof status);
        return conn_fail(c, TLS_PROTOCOL_ERROR, "TLS protocol error %s %s: %s", during, c->peer_name, status);
    }
    if (sh->err_domain == nw_error_domain_posix)
        conn_set_os_error(c, sock_error_name(sh->err_code));
    return conn_fail(c, TLS_CONNECTION_RESET, "connection to %s (%s port %d) lost %s: %s", c->host,
                     c->remote_address, c->remote_port, during, text);
}

/* Look at the receive side (lock held by the caller). */
static step_result rx_status_locked(struct nw_shared *sh, int *rearm)
{
    *rearm = 0;
    if (sh->rx_len)
        return STEP_DONE;
    if (sh->io_failed)
        return STEP_FAILED;
    if (sh->rx_eof || sh->cancelled)
        return STEP_EOF;
    if (!sh->rx_armed && sh->ready) {
        sh->rx_armed = 1;
        *rearm = 1;
    }
    return STEP_WANT_READ;
}

static step_result nw_read(tls_conn *c, void *buf, size_t len, size_t *n)
{
    struct nw_shared *sh = shared_of(c);
    int rearm;
    pthread_mutex_lock(&sh->lock);
    drain_locked(sh);
    step_result step = rx_status_locked(sh, &rearm);
    if (step == STEP_DONE) {
        size_t k = len < sh->rx_len ? len : sh->rx_len;
        memcpy(buf, sh->rx + sh->rx_off, k);
        sh->rx_off += k;
        sh->rx_len -= k;
        if (!sh->rx_len)
            sh->rx_off = 0;
        *n = k;
        if (!sh->rx_armed && !sh->rx_eof && !sh->io_failed && !sh->cancelled && sh->rx_len < RX_HIGH) {
            sh->rx_armed = 1;
            rearm = 1;
        }
    }
    pthread_mutex_unlock(&sh->lock);
    if (rearm)
        arm_receive(sh);
    if (step == STEP_FAILED)
        fail_io(c, "while receiving");
    return step;
}

static step_result nw_peek(tls_conn *c)
{
    struct nw_shared *sh = shared_of(c);
    int rearm;
    pthread_mutex_lock(&sh->lock);
    drain_locked(sh);
    step_result step = rx_status_locked(sh, &rearm);
    pthread_mutex_unlock(&sh->lock);
    if (rearm)
        arm_receive(sh);
    if (step == STEP_FAILED)
        fail_io(c, "while receiving");
    return step;
}

static size_t nw_pending(tls_conn *c)
{
    if (!c->session)
        return 0;
    struct nw_shared *sh = shared_of(c);
    pthread_mutex_lock(&sh->lock);
    size_t n = sh->rx_len;
    pthread_mutex_unlock(&sh->lock);
    return n;
}

static int nw_has_buffered_input(tls_conn *c)
{
    return nw_pending(c) > 0;
}

static step_result nw_write(tls_conn *c, const void *buf, size_t len, size_t *n)
{
    struct nw_shared *sh = shared_of(c);
    pthread_mutex_lock(&sh->lock);
    drain_locked(sh);
    int failed = sh->io_failed || sh->cancelled;
    size_t room = sh->tx_pending < TX_LIMIT ? TX_LIMIT - sh->tx_pending : 0;
    size_t k = len < room ? len : room;
    if (!failed)
        sh->tx_pending += k;
    pthread_mutex_unlock(&sh->lock);
    if (failed) {
        fail_io(c, "while sending");
        return STEP_FAILED;
    }
    if (k == 0)
        return STEP_WANT_WRITE;
    dispatch_data_t data = dispatch_data_create(buf, k, NULL, DISPATCH_DATA_DESTRUCTOR_DEFAULT);
    if (!data) {
        pthread_mutex_lock(&sh->lock);
        sh->tx_pending -= k;
        pthread_mutex_unlock(&sh->lock);
        conn_fail(c, TLS_OUT_OF_MEMORY, "out of memory sending to %s", c->host);
        return STEP_FAILED;
    }
    retain_shared(sh);
    nw_connection_send(sh->conn, data, NW_CONNECTION_DEFAULT_STREAM_CONTEXT, false, ^(nw_error_t error) {
        char text[256] = "";
        if (error)
            error_text(error, text, sizeof text);
        pthread_mutex_lock(&sh->lock);
        sh->tx_pending -= k;
        if (error && !sh->cancelled && !sh->io_failed) {
            sh->io_failed = 1;
            record_error_locked(sh, error, text);
        }
        signal_locked(sh);
        pthread_mutex_unlock(&sh->lock);
        release_shared(sh);
    });
    dispatch_release(data);
    *n = k;
    return STEP_DONE;
}

/*
 * End the sending side: a final, complete stream context makes
 * Network.framework send close_notify and then the TCP FIN. Only once every
 * earlier send has completed: a send's completion is when the stack has
 * processed its data (nw_connection_send's documentation), and neither the
 * final send nor a later nw_connection_cancel promises to wait for sends still
 * queued, so until then this answers WANT_WRITE (nw_transport_poll wakes the
 * host when tx_pending reaches 0). Done when the final send has completed.
 */
static step_result nw_shutdown(tls_conn *c)
{
    struct nw_session *s = c->session;
    struct nw_shared *sh = s->sh;
    s->write_shut = 1;
    pthread_mutex_lock(&sh->lock);
    drain_locked(sh);
    int failed = sh->io_failed || sh->cancelled, pending = sh->tx_pending != 0, done = sh->fin_done;
    pthread_mutex_unlock(&sh->lock);
    if (failed) {
        fail_io(c, "while shutting down");
        return STEP_FAILED;
    }
    if (done)
        return STEP_DONE;
    if (pending || s->fin_sent)
        return STEP_WANT_WRITE;
    s->fin_sent = 1;
    retain_shared(sh);
    nw_connection_send(sh->conn, NULL, NW_CONNECTION_DEFAULT_STREAM_CONTEXT, true, ^(nw_error_t error) {
        char text[256] = "";
        if (error)
            error_text(error, text, sizeof text);
        pthread_mutex_lock(&sh->lock);
        sh->fin_done = 1;
        if (error && !sh->cancelled && !sh->io_failed) {
            sh->io_failed = 1;
            record_error_locked(sh, error, text);
        }
        signal_locked(sh);
        pthread_mutex_unlock(&sh->lock);
        release_shared(sh);
    });
    return STEP_WANT_WRITE;
}

static void nw_close_notify(tls_conn *c)
{
    (void)c;   /* nw_connection_cancel in nw_transport_close closes gracefully */
}

/* ------------------------------------------------------------ readiness */

static int nw_transport_poll(tls_conn *c, int want, int64_t *handle, int *events)
{
    struct nw_session *s = c->session;
    if (!s || !s->started) {
        *handle = -1;
        *events = TLS_POLL_NOW;   /* nothing started yet: drive it */
        return 1;
    }
    struct nw_shared *sh = s->sh;
    int now = 0;
    pthread_mutex_lock(&sh->lock);
    drain_locked(sh);
    *handle = sh->rfd;
    switch (c->state) {
    case CONN_RESOLVING:
    case CONN_CONNECTING:
        now = sh->setup_failed || sh->cancelled || sh->tls_started || sh->ready;
        break;
    case CONN_HANDSHAKING:
        now = sh->setup_failed || sh->cancelled || sh->ready;
        break;
    case CONN_OPEN:
        if (want == 0) {
            pthread_mutex_unlock(&sh->lock);
            return 1;
        }
        if (want & TLS_WANT_READ)
            now |= c->peer_finished || sh->rx_len || sh->rx_eof || sh->io_failed || sh->cancelled;
        if (want & TLS_WANT_WRITE) {
            if (s->write_shut)   /* shutting down: waiting for sends to complete (nw_shutdown) */
                now |= sh->io_failed || sh->cancelled || sh->fin_done || (!s->fin_sent && !sh->tx_pending);
            else
                now |= sh->io_failed || sh->cancelled || sh->tx_pending < TX_LIMIT;
        }
        break;
    default:
        now = 1;
        break;
    }
    pthread_mutex_unlock(&sh->lock);
    *events = now ? TLS_POLL_NOW : TLS_WANT_READ;
    return 1;
}

/* ----------------------------------------------------------------- info */

static int nw_conn_info(tls_conn *c, const char *key, strbuf *out)
{
    struct nw_shared *sh = shared_of(c);
    int ready = c->state == CONN_OPEN || (c->state == CONN_CLOSED && sh->ready);
    if (strcmp(key, "protocol") == 0) {
        if (ready)
            strbuf_puts(out, mac_protocol_name(sh->protocol));
    } else if (strcmp(key, "cipher") == 0) {
        if (ready && sh->cipher) {
            const char *name = suite_name(sh->cipher);
            if (name)
                strbuf_puts(out, name);
            else
                strbuf_printf(out, "0x%04X", (unsigned)sh->cipher);
        }
    } else if (strcmp(key, "alpn") == 0) {
        if (ready)
            strbuf_puts(out, sh->alpn);
    } else if (strcmp(key, "session_reused") == 0) {
        if (ready)
            strbuf_puts(out, "0");   /* resumption is off (below): never resumed */
    } else if (strcmp(key, "trust_anchor") == 0) {
        pthread_mutex_lock(&sh->lock);
        SecCertificateRef anchor = sh->anchor && c->verify_code == VERIFY_OK ? (SecCertificateRef)CFRetain(sh->anchor) : NULL;
        pthread_mutex_unlock(&sh->lock);
        if (anchor) {
            mac_append_pem(out, anchor);
            CFRelease(anchor);
        }
    } else if (strcmp(key, "peer_cert") == 0 || strcmp(key, "peer_chain") == 0) {
        pthread_mutex_lock(&sh->lock);
        CFArrayRef chain = sh->sent_chain ? CFRetain(sh->sent_chain) : NULL;
        pthread_mutex_unlock(&sh->lock);
        if (chain && strcmp(key, "peer_chain") == 0)
            mac_append_pem_array(out, chain);
        else if (chain && CFArrayGetCount(chain) > 0)
            mac_append_pem(out, (SecCertificateRef)CFArrayGetValueAtIndex(chain, 0));
        if (chain)
            CFRelease(chain);
    } else {
        return 0;
    }
    return 1;
}

const struct tls_engine network_engine = {
    .name = "network",
    .fixed_socket_options = 1,   /* nw_tcp_options are read once, by nw_parameters_create_secure_tcp */
    .tunnels_proxy_url = 1,      /* nw_proxy_config_create_http_connect (macOS 14+) */
    .global_init = nw_global_init,
    .library_info = nw_library_info,
    .session_new = nw_session_new,
    .session_free = nw_session_free,
    .handshake = nw_handshake,
    .read = nw_read,
    .write = nw_write,
    .peek = nw_peek,
    .pending = nw_pending,
    .has_buffered_input = nw_has_buffered_input,
    .shutdown = nw_shutdown,
    .close_notify = nw_close_notify,
    .conn_info = nw_conn_info,
    .transport_connect = nw_transport_connect,
    .transport_poll = nw_transport_poll,
    .transport_close = nw_transport_close,
};
