/*
 * live_nw.c — the object side of the live Network.framework stand-in
 * (live.h): errors, endpoints, parameters and option blocks, the
 * sec_protocol_* setters and metadata, and nw_connection's calls, which
 * queue work for the connection's I/O thread (live_io.c). Callbacks run on
 * the connection's queue, as Network.framework documents.
 */
#include "live.h"

#include <Block.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *live_new(size_t size, void (*destroy)(void *self))
{
    struct hdr *h = calloc(1, size);
    if (!h)
        abort();
    atomic_init(&h->refs, 1);
    h->destroy = destroy;
    return h;
}

/* ------------------------------------------------------------- errors */

nw_error_t live_error(nw_error_domain_t domain, int code)
{
    nw_error_t e = live_new(sizeof *e, NULL);
    e->domain = domain;
    e->code = code;
    return e;
}

nw_error_domain_t nw_error_get_error_domain(nw_error_t error) { return error->domain; }
int nw_error_get_error_code(nw_error_t error) { return error->code; }

static void cf_error_destroy(void *self) { free(((struct standin_cf *)self)->str); }

CFErrorRef nw_error_copy_cf_error(nw_error_t error)
{
    char words[160];
    if (error->domain == nw_error_domain_posix)
        snprintf(words, sizeof words, "The operation couldn't be completed. (POSIX error %d - %s)", error->code,
                 strerror(error->code));
    else if (error->domain == nw_error_domain_dns)
        snprintf(words, sizeof words, "The operation couldn't be completed. (DNS error %d)", error->code);
    else
        snprintf(words, sizeof words, "The operation couldn't be completed. (OSStatus error %d)", error->code);
    return live_cf_error(error->code, words);
}

CFErrorRef live_cf_error(long code, const char *text)
{
    struct standin_cf *o = live_new(sizeof *o, cf_error_destroy);
    o->kind = CF_ERROR;
    o->code = code;
    o->str = strdup(text);
    return o;
}

/* ---------------------------------------------------------- endpoints */

nw_endpoint_t nw_endpoint_create_host(const char *hostname, const char *port)
{
    nw_endpoint_t e = live_new(sizeof *e, NULL);
    snprintf(e->host, sizeof e->host, "%s", hostname);
    snprintf(e->port, sizeof e->port, "%s", port);
    return e;
}

nw_endpoint_type_t nw_endpoint_get_type(nw_endpoint_t e)
{
    return e->is_address ? nw_endpoint_type_address : nw_endpoint_type_host;
}

const struct sockaddr *nw_endpoint_get_address(nw_endpoint_t e)
{
    return e->is_address ? (const struct sockaddr *)&e->addr : NULL;
}

static nw_endpoint_t address_endpoint(const struct sockaddr_storage *addr)
{
    if (addr->ss_family != AF_INET && addr->ss_family != AF_INET6)
        return NULL;
    nw_endpoint_t e = live_new(sizeof *e, NULL);
    e->is_address = 1;
    e->addr = *addr;
    return e;
}

nw_endpoint_t nw_path_copy_effective_local_endpoint(nw_path_t path) { return address_endpoint(&path->local); }
nw_endpoint_t nw_path_copy_effective_remote_endpoint(nw_path_t path) { return address_endpoint(&path->remote); }

nw_path_t nw_connection_copy_current_path(nw_connection_t c)
{
    nw_path_t p = live_new(sizeof *p, NULL);
    pthread_mutex_lock(&c->lock);
    p->local = c->local;
    p->remote = c->remote;
    pthread_mutex_unlock(&c->lock);
    return p;
}

/* --------------------------------------------------- parameters, options */

static struct nw_content_context default_stream = { .h = { .refs = 1 << 30 } };
const nw_content_context_t _nw_content_context_default_stream = &default_stream;
const nw_parameters_configure_protocol_block_t _nw_parameters_configure_protocol_default_configuration = NULL;

nw_protocol_definition_t nw_protocol_copy_tls_definition(void)
{
    return live_new(sizeof(struct nw_protocol_definition), NULL);
}

static void parameters_destroy(void *self)
{
    struct nw_parameters *p = self;
    if (p->tls)
        Block_release(p->tls);
    if (p->tcp)
        Block_release(p->tcp);
    if (p->privacy)
        nw_release(p->privacy);
}

nw_parameters_t nw_parameters_create_secure_tcp(nw_parameters_configure_protocol_block_t configure_tls,
                                                nw_parameters_configure_protocol_block_t configure_tcp)
{
    struct nw_parameters *p = live_new(sizeof *p, parameters_destroy);
    p->tls = configure_tls ? Block_copy(configure_tls) : NULL;
    p->tcp = configure_tcp ? Block_copy(configure_tcp) : NULL;
    return p;
}

void nw_tcp_options_set_no_delay(nw_protocol_options_t o, bool no_delay) { o->nodelay = no_delay; }
void nw_tcp_options_set_enable_keepalive(nw_protocol_options_t o, bool on) { o->keepalive = on; }
void nw_tcp_options_set_keepalive_idle_time(nw_protocol_options_t o, uint32_t t) { o->idle = (int)t; }
sec_protocol_options_t nw_tls_copy_sec_protocol_options(nw_protocol_options_t o) { return nw_retain(o->sec); }

static void sec_destroy(void *self)
{
    struct standin_sec *s = self;
    if (s->ref)
        CFRelease(s->ref);
    if (s->chain)
        CFRelease(s->chain);
}

struct standin_sec *live_sec_new(enum sec_kind kind)
{
    struct standin_sec *s = live_new(sizeof *s, sec_destroy);
    s->kind = kind;
    return s;
}

SecTrustRef sec_trust_copy_ref(sec_trust_t trust) { return (SecTrustRef)CFRetain(trust->ref); }
SecCertificateRef sec_certificate_copy_ref(sec_certificate_t certificate)
{
    return (SecCertificateRef)CFRetain(certificate->ref);
}

sec_identity_t sec_identity_create_with_certificates(SecIdentityRef identity, CFArrayRef certificates)
{
    struct standin_sec *s = live_sec_new(SEC_IDENTITY);
    s->ref = (struct standin_cf *)CFRetain(identity);
    s->chain = CFArrayCreateCopy(NULL, certificates);
    return s;
}

void sec_protocol_options_set_min_tls_protocol_version(sec_protocol_options_t o, tls_protocol_version_t v)
{
    o->opts->min_version = v;
}

void sec_protocol_options_set_max_tls_protocol_version(sec_protocol_options_t o, tls_protocol_version_t v)
{
    o->opts->max_version = v;
}

void sec_protocol_options_add_tls_application_protocol(sec_protocol_options_t o, const char *p)
{
    struct live_tls_options *t = o->opts;
    size_t n = strlen(p);
    if (n == 0 || n > 255 || t->alpn_len + 1 + n > sizeof t->alpn)
        return;
    t->alpn[t->alpn_len++] = (unsigned char)n;
    memcpy(t->alpn + t->alpn_len, p, n);
    t->alpn_len += n;
}

void sec_protocol_options_set_tls_server_name(sec_protocol_options_t o, const char *name)
{
    free(o->opts->server_name);
    o->opts->server_name = strdup(name);
}

void sec_protocol_options_set_local_identity(sec_protocol_options_t o, sec_identity_t identity)
{
    if (o->opts->identity)
        sec_release(o->opts->identity);
    o->opts->identity = nw_retain(identity);
}

void sec_protocol_options_set_tls_resumption_enabled(sec_protocol_options_t o, bool on) { o->opts->resumption = on; }
void sec_protocol_options_set_tls_tickets_enabled(sec_protocol_options_t o, bool on) { o->opts->tickets = on; }

void sec_protocol_options_set_verify_block(sec_protocol_options_t o, sec_protocol_verify_t block, dispatch_queue_t queue)
{
    if (o->opts->verify)
        Block_release(o->opts->verify);
    o->opts->verify = Block_copy(block);
    o->opts->verify_queue = queue;
}

/* ------------------------------------------------------------ metadata */

nw_protocol_metadata_t nw_connection_copy_protocol_metadata(nw_connection_t c, nw_protocol_definition_t d)
{
    (void)d;
    pthread_mutex_lock(&c->lock);
    struct standin_sec *sec = c->metadata ? nw_retain(c->metadata) : NULL;
    pthread_mutex_unlock(&c->lock);
    if (!sec)
        return NULL;
    struct nw_protocol_metadata *md = live_new(sizeof *md, NULL);
    md->sec = sec;   /* one reference, handed on by nw_tls_copy_sec_protocol_metadata */
    return md;
}

sec_protocol_metadata_t nw_tls_copy_sec_protocol_metadata(nw_protocol_metadata_t md)
{
    return nw_retain(md->sec);
}

tls_protocol_version_t sec_protocol_metadata_get_negotiated_tls_protocol_version(sec_protocol_metadata_t m)
{
    return (tls_protocol_version_t)m->version;
}

tls_ciphersuite_t sec_protocol_metadata_get_negotiated_tls_ciphersuite(sec_protocol_metadata_t m)
{
    return m->cipher;
}

const char *sec_protocol_metadata_get_negotiated_protocol(sec_protocol_metadata_t m)
{
    return m->alpn[0] ? m->alpn : NULL;
}

bool sec_protocol_metadata_access_peer_certificate_chain(sec_protocol_metadata_t m,
                                                         void (^handler)(sec_certificate_t certificate))
{
    if (!m->chain)
        return false;
    for (CFIndex i = 0; i < CFArrayGetCount(m->chain); i++) {
        struct standin_sec *cert = live_sec_new(SEC_CERT);
        cert->ref = (struct standin_cf *)CFRetain(CFArrayGetValueAtIndex(m->chain, i));
        handler(cert);
        sec_release(cert);
    }
    return true;
}

/* ---------------------------------------------------------- connection */

static void tls_options_clear(struct live_tls_options *t)
{
    free(t->server_name);
    if (t->identity)
        sec_release(t->identity);
    if (t->verify)
        Block_release(t->verify);
    memset(t, 0, sizeof *t);
}

static void connection_destroy(void *self)
{
    struct nw_connection *c = self;
    if (c->on_state)
        Block_release(c->on_state);
    tls_options_clear(&c->tls);
    if (c->metadata)
        sec_release(c->metadata);
    if (c->endpoint)
        nw_release(c->endpoint);
    if (c->proxy)
        nw_release(c->proxy);
    if (c->queue)
        dispatch_release(c->queue);
    close(c->wake[0]);
    close(c->wake[1]);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
}

static void options_destroy(void *self)
{
    struct nw_protocol_options *o = self;
    if (o->sec)
        sec_release(o->sec);
}

nw_connection_t nw_connection_create(nw_endpoint_t endpoint, nw_parameters_t parameters)
{
    struct nw_connection *c = live_new(sizeof *c, connection_destroy);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    if (pipe2(c->wake, O_CLOEXEC | O_NONBLOCK) != 0)
        abort();
    c->endpoint = nw_retain(endpoint);
    if (parameters->privacy && parameters->privacy->proxy)
        c->proxy = nw_retain(parameters->privacy->proxy);
    c->sends_tail = &c->sends;
    c->receives_tail = &c->receives;
    c->verify_answer = -1;
    c->tls.resumption = c->tls.tickets = 1;
    /* Network.framework runs the configuration blocks on its option objects. */
    struct nw_protocol_options *tls = live_new(sizeof *tls, options_destroy);
    struct nw_protocol_options *tcp = live_new(sizeof *tcp, options_destroy);
    tls->sec = live_sec_new(SEC_OPTIONS);
    tls->sec->opts = &c->tls;
    if (parameters->tls)
        parameters->tls(tls);
    if (parameters->tcp)
        parameters->tcp(tcp);
    c->nodelay = tcp->nodelay;
    c->keepalive = tcp->keepalive;
    c->idle = tcp->idle;
    nw_release(tls);
    nw_release(tcp);
    return c;
}

void nw_connection_set_queue(nw_connection_t c, dispatch_queue_t queue)
{
    dispatch_retain(queue);
    c->queue = queue;
}

void nw_connection_set_state_changed_handler(nw_connection_t c, nw_connection_state_changed_handler_t handler)
{
    c->on_state = Block_copy(handler);
}

void live_post_state(nw_connection_t c, nw_connection_state_t state, nw_error_t error)
{
    nw_retain(c);
    dispatch_async(c->queue, ^{
        if (c->on_state)
            c->on_state(state, error);
        if (error)
            nw_release(error);
        nw_release(c);
    });
}

void live_wake(nw_connection_t c)
{
    char byte = 1;
    if (write(c->wake[1], &byte, 1) < 0 && errno != EAGAIN)
        abort();
}

void nw_connection_start(nw_connection_t c)
{
    pthread_mutex_lock(&c->lock);
    int first = !c->started;
    c->started = 1;
    pthread_mutex_unlock(&c->lock);
    if (first)
        live_io_start(c);
}

static void cancel(nw_connection_t c, int force)
{
    pthread_mutex_lock(&c->lock);
    int started = c->started;
    if (!c->cancel) {
        c->cancel = 1;
        c->force = force;
    } else if (force) {
        c->force = 1;
    }
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    if (started) {
        live_wake(c);
        return;
    }
    pthread_mutex_lock(&c->lock);
    int post = !c->cancelled_posted;
    c->cancelled_posted = 1;
    pthread_mutex_unlock(&c->lock);
    if (post)
        live_post_state(c, nw_connection_state_cancelled, NULL);
}

void nw_connection_cancel(nw_connection_t c) { cancel(c, 0); }
void nw_connection_force_cancel(nw_connection_t c) { cancel(c, 1); }

void nw_connection_receive(nw_connection_t c, uint32_t min, uint32_t max, nw_connection_receive_completion_t done)
{
    (void)min;
    struct live_receive *r = calloc(1, sizeof *r);
    r->max = max ? max : 65536;
    r->done = Block_copy(done);
    pthread_mutex_lock(&c->lock);
    *c->receives_tail = r;
    c->receives_tail = &r->next;
    pthread_mutex_unlock(&c->lock);
    live_wake(c);
}

void nw_connection_send(nw_connection_t c, dispatch_data_t content, nw_content_context_t context, bool is_complete,
                        nw_connection_send_completion_t done)
{
    (void)context;
    struct live_send *s = calloc(1, sizeof *s);
    if (content && dispatch_data_get_size(content)) {
        s->len = dispatch_data_get_size(content);
        s->bytes = malloc(s->len);
        unsigned char *dst = s->bytes;
        dispatch_data_apply(content, ^bool(dispatch_data_t region, size_t offset, const void *buffer, size_t size) {
            (void)region;
            memcpy(dst + offset, buffer, size);
            return true;
        });
    }
    s->final = is_complete;
    s->done = Block_copy(done);
    pthread_mutex_lock(&c->lock);
    *c->sends_tail = s;
    c->sends_tail = &s->next;
    pthread_mutex_unlock(&c->lock);
    live_wake(c);
}
