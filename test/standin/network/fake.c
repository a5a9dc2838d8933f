/*
 * fake.c — ostls's Network.framework stand-in: the nw_*, sec_*, SecTrust,
 * CoreFoundation and dispatch calls c/impl-mac/network.c (with
 * mac_common.c and mac_identity.c) makes, implemented for Linux so that the
 * engine's state machine runs here. Written for ostls from Apple's
 * documented behaviour; nothing else from Apple.
 *
 * What it models, as documented:
 *   - a serial dispatch queue: one thread running posted blocks in order;
 *     every nw_connection callback runs on the connection's queue;
 *   - nw_connection_send's completion comes when the stack has processed the
 *     data, i.e. later (sc_complete_sends), and nothing orders a cancel after
 *     outstanding sends; cancel and force_cancel end every pending receive
 *     and send with an error, then the state becomes cancelled (last event);
 *   - the verify block gets the handshake's metadata (the chain as sent) and
 *     a trust whose certificates, read before evaluation, trigger an
 *     evaluation (SecTrustGetCertificateCount's documentation; counted in
 *     sc_hidden_evaluations); SecTrustEvaluateAsyncWithError must be called
 *     on the queue it answers on, and answers later, on that queue;
 *   - the evaluated chain is the sent one plus a root the "OS" added, so a
 *     chain read from the trust is told apart from the chain as sent.
 * A test scripts everything else (states, errors in each domain, data) with
 * standin.h. It does no networking and no cryptography.
 */
#define _GNU_SOURCE
#include "standin.h"
#include "fake_cf.h"

#include <Block.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- objects */


static void *obj_new(size_t size, void (*destroy)(void *))
{
    struct hdr *h = calloc(1, size);
    if (!h)
        abort();
    atomic_init(&h->refs, 1);
    h->destroy = destroy;
    return h;
}

static void *obj_retain(const void *p)
{
    if (p)
        atomic_fetch_add(&((struct hdr *)p)->refs, 1);
    return (void *)p;
}

static void obj_release(const void *p)
{
    struct hdr *h = (struct hdr *)p;
    if (h && atomic_fetch_sub(&h->refs, 1) == 1) {
        if (h->destroy)
            h->destroy(h);
        free(h);
    }
}

/* ------------------------------------------------------- CoreFoundation */


const CFArrayCallBacks kCFTypeArrayCallBacks;
const CFDictionaryKeyCallBacks kCFTypeDictionaryKeyCallBacks;
const CFDictionaryValueCallBacks kCFTypeDictionaryValueCallBacks;

static void cf_destroy(void *self)
{
    struct standin_cf *o = self;
    for (CFIndex i = 0; i < o->n; i++)
        obj_release(o->items[i]);
    free(o->items);
    free(o->str);
    free(o->bytes);
    obj_release(o->sent);
    obj_release(o->root);
}

static struct standin_cf *cf_new(enum cf_kind kind)
{
    struct standin_cf *o = obj_new(sizeof *o, cf_destroy);
    o->kind = kind;
    return o;
}

static struct standin_cf *cf_string(const char *s)
{
    struct standin_cf *o = cf_new(CF_STRING);
    o->str = strdup(s);
    return o;
}

/* Immortal, as CF's constants are: a dictionary that retains and releases
 * one as a key must never free it. */
static struct standin_cf string_constants[] = {
    STANDIN_CONST_STRING("CFBundleVersion"),
    STANDIN_CONST_STRING("passphrase"),
    STANDIN_CONST_STRING("identity"),
    STANDIN_CONST_STRING("chain"),
};
const CFStringRef kCFBundleVersionKey = &string_constants[0];
const CFStringRef kSecImportExportPassphrase = &string_constants[1];
const CFStringRef kSecImportItemIdentity = &string_constants[2];
const CFStringRef kSecImportItemCertChain = &string_constants[3];

CFTypeRef CFRetain(CFTypeRef cf) { return obj_retain(cf); }
void CFRelease(CFTypeRef cf) { obj_release(cf); }
CFTypeID CFGetTypeID(CFTypeRef cf) { return (CFTypeID)((const struct standin_cf *)cf)->kind; }
CFTypeID CFStringGetTypeID(void) { return CF_STRING; }

Boolean CFEqual(CFTypeRef a, CFTypeRef b)
{
    const struct standin_cf *x = a, *y = b;
    if (x == y)
        return 1;
    if (x->kind != y->kind)
        return 0;
    if (x->kind == CF_DATA)
        return x->len == y->len && memcmp(x->bytes, y->bytes, (size_t)x->len) == 0;
    if (x->kind == CF_STRING)
        return strcmp(x->str, y->str) == 0;
    return 0;
}

CFStringRef CFStringCreateWithCString(CFAllocatorRef alloc, const char *s, CFStringEncoding enc)
{
    (void)alloc;
    (void)enc;
    return cf_string(s);
}

CFStringRef CFStringCreateWithBytes(CFAllocatorRef alloc, const uint8_t *bytes, CFIndex n, CFStringEncoding enc,
                                    Boolean external)
{
    (void)alloc;
    (void)enc;
    (void)external;
    struct standin_cf *o = cf_new(CF_STRING);
    o->str = strndup((const char *)bytes, (size_t)n);
    return o;
}

Boolean CFStringGetCString(CFStringRef s, char *buf, CFIndex cap, CFStringEncoding enc)
{
    (void)enc;
    if ((CFIndex)strlen(s->str) + 1 > cap)
        return 0;
    strcpy(buf, s->str);
    return 1;
}

CFMutableArrayRef CFArrayCreateMutable(CFAllocatorRef alloc, CFIndex cap, const CFArrayCallBacks *cb)
{
    (void)alloc;
    (void)cap;
    (void)cb;
    return cf_new(CF_ARRAY);
}

void CFArrayAppendValue(CFMutableArrayRef a, const void *v)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 4;
        a->items = realloc(a->items, (size_t)a->cap * sizeof *a->items);
    }
    a->items[a->n++] = obj_retain(v);
}

CFMutableArrayRef CFArrayCreateMutableCopy(CFAllocatorRef alloc, CFIndex cap, CFArrayRef from)
{
    CFMutableArrayRef a = CFArrayCreateMutable(alloc, cap, NULL);
    for (CFIndex i = 0; i < from->n; i++)
        CFArrayAppendValue(a, from->items[i]);
    return a;
}

CFArrayRef CFArrayCreateCopy(CFAllocatorRef alloc, CFArrayRef from)
{
    return CFArrayCreateMutableCopy(alloc, 0, from);
}

void CFArrayRemoveValueAtIndex(CFMutableArrayRef a, CFIndex i)
{
    obj_release(a->items[i]);
    memmove(a->items + i, a->items + i + 1, (size_t)(a->n - i - 1) * sizeof *a->items);
    a->n--;
}

CFIndex CFArrayGetCount(CFArrayRef a) { return a->n; }
const void *CFArrayGetValueAtIndex(CFArrayRef a, CFIndex i) { return a->items[i]; }

CFDataRef CFDataCreate(CFAllocatorRef alloc, const uint8_t *bytes, CFIndex n)
{
    (void)alloc;
    struct standin_cf *o = cf_new(CF_DATA);
    o->bytes = malloc((size_t)n + 1);
    memcpy(o->bytes, bytes, (size_t)n);
    o->len = n;
    return o;
}

const uint8_t *CFDataGetBytePtr(CFDataRef d) { return d->bytes; }
CFIndex CFDataGetLength(CFDataRef d) { return d->len; }

/* Dictionaries (CFDictionaryCreate, CFDictionaryGetValue, ...) are in
 * fake_keychain.c, which keeps their entries. */

static CFErrorRef cf_error(long code, const char *words)
{
    struct standin_cf *o = cf_new(CF_ERROR);
    o->code = code;
    o->str = strdup(words);
    return o;
}

CFIndex CFErrorGetCode(CFErrorRef e) { return e->code; }
CFStringRef CFErrorCopyDescription(CFErrorRef e) { return cf_string(e->str); }

CFBundleRef CFBundleGetBundleWithIdentifier(CFStringRef id)
{
    (void)id;
    return NULL;
}

CFTypeRef CFBundleGetValueForInfoDictionaryKey(CFBundleRef b, CFStringRef key)
{
    (void)b;
    (void)key;
    return NULL;
}

int sysctlbyname(const char *name, void *old, size_t *oldlen, void *newp, size_t newlen)
{
    (void)name;
    (void)newp;
    (void)newlen;
    int n = snprintf(old, *oldlen, "stand-in");
    *oldlen = (size_t)n + 1;
    return 0;
}

/* ------------------------------------------------------------ Security */

static SecCertificateRef cert_new(const char *der_text)
{
    struct standin_cf *o = cf_new(CF_CERT);
    o->len = (CFIndex)strlen(der_text);
    o->bytes = (uint8_t *)strdup(der_text);
    return o;
}

SecCertificateRef SecCertificateCreateWithData(CFAllocatorRef alloc, CFDataRef der)
{
    (void)alloc;
    struct standin_cf *o = cf_new(CF_CERT);
    o->bytes = malloc((size_t)der->len + 1);
    memcpy(o->bytes, der->bytes, (size_t)der->len);
    o->len = der->len;
    return o;
}

CFDataRef SecCertificateCopyData(SecCertificateRef cert) { return CFDataCreate(NULL, cert->bytes, cert->len); }
CFDataRef SecCertificateCopyNormalizedSubjectSequence(SecCertificateRef cert) { return SecCertificateCopyData(cert); }
CFDataRef SecCertificateCopyNormalizedIssuerSequence(SecCertificateRef cert)
{
    return CFDataCreate(NULL, (const uint8_t *)"issuer", 6 + 0 * cert->len);
}

SecPolicyRef SecPolicyCreateSSL(Boolean server, CFStringRef hostname)
{
    (void)server;
    (void)hostname;
    return cf_new(CF_POLICY);
}

OSStatus SecTrustSetPolicies(SecTrustRef trust, CFTypeRef policies) { (void)trust; (void)policies; return 0; }
OSStatus SecTrustSetAnchorCertificates(SecTrustRef trust, CFArrayRef anchors) { (void)trust; (void)anchors; return 0; }
OSStatus SecTrustSetAnchorCertificatesOnly(SecTrustRef trust, Boolean only) { (void)trust; (void)only; return 0; }
OSStatus SecTrustSetNetworkFetchAllowed(SecTrustRef trust, Boolean allowed) { (void)trust; (void)allowed; return 0; }

int sc_hidden_evaluations, sc_evaluations, sc_async_off_queue;

static void evaluate(SecTrustRef trust)
{
    trust->evaluated = 1;
}

CFIndex SecTrustGetCertificateCount(SecTrustRef trust)
{
    if (!trust->evaluated) {   /* documented: it evaluates an unevaluated trust first */
        __atomic_add_fetch(&sc_hidden_evaluations, 1, __ATOMIC_SEQ_CST);
        evaluate(trust);
    }
    return trust->sent->n + 1;
}

SecCertificateRef SecTrustGetCertificateAtIndex(SecTrustRef trust, CFIndex ix)
{
    if (ix > 0 && !trust->evaluated) {   /* only the leaf is there before evaluation */
        __atomic_add_fetch(&sc_hidden_evaluations, 1, __ATOMIC_SEQ_CST);
        evaluate(trust);
    }
    return ix < trust->sent->n ? (SecCertificateRef)trust->sent->items[ix] : trust->root;
}

bool SecTrustEvaluateWithError(SecTrustRef trust, CFErrorRef *error)
{
    __atomic_add_fetch(&sc_evaluations, 1, __ATOMIC_SEQ_CST);
    evaluate(trust);
    if (!trust->ok && error)
        *error = cf_error(trust->status, "stand-in: the certificate is not trusted");
    return trust->ok;
}

CFStringRef SecCopyErrorMessageString(OSStatus status, void *reserved)
{
    (void)reserved;
    char words[64];
    snprintf(words, sizeof words, "stand-in status %d", (int)status);
    return cf_string(words);
}

OSStatus SecPKCS12Import(CFDataRef data, CFDictionaryRef options, CFArrayRef *items)
{
    (void)data;
    (void)options;
    *items = NULL;
    return errSecAuthFailed;
}

/* ------------------------------------------------------------- dispatch */

struct job {
    dispatch_block_t block;
    struct job *next;
};

struct standin_queue {
    struct hdr h;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct job *head, *tail;
    int stop;
};

static _Thread_local struct standin_queue *current_queue;
static atomic_int live_queues;

static void *queue_main(void *arg)
{
    struct standin_queue *q = arg;
    current_queue = q;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->head && !q->stop)
            pthread_cond_wait(&q->cond, &q->lock);
        if (!q->head)
            break;
        struct job *j = q->head;
        q->head = j->next;
        if (!q->head)
            q->tail = NULL;
        pthread_mutex_unlock(&q->lock);
        j->block();
        Block_release(j->block);
        free(j);
        pthread_mutex_lock(&q->lock);
    }
    pthread_mutex_unlock(&q->lock);
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->cond);
    free(q);
    atomic_fetch_sub(&live_queues, 1);
    return NULL;
}

/* The last reference ends the thread once its queue has drained. */
static void queue_destroy(void *self)
{
    struct standin_queue *q = self;
    pthread_mutex_lock(&q->lock);
    q->stop = 1;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

static void queue_release(struct standin_queue *q)
{
    if (atomic_fetch_sub(&q->h.refs, 1) == 1)
        queue_destroy(q);   /* freed by its thread */
}

dispatch_queue_t dispatch_queue_create(const char *label, dispatch_queue_attr_t attr)
{
    (void)label;
    (void)attr;
    struct standin_queue *q = calloc(1, sizeof *q);
    atomic_init(&q->h.refs, 1);
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    atomic_fetch_add(&live_queues, 1);
    if (pthread_create(&t, &a, queue_main, q) != 0)
        abort();
    pthread_attr_destroy(&a);
    return q;
}

static void queue_post(struct standin_queue *q, dispatch_block_t block)
{
    struct job *j = calloc(1, sizeof *j);
    j->block = Block_copy(block);
    pthread_mutex_lock(&q->lock);
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
}

/* dispatch_async and dispatch_retain: for the live stand-in (test/standin/live),
 * which posts its callbacks on the connection's queue. */
void dispatch_async(dispatch_queue_t queue, dispatch_block_t block) { queue_post(queue, block); }
void dispatch_retain(void *object) { obj_retain(object); }

/* Run block on q and wait until it, and whatever it posted to q, has run. */
static void queue_run(struct standin_queue *q, dispatch_block_t block)
{
    __block int done = 0;
    __block pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    __block pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
    dispatch_block_t finished = ^{
        pthread_mutex_lock(&m);
        done = 1;
        pthread_cond_signal(&cv);
        pthread_mutex_unlock(&m);
    };
    /* The marker is posted by the block's own job, so it comes after
     * whatever the block posted (an evaluation's answer, say). */
    queue_post(q, ^{
        block();
        queue_post(q, finished);
    });
    pthread_mutex_lock(&m);
    while (!done)
        pthread_cond_wait(&cv, &m);
    pthread_mutex_unlock(&m);
}

struct standin_data {
    struct hdr h;
    unsigned char *bytes;
    size_t size;
};

static void data_destroy(void *self) { free(((struct standin_data *)self)->bytes); }

dispatch_data_t dispatch_data_create(const void *buffer, size_t size, dispatch_queue_t queue,
                                     dispatch_block_t destructor)
{
    (void)queue;
    (void)destructor;   /* DISPATCH_DATA_DESTRUCTOR_DEFAULT: the bytes are copied */
    struct standin_data *d = obj_new(sizeof *d, data_destroy);
    d->bytes = malloc(size ? size : 1);
    memcpy(d->bytes, buffer, size);
    d->size = size;
    return d;
}

size_t dispatch_data_get_size(dispatch_data_t data) { return data->size; }

bool dispatch_data_apply(dispatch_data_t data, dispatch_data_applier_t applier)
{
    return applier(data, 0, data->bytes, data->size);
}

void dispatch_release(void *object)
{
    struct hdr *h = object;
    if (h->destroy == data_destroy)
        obj_release(h);
    else
        queue_release(object);
}

/* --------------------------------------------------------- sec_protocol */

enum sec_kind { SEC_TRUST, SEC_CERT, SEC_IDENTITY, SEC_OPTIONS, SEC_METADATA };

struct standin_sec {
    struct hdr h;
    enum sec_kind kind;
    struct standin_cf *ref;              /* trust, certificate */
    CFArrayRef chain;                    /* metadata: as sent */
    struct nw_connection *conn;          /* options: where they are recorded */
};

static void sec_destroy(void *self)
{
    struct standin_sec *s = self;
    obj_release(s->ref);
    obj_release(s->chain);
}

static struct standin_sec *sec_new(enum sec_kind kind)
{
    struct standin_sec *s = obj_new(sizeof *s, sec_destroy);
    s->kind = kind;
    return s;
}

void sec_release(void *obj) { obj_release(obj); }
SecTrustRef sec_trust_copy_ref(sec_trust_t trust) { return obj_retain(trust->ref); }
SecCertificateRef sec_certificate_copy_ref(sec_certificate_t certificate) { return obj_retain(certificate->ref); }

sec_identity_t sec_identity_create_with_certificates(SecIdentityRef identity, CFArrayRef certificates)
{
    (void)identity;
    (void)certificates;
    return sec_new(SEC_IDENTITY);
}

/* ------------------------------------------------------- nw_connection */

struct nw_error { struct hdr h; nw_error_domain_t domain; int code; };
struct nw_endpoint { struct hdr h; char host[256]; struct sockaddr_in addr; int is_address; };
struct nw_path { struct hdr h; };
struct nw_protocol_definition { struct hdr h; };
struct nw_content_context { struct hdr h; };
struct nw_protocol_metadata { struct hdr h; };
struct nw_protocol_options {
    struct hdr h;
    struct standin_sec *sec;    /* the TLS options, or NULL for TCP */
    int nodelay, keepalive, idle;
};
struct nw_parameters {
    struct hdr h;
    nw_parameters_configure_protocol_block_t tls, tcp;
};

struct send {
    size_t len;
    nw_connection_send_completion_t done;
    struct send *next;
};

struct receive {
    nw_connection_receive_completion_t done;
    struct receive *next;
};

struct nw_connection {
    struct hdr h;
    struct standin_queue *queue;
    nw_connection_state_changed_handler_t on_state;
    /* what network.c configured */
    char *server_name;
    int nodelay, keepalive, idle;
    sec_protocol_verify_t verify;
    int verify_answer;
    /* outstanding work, touched only on the queue */
    struct send *sends, **sends_tail;
    size_t sends_pending;
    struct receive *receives, **receives_tail;
    int receives_pending;
    int auto_complete;
    int cancelled;
    char log[4096];
    pthread_mutex_t log_lock;
};

static struct nw_content_context default_stream = { .h = { .refs = 1 } };
const nw_content_context_t _nw_content_context_default_stream = &default_stream;
const nw_parameters_configure_protocol_block_t _nw_parameters_configure_protocol_default_configuration = NULL;

static atomic_int live_connections;
static nw_connection_t last_connection;
static pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;

void *nw_retain(void *obj) { return obj_retain(obj); }
void nw_release(void *obj) { obj_release(obj); }

nw_error_domain_t nw_error_get_error_domain(nw_error_t error) { return error->domain; }
int nw_error_get_error_code(nw_error_t error) { return error->code; }

CFErrorRef nw_error_copy_cf_error(nw_error_t error)
{
    char words[96];
    snprintf(words, sizeof words, "stand-in error (domain %d, code %d)", (int)error->domain, error->code);
    return cf_error(error->code, words);
}

static nw_error_t error_new(int domain, int code)
{
    if (!domain)
        return NULL;
    nw_error_t e = obj_new(sizeof *e, NULL);
    e->domain = (nw_error_domain_t)domain;
    e->code = code;
    return e;
}

nw_endpoint_t nw_endpoint_create_host(const char *hostname, const char *port)
{
    (void)port;
    nw_endpoint_t e = obj_new(sizeof *e, NULL);
    snprintf(e->host, sizeof e->host, "%s", hostname);
    return e;
}

static nw_endpoint_t address_endpoint(int port)
{
    nw_endpoint_t e = obj_new(sizeof *e, NULL);
    e->is_address = 1;
    e->addr.sin_family = AF_INET;
    e->addr.sin_port = htons((uint16_t)port);
    e->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return e;
}

nw_endpoint_type_t nw_endpoint_get_type(nw_endpoint_t e)
{
    return e->is_address ? nw_endpoint_type_address : nw_endpoint_type_host;
}

const struct sockaddr *nw_endpoint_get_address(nw_endpoint_t e) { return (const struct sockaddr *)&e->addr; }
nw_endpoint_t nw_path_copy_effective_local_endpoint(nw_path_t path) { (void)path; return address_endpoint(50000); }
nw_endpoint_t nw_path_copy_effective_remote_endpoint(nw_path_t path) { (void)path; return address_endpoint(443); }
nw_path_t nw_connection_copy_current_path(nw_connection_t c) { (void)c; return obj_new(sizeof(struct nw_path), NULL); }
nw_protocol_definition_t nw_protocol_copy_tls_definition(void) { return obj_new(sizeof(struct nw_protocol_definition), NULL); }

static void parameters_destroy(void *self)
{
    struct nw_parameters *p = self;
    if (p->tls)
        Block_release(p->tls);
    if (p->tcp)
        Block_release(p->tcp);
}

nw_parameters_t nw_parameters_create_secure_tcp(nw_parameters_configure_protocol_block_t configure_tls,
                                                nw_parameters_configure_protocol_block_t configure_tcp)
{
    struct nw_parameters *p = obj_new(sizeof *p, parameters_destroy);
    p->tls = configure_tls ? Block_copy(configure_tls) : NULL;
    p->tcp = configure_tcp ? Block_copy(configure_tcp) : NULL;
    return p;
}

/* Proxies (macOS 14): the scripted connections open nothing, so a proxy
 * configuration is taken and not used (test/standin/live tunnels for real). */
struct nw_privacy_context { struct hdr h; };
struct nw_proxy_config { struct hdr h; };
nw_protocol_options_t nw_tls_create_options(void) { return obj_new(sizeof(struct nw_protocol_options), NULL); }
nw_proxy_config_t nw_proxy_config_create_http_connect(nw_endpoint_t e, nw_protocol_options_t tls)
{
    (void)e;
    (void)tls;
    return obj_new(sizeof(struct nw_proxy_config), NULL);
}
void nw_proxy_config_set_username_and_password(nw_proxy_config_t p, const char *u, const char *pw) { (void)p; (void)u; (void)pw; }
nw_privacy_context_t nw_privacy_context_create(const char *d) { (void)d; return obj_new(sizeof(struct nw_privacy_context), NULL); }
void nw_privacy_context_add_proxy(nw_privacy_context_t x, nw_proxy_config_t p) { (void)x; (void)p; }
void nw_parameters_set_privacy_context(nw_parameters_t p, nw_privacy_context_t x) { (void)p; (void)x; }

void nw_tcp_options_set_no_delay(nw_protocol_options_t o, bool no_delay) { o->nodelay = no_delay; }
void nw_tcp_options_set_enable_keepalive(nw_protocol_options_t o, bool on) { o->keepalive = on; }
void nw_tcp_options_set_keepalive_idle_time(nw_protocol_options_t o, uint32_t t) { o->idle = (int)t; }
sec_protocol_options_t nw_tls_copy_sec_protocol_options(nw_protocol_options_t o) { return obj_retain(o->sec); }

void sec_protocol_options_set_min_tls_protocol_version(sec_protocol_options_t o, tls_protocol_version_t v) { (void)o; (void)v; }
void sec_protocol_options_set_max_tls_protocol_version(sec_protocol_options_t o, tls_protocol_version_t v) { (void)o; (void)v; }
void sec_protocol_options_add_tls_application_protocol(sec_protocol_options_t o, const char *p) { (void)o; (void)p; }
void sec_protocol_options_set_local_identity(sec_protocol_options_t o, sec_identity_t i) { (void)o; (void)i; }
void sec_protocol_options_set_tls_resumption_enabled(sec_protocol_options_t o, bool on) { (void)o; (void)on; }
void sec_protocol_options_set_tls_tickets_enabled(sec_protocol_options_t o, bool on) { (void)o; (void)on; }

void sec_protocol_options_set_tls_server_name(sec_protocol_options_t o, const char *name)
{
    free(o->conn->server_name);
    o->conn->server_name = strdup(name);
}

void sec_protocol_options_set_verify_block(sec_protocol_options_t o, sec_protocol_verify_t block, dispatch_queue_t queue)
{
    (void)queue;
    o->conn->verify = Block_copy(block);
}

static void connection_destroy(void *self)
{
    struct nw_connection *c = self;
    if (c->on_state)
        Block_release(c->on_state);
    if (c->verify)
        Block_release(c->verify);
    free(c->server_name);
    if (c->queue)
        queue_release(c->queue);
    pthread_mutex_destroy(&c->log_lock);
    atomic_fetch_sub(&live_connections, 1);
}

nw_connection_t nw_connection_create(nw_endpoint_t endpoint, nw_parameters_t parameters)
{
    (void)endpoint;
    struct nw_connection *c = obj_new(sizeof *c, connection_destroy);
    pthread_mutex_init(&c->log_lock, NULL);
    c->sends_tail = &c->sends;
    c->receives_tail = &c->receives;
    c->auto_complete = 1;
    c->verify_answer = -1;
    /* Network.framework runs the configuration blocks on its option objects. */
    struct nw_protocol_options *tls = obj_new(sizeof *tls, NULL), *tcp = obj_new(sizeof *tcp, NULL);
    tls->sec = sec_new(SEC_OPTIONS);
    tls->sec->conn = c;
    if (parameters->tls)
        parameters->tls(tls);
    if (parameters->tcp)
        parameters->tcp(tcp);
    c->nodelay = tcp->nodelay;
    c->keepalive = tcp->keepalive;
    c->idle = tcp->idle;
    obj_release(tls->sec);
    obj_release(tls);
    obj_release(tcp);
    atomic_fetch_add(&live_connections, 1);
    pthread_mutex_lock(&last_lock);
    last_connection = c;
    pthread_mutex_unlock(&last_lock);
    return c;
}

void nw_connection_set_queue(nw_connection_t c, dispatch_queue_t queue)
{
    c->queue = obj_retain(queue);
}

void nw_connection_set_state_changed_handler(nw_connection_t c, nw_connection_state_changed_handler_t handler)
{
    c->on_state = Block_copy(handler);
}

static void log_event(nw_connection_t c, const char *fmt, size_t n)
{
    pthread_mutex_lock(&c->log_lock);
    size_t used = strlen(c->log);
    snprintf(c->log + used, sizeof c->log - used, fmt, n);
    pthread_mutex_unlock(&c->log_lock);
}

void nw_connection_start(nw_connection_t c)
{
    nw_retain(c);
    queue_post(c->queue, ^{
        c->on_state(nw_connection_state_preparing, NULL);
        nw_release(c);
    });
}

static void complete_sends(nw_connection_t c, size_t n, nw_error_t error)
{
    while (n-- && c->sends) {
        struct send *s = c->sends;
        c->sends = s->next;
        if (!c->sends)
            c->sends_tail = &c->sends;
        c->sends_pending--;
        s->done(error);
        Block_release(s->done);
        free(s);
    }
}

/* Cancel: every outstanding receive and send ends with ECANCELED (POSIX
 * domain), then the state handler's last event. */
static void cancel(nw_connection_t c, const char *mark)
{
    log_event(c, mark, 0);
    nw_retain(c);
    queue_post(c->queue, ^{
        if (c->cancelled) {   /* cancelled is the last event, delivered once */
            nw_release(c);
            return;
        }
        c->cancelled = 1;
        nw_error_t e = error_new(nw_error_domain_posix, 89 /* ECANCELED on macOS */);
        while (c->receives) {
            struct receive *r = c->receives;
            c->receives = r->next;
            c->receives_pending--;
            r->done(NULL, NULL, false, e);
            Block_release(r->done);
            free(r);
        }
        c->receives_tail = &c->receives;
        complete_sends(c, (size_t)-1, e);
        nw_release(e);
        c->on_state(nw_connection_state_cancelled, NULL);
        nw_release(c);
    });
}

void nw_connection_cancel(nw_connection_t c) { cancel(c, "C"); }
void nw_connection_force_cancel(nw_connection_t c) { cancel(c, "X"); }

void nw_connection_receive(nw_connection_t c, uint32_t min, uint32_t max, nw_connection_receive_completion_t done)
{
    (void)min;
    (void)max;
    struct receive *r = calloc(1, sizeof *r);
    r->done = Block_copy(done);
    nw_retain(c);
    queue_post(c->queue, ^{
        *c->receives_tail = r;
        c->receives_tail = &r->next;
        c->receives_pending++;
        nw_release(c);
    });
}

void nw_connection_send(nw_connection_t c, dispatch_data_t content, nw_content_context_t context, bool is_complete,
                        nw_connection_send_completion_t done)
{
    (void)context;
    size_t len = content ? content->size : 0;
    if (content)
        log_event(c, "S%zu ", len);
    if (is_complete)
        log_event(c, "F ", 0);
    struct send *s = calloc(1, sizeof *s);
    s->len = len;
    s->done = Block_copy(done);
    nw_retain(c);
    queue_post(c->queue, ^{
        *c->sends_tail = s;
        c->sends_tail = &s->next;
        c->sends_pending++;
        if (c->auto_complete)
            complete_sends(c, c->sends_pending, NULL);
        nw_release(c);
    });
}

nw_protocol_metadata_t nw_connection_copy_protocol_metadata(nw_connection_t c, nw_protocol_definition_t d)
{
    (void)c;
    (void)d;
    return obj_new(sizeof(struct nw_protocol_metadata), NULL);
}

sec_protocol_metadata_t nw_tls_copy_sec_protocol_metadata(nw_protocol_metadata_t md)
{
    (void)md;
    return sec_new(SEC_METADATA);
}

tls_protocol_version_t sec_protocol_metadata_get_negotiated_tls_protocol_version(sec_protocol_metadata_t m)
{
    (void)m;
    return tls_protocol_version_TLSv13;
}

tls_ciphersuite_t sec_protocol_metadata_get_negotiated_tls_ciphersuite(sec_protocol_metadata_t m)
{
    (void)m;
    return 0x1301;
}

const char *sec_protocol_metadata_get_negotiated_protocol(sec_protocol_metadata_t m)
{
    (void)m;
    return NULL;
}

bool sec_protocol_metadata_access_peer_certificate_chain(sec_protocol_metadata_t m,
                                                         void (^handler)(sec_certificate_t certificate))
{
    if (!m->chain)
        return false;
    for (CFIndex i = 0; i < m->chain->n; i++) {
        struct standin_sec *cert = sec_new(SEC_CERT);
        cert->ref = obj_retain(m->chain->items[i]);
        handler(cert);
        obj_release(cert);
    }
    return true;
}

OSStatus SecTrustEvaluateAsyncWithError(SecTrustRef trust, dispatch_queue_t queue, SecTrustWithErrorCallback result)
{
    if (current_queue != queue)   /* documented: it MUST be called from that queue */
        __atomic_add_fetch(&sc_async_off_queue, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&sc_evaluations, 1, __ATOMIC_SEQ_CST);
    obj_retain(trust);
    queue_post(queue, ^{   /* answered later, on that queue */
        evaluate(trust);
        CFErrorRef error = trust->ok ? NULL : cf_error(trust->status, "stand-in: the certificate is not trusted");
        result(trust, trust->ok, error);
        if (error)
            CFRelease(error);
        obj_release(trust);
    });
    return errSecSuccess;
}

/* -------------------------------------------------------------- script */

nw_connection_t sc_last_connection(void)
{
    pthread_mutex_lock(&last_lock);
    nw_connection_t c = last_connection;
    pthread_mutex_unlock(&last_lock);
    return c;
}

const char *sc_server_name(nw_connection_t c) { return c->server_name; }
int sc_nodelay(nw_connection_t c) { return c->nodelay; }
int sc_keepalive_idle(nw_connection_t c) { return c->keepalive ? c->idle : 0; }
const char *sc_log(nw_connection_t c) { return c->log; }
int sc_live_connections(void) { return atomic_load(&live_connections); }
int sc_live_queues(void) { return atomic_load(&live_queues); }

size_t sc_sends_pending(nw_connection_t c)
{
    __block size_t n;
    queue_run(c->queue, ^{ n = c->sends_pending; });
    return n;
}

int sc_receives_pending(nw_connection_t c)
{
    __block int n;
    queue_run(c->queue, ^{ n = c->receives_pending; });
    return n;
}

void sc_state(nw_connection_t c, nw_connection_state_t state, int domain, int code)
{
    queue_run(c->queue, ^{
        nw_error_t e = error_new(domain, code);
        c->on_state(state, e);
        if (e)
            nw_release(e);
    });
}

SecTrustRef sc_trust_new(int ncerts, int ok, int status)
{
    CFMutableArrayRef sent = CFArrayCreateMutable(NULL, 0, NULL);
    for (int i = 0; i < ncerts; i++) {
        char der[32];
        snprintf(der, sizeof der, "sent certificate %d", i);
        SecCertificateRef cert = cert_new(der);
        CFArrayAppendValue(sent, cert);
        CFRelease(cert);
    }
    struct standin_cf *trust = cf_new(CF_TRUST);
    trust->sent = sent;
    trust->root = cert_new("root the OS added");
    trust->ok = ok;
    trust->status = status;
    return trust;
}

int sc_verify(nw_connection_t c, int ncerts, int ok, int status)
{
    queue_run(c->queue, ^{
        struct standin_cf *trust = sc_trust_new(ncerts, ok, status);
        struct standin_sec *md = sec_new(SEC_METADATA), *tr = sec_new(SEC_TRUST);
        md->chain = obj_retain(trust->sent);
        tr->ref = trust;
        c->verify_answer = -1;
        c->verify(md, tr, ^(bool accept) { c->verify_answer = accept; });
        obj_release(md);
        obj_release(tr);
    });
    return c->verify_answer;
}

void sc_receive(nw_connection_t c, const void *data, size_t len, int is_complete, int domain, int code)
{
    queue_run(c->queue, ^{
        struct receive *r = c->receives;
        if (!r)
            return;
        c->receives = r->next;
        if (!c->receives)
            c->receives_tail = &c->receives;
        c->receives_pending--;
        dispatch_data_t d = data ? dispatch_data_create(data, len, NULL, NULL) : NULL;
        nw_error_t e = error_new(domain, code);
        r->done(d, NULL, is_complete, e);
        if (d)
            obj_release(d);
        if (e)
            nw_release(e);
        Block_release(r->done);
        free(r);
    });
}

void sc_complete_sends(nw_connection_t c, size_t n, int domain, int code)
{
    queue_run(c->queue, ^{
        nw_error_t e = error_new(domain, code);
        complete_sends(c, n, e);
        if (e)
            nw_release(e);
    });
}

void sc_auto_complete(nw_connection_t c, int on)
{
    queue_run(c->queue, ^{ c->auto_complete = on; });
}
