/*
 * proxy_auth.c — the proxy sign-in exchange after a 407 (proxy_auth.h):
 * Proxy-Authenticate parsing, the choice of scheme, and the rounds of a
 * connection-bound Negotiate / NTLM exchange, whose tokens the OS's part
 * computes on a worker thread. Nothing here touches the network.
 */
#define _POSIX_C_SOURCE 200809L
#include "proxy_auth.h"

#include "resolve.h"   /* before lock.h: winsock2.h must come before windows.h */
#include "lock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Schemes ostls answers with the OS's sign-in, in order of preference. */
static const char *const os_schemes[] = {"Negotiate", "NTLM"};
#define OS_SCHEMES (sizeof os_schemes / sizeof os_schemes[0])

/* ------------------------------------------------------------- base64 */

void proxy_base64(const unsigned char *in, size_t len, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < len ? in[i + 2] : 0);
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < len ? tab[v >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

static int b64val(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

/* Decode src[0..len) (padding optional) into a malloc'd buffer; NULL when
 * it is not base64 or memory runs out. */
static unsigned char *unbase64(const char *src, size_t len, size_t *outlen)
{
    while (len && src[len - 1] == '=')
        len--;
    unsigned char *out = malloc(len * 3 / 4 + 3);
    if (!out || len % 4 == 1) {
        free(out);
        return NULL;
    }
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64val(src[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6 | (unsigned)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    *outlen = o;
    return out;
}

/* ------------------------------------------------------------ headers */

static int lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

static int same_word(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

const char *proxy_header_field(const char *header, size_t len, const char *name, size_t *vlen, size_t *from)
{
    size_t nlen = strlen(name);
    size_t i = *from;
    if (i == 0) {   /* skip the status line */
        while (i < len && header[i] != '\n')
            i++;
        i++;
    }
    while (i < len) {
        size_t eol = i;
        while (eol < len && header[eol] != '\n')
            eol++;
        size_t end = eol > i && header[eol - 1] == '\r' ? eol - 1 : eol;
        *from = eol + 1;
        if (end - i > nlen && header[i + nlen] == ':' && same_word(header + i, nlen, name)) {
            size_t v = i + nlen + 1;
            while (v < end && (header[v] == ' ' || header[v] == '\t'))
                v++;
            while (end > v && (header[end - 1] == ' ' || header[end - 1] == '\t'))
                end--;
            *vlen = end - v;
            return header + v;
        }
        i = eol + 1;
    }
    return NULL;
}

struct offer {
    int offered;
    const char *token;         /* the challenge's token68, or NULL */
    size_t token_len;
};

struct offers {
    struct offer os[OS_SCHEMES];
    int basic;
    char names[160];           /* every scheme offered, for messages */
};

/* RFC 9110 token68: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static int is_token68(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && (b64val(s[i]) >= 0 || s[i] == '-' || s[i] == '.' || s[i] == '_' || s[i] == '~'))
        i++;
    if (i == 0)
        return 0;
    while (i < len && s[i] == '=')
        i++;
    return i == len;
}

/* One challenge or auth-param, item[0..len), from a Proxy-Authenticate list. */
static void read_item(const char *item, size_t len, struct offers *o)
{
    size_t w = 0;
    while (w < len && item[w] != ' ' && item[w] != '\t' && item[w] != '=')
        w++;
    if (w == 0 || (w < len && item[w] == '='))
        return;   /* an auth-param (realm="...") of the challenge before */
    for (size_t i = 0; i < w; i++)
        if (!(item[i] && strchr("!#$%&'*+-.^_`|~", item[i])) && !(item[i] >= '0' && item[i] <= '9') &&
            !((item[i] | 0x20) >= 'a' && (item[i] | 0x20) <= 'z'))
            return;   /* not a scheme name (RFC 9110 token) */
    size_t t = w;
    while (t < len && (item[t] == ' ' || item[t] == '\t'))
        t++;
    size_t have = strlen(o->names);
    if (have + w + 3 < sizeof o->names)
        snprintf(o->names + have, sizeof o->names - have, "%s%.*s", have ? ", " : "", (int)w, item);
    if (same_word(item, w, "Basic"))
        o->basic = 1;
    for (size_t s = 0; s < OS_SCHEMES; s++) {
        if (!same_word(item, w, os_schemes[s]))
            continue;
        o->os[s].offered = 1;
        if (t < len && is_token68(item + t, len - t)) {
            o->os[s].token = item + t;
            o->os[s].token_len = len - t;
        }
    }
}

/* Every challenge of every Proxy-Authenticate field (RFC 9110 §11.6.1): a
 * comma-separated list, commas inside quoted strings excepted. */
static void read_offers(const char *header, size_t len, struct offers *o)
{
    memset(o, 0, sizeof *o);
    size_t from = 0, vlen;
    const char *v;
    while ((v = proxy_header_field(header, len, "Proxy-Authenticate", &vlen, &from)) != NULL) {
        size_t start = 0;
        int quoted = 0;
        for (size_t i = 0; i <= vlen; i++) {
            if (i < vlen && v[i] == '"' && (i == 0 || v[i - 1] != '\\'))
                quoted = !quoted;
            if (i < vlen && (quoted || v[i] != ','))
                continue;
            size_t a = start, b = i;
            while (a < b && (v[a] == ' ' || v[a] == '\t'))
                a++;
            while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
                b--;
            if (b > a)
                read_item(v + a, b - a, o);
            start = i + 1;
        }
    }
}

int proxy_auth_basic_offered(const char *header, size_t len)
{
    struct offers o;
    read_offers(header, len, &o);
    return o.basic;
}

/* ----------------------------------------------------------- exchange */

/* Every token is computed by the OS's part on a worker thread
 * (resolve_start_work): with Kerberos, InitializeSecurityContextW may ask the
 * domain controller for a ticket before it returns. One job at a time per
 * exchange; while it runs, the OS's exchange (os) belongs to the job, and
 * the job is shared by the worker and the exchange: whichever lets go last
 * frees it, so freeing a connection mid-job never frees the context under
 * the worker. */
struct auth_work {
    int refs;                  /* under the lock */
    const char *schemes[OS_SCHEMES];   /* first round: the schemes to try, in order */
    size_t nschemes;
    char host[256], user[256], pass[256];
    int has_user;
    char who[300];
    unsigned char *in;         /* a challenge round: the proxy's token */
    size_t inlen;
    proxy_auth_os *os;         /* a challenge round: the exchange; the first: the one started */
    const char *scheme;        /* the first round: the scheme that made a token */
    int ok;
    unsigned char *token;
    size_t tlen;
    char why[600];
};

static ostls_lock work_lock = OSTLS_LOCK_INIT;

static void work_unref(struct auth_work *w)
{
    lock_take(&work_lock);
    int last = --w->refs == 0;
    lock_give(&work_lock);
    if (!last)
        return;
    memset(w->pass, 0, sizeof w->pass);
    if (w->token) {
        memset(w->token, 0, w->tlen);
        free(w->token);
    }
    free(w->in);
    proxy_auth_os_free(w->os);
    free(w);
}

/* The worker: the first token (each scheme in turn until one makes it), or
 * the answer to a challenge. */
static void run_step(void *arg)
{
    struct auth_work *w = arg;
    char osw[300] = "";
    if (w->os) {
        w->ok = proxy_auth_os_step(w->os, w->in, w->inlen, &w->token, &w->tlen, osw, sizeof osw) && w->token;
        if (!w->ok)
            snprintf(w->why, sizeof w->why, "%s", w->token || osw[0] ? osw : "the OS had no answer to it");
    }
    for (size_t s = 0; !w->os && s < w->nschemes; s++) {
        osw[0] = '\0';
        proxy_auth_os *os = proxy_auth_os_start(w->schemes[s], w->host, w->has_user ? w->user : NULL,
                                                w->has_user ? w->pass : NULL, osw, sizeof osw);
        if (os && proxy_auth_os_step(os, NULL, 0, &w->token, &w->tlen, osw, sizeof osw) && w->token) {
            w->os = os;
            w->scheme = w->schemes[s];
            w->ok = 1;
            break;
        }
        if (os && !w->token && osw[0] == '\0')
            snprintf(osw, sizeof osw, "the OS made no first token");
        free(w->token);   /* the next scheme offered, if any, gets its chance */
        w->token = NULL;
        proxy_auth_os_free(os);
        snprintf(w->why, sizeof w->why, "the %s sign-in %s failed: %s", w->schemes[s], w->who, osw);
    }
    memset(w->pass, 0, sizeof w->pass);
    work_unref(w);
}

struct proxy_auth {
    const char *scheme;        /* "Negotiate" or "NTLM" (static strings) once a first token was made */
    proxy_auth_os *os;         /* NULL while a job holds it */
    int rounds;                /* challenges answered */
    char who[300];             /* as whom, for messages */
    resolve_job *job;          /* the token being computed, else NULL */
    struct auth_work *work;
    char avail[500];           /* the first round: why a scheme offered is not available here */
};

static enum proxy_auth_next send_token(proxy_auth *a, unsigned char *token, size_t len, char **line, char *why,
                                       size_t cap)
{
    size_t need = strlen(a->scheme) + (len + 2) / 3 * 4 + 40;
    char *out = malloc(need);
    if (!out) {
        memset(token, 0, len);
        free(token);
        snprintf(why, cap, "out of memory for the %s token", a->scheme);
        return PROXY_AUTH_REFUSED;
    }
    int n = snprintf(out, need, "Proxy-Authorization: %s ", a->scheme);
    proxy_base64(token, len, out + n);
    strcat(out, "\r\n");
    memset(token, 0, len);
    free(token);
    *line = out;
    return PROXY_AUTH_SEND;
}

/* Hand w to a worker: PROXY_AUTH_WAIT, or REFUSED when no thread started. */
static enum proxy_auth_next start_job(proxy_auth *a, struct auth_work *w, char *why, size_t cap)
{
    int os_error = 0;
    w->refs = 2;   /* the worker and a */
    if (!resolve_start_work(run_step, w, &a->job, &os_error)) {
        w->refs = 1;
        a->os = w->os;   /* a challenge round's exchange stays a's */
        w->os = NULL;
        work_unref(w);
        a->job = NULL;
        snprintf(why, cap, "could not start a worker thread for the %s sign-in (OS error %d)",
                 a->scheme ? a->scheme : "proxy", os_error);
        return PROXY_AUTH_REFUSED;
    }
    a->work = w;
    return PROXY_AUTH_WAIT;
}

/* No OS sign-in came of the first 407: say why (why already holds the
 * reason a scheme offered failed or is not available here, or is ""). */
static enum proxy_auth_next refusal(const struct offers *o, int sent_basic, char *why, size_t cap)
{
    if (why[0] && sent_basic) {
        /* Basic was tried and refused: say that first, then why no other
         * scheme was tried. */
        char other[700];
        snprintf(other, sizeof other, "%s", why);
        snprintf(why, cap, "the credentials in the proxy URL were refused; %s", other);
    }
    if (why[0])
        return PROXY_AUTH_REFUSED;
    if (sent_basic)
        snprintf(why, cap, "the credentials in the proxy URL were refused");
    else if (o->basic || !o->names[0])
        snprintf(why, cap, "the proxy URL has no user:password");
    else
        snprintf(why, cap, "the proxy asks for %s, which ostls does not do", o->names);
    return PROXY_AUTH_REFUSED;
}

static enum proxy_auth_next first(proxy_auth *a, const struct offers *o, const char *host, const char *user,
                                  const char *pass, int sent_basic, char *why, size_t cap)
{
    why[0] = '\0';
    struct auth_work *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(why, cap, "out of memory");
        return PROXY_AUTH_REFUSED;
    }
    for (size_t s = 0; s < OS_SCHEMES; s++) {
        if (!o->os[s].offered)
            continue;
        char no[300];
        if (!proxy_auth_os_available(os_schemes[s], no, sizeof no)) {
            if (!a->avail[0])
                snprintf(a->avail, sizeof a->avail, "the proxy asks for %s: %s", o->names, no);
            continue;
        }
        w->schemes[w->nschemes++] = os_schemes[s];
    }
    if (!w->nschemes) {   /* nothing for a worker to do */
        free(w);
        snprintf(why, cap, "%s", a->avail);
        return refusal(o, sent_basic, why, cap);
    }
    snprintf(w->host, sizeof w->host, "%s", host);
    if (user) {
        w->has_user = 1;
        snprintf(w->user, sizeof w->user, "%s", user);
        snprintf(w->pass, sizeof w->pass, "%s", pass ? pass : "");
    }
    snprintf(w->who, sizeof w->who, "%s", a->who);
    return start_job(a, w, why, cap);
}

/* The job has finished: its token as the next line, or why not. */
static enum proxy_auth_next collect(proxy_auth *a, const struct offers *o, int sent_basic, char **line, int *bound,
                                    char *why, size_t cap)
{
    struct auth_work *w = a->work;
    resolve_release(a->job);
    a->job = NULL;
    a->work = NULL;
    lock_take(&work_lock);   /* everything the worker wrote is seen */
    int challenge = a->scheme != NULL;
    a->os = w->os;
    w->os = NULL;
    unsigned char *token = w->ok ? w->token : NULL;
    size_t tlen = w->tlen;
    if (token)
        w->token = NULL;
    if (w->ok && !challenge)
        a->scheme = w->scheme;
    if (!token && challenge)
        snprintf(why, cap, "the %s sign-in %s failed on the proxy's challenge: %s", a->scheme, a->who, w->why);
    else if (!token)
        snprintf(why, cap, "%s", w->why[0] ? w->why : a->avail);
    lock_give(&work_lock);
    work_unref(w);
    if (!token) {
        if (!challenge) {
            proxy_auth_os_free(a->os);   /* none: no scheme made a first token */
            a->os = NULL;
            return refusal(o, sent_basic, why, cap);
        }
        return PROXY_AUTH_REFUSED;
    }
    *bound = challenge;
    return send_token(a, token, tlen, line, why, cap);
}

enum proxy_auth_next proxy_auth_answer(proxy_auth **state, const char *header, size_t len, const char *host,
                                       const char *user, const char *pass, int sent_basic, char **line,
                                       int *bound, char *why, size_t cap)
{
    *line = NULL;
    *bound = 0;
    struct offers o;
    read_offers(header, len, &o);
    proxy_auth *a = *state;
    if (!a) {
        a = *state = calloc(1, sizeof *a);
        if (!a) {
            snprintf(why, cap, "out of memory");
            return PROXY_AUTH_REFUSED;
        }
        if (user)
            snprintf(a->who, sizeof a->who, "as \"%s\" (the proxy URL's user)", user);
        else
            snprintf(a->who, sizeof a->who, "as the signed-in user");
    }
    if (a->job) {
        struct addrinfo *none = NULL;
        int gai_error, os_error;
        if (!resolve_finished(a->job, &none, &gai_error, &os_error))
            return PROXY_AUTH_WAIT;
        return collect(a, &o, sent_basic, line, bound, why, cap);
    }
    if (!a->os)
        return first(a, &o, host, user, pass, sent_basic, why, cap);
    size_t s = strcmp(a->scheme, os_schemes[0]) == 0 ? 0 : 1;
    if (!o.os[s].token) {
        snprintf(why, cap, "the proxy refused the %s sign-in %s", a->scheme, a->who);
        return PROXY_AUTH_REFUSED;
    }
    if (++a->rounds >= PROXY_AUTH_MAX_ROUNDS) {
        snprintf(why, cap, "the %s sign-in %s went on for %d rounds without an answer; ostls gave up", a->scheme,
                 a->who, a->rounds);
        return PROXY_AUTH_REFUSED;
    }
    struct auth_work *w = calloc(1, sizeof *w);
    if (w)
        w->in = unbase64(o.os[s].token, o.os[s].token_len, &w->inlen);
    if (!w || !w->in) {
        if (w)
            snprintf(why, cap, "the proxy's %s challenge is not base64", a->scheme);
        else
            snprintf(why, cap, "out of memory");
        free(w);
        return PROXY_AUTH_REFUSED;
    }
    w->os = a->os;   /* the job's until collected */
    a->os = NULL;
    return start_job(a, w, why, cap);
}

int64_t proxy_auth_handle(const proxy_auth *state)
{
    return state && state->job ? resolve_handle(state->job) : -1;
}

const char *proxy_auth_scheme(const proxy_auth *state)
{
    return state ? state->scheme : NULL;
}

void proxy_auth_free(proxy_auth *state)
{
    if (!state)
        return;
    if (state->job) {   /* the worker may still hold the exchange: the last to let go frees it */
        resolve_release(state->job);
        work_unref(state->work);
    }
    proxy_auth_os_free(state->os);
    free(state);
}
